"""The image list: every image of the folder or project with its status."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from segstudio.app.panels.common import swatch
from segstudio.formats.project import Project

ROLE_KEY = Qt.ItemDataRole.UserRole
STATUS_COLORS = {"unlabelled": (120, 120, 120), "predicted": (70, 140, 230),
                 "edited": (240, 170, 40), "reviewed": (60, 190, 90)}


class ImageListPanel(QWidget):
    image_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self._items: dict[str, QListWidgetItem] = {}

    def set_project(self, project: Project) -> None:
        self.list.clear()
        self._items.clear()
        for entry in project.images:
            item = QListWidgetItem(entry.relpath)
            item.setData(ROLE_KEY, entry.key)
            self.list.addItem(item)
            self._items[entry.key] = item
            self.set_status(entry.key, project.status(entry.key))

    def set_status(self, key: str, status: str) -> None:
        item = self._items.get(key)
        if item is None:
            return
        item.setIcon(swatch(STATUS_COLORS.get(status, (120, 120, 120)), size=10))
        item.setToolTip(f"{item.text()}: {status}")
        item.setForeground(QColor(150, 150, 150) if status == "unlabelled" else QColor())

    def set_current(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            self.list.blockSignals(True)
            self.list.setCurrentItem(item)
            self.list.blockSignals(False)

    def neighbour(self, key: str | None, step: int) -> str | None:
        keys = list(self._items)
        if not keys:
            return None
        i = keys.index(key) if key in keys else -1
        j = i + step
        return keys[j] if 0 <= j < len(keys) else None

    @Slot()
    def _activated(self, item) -> None:
        self.image_activated.emit(item.data(ROLE_KEY))
