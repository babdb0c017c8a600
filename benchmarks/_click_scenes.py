"""Synthetic scenes for the click network: clean shapes the model calls something else.

CamVid's errors are mostly blobs with one side on an image edge and one side
where the model happened to stop, so a network trained on them alone learns
to take part of a region and wait for the next click.  A person who clicks
an obvious wrong blob (one colour, clear edges, the model in doubt or not)
expects all of it to change.  These scenes teach that case: a background of
two or three regions, a few shapes (rectangles, ellipses, convex polygons)
of another colour and class that the prediction gives to the class around
them, the model's probabilities sure outside the shapes and anywhere from
doubtful to sure-and-wrong inside them.  The robot annotator (``ml.robot``)
clicks the largest wrong shape, the oracle fixes it, next click: the same
(inputs, gains) pairs, by the same loop (``fit_click_net.robot_samples``), as
on real images.
"""

from __future__ import annotations

import cv2
import numpy as np

CLASSES = 11


def _colour(rng, away_from=()) -> np.ndarray:
    """A random RGB at least 60 (euclidean) from each colour in ``away_from``."""
    while True:
        c = rng.uniform(0, 255, 3)
        if all(np.linalg.norm(c - a) >= 60 for a in away_from):
            return c


def scene(rng):
    """(rgb uint8 H×W×3, gt uint8, prediction uint8, probabilities float32 (CLASSES, H, W))."""
    from segstudio.core.click_net import MIN_REACH

    h = int(rng.integers(max(90, 2 * MIN_REACH), 400))
    w = int(h * rng.uniform(1.0, 1.6))
    # background: regions of a Voronoi split of 2-3 random points, each its own class and colour
    k = int(rng.integers(2, 4))
    pts = rng.uniform(0, 1, (k, 2)) * (h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    owner = np.argmin([(yy - py) ** 2 + (xx - px) ** 2 for py, px in pts], axis=0)
    bg_classes = rng.choice(CLASSES, k, replace=False)
    colours = [_colour(rng) for _ in range(k)]
    gt = bg_classes[owner].astype(np.uint8)
    rgb = np.stack(colours)[owner]
    prediction = gt.copy()
    shapes = []
    for _ in range(int(rng.integers(1, 4))):
        size = rng.uniform(0.08, 0.45) * min(h, w)
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
        m = np.zeros((h, w), np.uint8)
        kind = rng.integers(3)
        if kind == 0:
            a, b = size / 2, size / 2 * rng.uniform(0.4, 1.6)
            cv2.rectangle(m, (int(cx - b), int(cy - a)), (int(cx + b), int(cy + a)), 1, -1)
        elif kind == 1:
            axes = (int(size / 2 * rng.uniform(0.4, 1.6)), int(size / 2))
            cv2.ellipse(m, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            ang = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(4, 8))))
            rad = size / 2 * rng.uniform(0.6, 1.2, ang.size)
            poly = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
            cv2.fillConvexPoly(m, poly, 1)
        m = m.astype(bool)
        if m.sum() < 30:
            continue
        under = int(np.bincount(gt[m], minlength=CLASSES).argmax())
        c = int(rng.choice([i for i in range(CLASSES) if i != under]))
        rgb[m] = _colour(rng, away_from=colours)
        gt[m] = c
        prediction[m] = under
        shapes.append((m, c, under))
    noise = rng.uniform(2, 14)
    rgb = np.clip(rgb + rng.normal(0, noise, rgb.shape), 0, 255).astype(np.uint8)
    rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.3, 1.2))
    probs = np.full((CLASSES, h, w), 0.01, np.float32)
    sure = rng.uniform(0.8, 0.97)
    probs[gt, yy, xx] = sure
    for m, c, under in shapes:
        p_true = rng.uniform(0.01, 0.45)   # from "never" to "nearly": the model's doubt about the shape
        probs[:, m] = 0.01
        probs[c][m] = p_true
        probs[under][m] = max(p_true + 0.05, rng.uniform(0.5, 0.95))
    probs /= probs.sum(0, keepdims=True)
    return rgb, gt, prediction, probs


def samples(n_scenes: int, seed: int = 0):
    """(inputs, gains) lists, one pair per robot click on ``n_scenes`` synthetic scenes."""
    from segstudio.core import edits
    from segstudio.core.prediction_memory import PredictionMemory

    from fit_click_net import robot_samples

    def oracle(doc, click, anchors):
        edits.paint_mask(doc, click.region, click.box[:2], class_id=click.class_id)

    rng = np.random.default_rng(seed)
    xs, gs = [], []
    for _ in range(n_scenes):
        rgb, gt, prediction, probs = scene(rng)
        memory = PredictionMemory.from_probabilities(probs, np.arange(CLASSES), gt.shape)
        a, b = robot_samples(rgb, gt, prediction, memory, 3, oracle)
        xs += a
        gs += b
    return xs, gs
