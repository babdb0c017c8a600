"""U-Net's separation weights between touching instances, from instance maps.

Ronneberger et al. (2015) weight the cross-entropy with
``w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / 2σ²)``, where ``d1`` and ``d2``
are the distances from ``x`` to the nearest and the second nearest instance
(0 inside an instance), so the narrow gaps and the seams between touching
instances weigh up to ``w0`` more (the paper: ``w0 = 10``, ``σ ≈ 5`` px).  This
module computes the second term; ``losses.cross_entropy`` adds ``w_c``.

Each instance's distance map is computed only in its box grown by the
distance where the term falls below 1e-3 · w0 (≈ 3.7 σ), so the cost grows
with the instances' area, not with instances × image.

``BorderWeightedDataset`` gives ``(image, mask, weights)`` per sample, from the
samples' instance maps (a project's, or VOC ``SegmentationObject``); the
training transform resizes, flips and crops the weights with the mask.
"""

from __future__ import annotations

import math

import numpy as np

from segstudio.errors import FormatError, SegStudioError
from segstudio.ml.data.semantic import SemanticDataset

CUTOFF = 1e-3     # the term is dropped where it is below CUTOFF × w0


def border_weight_map(instance_map: np.ndarray, w0: float = 10.0, sigma: float = 5.0) -> np.ndarray:
    """float32 H×W: ``w0 · exp(−(d1 + d2)² / 2σ²)``; 0 where fewer than two instances are near."""
    import cv2

    inst = np.asarray(instance_map)
    h, w = inst.shape
    out = np.zeros((h, w), np.float32)
    if w0 == 0 or not inst.any():
        return out
    ids, boxes = _boxes(inst)
    if len(ids) < 2:
        return out
    grow = int(math.ceil(sigma * math.sqrt(2 * math.log(1 / CUTOFF)))) + 1
    d1 = np.full((h, w), np.inf, np.float32)
    d2 = np.full((h, w), np.inf, np.float32)
    for k, (y0, y1, x0, x1) in zip(ids, boxes):
        y0, x0 = max(0, y0 - grow), max(0, x0 - grow)
        y1, x1 = min(h, y1 + grow), min(w, x1 + grow)
        outside = (inst[y0:y1, x0:x1] != k).astype(np.uint8)
        d = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        a, b = d1[y0:y1, x0:x1], d2[y0:y1, x0:x1]
        np.minimum(b, np.maximum(a, d), out=b)
        np.minimum(a, d, out=a)
    near = np.isfinite(d2)
    s = d1[near] + d2[near]
    out[near] = w0 * np.exp(-(s * s) / (2.0 * sigma * sigma))
    return out


def _boxes(inst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(instance ids, their boxes as rows y0, y1, x0, x1), in one pass over the instance pixels."""
    ys, xs = np.nonzero(inst)
    ids, which = np.unique(inst[ys, xs], return_inverse=True)
    boxes = np.empty((len(ids), 4), np.int64)
    boxes[:, 0], boxes[:, 2] = inst.shape
    boxes[:, 1] = boxes[:, 3] = -1
    np.minimum.at(boxes[:, 0], which, ys)
    np.maximum.at(boxes[:, 1], which, ys)
    np.minimum.at(boxes[:, 2], which, xs)
    np.maximum.at(boxes[:, 3], which, xs)
    boxes[:, 1] += 1
    boxes[:, 3] += 1
    return ids, boxes


class BorderWeightedDataset(SemanticDataset):
    """A ``SemanticDataset`` whose samples come with border weights: ``(image, mask, weights)``."""

    def __init__(self, samples, labels, transform=None, name: str = "data", w0: float = 10.0, sigma: float = 5.0):
        super().__init__(samples, labels, transform, name)
        self.w0, self.sigma = float(w0), float(sigma)

    def read(self, index: int):
        image, mask = super().read(index)
        s = self.samples[index]
        inst = s.read_instances()
        if inst.shape != mask.shape:
            raise FormatError(f"{s.key}: the instance map is {inst.shape[1]}×{inst.shape[0]} but the mask is "
                              f"{mask.shape[1]}×{mask.shape[0]}")
        return image, mask, border_weight_map(inst, self.w0, self.sigma)

    def subset(self, keys, transform=None, name=None):
        by_key = {s.key: s for s in self.samples}
        return BorderWeightedDataset([by_key[k] for k in keys], self.labels,
                                     self.transform if transform is None else transform, name or self.name,
                                     self.w0, self.sigma)

    def with_transform(self, transform):
        return BorderWeightedDataset(self.samples, self.labels, transform, self.name, self.w0, self.sigma)


def border_weighted(dataset: SemanticDataset, w0: float, sigma: float, source: str = "the data"):
    """``dataset`` with border weights; a clear error when its samples have no instance maps."""
    if w0 < 0 or sigma <= 0:
        raise SegStudioError("--border-weight must be >= 0 and --border-sigma > 0")
    lacking = [s.key for s in dataset.samples if getattr(s, "read_instances", None) is None]
    if lacking:
        raise SegStudioError(
            f"--border-weight needs instance maps, and {source} has none ({len(lacking)} of "
            f"{len(dataset.samples)} training images lack one, e.g. {lacking[0]}): image + mask folders hold "
            "class ids only. Train on a segstudio project (its instances) or a VOC root with SegmentationObject, "
            "or leave --border-weight out")
    return BorderWeightedDataset(dataset.samples, dataset.labels, dataset.transform, dataset.name, w0, sigma)


def count_separated(dataset) -> tuple[int, int]:
    """(training images with at least two instances, images): where border weights can apply at all."""
    n = 0
    for s in dataset.samples:
        inst = s.read_instances()
        if len(np.unique(inst[inst != 0])) >= 2:
            n += 1
    return n, len(dataset.samples)
