"""Synthetic scenes with known ground truth and model-like soft predictions.

Used by the tests and benchmarks (no datasets needed): an RGB image of flat
coloured shapes with sharp edges and mild noise, its label map, and a softmax
that looks like a CNN's: correct in region interiors, blurred over the
boundaries (computed at 1/``stride`` resolution and bilinearly upsampled),
with a little spatially smooth noise; classes absent from the scene stay unlikely.
"""

from __future__ import annotations

import numpy as np


def scene(height: int, width: int, num_classes: int = 21, shapes: int = 6, seed: int = 0):
    """(rgb uint8 H×W×3, labels uint8 H×W) with ``shapes`` objects of random classes 1..K-1."""
    import cv2

    rng = np.random.default_rng(seed)
    labels = np.zeros((height, width), np.uint8)
    colours = rng.integers(30, 226, (num_classes, 3))
    colours[0] = (120, 150, 110)
    for _ in range(shapes):
        cls = int(rng.integers(1, num_classes))
        cy, cx = rng.integers(0, height), rng.integers(0, width)
        ry, rx = rng.integers(height // 12, height // 4), rng.integers(width // 12, width // 4)
        if rng.random() < 0.5:
            cv2.ellipse(labels, (int(cx), int(cy)), (int(rx), int(ry)), float(rng.integers(0, 180)), 0, 360,
                        cls, -1)
        else:
            pts = np.stack([cx + rng.integers(-rx, rx, 5), cy + rng.integers(-ry, ry, 5)], 1)
            cv2.fillPoly(labels, [cv2.convexHull(pts.astype(np.int32))], cls)
    rgb = colours[labels].astype(np.float32)
    rgb += rng.normal(0, 6, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8), labels


def soft_prediction(labels: np.ndarray, num_classes: int = 21, stride: int = 16, gain: float = 4.0,
                    noise: float = 0.5, seed: int = 0) -> np.ndarray:
    """float32 (K, H, W) softmax of a blurred, slightly noisy prediction of ``labels``."""
    import cv2

    rng = np.random.default_rng(seed)
    H, W = labels.shape
    h, w = max(2, H // stride), max(2, W // stride)
    one_hot = np.stack([(labels == k).astype(np.float32) for k in range(num_classes)])
    low = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA) for c in one_hot])
    low = gain * low + noise * rng.normal(0, 1, low.shape).astype(np.float32)
    absent = np.ones(num_classes, bool)
    absent[np.unique(labels)] = False
    low[absent] -= gain  # a trained model is fairly sure which classes are not in the picture
    logits = np.stack([cv2.resize(c, (W, H), interpolation=cv2.INTER_LINEAR) for c in low])
    logits -= logits.max(0, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(0, keepdims=True)).astype(np.float32)
