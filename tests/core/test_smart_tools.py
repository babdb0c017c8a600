"""Smart tools through the document API: click to correct, the superpixel brush, the hand-painted rule."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import edits
from segstudio.core.click_correct import correct_click, correct_proposal, superpixel_size
from segstudio.core.history import History
from segstudio.core.smart import NeedsPrediction, SmartParams, apply_proposal, locked_pixels
from segstudio.core.superpixels import compute_superpixels, size_for_zoom, superpixel_paint
from tests.smart_cases import SQUARE, memory_of, predicted_doc, scene

CLICK = (110.0, 55.0)  # (x, y) inside the square


@pytest.fixture(scope="module")
def case():
    rgb, gt, pred, probs = scene()
    return rgb, gt, pred, memory_of(probs), compute_superpixels(rgb, superpixel_size(gt.shape))


def test_click_relabels_the_region_the_model_doubted_and_nothing_else(case):
    rgb, gt, pred, memory, sp = case
    doc = predicted_doc(pred)
    history = History()
    history.push(correct_click(doc, memory, CLICK, 3, sp), "correct")
    np.testing.assert_array_equal(doc.class_map, gt)  # the whole square, edges on the image's edges
    assert doc.user_mask.sum() == (gt == 3).sum()     # what the user decided is marked as theirs
    assert doc.invariant_errors() == [] and doc.status == "edited"
    history.undo(doc)                                 # one step
    np.testing.assert_array_equal(doc.class_map, pred)
    assert not doc.user_mask.any()


def test_tolerance_widens_and_narrows(case):
    rgb, gt, pred, memory, sp = case
    doc = predicted_doc(pred)
    sizes = [correct_proposal(doc, memory, CLICK, 3, sp, SmartParams(tolerance=t)).pixels for t in (0.1, 0.3, 0.6)]
    assert sizes[0] < sizes[1] < sizes[2] == (gt == 3).sum()


def test_click_needs_the_prediction_and_does_nothing_on_its_own_class(case):
    rgb, gt, pred, memory, sp = case
    doc = predicted_doc(pred)
    with pytest.raises(NeedsPrediction, match="predict this image first"):
        correct_proposal(doc, None, CLICK, 3, sp)
    assert correct_proposal(doc, memory, CLICK, 2, sp) is None      # already that class
    assert correct_proposal(doc, memory, (-5.0, 3.0), 3, sp) is None  # outside the image


def test_hand_painted_pixels_stay_unless_clicked(case):
    rgb, gt, pred, memory, sp = case
    y0, x0, y1, x1 = SQUARE
    doc = predicted_doc(pred)
    # a stripe of the square painted by hand as class 5 stays when the click spreads around it
    doc_stripe = edits.paint_mask(doc, np.ones((4, 20), bool), (y0 + 2, x0 + 5), class_id=5)
    assert doc_stripe is not None
    correct_click(doc, memory, (x0 + 15.0, y1 - 6.0), 3, sp)
    assert (doc.class_map[y0 + 2:y0 + 6, x0 + 5:x0 + 25] == 5).all()
    assert (doc.class_map[y0 + 10:y1, x0:x1] == 3).all()
    # clicking on the hand-painted stripe redoes it (and only it: the rest is hand-painted 3 now)
    correct_click(doc, memory, (x0 + 10.0, y0 + 3.0), 3, sp)
    np.testing.assert_array_equal(doc.class_map, gt)
    # keep_user=False lifts the protection altogether
    doc2 = predicted_doc(pred)
    edits.paint_mask(doc2, np.ones((4, 20), bool), (y0 + 2, x0 + 5), class_id=5)
    correct_click(doc2, memory, (x0 + 15.0, y1 - 6.0), 3, sp, SmartParams(keep_user=False))
    np.testing.assert_array_equal(doc2.class_map, gt)


def test_locked_pixels_unlock_only_the_clicked_patch():
    doc = predicted_doc(np.zeros((10, 10), np.uint8))
    edits.paint_mask(doc, np.ones((2, 3), bool), (1, 1), class_id=4)   # patch A
    edits.paint_mask(doc, np.ones((2, 3), bool), (6, 6), class_id=4)   # patch B
    seeds = np.zeros((10, 10), bool)
    seeds[1, 1] = True
    locked = locked_pixels(doc, (0, 0, 10, 10), seeds)
    assert not locked[1:3, 1:4].any() and locked[6:8, 6:9].all()
    assert not locked_pixels(doc, (0, 0, 10, 10), seeds, keep_user=False).any()


def test_anchors_keep_an_earlier_click_when_a_later_one_disputes_it(case):
    rgb, gt, pred, memory, sp = case
    doc = predicted_doc(pred)
    correct_click(doc, memory, CLICK, 3, sp, SmartParams(tolerance=1.0))
    # a click of class 2 on the square again, with the first click as an anchor: its spot keeps 3
    correct_click(doc, memory, (100.0, 68.0), 2, sp, anchors=[(CLICK[0], CLICK[1], 3)])
    assert doc.class_map[int(CLICK[1]), int(CLICK[0])] == 3


def test_superpixel_click_paints_exactly_the_superpixel_under_it(case):
    rgb, gt, pred, memory, sp = case
    doc = predicted_doc(pred)
    patches = superpixel_paint(doc, sp, (30.0, 30.0), (30.0, 30.0), 0.0, 4)
    labels = sp.labels_in((0, 0) + doc.shape)
    want = labels == labels[30, 30]
    np.testing.assert_array_equal(doc.class_map == 4, want)
    assert len(patches) == 1 and want.sum() > 10
    # a stroke paints every superpixel the brush touches
    doc2 = predicted_doc(pred)
    superpixel_paint(doc2, sp, (10.0, 80.0), (60.0, 80.0), 3.0, 4)
    foot, (oy, ox) = edits.brush_segment_mask((10.0, 80.0), (60.0, 80.0), 3.0)
    touched = np.unique(labels[oy:oy + foot.shape[0], ox:ox + foot.shape[1]][foot])
    np.testing.assert_array_equal(doc2.class_map == 4, np.isin(labels, touched))


def test_superpixels_of_a_large_image_come_from_a_reduced_copy():
    rgb, gt, _, _ = scene(1, 240, 320)
    sp = compute_superpixels(rgb, 8, max_pixels=240 * 320 // 4)
    assert 0.45 < sp.scale < 0.55 and sp.labels.shape == (120, 160)
    labels = sp.labels_in((0, 0, 240, 320))
    # superpixels follow the square's edges at full resolution, within the reduced copy's pixel
    inside = np.unique(labels[gt == 3])
    purity = np.isin(labels, inside)[gt != 3].sum() / (gt == 3).sum()
    assert purity < 0.15
    assert sp.count == len(sp.boxes) and (sp.boxes[:, 2] > sp.boxes[:, 0]).all()


def test_superpixel_size_follows_the_zoom():
    assert size_for_zoom(1.0) == 24
    assert size_for_zoom(4.0) == 6
    assert size_for_zoom(0.25) == 96
    assert size_for_zoom(2.0) < size_for_zoom(1.0) < size_for_zoom(0.5)


def test_an_empty_proposal_changes_nothing():
    doc = predicted_doc(np.zeros((5, 5), np.uint8))
    assert apply_proposal(doc, None) == []
