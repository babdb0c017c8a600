"""Which images to label next (core/batch_pick.py): scenes, weighted k-means, the labelling order."""

from __future__ import annotations

import numpy as np

from segstudio.core import batch_pick as R
from segstudio.core.labels import VOID_ID


def test_scene_features_are_class_shares_per_block_without_void():
    lay = np.zeros((12, 16), np.uint8)
    lay[:, 8:] = 3
    lay[:4, :4] = VOID_ID
    f = R.scene_features([lay, np.full((12, 16), 3, np.uint8)])
    assert f.shape == (2, 12 * 2)                        # 3 × 4 blocks, classes 0 and 3
    blocks = f[0].reshape(12, 2)
    assert blocks[0].tolist() == [0.0, 0.0]              # the void block counts for no class
    assert blocks[1].tolist() == [1.0, 0.0] and blocks[3].tolist() == [0.0, 1.0]
    assert f[1].reshape(12, 2)[:, 1].tolist() == [1.0] * 12


def test_scene_features_of_layouts_of_other_sizes_and_of_void_only():
    """A layout of another size (kept by an older segstudio) is described block by block like the
    rest; layouts with no class at all give rows of zeros."""
    small = np.zeros((6, 8), np.uint8)
    small[:, 4:] = 3
    lay = np.full((12, 16), 3, np.uint8)
    f = R.scene_features([lay, small])
    assert f.shape == (2, 12 * 2)
    assert f[0].reshape(12, 2)[:, 1].tolist() == [1.0] * 12
    assert f[1].reshape(3, 4, 2)[:, :2, 0].tolist() == [[1.0, 1.0]] * 3       # left half: class 0
    assert f[1].reshape(3, 4, 2)[:, 2:, 1].tolist() == [[1.0, 1.0]] * 3       # right half: class 3
    assert (R.scene_features([np.full((12, 16), VOID_ID, np.uint8)] * 3) == 0).all()
    assert R.scene_features([np.full((12, 16), VOID_ID, np.uint8)] * 3).shape == (3, 12)


def test_weighted_kmeans_pulls_centres_to_the_heavier_rows():
    rng = np.random.default_rng(0)
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    c = R.weighted_kmeans(x, np.array([3.0, 1.0, 1.0, 1.0]), 2, rng)
    assert sorted(np.round(c[:, 0], 6).tolist()) == [0.25, 10.5]
    c = R.weighted_kmeans(x, np.ones(4), 1, np.random.default_rng(1))
    assert c[:, 0].tolist() == [5.5]


def test_batch_order_takes_batches_of_scenes_then_the_ranking():
    """Two scenes; the first is the more uncertain.  Batches of 2 take one frame of each, the next
    batch the next of each; images without a layout fall back to the plain ranking."""
    a = np.zeros((12, 16), np.uint8)
    b = np.ones((12, 16), np.uint8)
    scores = {"a1": 0.9, "a2": 0.85, "a3": 0.8, "a4": 0.75, "b1": 0.5, "b2": 0.45, "b3": 0.4}
    layouts = {k: (a if k[0] == "a" else b) for k in scores}
    assert R.batch_order(scores, layouts, 2, k=2) == ["a1", "b1", "a2", "b2", "a3", "a4", "b3"]
    assert R.batch_order(scores, layouts, 0, k=2) == ["a1", "a2", "a3", "a4", "b1", "b2", "b3"]
    assert R.batch_order(scores, {}, 3, k=2) == ["a1", "a2", "a3", "a4", "b1", "b2", "b3"]
    assert R.batch_order({}, {}, 3) == []
    assert sorted(R.batch_order(scores, layouts, 10, k=2)) == sorted(scores)   # every key once


def test_layout_samples_the_top_class_on_a_coarse_grid():
    from segstudio.core.prediction_memory import PredictionMemory

    probs = np.full((3, 24, 32), 0.1, np.float32)
    probs[2, :, 16:] = 0.8
    probs[0, :, :16] = 0.8
    lay = R.layout(PredictionMemory.from_probabilities(probs, np.array([0, 5, 7]), (240, 320)))
    assert lay.shape == R.LAYOUT and lay.dtype == np.uint8
    assert (lay[:, :8] == 0).all() and (lay[:, 8:] == 7).all()
