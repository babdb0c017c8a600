"""Pixel snapshot of what the canvas draws for a small known document."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from segstudio.app.canvas.overlay import HATCH_DARK, HATCH_PERIOD, OUTLINE, OverlayBuffer
from segstudio.app.editor import Editor
from segstudio.core.annotation import Annotation
from segstudio.core.edits import create_instance, paint_segment
from segstudio.core.labels import VOID_ID, LabelSet
from tests.app.conftest import set_view

S = 8  # screen pixels per image pixel


def known_document():
    cls = np.zeros((6, 8), np.uint8)
    cls[0:2, 0:3] = 1     # aeroplane
    cls[0:3, 5:8] = 7     # car
    cls[4:6, 0:4] = VOID_ID
    doc = Annotation(cls)
    create_instance(doc, 15, np.ones((3, 3), bool), (3, 5))  # person at rows 3-5, cols 5-7
    return doc


def expected_colour(doc, palette, y, x):
    """What one image pixel must look like with opacity 1 over a black image."""
    c = int(doc.class_map[y, x])
    k = int(doc.instance_map[y, x])
    if k:
        inside = all(0 <= yy < doc.height and 0 <= xx < doc.width and doc.instance_map[yy, xx] == k
                     for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)))
        if not inside:
            return OUTLINE
    if c == 0:
        return (0, 0, 0)
    if c == VOID_ID:
        return HATCH_DARK if ((y + x) // (HATCH_PERIOD // 2)) % 2 else tuple(palette[VOID_ID])
    return tuple(palette[c])


def test_rendered_overlay_matches_the_palette(qtbot):
    from segstudio.app.canvas.view import CanvasView
    doc = known_document()
    palette = LabelSet.voc().palette()
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(8 * S, 6 * S)
    view.show()
    qtbot.waitExposed(view)
    black = np.zeros((6, 8, 3), np.uint8)
    view.set_document(black, Editor(doc), palette)
    view.set_opacity(1.0)
    set_view(view, S, 0, 0)
    shot = view.grab().toImage()
    for y in range(6):
        for x in range(8):
            got = QColor(shot.pixel(x * S + S // 2, y * S + S // 2))
            want = expected_colour(doc, palette, y, x)
            assert (got.red(), got.green(), got.blue()) == tuple(int(v) for v in want), (y, x)
    # void never looks like a class: the hatch shows both of its colours
    void_cols = {QColor(shot.pixel(x * S + 4, 5 * S + 4)).rgb() for x in range(4)}
    assert len(void_cols) == 2


def test_overlay_recolours_only_the_patch_box():
    doc = Annotation.blank(300, 400)
    ov = OverlayBuffer(doc, LabelSet.voc().palette())
    ov.buffer[:] = 7  # poison: anything recoloured loses it
    patch = paint_segment(doc, (100, 100), (120, 110), 5, class_id=3)
    box = ov.recolor_box(patch.box)
    y0, x0, y1, x1 = box
    assert (y0, x0) == (patch.box[0] - 1, patch.box[1] - 1)
    touched = np.zeros(doc.shape, bool)
    touched[y0:y1, x0:x1] = True
    assert (ov.buffer[~touched] == 7).all()
    expected = np.where(doc.class_map[y0:y1, x0:x1] == 3, 1, 0)
    np.testing.assert_array_equal(ov.buffer[y0:y1, x0:x1, 3] == 255, expected == 1)


def test_hidden_class_and_toggles():
    doc = known_document()
    ov = OverlayBuffer(doc, LabelSet.voc().palette(), hidden={7})
    assert not ov._pixels[0:3, 5:8].any()
    assert ov._pixels[0:2, 0:3].all()
    ov.set_visibility(classes=False)
    assert not ov._pixels[0:2, 0:3].any()
    assert ov._pixels[3, 5:8].all()  # outlines still drawn
    ov.set_visibility(outlines=False)
    assert not ov._pixels.any()
