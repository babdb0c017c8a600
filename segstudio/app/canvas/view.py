"""The canvas widget: draws the image and the overlay, maps pointer events to tools.

Only the exposed rectangle is drawn: an edit recolours its box in the
``OverlayBuffer`` and calls ``update()`` with that box mapped to widget
coordinates, so the work per mouse event is proportional to the brush, not
to the image.  Zoom with the wheel (around the pointer), pan with the middle
button or space + drag.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from segstudio.app.canvas.overlay import OverlayBuffer
from segstudio.app.canvas.tool_preview import ToolPreview
from segstudio.app.editor import Editor
from segstudio.app.tools.base import Tool

BACKGROUND = QColor(38, 40, 44)
MIN_SCALE, MAX_SCALE = 1 / 64, 64.0


class CanvasView(QWidget):
    hovered = Signal(int, int)         # image pixel under the pointer, (-1, -1) outside
    zoom_changed = Signal(float)
    region_painted = Signal(QRect)     # widget rect scheduled for repaint after an edit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # the window takes drops
        self.setMinimumSize(200, 150)
        self.image: QImage | None = None
        self.overlay: OverlayBuffer | None = None
        self._overlay_image: QImage | None = None
        self.editor: Editor | None = None
        self.tool: Tool | None = None
        self.opacity = 0.55
        self.scale = 1.0
        self.offset = QPointF(0, 0)
        self._dragging = False
        self._panning: QPointF | None = None
        self._space = False
        self._hover: QPointF | None = None
        self._fit_pending = True
        self._auto_fit = True  # refit on resize until the user zooms or pans
        self._tool_preview = ToolPreview()
        self._heat = None          # HeatLayer of the open image's prediction memory
        self._heat_image: QImage | None = None
        self.heat_visible = False

    # -- document ----------------------------------------------------------
    def set_document(self, rgb: np.ndarray, editor: Editor, palette: np.ndarray,
                     hidden=(), show_classes=True, show_outlines=True, show_background=False) -> None:
        """Show ``rgb`` with ``editor``'s document over it; ``show_background``: draw class 0 in
        its colour (label sets without a background class) instead of leaving it clear."""
        h, w = rgb.shape[:2]
        if self.tool is not None:
            self.tool.cancel()
        # one copy at load time into Qt's fastest format for drawing
        self.image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(
            QImage.Format.Format_RGB32)
        self.editor = editor
        self.overlay = OverlayBuffer(editor.doc, palette, hidden, show_classes, show_outlines, show_background)
        self._overlay_image = self.overlay.qimage()
        editor.subscribe(self._on_edit)
        self.fit()

    def clear(self) -> None:
        self.image = self.overlay = self._overlay_image = self.editor = None
        self._heat = self._heat_image = None
        self.update()

    # -- the uncertainty heat map (its own layer over the classes) ---------------
    def set_heat(self, memory) -> None:
        """The open image's prediction memory (None: no heat map to show)."""
        from segstudio.app.canvas.heat import HeatLayer

        ok = memory is not None and self.image is not None and \
            tuple(memory.size) == (self.image.height(), self.image.width())
        self._heat = HeatLayer(memory) if ok else None
        self._heat_image = self._heat.qimage() if ok else None
        if self.heat_visible:
            self.update()

    def set_heat_visible(self, on: bool) -> None:
        self.heat_visible = bool(on)
        self.update()

    def has_heat(self) -> bool:
        return self._heat is not None

    def heat_mean(self) -> float | None:
        """The shown image's mean uncertainty (None: no heat map)."""
        return self._heat.mean if self._heat is not None else None

    def set_tool(self, tool: Tool | None) -> None:
        if self.tool is not None and self.tool is not tool:
            self.tool.cancel()
        self.tool = tool
        self._dragging = False
        self.update()

    def set_opacity(self, value: float) -> None:
        self.opacity = min(1.0, max(0.0, float(value)))
        self.update()

    # -- what the overlay shows (no-ops until a document is set) ----------------
    def set_layers_visible(self, classes: bool | None = None, outlines: bool | None = None) -> None:
        """Show or hide the class colours and the instance outlines."""
        if self.overlay is not None:
            self.overlay.set_visibility(classes=classes, outlines=outlines)
            self.update()

    def set_palette(self, palette: np.ndarray, hidden=()) -> None:
        """Class colours (a 256-entry palette) and the classes not drawn."""
        if self.overlay is not None:
            self.overlay.set_palette(palette, hidden)
            self.update()

    def select_instance(self, instance_id: int) -> None:
        """Outline ``instance_id`` as the selected one (0: none); repaints only its box."""
        if self.overlay is not None:
            for box in self.overlay.select_instance(instance_id):
                self.update(self.box_to_widget(box))

    def _on_edit(self, boxes, table_changed) -> None:
        if self.overlay is None:
            return
        for box in boxes:
            done = self.overlay.recolor_box(box)
            rect = self.box_to_widget(done)
            self.region_painted.emit(rect)
            self.update(rect)

    # -- coordinates ---------------------------------------------------------
    def to_image(self, pos: QPointF) -> tuple[float, float]:
        """Widget position -> image coordinates (integer = pixel centre)."""
        return ((pos.x() - self.offset.x()) / self.scale - 0.5,
                (pos.y() - self.offset.y()) / self.scale - 0.5)

    def box_to_widget(self, box) -> QRect:
        y0, x0, y1, x1 = box
        s, ox, oy = self.scale, self.offset.x(), self.offset.y()
        left, top = math.floor(x0 * s + ox) - 1, math.floor(y0 * s + oy) - 1
        right, bottom = math.ceil(x1 * s + ox) + 1, math.ceil(y1 * s + oy) + 1
        return QRect(left, top, right - left, bottom - top)

    def image_size(self) -> tuple[int, int]:
        return (self.image.width(), self.image.height()) if self.image is not None else (0, 0)

    # -- zoom / pan -------------------------------------------------------------
    def fit(self) -> None:
        w, h = self.image_size()
        if not w or self.width() < 2:
            self._fit_pending = True
            return
        self._fit_pending = False
        s = min(self.width() / w, self.height() / h) * 0.98
        self._set_view(s, QPointF((self.width() - w * s) / 2, (self.height() - h * s) / 2))
        self._auto_fit = True

    def actual_size(self) -> None:
        self.zoom_at(1.0 / self.scale, QPointF(self.width() / 2, self.height() / 2))

    def zoom_by(self, factor: float) -> None:
        self.zoom_at(factor, QPointF(self.width() / 2, self.height() / 2))

    def zoom_at(self, factor: float, anchor: QPointF) -> None:
        self._auto_fit = False
        s = min(MAX_SCALE, max(MIN_SCALE, self.scale * factor))
        f = s / self.scale
        off = anchor - (anchor - self.offset) * f
        self._set_view(s, off)

    def _set_view(self, scale: float, offset: QPointF) -> None:
        self.scale, self.offset = scale, offset
        self.zoom_changed.emit(scale)
        self.update()

    def resizeEvent(self, e) -> None:
        if self._fit_pending or self._auto_fit:
            self.fit()
        super().resizeEvent(e)

    # -- painting -------------------------------------------------------------
    def paintEvent(self, e) -> None:
        p = QPainter(self)
        r = e.rect()
        p.fillRect(r, BACKGROUND)
        if self.image is None:
            p.setPen(QColor(180, 180, 180))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "Open an image or a folder (Ctrl+O), or drop it here")
            return
        src, dst = self._visible_rects(r)
        if src is not None:
            p.drawImage(dst, self.image, src)
            if self._overlay_image is not None and self.opacity > 0:
                p.setOpacity(self.opacity)
                p.drawImage(dst, self._overlay_image, src)
                p.setOpacity(1.0)
            if self.heat_visible and self._heat_image is not None:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                p.drawImage(dst, self._heat_image, self._heat.grid_rect(src.x(), src.y(), src.width(), src.height()))
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self._paint_tool(p)

    def _visible_rects(self, r: QRect):
        """The image rectangle behind widget rect ``r`` (source) and where it lands (target)."""
        w, h = self.image_size()
        s, ox, oy = self.scale, self.offset.x(), self.offset.y()
        x0 = max(0, math.floor((r.left() - ox) / s))
        y0 = max(0, math.floor((r.top() - oy) / s))
        x1 = min(w, math.ceil((r.right() + 1 - ox) / s))
        y1 = min(h, math.ceil((r.bottom() + 1 - oy) / s))
        if x1 <= x0 or y1 <= y0:
            return None, None
        src = QRectF(x0, y0, x1 - x0, y1 - y0)
        dst = QRectF(x0 * s + ox, y0 * s + oy, (x1 - x0) * s, (y1 - y0) * s)
        return src, dst

    def _paint_tool(self, p: QPainter) -> None:
        if self.tool is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._tool_preview.paint(p, self, self.tool)
        pts = [self._to_widget(q) for q in self.tool.preview()]
        if pts:
            p.setPen(QPen(QColor(255, 220, 0), 1.5))
            for a, b in zip(pts, pts[1:]):
                p.drawLine(a, b)
            if self._hover is not None:
                p.setPen(QPen(QColor(255, 220, 0), 1, Qt.PenStyle.DashLine))
                p.drawLine(pts[-1], self._hover)
            for q in pts:
                p.drawEllipse(q, 2.5, 2.5)
        if self.tool.uses_radius and self._hover is not None:
            rad = self._brush_radius_px()
            p.setPen(QPen(QColor(0, 0, 0, 160), 3))
            p.drawEllipse(self._hover, rad, rad)
            p.setPen(QPen(QColor(255, 255, 255), 1))
            p.drawEllipse(self._hover, rad, rad)

    def _to_widget(self, q) -> QPointF:
        return QPointF((q[0] + 0.5) * self.scale + self.offset.x(), (q[1] + 0.5) * self.scale + self.offset.y())

    def _brush_radius_px(self) -> float:
        return max(2.0, (self.tool.state.radius + 0.5) * self.scale)

    def _cursor_rect(self, pos: QPointF | None) -> QRect:
        if pos is None:
            return QRect()
        rad = self._brush_radius_px() + 3 if self.tool is not None and self.tool.uses_radius else 4
        return QRect(int(pos.x() - rad) - 1, int(pos.y() - rad) - 1, int(2 * rad) + 3, int(2 * rad) + 3)

    # -- pointer ------------------------------------------------------------------
    def _pan_start(self, e) -> bool:
        return e.button() == Qt.MouseButton.MiddleButton or (
            e.button() == Qt.MouseButton.LeftButton and self._space)

    def mousePressEvent(self, e) -> None:
        if self.image is None:
            return
        if self._pan_start(e):
            self._panning = e.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif e.button() == Qt.MouseButton.LeftButton and self.tool is not None:
            self._dragging = True
            self.tool.press(self.to_image(e.position()))
            self._update_preview()
        elif e.button() == Qt.MouseButton.RightButton and self.tool is not None:
            self.tool.secondary_press(self.to_image(e.position()))
            self.update()

    def mouseMoveEvent(self, e) -> None:
        pos = e.position()
        old = self._hover
        self._hover = pos
        if self._panning is not None:
            self.offset += pos - self._panning
            self._panning = pos
            self._auto_fit = False
            self.update()
            return
        if self.image is not None:
            x, y = self.to_image(pos)
            xi, yi = int(round(x)), int(round(y))
            w, h = self.image_size()
            self.hovered.emit(*((xi, yi) if 0 <= xi < w and 0 <= yi < h else (-1, -1)))
            if self._dragging and self.tool is not None:
                self.tool.move((x, y))
            elif self.tool is not None:
                self.tool.hover((x, y))
        if self.tool is not None:
            if self.tool.preview() or self.tool.preview_strokes():
                self._update_preview()
            else:
                self.update(self._cursor_rect(old))
                self.update(self._cursor_rect(pos))

    def mouseReleaseEvent(self, e) -> None:
        if self._panning is not None and e.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._panning = None
            self.unsetCursor()
            return
        if e.button() == Qt.MouseButton.LeftButton and self._dragging:
            self._dragging = False
            if self.tool is not None:
                self.tool.release(self.to_image(e.position()))
                if self.tool.preview_strokes():
                    self.update()

    def mouseDoubleClickEvent(self, e) -> None:
        if e.button() == Qt.MouseButton.LeftButton and self.tool is not None and self.image is not None:
            self.tool.double_click(self.to_image(e.position()))
            self._update_preview(full=True)

    def leaveEvent(self, e) -> None:
        old, self._hover = self._hover, None
        self.update(self._cursor_rect(old))
        self.hovered.emit(-1, -1)

    def wheelEvent(self, e) -> None:
        if self.image is None:
            return
        steps = e.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(1.25 ** steps, e.position())

    def keyPressEvent(self, e) -> None:
        key = e.key()
        if key == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.tool is not None:
            self.tool.key_enter()
            self._update_preview(full=True)
        elif key == Qt.Key.Key_Escape and self.tool is not None and self.tool.key_escape():
            self._update_preview(full=True)
        else:
            super().keyPressEvent(e)

    def keyReleaseEvent(self, e) -> None:
        if e.key() == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space = False
            self.unsetCursor()
        else:
            super().keyReleaseEvent(e)

    def _update_preview(self, full: bool = False) -> None:
        pts = [self._to_widget(q) for q in self.tool.preview()] if self.tool is not None else []
        if self.tool is not None and self.tool.preview_strokes():
            full = True  # strokes are few and short-lived: repaint them whole
        if full or not pts:
            self.update()
            return
        if self._hover is not None:
            pts.append(self._hover)
        xs, ys = [q.x() for q in pts], [q.y() for q in pts]
        self.update(QRect(int(min(xs)) - 4, int(min(ys)) - 4, int(max(xs) - min(xs)) + 9, int(max(ys) - min(ys)) + 9))
