"""The uncertainty heat map: a prediction memory's entropy as a see-through colour layer.

``HeatLayer(memory)`` colours the memory's reduced grid (≤ 320 px a side) once,
through a 256-entry lookup table: certain pixels stay clear, uncertain ones go
from yellow to red and more opaque.  The canvas draws it scaled over the image,
only inside the rectangle being repainted, so it costs nothing per edit.
"""

from __future__ import annotations

import numpy as np

from segstudio.app.canvas.overlay import bgra

CLEAR_BELOW = 0.15      # normalised entropy under which a pixel is left clear


def heat_lut() -> np.ndarray:
    """(256,) premultiplied ARGB32 pixels for entropy × 255."""
    lut = np.zeros(256, np.uint32)
    for i in range(256):
        u = i / 255.0
        if u < CLEAR_BELOW:
            continue
        t = (u - CLEAR_BELOW) / (1.0 - CLEAR_BELOW)
        rgb = (255, int(round(230 * (1.0 - t))), 0)          # yellow → red
        lut[i] = bgra(rgb, alpha=int(round(60 + 170 * t)))   # fainter → more opaque
    return lut


_LUT = heat_lut()


class HeatLayer:
    def __init__(self, memory):
        self.size = tuple(memory.size)                        # (H, W) of the image
        self.grid = memory.entropy.shape                      # (h, w)
        self.pixels = np.ascontiguousarray(_LUT[memory.entropy])
        self.mean = memory.mean_uncertainty()

    def qimage(self):
        from PySide6.QtGui import QImage

        h, w = self.grid
        return QImage(self.pixels.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)

    def grid_rect(self, x: float, y: float, w: float, h: float):
        """An image rectangle in the grid's coordinates."""
        from PySide6.QtCore import QRectF

        H, W = self.size
        gh, gw = self.grid
        return QRectF(x * gw / W, y * gh / H, w * gw / W, h * gh / H)
