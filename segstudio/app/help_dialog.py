"""The keyboard shortcut list, generated from the action table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from segstudio.app.actions import ACTIONS, CANVAS_KEYS


def shortcut_rows() -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every action with a shortcut, then the canvas keys."""
    rows = [(a.menu.replace("&", ""), a.text.replace("&", "").rstrip("…"), ", ".join(a.shortcuts))
            for a in ACTIONS if a.shortcuts]
    rows += [("Canvas", what, keys) for keys, what in CANVAS_KEYS]
    return rows


class HelpDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows()
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels(["Menu", "Command", "Keys"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(text))
        table.verticalHeader().hide()
        # Menu and Keys as wide as their text; Command takes what is left and wraps its long lines,
        # so all three columns are always in view (no sideways scrolling to find a key)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.setWordWrap(True)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.table = table
        self.resize(720, 620)
