"""Drawing a tool's tentative result on the canvas: a tinted mask with its outline, and prompt marks.

A tool offers ``preview_mask()`` ((bool mask, (y, x) offset) or None),
``preview_marks()`` (object points, background points, a box) and
``preview_strokes()`` (scribbles with their class).  The mask is
turned into a translucent image once per new mask (downsampled when it is
larger than a screen needs) and drawn scaled into the view.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

FILL = (255, 220, 0, 110)       # r, g, b, alpha of the mask's inside
EDGE = (255, 220, 0, 255)
MAX_SIDE = 2048                 # a preview image never needs more pixels than a screen
MARK_COLOURS = {"positive": QColor(40, 200, 80), "negative": QColor(230, 50, 50)}
STROKE_RADIUS = 3.0             # image pixels: a scribble's width (ml.scribble.SCRIBBLE_RADIUS)


def mask_image(mask: np.ndarray) -> tuple[QImage, float]:
    """A premultiplied ARGB image of ``mask`` (inside tinted, edge opaque) and its downsampling factor."""
    h, w = mask.shape
    f = max(1.0, max(h, w) / MAX_SIDE)
    m = mask.astype(np.uint8)
    if f > 1.0:
        m = cv2.resize(m, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_NEAREST)
    edge = m & ~cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    buf = np.zeros(m.shape + (4,), np.uint8)
    for sel, (r, g, b, a) in ((m.astype(bool), FILL), (edge.astype(bool), EDGE)):
        buf[sel] = (b * a // 255, g * a // 255, r * a // 255, a)  # BGRA in memory = ARGB32 premultiplied
    img = QImage(buf.data, buf.shape[1], buf.shape[0], 4 * buf.shape[1], QImage.Format.Format_ARGB32_Premultiplied)
    return img.copy(), f  # copy: the QImage must not outlive ``buf``


class ToolPreview:
    """Keeps the image of the last mask so a repaint does not rebuild it."""

    def __init__(self) -> None:
        self._mask = None
        self._image: QImage | None = None

    def paint(self, p: QPainter, view, tool) -> None:
        found = tool.preview_mask()
        if found is not None:
            mask, (y0, x0) = found
            if mask is not self._mask:
                self._mask, (self._image, _) = mask, mask_image(mask)
            h, w = mask.shape
            s, off = view.scale, view.offset
            p.drawImage(QRectF(x0 * s + off.x(), y0 * s + off.y(), w * s, h * s), self._image)
        else:
            self._mask = self._image = None
        palette = view.overlay.palette if view.overlay is not None else None
        for stroke, class_id in tool.preview_strokes():  # scribbles, in their class colour
            rgb = palette[class_id] if palette is not None else (255, 220, 0)
            p.setPen(QPen(QColor(*[int(c) for c in rgb]), max(2.0, 2 * STROKE_RADIUS * view.scale),
                          Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            pts = [view._to_widget(q) for q in stroke]
            for a, b in zip(pts, pts[1:] or pts):
                p.drawLine(a, b)
        for kind, value in tool.preview_marks():
            if kind == "box":
                a, b = view._to_widget(value[:2]), view._to_widget(value[2:])
                p.setPen(QPen(QColor(0, 0, 0, 160), 3))
                p.drawRect(QRectF(a, b))
                p.setPen(QPen(QColor(255, 220, 0), 1.5, Qt.PenStyle.DashLine))
                p.drawRect(QRectF(a, b))
            else:
                c: QPointF = view._to_widget(value)
                p.setPen(QPen(QColor(255, 255, 255), 1.5))
                p.setBrush(MARK_COLOURS[kind])
                p.drawEllipse(c, 5.0, 5.0)
                p.setBrush(Qt.BrushStyle.NoBrush)
