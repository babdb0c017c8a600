"""A small scene with a known wrong region, the model's probabilities and its prediction, for the
smart tools' tests (core, ml and app)."""

from __future__ import annotations

import numpy as np

from segstudio.core import edits
from segstudio.core.annotation import Annotation
from segstudio.core.prediction_memory import PredictionMemory

H, W = 120, 160
SQUARE = (40, 95, 72, 127)   # y0, x0, y1, x1: class 3 in truth, predicted 2


def scene(seed: int = 0, height: int = H, width: int = W):
    """(rgb, gt, prediction, probabilities (4, h, w)) of: left half class 1, right half class 2,
    and a square of class 3 inside the right half that the model calls 2 (but thinks could be 3)."""
    rng = np.random.default_rng(seed)
    sy, sx = height / H, width / W
    y0, x0, y1, x1 = (round(SQUARE[0] * sy), round(SQUARE[1] * sx), round(SQUARE[2] * sy), round(SQUARE[3] * sx))
    gt = np.ones((height, width), np.uint8)
    gt[:, width // 2:] = 2
    gt[y0:y1, x0:x1] = 3
    colours = np.array([[0, 0, 0], [70, 140, 60], [150, 150, 160], [200, 60, 40]], np.float32)
    rgb = np.clip(colours[gt] + rng.normal(0, 4, (height, width, 3)), 0, 255).astype(np.uint8)
    probs = np.full((4, height, width), 0.01, np.float32)
    probs[1][gt == 1] = 0.95
    probs[2][gt == 2] = 0.93
    probs[2][gt == 3] = 0.62
    probs[3][gt == 3] = 0.35
    probs /= probs.sum(0, keepdims=True)
    prediction = np.where(gt == 3, 2, gt).astype(np.uint8)
    return rgb, gt, prediction, probs


def memory_of(probs: np.ndarray) -> PredictionMemory:
    return PredictionMemory.from_probabilities(probs, np.arange(probs.shape[0]), probs.shape[1:])


def predicted_doc(prediction: np.ndarray) -> Annotation:
    doc = Annotation(np.zeros(prediction.shape, np.uint8))
    edits.apply_prediction(doc, prediction, model="test")
    return doc


def square_mask(height: int = H, width: int = W) -> np.ndarray:
    _, gt, _, _ = scene(0, height, width)
    return gt == 3
