"""Scribble -> dense CRF: a few strokes of one or more classes spread to the region they belong to.

Inside the strokes' neighbourhood (their box grown by ``SmartParams.scribble_reach``
× the image's short side, or by half their own extent when that is larger) a dense CRF -- the
DeepLab CRF of ``ml.crf``, pydensecrf -- relabels the pixels:

* the labels: the stroke classes and the classes now in the box;
* the unary: the model's probabilities (the prediction memory: every class
  kept there) blended with the current labels, each stroke class then raised
  until it wins its own strokes by a factor 1 + tolerance (the user said so:
  where the model agrees as much as there, it spreads), the strokes and the
  hand-painted pixels clamped;
* the pairwise terms: DeepLab's Gaussian and bilateral kernels, so the
  strokes spread over pixels that look alike and stop at edges.

Only the stroke classes spread: a pixel changes when the CRF gives it a
stroke class, connected to a stroke of that class.  The result is a
``Proposal``: the app shows it as a preview, Enter accepts (one undo step),
Esc drops it.  The CRF runs at a capped working size
(``SmartParams.crf_max_side``), so a stroke costs the same on any image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segstudio.core.annotation import Annotation, Patch
from segstudio.core.edits import brush_segment_mask
from segstudio.core.smart import (NeedsPrediction, Proposal, SmartParams, apply_proposal, component_at,
                                  grow_box, locked_pixels)
from segstudio.errors import EditError

SCRIBBLE_RADIUS = 3.0      # the stroke's width in the app and for the robot
MAX_LABELS = 8             # classes in one CRF at most (the stroke classes and the commonest others)
CURRENT_WEIGHT = 0.2       # how much the current labels count against the model's probabilities
CLAMP = 0.98               # probability of a clamped pixel's class


@dataclass
class Stroke:
    points: list[tuple[float, float]]          # (x, y) image coordinates
    class_id: int
    radius: float = SCRIBBLE_RADIUS

    def mask(self) -> tuple[np.ndarray, tuple[int, int]]:
        """The stroke's pixels (bool) and their (y, x) offset."""
        pts = self.points or []
        if not pts:
            raise EditError("a scribble stroke needs at least one point")
        parts = [brush_segment_mask(a, b, self.radius) for a, b in zip(pts, pts[1:])] or \
                [brush_segment_mask(pts[0], pts[0], self.radius)]
        y0 = min(o[0] for _, o in parts)
        x0 = min(o[1] for _, o in parts)
        y1 = max(o[0] + m.shape[0] for m, o in parts)
        x1 = max(o[1] + m.shape[1] for m, o in parts)
        out = np.zeros((y1 - y0, x1 - x0), bool)
        for m, (oy, ox) in parts:
            out[oy - y0:oy - y0 + m.shape[0], ox - x0:ox - x0 + m.shape[1]] |= m
        return out, (y0, x0)


@dataclass
class _Seeds:
    box: tuple[int, int, int, int]
    by_class: dict[int, np.ndarray] = field(default_factory=dict)   # bool masks of the box

    @property
    def any(self) -> np.ndarray:
        out = np.zeros((self.box[2] - self.box[0], self.box[3] - self.box[1]), bool)
        for m in self.by_class.values():
            out |= m
        return out


def _rasterise(doc: Annotation, strokes: list[Stroke], reach: int) -> _Seeds | None:
    rasters = [(s.class_id, *s.mask()) for s in strokes if s.points]
    if not rasters:
        return None
    y0 = min(o[0] for _, _, o in rasters)
    x0 = min(o[1] for _, _, o in rasters)
    y1 = max(o[0] + m.shape[0] for _, m, o in rasters)
    x1 = max(o[1] + m.shape[1] for _, m, o in rasters)
    extent = max(y1 - y0, x1 - x0)
    box = grow_box((y0, x0, y1, x1), max(int(reach), extent // 2), doc.shape)
    if box[2] <= box[0] or box[3] <= box[1]:
        return None  # nowhere near the image
    by, bx = box[0], box[1]
    seeds = _Seeds(box)
    for c, m, (oy, ox) in rasters:
        placed = np.zeros((box[2] - by, box[3] - bx), bool)
        a0, b0 = max(oy, by), max(ox, bx)
        a1, b1 = min(oy + m.shape[0], box[2]), min(ox + m.shape[1], box[3])
        if a1 > a0 and b1 > b0:
            placed[a0 - by:a1 - by, b0 - bx:b1 - bx] = m[a0 - oy:a1 - oy, b0 - ox:b1 - ox]
        for other in seeds.by_class.values():  # a later stroke wins where strokes cross
            other &= ~placed
        seeds.by_class[int(c)] = seeds.by_class.get(int(c), placed) | placed
    seeds.by_class = {c: m for c, m in seeds.by_class.items() if m.any()}
    return seeds if seeds.by_class else None


def scribble_proposal(doc: Annotation, memory, image: np.ndarray, strokes: list[Stroke],
                      params: SmartParams = SmartParams()) -> Proposal | None:
    """What the strokes relabel (see the module); None when they touch nothing inside the image."""
    import cv2

    from segstudio.ml.crf import CRFParams, crf_inference

    if memory is None:
        raise NeedsPrediction("scribble")
    if image is None or image.shape[:2] != doc.shape:
        raise EditError("scribble needs the image the annotation belongs to")
    seeds = _rasterise(doc, strokes, round(params.scribble_reach * min(doc.shape)))
    if seeds is None:
        return None
    y0, x0, y1, x1 = seeds.box
    current = doc.class_map[y0:y1, x0:x1]
    stroked = seeds.any
    locked = locked_pixels(doc, seeds.box, stroked, params.keep_user)
    # the labels: stroke classes first, then the commonest current classes of the box
    counts = np.bincount(current.ravel(), minlength=256)
    labels = list(seeds.by_class)
    for c in np.argsort(-counts, kind="stable"):
        if counts[c] == 0 or len(labels) >= MAX_LABELS:
            break
        if int(c) not in labels:
            labels.append(int(c))
    h, w = current.shape
    s = min(1.0, params.crf_max_side / max(h, w))
    size = (max(1, round(h * s)), max(1, round(w * s)))
    rows = (np.arange(size[0]) + 0.5) * (h / size[0]) - 0.5 + y0
    cols = (np.arange(size[1]) + 0.5) * (w / size[1]) - 0.5 + x0

    def small(a: np.ndarray, interpolation=cv2.INTER_NEAREST) -> np.ndarray:
        if a.shape == size:
            return a
        return cv2.resize(a, (size[1], size[0]), interpolation=interpolation)

    cur_small = small(current)
    model = np.stack([memory.sample(memory.class_plane(c), rows, cols) for c in labels])
    model /= np.maximum(model.sum(0, keepdims=True), 1e-6)
    onehot = np.stack([(cur_small == c) for c in labels]).astype(np.float32)
    probs = (1 - CURRENT_WEIGHT) * model + CURRENT_WEIGHT * onehot
    for i, c in enumerate(labels):  # raise a stroke class until it wins its strokes by (1 + tolerance)
        if c in seeds.by_class:
            on = small(seeds.by_class[c].view(np.uint8)).astype(bool)
            if on.any():
                others = np.delete(probs, i, axis=0).max(0) if len(labels) > 1 else np.zeros(size)
                need = (1.0 + params.tolerance) * float(np.median(others[on]))
                have = max(float(np.median(probs[i][on])), 1e-4)
                if need > have:
                    probs[i] *= need / have
    probs = np.clip(probs, 1e-4, None)
    clamp = np.full(size, -1, np.int64)
    lock_small = small(locked.view(np.uint8)).astype(bool)
    for i, c in enumerate(labels):
        clamp[lock_small & (cur_small == c)] = i
    for i, c in enumerate(labels):
        if c in seeds.by_class:
            clamp[small(seeds.by_class[c].view(np.uint8)).astype(bool)] = i
    hard = clamp >= 0
    if hard.any():
        probs[:, hard] = (1 - CLAMP) / max(1, len(labels) - 1)
        for i in range(len(labels)):
            probs[i][clamp == i] = CLAMP
    probs /= probs.sum(0, keepdims=True)
    rgb = small(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), cv2.INTER_AREA)
    q = crf_inference(np.ascontiguousarray(rgb), probs.astype(np.float32),
                      CRFParams(iterations=params.crf_iterations), scale=s)
    winner = np.asarray(labels, np.uint8)[q.argmax(0)]
    if winner.shape != (h, w):
        winner = cv2.resize(winner, (w, h), interpolation=cv2.INTER_NEAREST)
    mask = np.zeros((h, w), bool)
    for c, stroke in seeds.by_class.items():
        grown = component_at((winner == c) | stroke, stroke, 8) | stroke
        mask |= grown & (current != c)
        winner[grown] = c
    mask &= ~locked
    return Proposal((y0, x0), mask, np.where(mask, winner, current).astype(np.uint8))


def scribble_crf(doc: Annotation, memory, image: np.ndarray, strokes: list[Stroke],
                 params: SmartParams = SmartParams()) -> list[Patch]:
    """Spread the strokes and accept the result at once (what Enter does after the preview)."""
    return apply_proposal(doc, scribble_proposal(doc, memory, image, strokes, params))

