"""A live loss curve drawn with QPainter (no plotting library).

``LossCurve.add(iteration, loss)`` appends a point and repaints; the curve
keeps at most ``max_points`` points by merging neighbours (mean of pairs), so
painting stays cheap on long runs.  A smoothed line (exponential moving
average) is drawn over the raw points; epoch boundaries are marked.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

RAW_COLOR = QColor(150, 170, 200)
SMOOTH_COLOR = QColor(30, 90, 200)
EPOCH_COLOR = QColor(200, 120, 40)


class LossCurve(QWidget):
    def __init__(self, parent=None, max_points: int = 2000):
        super().__init__(parent)
        self.max_points = max_points
        self.points: list[tuple[float, float]] = []   # (iteration, loss)
        self.epochs: list[float] = []                  # iterations where an epoch ended
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def clear(self) -> None:
        self.points.clear()
        self.epochs.clear()
        self.update()

    def add(self, iteration: float, loss: float) -> None:
        if not math.isfinite(loss):
            return
        self.points.append((float(iteration), float(loss)))
        if len(self.points) > self.max_points:
            pts = self.points
            self.points = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(pts[::2], pts[1::2])]
            if len(pts) % 2:
                self.points.append(pts[-1])
        self.update()

    def mark_epoch(self, iteration: float) -> None:
        self.epochs.append(float(iteration))
        self.update()

    def smoothed(self, alpha: float = 0.1) -> list[tuple[float, float]]:
        out, s = [], None
        for x, y in self.points:
            s = y if s is None else (1 - alpha) * s + alpha * y
            out.append((x, s))
        return out

    def plot_rect(self) -> QRectF:
        return QRectF(44, 8, max(1, self.width() - 52), max(1, self.height() - 28))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        r = self.plot_rect()
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(r)
        if not self.points:
            p.setPen(self.palette().text().color())
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "loss appears here while training")
            p.end()
            return
        xs = [x for x, _ in self.points]
        ys = [y for _, y in self.points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = 0.0, max(ys) * 1.05 or 1.0
        if x1 <= x0:
            x1 = x0 + 1

        def map_(x: float, y: float) -> QPointF:
            return QPointF(r.left() + (x - x0) / (x1 - x0) * r.width(),
                           r.bottom() - (y - y0) / (y1 - y0) * r.height())

        p.setPen(QPen(EPOCH_COLOR, 1, Qt.PenStyle.DashLine))
        for e in self.epochs:
            if x0 <= e <= x1:
                a, b = map_(e, y0), map_(e, y1)
                p.drawLine(a, b)
        for color, series, width in ((RAW_COLOR, self.points, 1.0), (SMOOTH_COLOR, self.smoothed(), 2.0)):
            path = QPainterPath(map_(*series[0]))
            for x, y in series[1:]:
                path.lineTo(map_(x, y))
            p.setPen(QPen(color, width))
            p.drawPath(path)
        p.setPen(self.palette().text().color())
        p.drawText(QRectF(0, r.top() - 6, 40, 14), Qt.AlignmentFlag.AlignRight, f"{y1:.3g}")
        p.drawText(QRectF(0, r.bottom() - 8, 40, 14), Qt.AlignmentFlag.AlignRight, "0")
        p.drawText(QRectF(r.left(), r.bottom() + 2, r.width(), 16), Qt.AlignmentFlag.AlignLeft, f"{x0:.0f}")
        p.drawText(QRectF(r.left(), r.bottom() + 2, r.width(), 16), Qt.AlignmentFlag.AlignRight,
                   f"iteration {x1:.0f}")
        p.end()
