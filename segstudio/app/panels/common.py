"""Small helpers shared by the panels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QComboBox

from segstudio.app.canvas.overlay import HATCH_DARK, HATCH_PERIOD


def swatch(rgb, void: bool = False, size: int = 14) -> QIcon:
    """A colour square (striped for void, as on the canvas)."""
    pm = QPixmap(size, size)
    pm.fill(QColor(*[int(c) for c in rgb]))
    p = QPainter(pm)
    if void:
        p.setPen(QColor(*HATCH_DARK))
        half = HATCH_PERIOD // 2
        for d in range(-size, 2 * size, HATCH_PERIOD):
            for k in range(half):
                p.drawLine(d + k, 0, d + k - size, size)
    p.setPen(QColor(20, 20, 20))
    p.drawRect(0, 0, size - 1, size - 1)
    p.end()
    return QIcon(pm)


def show_whole_items(combo: QComboBox) -> None:
    """Let a combo box whose items are longer than the panel is wide show them whole where it can:
    its list opens as wide as the longest item, and each item's full text is its tooltip (the
    closed box clips to the panel's width)."""
    metrics = combo.fontMetrics()
    widest = 0
    for i in range(combo.count()):
        combo.setItemData(i, combo.itemText(i), Qt.ToolTipRole)
        widest = max(widest, metrics.horizontalAdvance(combo.itemText(i)))
    view = combo.view()   # the item's margins, the frame and a scroll bar beside the text
    view.setMinimumWidth(widest + 2 * view.frameWidth() + 40)
