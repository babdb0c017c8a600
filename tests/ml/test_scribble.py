"""Scribble -> dense CRF through the document API."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import edits
from segstudio.core.history import History
from segstudio.core.smart import NeedsPrediction
from segstudio.ml.scribble import Stroke, scribble_crf, scribble_proposal
from tests.smart_cases import SQUARE, memory_of, predicted_doc, scene


@pytest.fixture(scope="module")
def case():
    rgb, gt, pred, probs = scene()
    return rgb, gt, pred, memory_of(probs)


def full(proposal, shape):
    out = np.zeros(shape, bool)
    y0, x0, y1, x1 = proposal.box
    out[y0:y1, x0:x1] = proposal.mask
    return out


def test_a_stroke_spreads_over_its_region_and_stops_at_the_edge(case):
    rgb, gt, pred, memory = case
    doc = predicted_doc(pred)
    stroke = Stroke([(100.0, 50.0), (115.0, 58.0)], 3)
    p = scribble_proposal(doc, memory, rgb, [stroke])
    got = full(p, gt.shape)
    square = gt == 3
    assert (got & square).sum() >= 0.8 * square.sum()
    assert (got & ~square).sum() <= 0.02 * square.sum()
    assert p.class_ids() == [3]
    before = doc.class_map.copy()
    np.testing.assert_array_equal(doc.class_map, before)  # a proposal is only a preview
    history = History()
    history.push(scribble_crf(doc, memory, rgb, [stroke]), "scribble")
    assert (doc.class_map[got] == 3).all() and doc.invariant_errors() == []
    history.undo(doc)
    np.testing.assert_array_equal(doc.class_map, before)


def test_strokes_of_two_classes_each_spread_and_the_later_wins_where_they_cross(case):
    rgb, gt, pred, memory = case
    doc = predicted_doc(pred)
    a = Stroke([(100.0, 50.0), (120.0, 50.0)], 3)
    b = Stroke([(110.0, 45.0), (110.0, 55.0)], 4)
    p = scribble_proposal(doc, memory, rgb, [a, b])
    assert set(p.class_ids()) == {3, 4}
    y0, x0 = p.offset
    assert p.classes[50 - y0, 110 - x0] == 4 and p.classes[50 - y0, 101 - x0] == 3


def test_scribble_needs_the_prediction_and_keeps_hand_painted_pixels(case):
    rgb, gt, pred, memory = case
    doc = predicted_doc(pred)
    stroke = Stroke([(100.0, 50.0), (115.0, 58.0)], 3)
    with pytest.raises(NeedsPrediction, match="predict this image first"):
        scribble_proposal(doc, None, rgb, [stroke])
    y0, x0, y1, x1 = SQUARE
    edits.paint_mask(doc, np.ones((5, 5), bool), (y1 - 8, x1 - 8), class_id=6)
    scribble_crf(doc, memory, rgb, [stroke])
    assert (doc.class_map[y1 - 8:y1 - 3, x1 - 8:x1 - 3] == 6).all()
    assert scribble_proposal(doc, memory, rgb, [Stroke([(-50.0, -50.0)], 3)]) is None  # outside the image
