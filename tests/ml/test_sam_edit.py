"""Segment Anything through the document API: prompts -> one Patch, undo, hand-painted pixels, the robot form."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.annotation import Annotation
from segstudio.core.edits import create_instance, paint_segment
from segstudio.core.history import History
from segstudio.errors import EditError
from segstudio.ml import sam
from segstudio.ml.sam_cache import EmbeddingCache
from segstudio.ml.sam_edit import SamClickTool, apply_mask, sam_edit
from tests.ml.sam_tiny import sample_image, tiny_loaded

CLICK = (20, 20)


@pytest.fixture(scope="module")
def session():
    loaded = tiny_loaded(seed=1)  # this seed gives partial masks on the sample image
    return sam.SamSession(loaded, sam.embed(loaded, sample_image()))


def invariant(doc):
    for k, inst in doc.instances.items():
        assert (doc.class_map[doc.instance_map == k] == inst.class_id).all()
    assert set(np.unique(doc.instance_map)) - {0} <= set(doc.instances)


def test_class_region_is_the_decoded_mask_and_undoes_in_one_step(session):
    doc = Annotation.blank(48, 70)
    hist = History()
    create_instance(doc, 3, np.ones((10, 10), bool), (0, 0), source="model")
    doc.user_mask[:] = False  # as if predicted: not painted by hand
    before = doc.copy()
    want = session.predict([CLICK]).full(doc.shape)
    assert 0 < want.sum() < want.size and (want & (before.instance_map > 0)).any()
    patch = sam_edit(doc, session, [CLICK], class_id=2)
    hist.push([patch], "segment anything")
    assert np.array_equal(doc.class_map == 2, want)
    assert np.array_equal(doc.user_mask, want)
    assert not (doc.instance_map[want]).any()  # the region left the instance
    assert (doc.instance_map[~want] == before.instance_map[~want]).all()
    invariant(doc)
    hist.undo(doc)
    assert np.array_equal(doc.class_map, before.class_map) and np.array_equal(doc.instance_map, before.instance_map)
    assert not doc.user_mask.any()


def test_new_instance_gets_the_mask_and_the_class(session):
    doc = Annotation.blank(48, 70)
    want = session.predict([CLICK], [(60, 40)], (2, 2, 50, 40))
    patch = sam_edit(doc, session, [CLICK], [(60, 40)], (2, 2, 50, 40), class_id=4, new_instance=True)
    (k,) = patch.new_instances
    assert doc.instances[k].class_id == 4 and doc.instances[k].source == "user"
    assert np.array_equal(doc.instance_map == k, want.full(doc.shape))
    invariant(doc)
    with pytest.raises(EditError, match="void cannot be an instance class"):
        sam_edit(doc, session, [CLICK], class_id=255, new_instance=True)


def test_pixels_painted_by_hand_stay_unless_told(session):
    want = session.predict([CLICK]).full((48, 70))
    doc = Annotation.blank(48, 70)
    paint_segment(doc, CLICK, CLICK, 3, class_id=5)  # painted by hand, inside the mask
    hand = doc.user_mask.copy()
    assert (want & hand).any()
    sam_edit(doc, session, [CLICK], class_id=2)
    assert (doc.class_map[hand] == 5).all()
    assert (doc.class_map[want & ~hand] == 2).all()
    sam_edit(doc, session, [CLICK], class_id=2, keep_user=False)
    assert np.array_equal(doc.class_map == 2, want)


def test_a_mask_entirely_painted_by_hand_changes_nothing():
    doc = Annotation.blank(20, 20)
    doc.user_mask[:] = True
    assert apply_mask(doc, np.ones((5, 5), bool), (3, 3), 2) is None
    assert (doc.class_map == 0).all()
    assert apply_mask(doc, np.ones((5, 5), bool), (3, 3), 2, keep_user=False) is not None


def test_embedding_of_another_image_size_is_refused(session):
    with pytest.raises(EditError, match="compute the embedding"):
        sam_edit(Annotation.blank(10, 10), session, [(1, 1)], class_id=1)


def test_no_prompt_no_change(session):
    doc = Annotation.blank(48, 70)
    assert sam_edit(doc, session, class_id=1) is None and doc.status == "unlabelled"


def test_click_tool_for_the_robot_embeds_each_image_once(session):
    cache = EmbeddingCache()
    tool = SamClickTool(loaded=session.loaded, cache=cache)
    img = sample_image()
    doc = Annotation.blank(48, 70)
    patch = tool(doc, img, CLICK, 2)
    assert patch is not None and np.array_equal(doc.class_map == 2, session.predict([CLICK]).full(doc.shape))
    tool(Annotation.blank(48, 70), img, (60, 40), 3)
    assert len(cache) == 1  # same image: same embedding
    tool(Annotation.blank(48, 70), sample_image(seed=5), CLICK, 2)
    assert len(cache) == 2
