"""The round logic of the loop benchmark: what one image costs, and which images come next."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.prediction_memory import PredictionMemory
from segstudio.core import batch_pick as R
from segstudio.ml.robot import run_robot
from segstudio.ml.rounds import Effort, correction_effort, pick_random, pick_uncertain, summarise


def confident(p_top: float, shape=(8, 10)) -> PredictionMemory:
    """Three classes, class 0 at ``p_top`` everywhere and the rest split evenly."""
    probs = np.empty((3,) + shape, np.float32)
    probs[0] = p_top
    probs[1:] = (1 - p_top) / 2
    return PredictionMemory.from_probabilities(probs, np.arange(3), shape)


def test_uncertainty_picks_the_least_sure_first_ties_in_key_order_labelled_left_out():
    memories = {"a": confident(0.98), "b": confident(0.40), "c": confident(0.70), "d": confident(0.40),
                "e": confident(0.34)}
    assert memories["e"].mean_uncertainty() > memories["b"].mean_uncertainty() > memories["c"].mean_uncertainty()
    assert pick_uncertain(memories, 3) == ["e", "b", "d"]
    assert pick_uncertain(memories, 3, exclude={"e"}) == ["b", "d", "c"]
    assert pick_uncertain(memories, 10) == ["e", "b", "d", "c", "a"]
    assert pick_uncertain({"x": 0.2, "y": 0.9}, 1) == ["y"]   # scores already computed


def scene(p_top: float, top: int, shape=(8, 10)) -> PredictionMemory:
    """Class ``top`` at ``p_top`` on the left half, class 2 on the right: a 'scene' per ``top``."""
    probs = np.full((3,) + shape, (1 - p_top) / 2, np.float32)
    probs[top, :, : shape[1] // 2] = p_top
    probs[2, :, shape[1] // 2:] = p_top
    probs[top, :, shape[1] // 2:] = (1 - p_top) / 2
    return PredictionMemory.from_probabilities(probs, np.arange(3), shape)


def test_uncertainty_picks_one_image_per_scene_among_the_most_uncertain():
    """Four frames of one scene are the most uncertain; frames of another scene a little less so.
    A batch of two takes one of each: ten neighbouring frames teach the model one scene."""
    memories = {"f1": scene(0.40, 0), "f2": scene(0.41, 0), "f3": scene(0.42, 0), "f4": scene(0.43, 0),
                "g1": scene(0.45, 1), "g2": scene(0.46, 1), "h1": scene(0.95, 1)}
    plain = sorted(memories, key=lambda k: -memories[k].mean_uncertainty())
    assert plain[:6] == ["f1", "f2", "f3", "f4", "g1", "g2"]
    assert pick_uncertain(memories, 2) == ["f1", "g1"]
    assert pick_uncertain(memories, 2) == pick_uncertain(dict(reversed(memories.items())), 2)   # no order effect
    three = pick_uncertain(memories, 3)
    assert len(set(three)) == 3 and {"f1", "g1"} <= set(three)
    assert pick_uncertain(memories, 2, exclude={"f1", "g1"}) == ["f2", "g2"]
    # fewer candidates than the batch: all of them, most uncertain first
    assert pick_uncertain({k: memories[k] for k in ("h1", "g1")}, 5) == ["g1", "h1"]
    # scores alone (no predictions): the plain ranking
    scores = {k: m.mean_uncertainty() for k, m in memories.items()}
    assert pick_uncertain(scores, 2) == ["f1", "f2"]


def test_each_cluster_gives_its_most_typical_image_not_its_oddest():
    """The most uncertain frame of a scene is an odd one (a patch of another class); the batch
    takes the frame nearest the scene's centre instead, which teaches what the scene's other
    frames need."""
    probs = np.full((3, 12, 16), 0.305, np.float32)
    probs[0, :, :8] = probs[2, :, 8:] = 0.39
    probs[:, :6, :4] = 0.305
    probs[1, :6, :4] = 0.39
    odd = PredictionMemory.from_probabilities(probs, np.arange(3), (12, 16))
    memories = {"a0": odd, "a1": scene(0.40, 0, (12, 16)), "a2": scene(0.41, 0, (12, 16)),
                "a3": scene(0.42, 0, (12, 16)), "b1": scene(0.45, 1, (12, 16)), "b2": scene(0.46, 1, (12, 16))}
    assert max(memories, key=lambda k: memories[k].mean_uncertainty()) == "a0"
    assert pick_uncertain(memories, 2) == ["a1", "b1"]


def test_clusters_are_found_among_the_most_uncertain_only(monkeypatch):
    """Only the CLUSTER_POOL × k most uncertain images are clustered: a sure image of another scene
    is not worth a correction."""
    monkeypatch.setattr(R, "CLUSTER_POOL", 2)
    memories = {"f1": scene(0.40, 0), "f2": scene(0.41, 0), "f3": scene(0.42, 0), "f4": scene(0.43, 0),
                "h1": scene(0.95, 1)}
    assert pick_uncertain(memories, 2) == ["f1", "f2"]
    monkeypatch.setattr(R, "CLUSTER_POOL", 5)
    assert pick_uncertain(memories, 2) == ["f1", "h1"]


def test_random_picks_are_seeded_distinct_and_never_labelled():
    keys = [f"k{i:02d}" for i in range(30)]
    one = pick_random(keys, 10, np.random.default_rng(3), exclude=keys[:5])
    assert one == pick_random(keys, 10, np.random.default_rng(3), exclude=keys[:5])
    assert len(set(one)) == 10 and not set(one) & set(keys[:5])
    assert one != sorted(one)  # drawn, not the first ones in order


def squares():
    gt = np.zeros((40, 40), np.uint8)
    gt[0:20, :] = 1      # 800 pixels of class 1, predicted 0
    gt[30:34, 30:34] = 2  # 16 pixels of class 2, predicted 0
    gt[38:, :] = 255     # void, predicted 0: never counts
    return gt, np.zeros_like(gt)


def test_effort_stops_at_the_target_and_counts_what_is_left_to_paint():
    gt, pred = squares()
    valid = 40 * 38
    e = correction_effort(pred, gt, "oracle", key="sq")
    # one oracle click fixes the large region: 16 wrong of 1520 left, over 90 %: the robot stops there
    assert (e.key, e.pixels, e.wrong, e.clicks, e.left, e.reached) == ("sq", valid, 816, 1, 16, True)
    assert e.pixel_accuracy == pytest.approx(1 - 816 / valid)
    # without the stop, the robot would have clicked the small square too
    assert len(run_robot(pred, gt, "oracle").clicks) == 2
    # a tool that never helps spends the whole budget and everything is left to paint
    none = correction_effort(pred, gt, lambda scene, click: None, max_clicks=3)
    assert (none.clicks, none.left, none.reached) == (3, 816, False)
    # a perfect prediction costs nothing
    assert correction_effort(np.where(gt == 255, 0, gt), gt, "oracle").clicks == 0


def test_summary_weighs_pixels_and_counts_per_image():
    s = summarise([Effort("a", 100, 50, 20, 30, False), Effort("b", 300, 30, 2, 10, True)])
    assert s["pixel_accuracy"] == pytest.approx(1 - 80 / 400) and s["wrong_share"] == pytest.approx(0.2)
    assert (s["clicks"], s["clicks_per_image"], s["left_per_image"], s["reached"]) == (22, 11.0, 20.0, 1)
