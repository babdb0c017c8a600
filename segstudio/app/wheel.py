"""The mouse wheel over a form scrolls the form; it changes a value only in the field being edited.

``scroll_not_spin(panel)`` is applied once per scrolling panel (the Model and
Train docks): every combo box, spin box and slider in it takes the focus only
by click or Tab, and a wheel turn over one that does not have the focus goes
to the scroll area around the panel instead (so a base model or a batch size
never changes because the pointer passed over it while scrolling).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication,
                               QComboBox, QScrollBar, QWidget)


class _WheelToScrollArea(QObject):
    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Wheel or obj.hasFocus():
            return False
        area = obj.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            QApplication.sendEvent(area.viewport(), event.clone())
        else:
            event.ignore()  # let it travel to the parent
        return True


def scroll_not_spin(panel: QWidget) -> None:
    """Wheel turns over the panel's value widgets scroll the panel unless the widget has the focus."""
    guard = _WheelToScrollArea(panel)
    for kind in (QComboBox, QAbstractSpinBox, QAbstractSlider):
        for w in panel.findChildren(kind):
            if isinstance(w, QScrollBar):
                continue
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            w.installEventFilter(guard)
