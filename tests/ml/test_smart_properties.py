"""Property test: any sequence of smart-tool edits keeps the invariant and each undoes in one step."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segstudio.core import edits
from segstudio.core.annotation import Instance
from segstudio.core.click_correct import correct_click, superpixel_size
from segstudio.core.history import History
from segstudio.core.smart import SmartParams
from segstudio.core.superpixels import compute_superpixels, superpixel_paint
from segstudio.ml.scribble import Stroke, scribble_crf
from tests.smart_cases import memory_of, predicted_doc, scene

H, W = 48, 64
RGB, GT, PRED, PROBS = scene(2, H, W)
MEMORY = memory_of(PROBS)
FINE = compute_superpixels(RGB, superpixel_size((H, W)))
COARSE = compute_superpixels(RGB, 12)

point = st.tuples(st.floats(-3, W + 3, allow_nan=False), st.floats(-3, H + 3, allow_nan=False))
cls = st.sampled_from([0, 1, 2, 3, 255])
params = st.builds(SmartParams, tolerance=st.floats(0, 1), keep_user=st.booleans())
op = st.one_of(
    st.tuples(st.just("correct"), point, cls, params),
    st.tuples(st.just("superpixel"), point, point, st.floats(0, 5), cls, params),
    st.tuples(st.just("scribble"), st.lists(st.tuples(point, cls), min_size=1, max_size=3), params),
    st.tuples(st.just("brush"), point, st.floats(0, 6), cls),
    st.tuples(st.just("instance"), point, st.floats(1, 6), st.sampled_from([1, 2, 3])),
)


def run(doc, o, anchors):
    kind = o[0]
    if kind == "correct":
        out = correct_click(doc, MEMORY, o[1], o[2], FINE, o[3], anchors)
        anchors.append((o[1][0], o[1][1], o[2]))
        return out
    if kind == "superpixel":
        return superpixel_paint(doc, COARSE, o[1], o[2], o[3], o[4], o[5])
    if kind == "scribble":
        strokes = [Stroke([p, (p[0] + 4, p[1] + 2)], c) for p, c in o[1]]
        return scribble_crf(doc, MEMORY, RGB, strokes, o[2])
    if kind == "brush":
        return [edits.paint_segment(doc, o[1], o[1], o[2], class_id=o[3])]
    mask, off = edits.disc_segment_mask(o[1], o[1], o[2])
    return [edits.create_instance(doc, o[3], mask, off)[0]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=6))
def test_smart_edits_keep_the_invariant_and_undo_in_one_step(ops):
    doc = predicted_doc(PRED)
    # start from a prediction with an instance, so relabelling must take pixels out of it
    inst = np.zeros((H, W), np.int32)
    inst[30:40, 5:20] = 1
    edits.apply_prediction(doc, PRED, inst, {1: Instance(1, 0.9, "model")})
    history = History()
    snapshots = [doc.copy()]
    anchors = []
    for o in ops:
        patches = [p for p in run(doc, o, anchors) if p is not None]
        assert doc.invariant_errors() == []
        if history.push(patches, o[0]) is not None:
            snapshots.append(doc.copy())
        else:
            assert doc.equals(snapshots[-1])  # no patch: nothing changed
    final = doc.copy()
    for before in reversed(snapshots[:-1]):  # each edit undoes in one step, to exactly what was before
        assert history.undo(doc) is not None
        assert doc.invariant_errors() == [] and doc.equals(before)
    assert history.undo(doc) is None
    while history.redo(doc) is not None:
        pass
    assert doc.equals(final)
