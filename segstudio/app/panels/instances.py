"""The instance panel: id, class, score, source; select, relabel, delete, merge."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from segstudio.app.panels.common import swatch
from segstudio.core.annotation import Annotation
from segstudio.core.labels import LabelSet

ROLE_ID = Qt.ItemDataRole.UserRole


class InstancePanel(QWidget):
    instance_selected = Signal(int)
    relabel_requested = Signal(int, int)        # instance id, class id
    delete_requested = Signal(list)             # instance ids
    merge_requested = Signal(int, list)         # keep id, other ids

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["#", "class", "score", "source"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col in (0, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.class_box = QComboBox()
        self.class_box.setToolTip("Class for Relabel")
        self.relabel_btn = QPushButton("Relabel")
        self.delete_btn = QPushButton("Delete")
        self.merge_btn = QPushButton("Merge")
        self.merge_btn.setToolTip("Merge the selected instances into the first one")
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.class_box, 1)
        row1.addWidget(self.relabel_btn)
        row2.addWidget(self.delete_btn)
        row2.addWidget(self.merge_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.tree)
        lay.addLayout(row1)
        lay.addLayout(row2)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.relabel_btn.clicked.connect(self._relabel)
        self.delete_btn.clicked.connect(self._delete)
        self.merge_btn.clicked.connect(self._merge)
        self._labels: LabelSet | None = None
        self._updating = False
        self._update_buttons()

    def set_labels(self, labels: LabelSet) -> None:
        self._labels = labels
        self.class_box.clear()
        pal = labels.palette()
        for c in labels:
            if c.id or not labels.has_background:
                self.class_box.addItem(swatch(pal[c.id]), c.name, c.id)

    def set_document(self, doc: Annotation | None, selected: int = 0) -> None:
        self._updating = True
        self.tree.clear()
        if doc is not None and self._labels is not None:
            pal = self._labels.palette()
            for k, inst in sorted(doc.instances.items()):
                score = "" if inst.score is None else f"{inst.score:.2f}"
                item = QTreeWidgetItem([str(k), self._labels.name_of(inst.class_id), score, inst.source])
                item.setIcon(1, swatch(pal[inst.class_id]))
                item.setData(0, ROLE_ID, k)
                self.tree.addTopLevelItem(item)
                if k == selected:
                    item.setSelected(True)
        self._updating = False
        self._update_buttons()

    def selected_ids(self) -> list[int]:
        items = sorted(self.tree.selectedItems(), key=lambda it: int(it.data(0, ROLE_ID)))
        return [int(it.data(0, ROLE_ID)) for it in items]

    def select(self, instance_id: int, class_id: int | None = None) -> None:
        """Select an instance; the Relabel box shows its class."""
        if class_id is not None:
            i = self.class_box.findData(class_id)
            if i >= 0:
                self.class_box.setCurrentIndex(i)
        self._updating = True
        self.tree.clearSelection()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if int(item.data(0, ROLE_ID)) == instance_id:
                item.setSelected(True)
                self.tree.scrollToItem(item)
        self._updating = False
        self._update_buttons()

    def _update_buttons(self) -> None:
        n = len(self.selected_ids())
        self.relabel_btn.setEnabled(n >= 1)
        self.delete_btn.setEnabled(n >= 1)
        self.merge_btn.setEnabled(n >= 2)

    @Slot()
    def _on_selection(self) -> None:
        self._update_buttons()
        if not self._updating:
            ids = self.selected_ids()
            self.instance_selected.emit(ids[0] if ids else 0)

    @Slot()
    def _relabel(self) -> None:
        cid = self.class_box.currentData()
        for k in self.selected_ids():
            if cid is not None:
                self.relabel_requested.emit(k, int(cid))

    @Slot()
    def _delete(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.delete_requested.emit(ids)

    @Slot()
    def _merge(self) -> None:
        ids = self.selected_ids()
        if len(ids) >= 2:
            self.merge_requested.emit(ids[0], ids[1:])
