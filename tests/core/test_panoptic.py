"""Panoptic merge: score order, overlap rule, stuff in the rest, tiny stuff removed, invariant kept."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segstudio.core.labels import VOID_ID
from segstudio.core.panoptic import Thing, merge
from segstudio.errors import EditError


def box_thing(y0, x0, y1, x1, cls, score):
    return Thing(np.ones((y1 - y0, x1 - x0), bool), (y0, x0), cls, score)


def test_best_score_wins_overlap_and_heavily_covered_things_are_dropped():
    things = [box_thing(0, 0, 10, 10, 3, 0.6),      # placed second: loses its overlap with the first
              box_thing(5, 5, 15, 15, 7, 0.9),      # best
              box_thing(6, 6, 14, 14, 8, 0.8)]      # fully inside the best: dropped
    doc = merge((20, 20), things)
    assert doc.invariant_errors() == []
    assert set(doc.instances) == {1, 2}
    assert doc.instances[1].class_id == 7 and doc.instances[1].score == pytest.approx(0.9)
    assert (doc.instance_map == 1).sum() == 100
    assert (doc.instance_map == 2).sum() == 100 - 25
    assert doc.class_map[7, 7] == 7 and doc.class_map[2, 2] == 3 and doc.class_map[19, 19] == 0
    assert doc.instances[2].source == "model" and doc.status == "predicted"


def test_overlap_threshold_controls_dropping():
    a, b = box_thing(0, 0, 10, 10, 1, 0.9), box_thing(0, 4, 10, 14, 2, 0.5)  # b is 60% covered
    assert len(merge((10, 20), [a, b], overlap=0.5).instances) == 1
    assert len(merge((10, 20), [a, b], overlap=0.7).instances) == 2


def test_stuff_fills_the_rest_and_tiny_stuff_is_removed():
    sem = np.zeros((20, 20), np.uint8)
    sem[:, 10:] = 4          # big stuff region
    sem[0:2, 0:2] = 5        # tiny stuff: 4 pixels
    sem[15:20, 0:5] = 9      # a thing class no instance claimed
    sem[10, 0] = VOID_ID
    doc = merge((20, 20), [box_thing(0, 12, 5, 17, 15, 0.9)], semantic=sem,
                thing_ids=[9, 15], min_stuff_area=5)
    doc.check()
    assert (doc.instance_map == 1).sum() == 25 and doc.class_map[2, 14] == 15
    assert doc.class_map[10, 15] == 4
    assert (doc.class_map[0:2, 0:2] == VOID_ID).all()
    assert (doc.class_map[15:20, 0:5] == VOID_ID).all()
    assert doc.class_map[10, 0] == VOID_ID and doc.class_map[10, 5] == 0


def test_things_outside_the_image_are_clipped_and_bad_input_rejected():
    doc = merge((10, 10), [box_thing(-5, -5, 3, 3, 2, 0.5), box_thing(20, 20, 25, 25, 2, 0.9)])
    assert (doc.instance_map == 1).sum() == 9 and len(doc.instances) == 1
    with pytest.raises(EditError, match="semantic map"):
        merge((10, 10), [], semantic=np.zeros((10, 11), np.uint8))
    with pytest.raises(EditError, match="class"):
        merge((10, 10), [box_thing(0, 0, 2, 2, 255, 0.5)])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-4, 20), st.integers(-4, 20), st.integers(1, 12), st.integers(1, 12),
                          st.integers(0, 30), st.floats(0, 1), st.integers(0, 2**16)), max_size=8),
       st.floats(0, 1), st.integers(0, 30), st.integers(0, 2**16))
def test_invariant_holds_for_random_inputs(specs, overlap, min_stuff, seed):
    rng = np.random.default_rng(seed)
    things = []
    for y, x, h, w, cls, score, s in specs:
        m = np.random.default_rng(s).random((h, w)) < 0.7
        things.append(Thing(m, (y, x), cls, score))
    sem = rng.integers(0, 6, (24, 24)).astype(np.uint8)
    doc = merge((24, 24), things, semantic=sem, thing_ids=[1], overlap=overlap, min_stuff_area=min_stuff)
    assert doc.invariant_errors() == []
    ids = np.unique(doc.instance_map)
    assert len(ids[ids > 0]) == len(doc.instances)
    assert not (doc.class_map[doc.instance_map == 0] == 1).any()
