"""PredictionMemory: top-k classes, probabilities and entropy on a reduced grid."""

import math

import numpy as np
import pytest

from segstudio.core.prediction_memory import PredictionMemory, grid_size
from segstudio.errors import FormatError


def softmax(logits):
    e = np.exp(logits - logits.max(0, keepdims=True))
    return e / e.sum(0, keepdims=True)


def test_top_k_and_entropy_by_hand():
    # two pixels, three model outputs mapped to label ids 5, 7, 255
    probs = np.array([[[0.7, 1 / 3]], [[0.2, 1 / 3]], [[0.1, 1 / 3]]], np.float32)  # (3, 1, 2)
    m = PredictionMemory.from_probabilities(probs, np.array([5, 7, 255]), (1, 2), k=2)
    assert m.classes.shape == (2, 1, 2)
    assert m.classes[:, 0, 0].tolist() == [5, 7]
    assert m.probs[:, 0, 0].tolist() == [round(0.7 * 255), round(0.2 * 255)]
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)) / math.log(3)
    assert m.entropy[0, 0] == round(h * 255)
    assert m.entropy[0, 1] == 255  # uniform: no idea
    assert m.margin()[0, 0] == pytest.approx((178 - 51) / 255)
    assert m.mean_uncertainty() == pytest.approx((round(h * 255) + 255) / 2 / 255)


def test_outputs_sharing_a_label_are_added():
    probs = np.array([[[0.4]], [[0.35]], [[0.25]]], np.float32)
    m = PredictionMemory.from_probabilities(probs, np.array([3, 9, 9]), (1, 1), k=2)
    assert m.classes[:, 0, 0].tolist() == [9, 3]
    assert m.probs[0, 0, 0] == round(0.6 * 255)


def test_grid_is_reduced_and_never_larger_than_the_probabilities():
    assert grid_size((4000, 6000), 320) == (213, 320)
    assert grid_size((100, 50), 320) == (100, 50)
    rng = np.random.default_rng(0)
    probs = softmax(rng.normal(size=(4, 60, 90)).astype(np.float32))
    m = PredictionMemory.from_probabilities(probs, np.arange(4), (400, 600), max_side=320)
    assert m.grid == (60, 90)  # the working resolution is coarser than the cap
    m2 = PredictionMemory.from_probabilities(probs, np.arange(4), (400, 600), max_side=45)
    assert m2.grid == (30, 45)


def test_class_prob_and_top_class_at_full_resolution():
    # left half class 1 sure, right half class 2 sure, on a 4×8 grid for an 8×16 image
    probs = np.zeros((3, 4, 8), np.float32)
    probs[1, :, :4] = 1.0
    probs[2, :, 4:] = 1.0
    m = PredictionMemory.from_probabilities(probs, np.arange(3), (8, 16), k=2)
    p1 = m.class_prob(1)
    assert p1.shape == (8, 16)
    assert (p1[:, :7] > 0.99).all() and (p1[:, 9:] < 0.01).all()
    assert 0.2 < p1[0, 7] < 0.8  # interpolated across the boundary
    box = (2, 6, 6, 12)
    np.testing.assert_allclose(m.class_prob(1, box), p1[2:6, 6:12], atol=1e-6)
    top = m.top_class()
    assert (top[:, :8] == 1).all() and (top[:, 8:] == 2).all()
    np.testing.assert_array_equal(m.top_class(box), top[2:6, 6:12])
    assert m.class_prob(0).max() == 0.0  # not among the top-2 anywhere
    assert m.class_prob(1, (5, 5, 5, 9)).shape == (0, 4)


def test_arrays_round_trip_and_damage_is_reported():
    rng = np.random.default_rng(1)
    probs = softmax(rng.normal(size=(5, 6, 7)).astype(np.float32))
    m = PredictionMemory.from_probabilities(probs, np.arange(5), (12, 14), model="x@1")
    back = PredictionMemory.from_arrays(m.to_arrays())
    np.testing.assert_array_equal(back.classes, m.classes)
    np.testing.assert_array_equal(back.probs, m.probs)
    np.testing.assert_array_equal(back.entropy, m.entropy)
    assert back.size == (12, 14) and back.model == "x@1"
    arrays = m.to_arrays()
    arrays["probs"] = arrays["probs"][:, :3]
    with pytest.raises(FormatError, match="inconsistent"):
        PredictionMemory.from_arrays(arrays)
    with pytest.raises(FormatError, match="missing entropy"):
        PredictionMemory.from_arrays({k: v for k, v in m.to_arrays().items() if k != "entropy"})
