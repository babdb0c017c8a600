"""Fitting the dense CRF to labelled images: it finds a gain where there is one and says so where there is none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segstudio.ml.crf_fit import FitSample, block_bootstrap_wins, fit_crf, split_halves


def _sample(i: int, sharp: bool = False, size=(48, 64)) -> FitSample:
    rng = np.random.default_rng(i)
    H, W = size
    gt = np.zeros(size, np.uint8)
    colours = np.array([(40, 40, 40), (220, 60, 60), (60, 80, 220)], np.uint8)
    for c in (1, 2):
        y, x = rng.integers(2, H - 26), rng.integers(2, W - 30)
        gt[y:y + int(rng.integers(16, 24)), x:x + int(rng.integers(18, 28))] = c
    image = colours[gt] + rng.integers(-8, 9, size + (3,)).astype(np.int16)
    image = np.clip(image, 0, 255).astype(np.uint8)
    onehot = np.stack([(gt == c).astype(np.float32) for c in range(3)])
    if sharp:
        probs = 0.9 * onehot + 0.05
    else:  # a coarse model: 1/8 resolution, so its boundaries are off by a few pixels
        probs = np.stack([cv2.resize(p, (W // 8, H // 8), interpolation=cv2.INTER_AREA) for p in onehot])
        probs = 0.7 * probs + 0.3 / 3
    probs = (probs / probs.sum(0, keepdims=True)).astype(np.float32)
    up = np.stack([cv2.resize(p, (W, H), interpolation=cv2.INTER_LINEAR) for p in probs])
    return FitSample(f"im{i:02d}", image, gt, probs, np.arange(3), up.argmax(0).astype(np.uint8))


def test_halves_are_contiguous_in_key_order():
    fit, check = split_halves(["d", "a", "c", "b"])
    assert fit == [1, 3] and check == [2, 0]  # a, b | c, d: neighbouring frames stay on one side


def test_a_blurred_model_gets_a_fitted_crf_that_wins_on_the_check_half():
    samples = [_sample(i) for i in range(8)]
    fit = fit_crf(samples, 3, budget_s=60, resamples=200)
    assert fit.status == "fitted", fit.note
    assert fit.score > fit.baseline and fit.fit_score > fit.fit_baseline
    assert fit.fit_images == fit.check_images == 4 and fit.tried >= 2
    card = fit.to_card()
    assert card["gain"] == pytest.approx(fit.score - fit.baseline) and set(card["params"]) >= {
        "bilateral_compat", "bilateral_sxy", "bilateral_srgb", "gaussian_compat", "iterations", "max_side"}


def test_a_model_the_crf_cannot_improve_gets_no_gain():
    samples = [_sample(i, sharp=True) for i in range(8)]  # already pixel-perfect
    fit = fit_crf(samples, 3, budget_s=30, resamples=200)
    assert fit.status == "no_gain"
    assert fit.score <= fit.baseline and "no CRF setting helped" in fit.note


def test_too_few_images_fit_nothing_and_the_budget_bounds_the_search():
    assert fit_crf([_sample(i) for i in range(3)], 3) is None
    seen = []
    fit = fit_crf([_sample(i) for i in range(8)], 3, budget_s=0.0, progress=lambda d, t, x: seen.append(x))
    assert fit.tried == 1 and len(seen) == 1  # out of time after the first setting: checked, not searched


def _matrices(right: list[int], total: int = 1000) -> np.ndarray:
    """Two-class confusion matrices, one per image: ``right[i]`` of each class's ``total`` pixels right."""
    return np.stack([np.array([[r, total - r], [total - r, r]], np.int64) for r in right])


def test_block_bootstrap_draws_runs_of_neighbouring_images():
    plain = _matrices([700] * 16)
    assert block_bootstrap_wins(_matrices([800] * 16), plain, 200) == 1.0
    assert block_bootstrap_wins(_matrices([600] * 16), plain, 200) == 0.0
    assert block_bootstrap_wins(plain.copy(), plain, 200) == 0.0   # a tie is not a win
    # a small gain that comes and goes with the scene (runs of 4 neighbouring frames better, 4 worse):
    # drawn frame by frame it wins in more than 95 % of resamples, drawn in runs it does not
    better = _matrices(([714] * 4 + [694] * 4) * 2)
    rng = np.random.default_rng(0)
    singles = np.mean([better[p].sum(0)[0, 0] > plain[p].sum(0)[0, 0]
                       for p in (rng.integers(0, 16, 16) for _ in range(2000))])
    assert singles >= 0.95
    assert block_bootstrap_wins(better, plain, 2000) < 0.95
