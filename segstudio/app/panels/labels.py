"""The label panel: classes with colours, number-key shortcuts, void, show/hide."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget, QLabel

from segstudio.app.panels.common import swatch
from segstudio.core.labels import VOID_ID, LabelSet

ROLE_ID = Qt.ItemDataRole.UserRole


def shortcut_of(class_id: int) -> str:
    """Number keys 1..9 pick classes 1..9 and 0 picks background."""
    return str(class_id) if 0 <= class_id <= 9 else ""


class LabelPanel(QWidget):
    class_selected = Signal(int)
    visibility_changed = Signal(object)  # set of hidden class ids

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Click a class to paint with it; untick it to hide it on the canvas")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list)
        self.hint = QLabel("Keys 0–9 pick a class, V paints void")
        self.hint.setStyleSheet("color: gray")
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_changed)
        self._updating = False

    def set_labels(self, labels: LabelSet, hidden=()) -> None:
        """The classes, with what the eraser writes (background, or void when 0 is a real class)."""
        self._updating = True
        self.list.clear()
        pal = labels.palette()
        entries = [(c.id, c.name) for c in labels] + [(VOID_ID, "void (don't know)")]
        for cid, name in entries:
            key = shortcut_of(cid)
            text = f"{key:>2}  {name}" if key else f"    {name}"
            item = QListWidgetItem(swatch(pal[cid], void=cid == VOID_ID), text)
            item.setData(ROLE_ID, cid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if cid in hidden else Qt.CheckState.Checked)
            self.list.addItem(item)
        self._updating = False
        erases = "background" if labels.has_background else "void (no background class)"
        self.hint.setText(f"Keys 0–9 pick a class, V paints void, E erases to {erases}")
        self.hint.setToolTip("" if labels.has_background else
                             f"Class 0 ({labels.name_of(0)}) is a real class in these labels, so erased and "
                             "unpainted pixels are void: they are not used for training")

    def select_class(self, class_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(ROLE_ID) == class_id:
                self.list.setCurrentRow(i)
                return

    def current_class(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(ROLE_ID))

    def hidden(self) -> set[int]:
        return {int(self.list.item(i).data(ROLE_ID)) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Unchecked}

    @Slot()
    def _on_current(self, item, _prev) -> None:
        if item is not None and not self._updating:
            self.class_selected.emit(int(item.data(ROLE_ID)))

    @Slot()
    def _on_changed(self, _item) -> None:
        if not self._updating:
            self.visibility_changed.emit(self.hidden())
