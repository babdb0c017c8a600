"""The keyboard shortcut list, generated from the action table."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

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
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.table = table
        self.resize(560, 620)
