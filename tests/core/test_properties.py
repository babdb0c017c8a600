"""Property tests: random edit sequences keep the invariant; undo-all/redo-all restore exactly."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segstudio.core import edits
from segstudio.core.annotation import Annotation
from segstudio.core.history import History

H, W = 24, 30
coord = st.tuples(st.floats(-5, W + 5, allow_nan=False), st.floats(-5, H + 5, allow_nan=False))
cls = st.sampled_from([0, 1, 2, 5, 255])
thing = st.sampled_from([1, 2, 5])

op = st.one_of(
    st.tuples(st.just("paint"), coord, coord, st.floats(0, 6), cls),
    st.tuples(st.just("erase"), coord, coord, st.floats(0, 6), st.booleans()),
    st.tuples(st.just("fill"), coord, cls, st.sampled_from(["class", "instance"])),
    st.tuples(st.just("poly"), st.lists(coord, min_size=3, max_size=6), cls),
    st.tuples(st.just("new"), thing, coord, st.floats(0, 6)),
    st.tuples(st.just("inst_paint"), st.integers(0, 10), coord, coord, st.floats(0, 6)),
    st.tuples(st.just("relabel"), st.integers(0, 10), thing),
    st.tuples(st.just("delete"), st.integers(0, 10)),
    st.tuples(st.just("merge"), st.integers(0, 10), st.integers(0, 10)),
    st.tuples(st.just("predict"), st.integers(0, 2 ** 31 - 1), st.booleans()),
)


def _pick(doc, i):
    ids = sorted(doc.instances)
    return ids[i % len(ids)] if ids else None


def _run(doc, h, o):
    kind = o[0]
    if kind == "paint":
        return edits.paint_segment(doc, o[1], o[2], o[3], class_id=o[4])
    if kind == "erase":
        return edits.erase_segment(doc, o[1], o[2], o[3], to_void=o[4])
    if kind == "fill":
        return edits.flood_fill(doc, o[1], class_id=o[2], by=o[3])
    if kind == "poly":
        return edits.fill_polygon(doc, o[1], class_id=o[2])
    if kind == "new":
        mask, off = edits.disc_segment_mask(o[2], o[2], o[3])
        return edits.create_instance(doc, o[1], mask, off)[0]
    k = _pick(doc, o[1]) if kind != "predict" else None
    if kind == "inst_paint" and k:
        return edits.paint_segment(doc, o[2], o[3], o[4], instance_id=k)
    if kind == "relabel" and k:
        return edits.relabel_instance(doc, k, o[2])
    if kind == "delete" and k:
        return edits.delete_instance(doc, k)
    if kind == "merge" and k:
        return edits.merge_instances(doc, k, [_pick(doc, o[2])])
    if kind == "predict":
        rng = np.random.default_rng(o[1])
        pc = rng.choice(np.array([0, 1, 2, 255], np.uint8), size=(H, W))
        pi = np.zeros((H, W), np.int32)
        pi[rng.integers(0, H):, rng.integers(0, W):] = 1
        from segstudio.core.annotation import Instance
        return edits.apply_prediction(doc, pc, pi, {1: Instance(2, 0.5, "model")}, keep_user=o[2])
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(op, min_size=1, max_size=3), min_size=1, max_size=12))
def test_random_edits_keep_invariant_and_undo_redo_restore(steps):
    doc = Annotation.blank(H, W)
    h = History()
    snapshots = [doc.copy()]
    for group in steps:
        with h.step("op"):
            for o in group:
                h.add(_run(doc, h, o))
                assert doc.invariant_errors() == []
        snapshots.append(doc.copy())
    final = doc.copy()
    undone = 0
    while h.undo(doc) is not None:
        undone += 1
        assert doc.invariant_errors() == []
        # each undo lands on the document as it was after some earlier step
        assert any(doc.equals(s) for s in snapshots[:-1])
    assert doc.equals(snapshots[0]) and doc.status == "unlabelled"
    while h.redo(doc) is not None:
        assert doc.invariant_errors() == []
    assert doc.equals(final)
