"""The status bar: pixel position, class and instance under the pointer, zoom, and while the
uncertainty heat map is on, its legend (the heat map's own colours, sure → unsure) with the
open image's mean uncertainty."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QWidget

from segstudio.app.canvas.heat import heat_lut


class HeatLegend(QWidget):
    """"sure [gradient] unsure · mean 0.23": the heat map's lookup table drawn over a plain
    background, so a pixel left clear on the canvas reads as clear here too."""

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.ramp = QLabel()
        self.ramp.setPixmap(self._ramp(96, 12))
        self.ramp.setToolTip("uncertainty heat map (Shift+U): normalised entropy of the last prediction, "
                             "clear where the model was sure")
        self.mean = QLabel()
        for w in (QLabel("sure"), self.ramp, QLabel("unsure"), self.mean):
            row.addWidget(w)

    @staticmethod
    def _ramp(width: int, height: int) -> QPixmap:
        lut = np.ascontiguousarray(heat_lut().reshape(1, 256))
        image = QImage(lut.data, 256, 1, 4 * 256, QImage.Format.Format_ARGB32_Premultiplied).copy()
        pixmap = QPixmap(width, height)
        pixmap.fill(QColor(235, 235, 235))
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(pixmap.rect(), image)
        p.setPen(QColor(120, 120, 120))
        p.drawRect(0, 0, width - 1, height - 1)
        p.end()
        return pixmap

    def set_mean(self, mean: float | None) -> None:
        self.mean.setText(f"· this image {mean:.3f}" if mean is not None else "· no prediction yet")


class StatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.position = QLabel()
        self.under = QLabel()
        self.zoom = QLabel()
        for w in (self.position, self.under, self.zoom):
            w.setMinimumWidth(90)
            self.addPermanentWidget(w)
        self.heat = HeatLegend()
        self.heat.setVisible(False)
        self.insertPermanentWidget(0, self.heat)

    def show_pixel(self, x: int, y: int, class_name: str | None, instance: str | None) -> None:
        if x < 0:
            self.position.setText("")
            self.under.setText("")
            return
        self.position.setText(f"x {x}  y {y}")
        self.under.setText(f"{class_name}" + (f" · instance {instance}" if instance else ""))

    def show_zoom(self, scale: float) -> None:
        self.zoom.setText(f"{scale * 100:.0f}%")

    def show_heat(self, on: bool, mean: float | None = None) -> None:
        """The heat map's legend while it is shown, with the open image's mean uncertainty."""
        self.heat.set_mean(mean)
        self.heat.setVisible(bool(on))

    def heat_text(self) -> str:
        """What the legend says ("" while it is hidden)."""
        return self.heat.mean.text() if self.heat.isVisibleTo(self) else ""
