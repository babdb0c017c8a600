"""A scroll area for a tall form in a dock: it scrolls up and down, never sideways.

The Model and Train panels are taller than a laptop screen, so they scroll
vertically.  Sideways scrolling would hide the browse buttons and the right
half of the results, so the area instead asks for the form's full minimum
width (its ``minimumSizeHint`` follows the form's, plus the vertical scroll
bar); the dock, and the dock area it sits in, cannot be made narrower than
that, and nothing of the form is ever cut off at the right edge.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QStyle, QWidget

from segstudio.app.wheel import scroll_not_spin


class FormScrollArea(QScrollArea):
    def __init__(self, form: QWidget, parent=None):
        super().__init__(parent)
        self.setWidget(form)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll_not_spin(form)  # the wheel scrolls the form rather than changing a value (``wheel``)

    def _width_for(self, form_width: int) -> int:
        bar = self.verticalScrollBar().sizeHint().width() or self.style().pixelMetric(
            QStyle.PixelMetric.PM_ScrollBarExtent)
        margins = self.contentsMargins()
        return form_width + bar + margins.left() + margins.right()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        form = self.widget()
        if form is None:
            return hint
        form_width = max(form.minimumSizeHint().width(), form.minimumWidth())
        return QSize(max(hint.width(), self._width_for(form_width)), hint.height())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.minimumSizeHint().width()), hint.height())

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the form's minimum width changed: let the dock follow it
        return super().eventFilter(obj, event)
