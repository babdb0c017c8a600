import numpy as np

from segstudio.core import edits
from segstudio.core.annotation import Annotation
from segstudio.core.history import History


def test_one_drag_is_one_step():
    doc = Annotation.blank(60, 60)
    h = History()
    h.begin_step("brush")
    pts = [(5, 5), (10, 8), (20, 12), (30, 30)]
    for a, b in zip(pts, pts[1:]):
        h.add(edits.paint_segment(doc, a, b, 3, class_id=1))
    h.end_step()
    assert len(h) == 1 and h.undo_label == "brush"
    h.undo(doc)
    assert not doc.class_map.any() and not doc.user_mask.any()
    h.redo(doc)
    assert doc.class_map[5, 5] == 1 and doc.class_map[30, 30] == 1


def test_new_step_clears_redo_and_dirty_tracking():
    doc = Annotation.blank(20, 20)
    h = History()
    assert not h.is_dirty
    h.push(edits.paint_segment(doc, (5, 5), (5, 5), 2, class_id=1))
    assert h.is_dirty
    h.mark_saved()
    assert not h.is_dirty
    h.undo(doc)
    assert h.is_dirty and h.can_redo
    h.push(edits.paint_segment(doc, (9, 9), (9, 9), 2, class_id=2))
    assert not h.can_redo and h.is_dirty
    assert h.push(None) is None  # nothing changed, no step


def test_history_is_bounded_by_bytes_and_keeps_the_newest():
    doc = Annotation.blank(200, 200)
    h = History(max_bytes=60_000)
    for i in range(50):
        h.push(edits.paint_segment(doc, (20 + 3 * i, 20), (20 + 3 * i, 180), 4, class_id=1 + i % 3))
    assert h.nbytes <= 60_000
    assert 1 < len(h) < 50
    n = len(h)
    for _ in range(n):
        assert h.undo(doc) is not None
    assert h.undo(doc) is None
    # the oldest steps were dropped, so the earliest strokes remain painted
    assert doc.class_map.any()


def test_a_single_step_larger_than_the_bound_is_still_undoable():
    doc = Annotation.blank(100, 100)
    h = History(max_bytes=10)
    h.push(edits.flood_fill(doc, (0, 0), class_id=4))
    assert len(h) == 1
    h.undo(doc)
    assert not doc.class_map.any()


def test_undoing_past_dropped_steps_still_reports_unsaved_changes():
    doc = Annotation.blank(100, 100)
    h = History(max_bytes=30_000)
    h.mark_saved()
    h.push(edits.flood_fill(doc, (0, 0), class_id=3))
    h.push(edits.flood_fill(doc, (0, 0), class_id=4))  # the first step is dropped for memory
    assert len(h) == 1
    h.undo(doc)
    assert (doc.class_map == 3).all()  # the dropped step's change is still in the document
    assert h.is_dirty and not h.can_undo


def test_masks_are_counted_and_instance_edits_do_not_pin_the_whole_image():
    doc = Annotation.blank(400, 400)
    h = History()
    _, k = edits.create_instance(doc, 2, np.ones((2, 2), bool), (10, 10))
    p = edits.delete_instance(doc, k)
    assert p.mask.base is None or p.mask.base.size == p.mask.size  # a 2×2 copy, not a view of 400×400
    fill = edits.flood_fill(doc, (200, 200), class_id=5)
    assert fill.nbytes >= fill.mask.nbytes + fill.old_class.nbytes
    brush = edits.paint_segment(doc, (50, 50), (60, 50), 5, class_id=1)
    assert not brush.mask.flags.writeable  # the shared footprint is not counted per patch
    h.push(brush)
    assert h.nbytes < brush.old_class.nbytes * 4 + 1000
