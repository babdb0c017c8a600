"""The colourised overlay as a persistent BGRA buffer, recoloured per box.

``OverlayBuffer`` keeps one H×W×4 uint8 array for the whole image (the
memory layout of ``QImage.Format_ARGB32_Premultiplied`` on little-endian
machines), coloured through a 256-entry lookup table (one 32-bit pixel per
class id).  An edit recolours only its patch box (grown by one pixel for the
instance outlines); nothing here touches pixels outside that box.

* background (0) and hidden classes are transparent (class 0 is drawn in its
  colour when the label set has no background: there it is a real class);
* void (255) is drawn as diagonal stripes of the void colour and dark grey,
  so it cannot be mistaken for a class; where the label set has no background,
  void is also what "not labelled yet" is, so it is drawn light: thin dark
  lines over the clear image (``show_background``);
* instance outlines: pixels whose 4-neighbour belongs to another instance
  (or to none) are drawn white; the selected instance's outline is yellow.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.annotation import Annotation, Box
from segstudio.core.labels import VOID_ID

HATCH_PERIOD = 8  # pixels per stripe pair
HATCH_DARK = (48, 48, 48)
OUTLINE = (255, 255, 255)
OUTLINE_SELECTED = (255, 220, 0)


def bgra(rgb, alpha: int = 255) -> np.uint32:
    """A colour as the uint32 of a premultiplied ARGB32 pixel."""
    r, g, b = (int(c) * alpha // 255 for c in rgb)
    return np.uint32((alpha << 24) | (r << 16) | (g << 8) | b)


def make_lut(palette: np.ndarray, hidden: set[int] | frozenset = frozenset(),
             show_background: bool = False) -> np.ndarray:
    """(256,) uint32 pixels for class ids; background and hidden classes transparent."""
    lut = np.array([bgra(palette[i]) for i in range(256)], dtype=np.uint32)
    if not show_background:
        lut[0] = 0
    for i in hidden:
        lut[int(i)] = 0
    return lut


class OverlayBuffer:
    def __init__(self, doc: Annotation, palette: np.ndarray, hidden=(), show_classes: bool = True,
                 show_outlines: bool = True, show_background: bool = False):
        self.doc = doc
        h, w = doc.shape
        self.buffer = np.zeros((h, w, 4), np.uint8)
        self._pixels = self.buffer.view(np.uint32)[:, :, 0]  # same memory, one uint32 per pixel
        self.palette = np.asarray(palette, np.uint8)
        self.hidden: set[int] = set(hidden)
        self.show_classes = bool(show_classes)
        self.show_outlines = bool(show_outlines)
        self.selected_instance = 0
        self.show_background = bool(show_background)
        self.lut = self._make_lut()
        self._hatch_b = bgra(HATCH_DARK)
        self._outline = bgra(OUTLINE)
        self._outline_sel = bgra(OUTLINE_SELECTED)
        self.recolor_all()

    @property
    def width(self) -> int:
        return self.buffer.shape[1]

    @property
    def height(self) -> int:
        return self.buffer.shape[0]

    # -- settings (each one recolours everything once) ---------------------
    def set_palette(self, palette: np.ndarray, hidden=None) -> None:
        self.palette = np.asarray(palette, np.uint8)
        if hidden is not None:
            self.hidden = set(hidden)
        self.lut = self._make_lut()
        self.recolor_all()

    def set_visibility(self, classes: bool | None = None, outlines: bool | None = None) -> None:
        if classes is not None:
            self.show_classes = bool(classes)
        if outlines is not None:
            self.show_outlines = bool(outlines)
        self.recolor_all()

    def select_instance(self, instance_id: int) -> list[Box]:
        """Change the highlighted instance; returns the boxes that were recoloured."""
        boxes = []
        for k in {self.selected_instance, instance_id} - {0}:
            if k in self.doc.instances:
                box = self.doc.instance_box(k)
                if box is not None:
                    boxes.append(box)
        self.selected_instance = instance_id
        for b in boxes:
            self.recolor_box(b)
        return boxes

    # -- recolouring -------------------------------------------------------
    def recolor_all(self) -> None:
        self.recolor_box((0, 0, self.height, self.width))

    def grow(self, box: Box) -> Box:
        """The box an edit inside ``box`` can change on screen (outlines reach one pixel out)."""
        y0, x0, y1, x1 = box
        return max(0, y0 - 1), max(0, x0 - 1), min(self.height, y1 + 1), min(self.width, x1 + 1)

    def recolor_box(self, box: Box) -> Box:
        """Recolour the pixels of ``box`` (grown by one pixel); returns the box recoloured."""
        y0, x0, y1, x1 = self.grow(box)
        if y1 <= y0 or x1 <= x0:
            return (y0, x0, y1, x1)
        sl = (slice(y0, y1), slice(x0, x1))
        out = self._pixels[sl]
        cls = self.doc.class_map[sl]
        if self.show_classes:
            out[...] = self.lut[cls]
            if VOID_ID not in self.hidden:
                self._hatch(cls, out, y0, x0)
        else:
            out[...] = 0
        if self.show_outlines and self.doc.instances:
            self._outlines(out, y0, x0, y1, x1)
        return (y0, x0, y1, x1)

    def _make_lut(self) -> np.ndarray:
        lut = make_lut(self.palette, self.hidden, self.show_background)
        if self.show_background:
            lut[VOID_ID] = 0  # light void: only the lines of _hatch
        return lut

    def _hatch(self, cls: np.ndarray, out: np.ndarray, y0: int, x0: int) -> None:
        void = cls == VOID_ID
        if not void.any():
            return
        ys, xs = np.nonzero(void)
        if self.show_background:  # light: one-pixel lines
            stripe = (ys + y0 + xs + x0) % HATCH_PERIOD == 0
        else:
            stripe = ((ys + y0 + xs + x0) // (HATCH_PERIOD // 2)) % 2 == 1
        out[ys[stripe], xs[stripe]] = self._hatch_b

    def _outlines(self, out: np.ndarray, y0: int, x0: int, y1: int, x1: int) -> None:
        inst_map = self.doc.instance_map
        h, w = inst_map.shape
        # the box plus a one-pixel ring (0 = no instance beyond the image border)
        ey0, ex0, ey1, ex1 = max(0, y0 - 1), max(0, x0 - 1), min(h, y1 + 1), min(w, x1 + 1)
        ext = inst_map[ey0:ey1, ex0:ex1]
        pad = np.pad(ext, ((int(y0 == ey0), int(y1 == ey1)), (int(x0 == ex0), int(x1 == ex1))), mode="constant")
        c = pad[1:-1, 1:-1]
        edge = (c != pad[:-2, 1:-1]) | (c != pad[2:, 1:-1]) | (c != pad[1:-1, :-2]) | (c != pad[1:-1, 2:])
        edge &= c != 0
        if not edge.any():
            return
        out[edge] = self._outline
        if self.selected_instance:
            out[edge & (c == self.selected_instance)] = self._outline_sel

    def qimage(self):
        """A QImage that wraps the buffer (no copy): edits to the buffer show through."""
        from PySide6.QtGui import QImage
        h, w = self.height, self.width
        return QImage(self.buffer.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
