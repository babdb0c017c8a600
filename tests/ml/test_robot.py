"""The robot annotator on tiny cases where the right number of clicks is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import edits
from segstudio.errors import EditError
from segstudio.ml.robot import ROBOT_TOOLS, RobotTool, next_click, run_robot
from tests.smart_cases import memory_of, scene


def two_squares():
    gt = np.zeros((40, 40), np.uint8)
    gt[5:17, 5:17] = 1     # 144 pixels
    gt[25:35, 25:35] = 1   # 100 pixels
    return gt, np.zeros_like(gt)


def test_oracle_fixes_one_region_per_click_largest_first():
    gt, pred = two_squares()
    r = run_robot(pred, gt, "oracle", max_clicks=20)
    assert r.pixel_accuracy[0] == pytest.approx(1 - 244 / 1600)
    assert r.pixel_accuracy[1] == pytest.approx(1 - 100 / 1600)
    assert r.pixel_accuracy[2] == 1.0 and r.pixel_accuracy[20] == 1.0 and len(r.pixel_accuracy) == 21
    assert (r.noc90, r.noc95) == (1, 2)
    assert len(r.clicks) == 2  # nothing left to click after two
    (x1, y1, c1), (x2, y2, c2) = r.clicks
    assert c1 == c2 == 1
    assert 10 <= x1 <= 11 and 10 <= y1 <= 11     # the centre of the larger square first
    assert 29 <= x2 <= 30 and 29 <= y2 <= 30
    assert r.miou[0] < r.miou[2] == 1.0


def test_brush_fixes_a_small_hole_in_one_click_and_fill_floods_across_a_boundary():
    gt = np.ones((100, 100), np.uint8)
    gt[:, 70:] = 2
    pred = gt.copy()
    pred[45:55, 45:55] = 2                   # a 10×10 hole of the wrong class
    r = run_robot(pred, gt, "brush")
    assert r.noc(1.0) == 1 and len(r.clicks) == 1
    # fill: the hole is class 2 like the true class-2 band, but not connected: one click fixes it
    assert run_robot(pred, gt, "fill").noc(1.0) == 1
    # connect them and fill floods the band too
    pred[48:52, 55:70] = 2
    f = run_robot(pred, gt, "fill", max_clicks=3)
    assert f.pixel_accuracy[1] < f.pixel_accuracy[0]


def test_a_tool_that_never_helps_gets_the_whole_budget():
    gt, pred = two_squares()
    r = run_robot(pred, gt, lambda scene, click: None, max_clicks=4)
    assert r.noc90 == 4 and r.noc95 == 4 and len(r.seconds) == 4
    assert r.pixel_accuracy == [r.pixel_accuracy[0]] * 5
    assert r.ms_per_click_median is not None


def test_void_never_counts_and_the_largest_region_is_clicked_at_its_interior():
    gt, pred = two_squares()
    gt[5:17, 5:17] = 255  # the larger square is void now
    c = next_click(pred, gt)
    assert (c.class_id, c.region.sum()) == (1, 100) and 29 <= c.x <= 30
    assert next_click(gt, gt) is None


def test_the_check_catches_an_edit_that_undo_cannot_take_back():
    gt, pred = two_squares()

    def liar(scene, click):  # paints the region but reports another patch
        edits.paint_mask(scene.doc, click.region, click.box[:2], class_id=click.class_id)
        return edits.paint_mask(scene.doc, np.ones((1, 1), bool), (39, 0), class_id=7)
    with pytest.raises(EditError, match="undo"):
        run_robot(pred, gt, liar, max_clicks=1)
    run_robot(pred, gt, liar, max_clicks=1, check=False)  # unchecked, it runs


def test_an_added_tool_is_one_entry_and_prepares_once(monkeypatch):
    gt, pred = two_squares()
    prepared = []

    def prepare(scene):
        prepared.append(scene.doc.shape)
        scene.cache["mask"] = gt == 1

    def click(scene, c):
        return edits.paint_mask(scene.doc, scene.cache["mask"], (0, 0), class_id=1)
    monkeypatch.setitem(ROBOT_TOOLS, "everything", RobotTool(click, prepare=prepare))
    r = run_robot(pred, gt, "everything")
    assert prepared == [(40, 40)] and r.noc95 == 1
    with pytest.raises(EditError, match="unknown robot tool"):
        run_robot(pred, gt, "nonesuch")


def test_smart_tools_on_a_scene_the_model_half_knew():
    rgb, gt, pred, probs = scene()
    memory = memory_of(probs)
    res = {t: run_robot(pred, gt, t, image=rgb, memory=memory, max_clicks=5)
           for t in ("correct", "correct_superpixels", "scribble", "superpixel", "brush")}
    # one click: the network's square, its doubtful edge cut by colour (a few edge pixels may stay)
    assert res["correct"].noc95 == 1 and res["correct"].pixel_accuracy[1] > 0.995
    assert res["correct_superpixels"].noc95 == 1 and res["correct_superpixels"].pixel_accuracy[1] == 1.0
    assert res["scribble"].pixel_accuracy[1] > 0.99
    assert res["superpixel"].pixel_accuracy[1] > res["superpixel"].pixel_accuracy[0]
    assert res["brush"].noc(1.0) > 1  # a disc cannot match the square
    with pytest.raises(EditError, match="needs the image"):
        run_robot(pred, gt, "superpixel", memory=memory)


def test_segment_anything_registers_as_one_entry(monkeypatch):
    from segstudio.ml.robot import sam_robot_tool
    from tests.ml.sam_tiny import sample_image, tiny_loaded

    image = sample_image()
    gt = np.zeros(image.shape[:2], np.uint8)
    gt[12:36, 17:35] = 1  # the red square of the sample image
    monkeypatch.setitem(ROBOT_TOOLS, "sam", sam_robot_tool(loaded=tiny_loaded(seed=1)))
    r = run_robot(np.zeros_like(gt), gt, "sam", image=image, max_clicks=3)  # undo and invariant checked
    assert len(r.clicks) == 3 and len(r.pixel_accuracy) == 4
