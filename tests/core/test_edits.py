import numpy as np
import pytest

from segstudio.core import edits
from segstudio.core.annotation import Annotation, Instance
from segstudio.errors import EditError

from .conftest import brute_disc_segment


def test_disc_segment_mask_is_the_exact_capsule():
    rng = np.random.default_rng(3)
    for _ in range(50):
        a = tuple(rng.uniform(20, 40, 2))
        b = tuple(np.add(a, rng.uniform(-9, 9, 2)))
        r = float(rng.uniform(0, 8))
        mask, (y0, x0) = edits.disc_segment_mask(a, b, r)
        full = np.zeros((60, 60), bool)
        full[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]] = mask
        assert np.array_equal(full, brute_disc_segment(60, 60, a, b, r))


def test_brush_snaps_to_pixel_centres_and_caches_read_only_footprints():
    m1, o1 = edits.brush_segment_mask((10.4, 20.49), (14.6, 20.0), 3)
    m2, o2 = edits.brush_segment_mask((10, 20), (15, 20), 3)
    assert m1 is m2 and o1 == o2 and not m1.flags.writeable
    m3, o3 = edits.brush_segment_mask((110, 220), (115, 220), 3)  # same move elsewhere
    assert m3 is m1 and o3 == (o1[0] + 200, o1[1] + 100)


def test_brush_segment_paints_exactly_the_capsule(doc):
    before = doc.copy()
    patch = edits.paint_segment(doc, (5.2, 6.6), (30.5, 20.0), 4.2, class_id=3)
    expected = brute_disc_segment(40, 50, (5, 7), (31, 20), 4.2)
    assert np.array_equal(doc.class_map == 3, expected)
    assert np.array_equal(doc.user_mask, expected)
    assert doc.status == "edited"
    # the patch box is the painted pixels' extent (a border row may be empty)
    ys, xs = np.nonzero(expected)
    y0, x0, y1, x1 = patch.box
    assert 0 <= ys.min() - y0 <= 1 and 0 <= xs.min() - x0 <= 1
    assert 0 <= y1 - (ys.max() + 1) <= 1 and 0 <= x1 - (xs.max() + 1) <= 1
    patch.revert(doc)
    assert doc.equals(before) and doc.status == "unlabelled"


def test_brush_clipped_at_the_border_and_outside(doc):
    assert edits.paint_segment(doc, (-30, -30), (-20, -20), 3, class_id=1) is None
    p = edits.paint_segment(doc, (0, 0), (0, 0), 3, class_id=1)
    assert p.box == (0, 0, 4, 4)
    assert np.array_equal(doc.class_map == 1, brute_disc_segment(40, 50, (0, 0), (0, 0), 3))


def test_painting_the_same_value_again_records_nothing(doc):
    edits.paint_segment(doc, (10, 10), (10, 10), 3, class_id=2)
    assert edits.paint_segment(doc, (10, 10), (10, 10), 3, class_id=2) is None


def test_erase_to_background_and_void(doc):
    doc.class_map[:] = 5
    edits.erase_segment(doc, (10, 10), (10, 10), 2)
    assert doc.class_map[10, 10] == 0
    edits.erase_segment(doc, (30, 30), (30, 30), 2, to_void=True)
    assert doc.class_map[30, 30] == 255 and doc.class_map[0, 0] == 5


def test_class_paint_takes_pixels_out_of_instances(doc):
    _, k = edits.create_instance(doc, 7, np.ones((10, 10), bool), (5, 5))
    edits.paint_segment(doc, (9, 9), (9, 9), 1.5, class_id=2)
    assert doc.instance_map[9, 9] == 0 and doc.class_map[9, 9] == 2
    assert doc.instance_map[5, 5] == k
    doc.check()


def test_flood_fill_contiguous_in_class_map(doc):
    doc.class_map[:, 20] = 9  # a wall splits the image
    edits.flood_fill(doc, (5, 5), class_id=4)
    assert (doc.class_map[:, :20] == 4).all()
    assert (doc.class_map[:, 21:] == 0).all() and (doc.class_map[:, 20] == 9).all()
    # 4-connectivity does not leak through a diagonal gap, 8 does
    # a diagonal neighbour is reached with 8-connectivity only
    d3 = Annotation.blank(3, 3)
    d3.class_map[:] = [[0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert edits.flood_fill(d3, (0, 0), class_id=5, connectivity=4).new_class.size == 1
    d3 = Annotation.blank(3, 3)
    d3.class_map[:] = [[0, 1, 1], [1, 0, 1], [1, 1, 1]]
    edits.flood_fill(d3, (0, 0), class_id=5, connectivity=8)
    assert d3.class_map[1, 1] == 5


def test_flood_fill_by_instance(doc):
    _, a = edits.create_instance(doc, 3, np.ones((10, 10), bool), (0, 0))
    _, b = edits.create_instance(doc, 3, np.ones((10, 10), bool), (0, 10))
    # both instances have class 3: a class fill would take both, an instance fill only one
    edits.flood_fill(doc, (2, 2), instance_id=b, by="instance")
    assert (doc.instance_map[:10, :20] == b).all()
    doc.check()
    with pytest.raises(EditError):
        edits.flood_fill(doc, (2, 2), class_id=1, by="colour")
    assert edits.flood_fill(doc, (-1, 2), class_id=1) is None


def test_polygon_fill_includes_vertices_and_interior(doc):
    edits.fill_polygon(doc, [(10, 10), (30, 10), (30, 25), (10, 25)], class_id=6)
    assert (doc.class_map[10:26, 10:31] == 6).all()
    assert (doc.class_map == 6).sum() == 16 * 21
    with pytest.raises(EditError, match="3 vertices"):
        edits.fill_polygon(doc, [(0, 0), (1, 1)], class_id=1)


def test_instance_lifecycle(doc):
    p, k = edits.create_instance(doc, 8)
    assert doc.instances[k] == Instance(8, None, "user") and not doc.instance_map.any()
    edits.paint_segment(doc, (10, 10), (20, 10), 3, instance_id=k)
    assert (doc.class_map[doc.instance_map == k] == 8).all()
    edits.add_to_instance(doc, k, np.ones((3, 3), bool), (30, 30))
    assert doc.instance_map[31, 31] == k
    edits.relabel_instance(doc, k, 12)
    assert (doc.class_map[doc.instance_map == k] == 12).all() and doc.instances[k].class_id == 12
    _, j = edits.create_instance(doc, 4, np.ones((4, 4), bool), (0, 40))
    edits.merge_instances(doc, k, [j])
    assert j not in doc.instances and doc.instance_map[0, 40] == k and doc.class_map[0, 40] == 12
    edits.delete_instance(doc, k)
    assert not doc.instances and not doc.instance_map.any() and not doc.class_map.any()
    doc.check()


def test_instance_errors(doc):
    with pytest.raises(EditError, match="does not exist"):
        edits.paint_segment(doc, (1, 1), (1, 1), 1, instance_id=42)
    with pytest.raises(EditError, match="void"):
        edits.create_instance(doc, 255)
    with pytest.raises(EditError, match="out of range"):
        edits.paint_segment(doc, (1, 1), (1, 1), 1, class_id=300)


def test_apply_prediction_keeps_user_pixels_and_renumbers(doc):
    _, k = edits.create_instance(doc, 3, np.ones((5, 5), bool), (0, 0))  # user instance id 1
    edits.paint_segment(doc, (40, 30), (40, 30), 2, class_id=255)  # user void
    pred_cls = np.full(doc.shape, 7, np.uint8)
    pred_inst = np.zeros(doc.shape, np.int32)
    pred_inst[0:20, 0:20] = 1  # overlaps the user instance
    pred_inst[30:35, 0:5] = 2
    table = {1: Instance(15, 0.9, "model"), 2: Instance(2, 0.8, "model")}
    before = doc.copy()
    patch = edits.apply_prediction(doc, pred_cls, pred_inst, table, model="fcn@v1")
    doc.check()
    assert doc.instance_map[0, 0] == k and doc.class_map[0, 0] == 3  # user pixels kept
    assert doc.class_map[30, 40] == 255
    new_ids = set(np.unique(doc.instance_map)) - {0, k}
    assert len(new_ids) == 2 and min(new_ids) > k
    assert {doc.instances[i].class_id for i in new_ids} == {15, 2}
    assert doc.status == "edited" and doc.model == "fcn@v1"
    patch.revert(doc)
    assert doc.equals(before) and doc.model is None
    # without keep_user everything is replaced and the user mask cleared
    edits.apply_prediction(doc, pred_cls, pred_inst, table, keep_user=False)
    assert doc.class_map[30, 40] == 7 and not doc.user_mask.any() and doc.status == "predicted"
    doc.check()
    with pytest.raises(EditError, match="size|image"):
        edits.apply_prediction(doc, pred_cls[:10], None)
