"""Fit the dense CRF to a model and the user's labels: a small, time-boxed search.

DeepLab chose its CRF weights and widths by a search on its validation set;
its defaults do not transfer (on a CamVid model fine-tuned here they lowered
held-out mIoU by about 5 points).  ``fit_crf`` does the same search for the
model at hand:

1. the model predicts each validation image once (through the pipeline, at the
   card's working size); the class probabilities are kept;
2. the images are split in two halves in key order (contiguous, because
   neighbouring images are often frames of one video): a *fit* half and a
   *check* half;
3. coordinate descent over the bilateral weight, its spatial and colour widths
   and the smoothness weight, scored by mIoU on the fit half, starting from "no
   CRF" as the score to beat, until the time budget is spent;
4. the best setting is accepted only if it also raises mIoU on the check half
   by at least ``min_gain`` (1.5 points: on CamVid val, a CRF that gained half a
   point on one half of the frames lost as much on the other, and one that
   gained exactly a point on its check half changed nothing, −0.01, on another
   part of val: ``benchmarks/bench_crf_fit.py``) and does so
   robustly: in a bootstrap over the check images (drawn in runs of
   neighbouring frames: ``block_bootstrap_wins``) it must win in at least
   ``confidence`` (95 %) of the resamples.  Otherwise the result says the CRF
   did not help ("no_gain") and the best setting is kept only for ``--crf-force``.

The result goes into the checkpoint's card (``usage.crf``); ``predict --crf``,
``evaluate --crf`` and the app use it from there.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np

from segstudio.core.metrics import ConfusionMatrix, Metrics
from segstudio.ml.crf import CRFParams, refine
from segstudio.ml.usage import CRF_FITTED, CRF_NO_GAIN

# the search space: DeepLab searched w1 3–6, θα 30–100, θβ 3–6 with w2 = θγ = 3; ours is wider
# at the weak end, because a model whose logits are already sharp gains little and loses much
SEARCH: dict[str, tuple[float, ...]] = {
    "bilateral_compat": (1.0, 2.0, 3.0, 5.0, 8.0),
    "bilateral_srgb": (3.0, 5.0, 8.0, 13.0),
    "bilateral_sxy": (10.0, 20.0, 40.0, 80.0),
    "gaussian_compat": (0.0, 1.0, 3.0),
}
START = CRFParams(gaussian_sxy=3.0, gaussian_compat=1.0, bilateral_sxy=20.0, bilateral_srgb=5.0,
                  bilateral_compat=2.0, iterations=5)

Progress = Callable[[int, int, str], None]


@dataclass
class FitSample:
    key: str
    image: np.ndarray       # uint8 H×W×3 (full size)
    gt: np.ndarray          # uint8 H×W, label ids, 255 void
    probs: np.ndarray       # float32 K×h×w at the working resolution
    ids: np.ndarray         # label id of each probability row
    plain: np.ndarray       # uint8 H×W: the prediction without CRF


@dataclass
class CRFFit:
    status: str                          # "fitted" | "no_gain"
    params: dict                         # the best setting found (CRFParams fields)
    baseline: float                      # check-half mIoU without CRF
    score: float                         # check-half mIoU with the best setting
    fit_baseline: float
    fit_score: float
    fit_images: int
    check_images: int
    tried: int
    seconds: float
    confidence: float                    # share of bootstrap resamples of the check half it won
    note: str = ""
    history: list = field(default_factory=list)  # (params changes, fit mIoU) of each setting tried

    @property
    def gain(self) -> float:
        return self.score - self.baseline

    def to_card(self) -> dict:
        d = asdict(self)
        d.pop("history")
        d["gain"] = self.gain
        return d


def _miou(matrix: np.ndarray) -> float:
    return float(Metrics.from_matrix(matrix).miou or 0.0)


def _matrix(gt: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    cm = ConfusionMatrix(n, 255)
    cm.update(gt, pred)
    return cm.matrix


def block_bootstrap_wins(better: np.ndarray, plain: np.ndarray, resamples: int, seed: int = 0) -> float:
    """Share of bootstrap resamples of the images (confusion matrices ``better`` / ``plain``, one
    per image, in key order) in which ``better`` has the higher mIoU.  Whole runs of neighbouring
    images are drawn (a moving-block bootstrap, four blocks of a quarter each, at least √n long):
    neighbouring images are often frames of one video, and drawing frames one by one would count
    one scene many times over and overstate the confidence (on CamVid a setting that won 95 % of
    single-image resamples of one half lost on the other)."""
    n = len(better)
    block = max(1, int(round(max(np.sqrt(n), n / 4))))
    starts = np.arange(n - block + 1)
    k = int(np.ceil(n / block))
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(resamples):
        pick = (rng.choice(starts, k)[:, None] + np.arange(block)[None, :]).ravel()[:n]
        wins += _miou(better[pick].sum(0)) > _miou(plain[pick].sum(0))
    return wins / resamples


def split_halves(keys: list[str]) -> tuple[list[int], list[int]]:
    """(fit, check) indices: the first and the second half in key order.  Contiguous, not
    alternating: neighbouring images are often frames of one video (CamVid's are), and a check
    half of near-copies of the fit half would accept settings that do not carry over."""
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    half = len(order) // 2
    return order[:half], order[half:]


def collect_samples(pipeline, dataset, max_images: int = 64, progress: Progress | None = None,
                    should_stop=None) -> list[FitSample]:
    """Predict (at most ``max_images``, evenly spread) validation images once, keeping their probabilities."""
    n = len(dataset)
    picks = sorted(set(np.linspace(0, n - 1, min(n, max_images)).round().astype(int).tolist())) if n else []
    model = pipeline.predictor.model
    was_training = model.training
    model.eval()
    samples = []
    try:
        for done, i in enumerate(picks, 1):
            if should_stop is not None and should_stop():
                break
            image, gt = dataset.read(i)
            result = pipeline.predictor.predict(image, source=dataset.samples[i].key)
            probs, ids = result.probabilities(0.01)
            samples.append(FitSample(dataset.samples[i].key, np.asarray(image), np.asarray(gt), probs, ids,
                                     result.class_map))
            if progress is not None:
                progress(done, len(picks), f"predicting validation image {done}/{len(picks)} for the CRF fit")
    finally:
        model.train(was_training)
    return samples


def fit_crf(samples: list[FitSample], num_classes: int, budget_s: float = 60.0, max_side: int | None = None,
            confidence: float = 0.95, min_gain: float = 0.015, resamples: int = 400, seed: int = 0,
            progress: Progress | None = None, should_stop=None) -> CRFFit | None:
    """Search CRF settings on half of ``samples`` and check the best on the other half (see the module doc).
    None when there are too few images (fewer than 4) to fit and check."""
    t0 = time.perf_counter()
    if len(samples) < 4:
        return None
    fit_idx, check_idx = split_halves([s.key for s in samples])
    fit = [samples[i] for i in fit_idx]
    check = [samples[i] for i in check_idx]
    n = int(num_classes)
    if max_side is None:  # about the model's working resolution (at least 256 px), at most the image's:
        long_work = max(max(s.probs.shape[1:]) for s in samples)  # the CRF's cost grows with its pixels
        max_side = min(max(max(s.image.shape[:2]) for s in samples), max(long_work, 256))
    start = replace(START, max_side=int(max_side))

    plain_fit = [_matrix(s.gt, s.plain, n) for s in fit]
    fit_baseline = _miou(sum(plain_fit))
    evals = 1 + sum(len(v) - 1 for v in SEARCH.values()) * 2
    tried: dict[tuple, float] = {}
    history: list = []
    per_image_s = [0.0]

    def score(p: CRFParams) -> float:
        key = tuple(sorted(asdict(p).items()))
        if key in tried:
            return tried[key]
        t = time.perf_counter()
        total = sum(_matrix(s.gt, refine(s.image, s.probs, s.ids, p), n) for s in fit)
        per_image_s[0] = (time.perf_counter() - t) / len(fit)
        tried[key] = _miou(total)
        history.append(({k: v for k, v in asdict(p).items() if getattr(START, k) != v}, tried[key]))
        if progress is not None:
            best_now = max(tried.values())
            progress(min(len(tried), evals), evals, f"fitting the CRF: setting {len(tried)}, best fit-half mIoU "
                     f"{100 * best_now:.1f} (no CRF {100 * fit_baseline:.1f})")
        return tried[key]

    def out_of_time() -> bool:
        reserve = per_image_s[0] * (len(check) + len(fit))  # one more setting plus the check
        return (time.perf_counter() - t0 + reserve > budget_s) or (should_stop is not None and should_stop())

    best, best_score = start, score(start)
    improved = True
    while improved and not out_of_time():
        improved = False
        for name, values in SEARCH.items():
            for v in values:
                if out_of_time():
                    break
                cand = replace(best, **{name: v})
                s = score(cand)
                if s > best_score + 1e-6:
                    best, best_score, improved = cand, s, True

    # the check half: never fitted on
    plain_check = np.stack([_matrix(s.gt, s.plain, n) for s in check])
    crf_check = np.stack([_matrix(s.gt, refine(s.image, s.probs, s.ids, best), n) for s in check])
    baseline, refined = _miou(plain_check.sum(0)), _miou(crf_check.sum(0))
    won = block_bootstrap_wins(crf_check, plain_check, resamples, seed)
    accepted = best_score > fit_baseline and refined - baseline >= min_gain and won >= confidence
    note = (f"fitted on {len(fit)} validation images, checked on {len(check)} others: mIoU "
            f"{100 * baseline:.1f} → {100 * refined:.1f} ({100 * (refined - baseline):+.2f}; better in "
            f"{100 * won:.0f}% of {resamples} resamples)")
    if not accepted:
        note = "no CRF setting helped: " + note
    params = asdict(best)
    return CRFFit(CRF_FITTED if accepted else CRF_NO_GAIN, params, baseline, refined, fit_baseline, best_score,
                  len(fit), len(check), len(tried), round(time.perf_counter() - t0, 1), won, note, history)
