"""Dense (fully connected) CRF refinement with pydensecrf (package pydensecrf2).

Unary: ``-log`` of the model's softmax.  Pairwise: a Gaussian (smoothness)
kernel and a bilateral (appearance) kernel; the defaults are DeepLab's
(``gaussian sxy=3, compat=3; bilateral sxy=80, srgb=13, compat=10``, 10
mean-field iterations).  Two things keep it fast without changing the answer
much: only the classes with non-negligible probability take part (the
inference cost grows with the label count), and the CRF runs at a capped
working resolution (positional widths scaled with it), after which the
refined probabilities are resized back and arg-maxed.  Instances are refined
one by one inside their box with a two-label (background / object) CRF.

Without pydensecrf, ``require_pydensecrf`` raises a ``ModelError`` saying how
to install it; nothing else in segstudio needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from segstudio.errors import ModelError


@dataclass(frozen=True)
class CRFParams:
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 3.0
    bilateral_sxy: float = 80.0
    bilateral_srgb: float = 13.0
    bilateral_compat: float = 10.0
    iterations: int = 10
    max_side: int = 1024      # working resolution cap (0 = full resolution)
    min_prob: float = 0.01    # classes never reaching this probability are left out

    @classmethod
    def from_dict(cls, d: dict | None, **overrides: Any) -> "CRFParams":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in dict(d or {}).items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None})
        p = cls(**values)
        return replace(p, iterations=int(p.iterations), max_side=int(p.max_side))


def require_pydensecrf():
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as e:
        raise ModelError(f"the dense CRF needs pydensecrf ({e}); install it with "
                         f"`pip install pydensecrf2`, or predict without --crf") from None
    return dcrf


def _resize(a: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    import cv2

    h, w = size
    if a.shape[:2] == (h, w):
        return a
    return cv2.resize(a, (w, h), interpolation=interpolation)


def _resize_probs(probs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if probs.shape[1:] == tuple(size):
        return probs
    return np.stack([_resize(p, size, cv2.INTER_LINEAR) for p in probs])


def crf_inference(image: np.ndarray, probs: np.ndarray, params: CRFParams = CRFParams(),
                  scale: float = 1.0) -> np.ndarray:
    """Plain pydensecrf mean-field inference: (K, H, W) probs and an H×W×3 uint8 image
    of the same size -> (K, H, W) float32 marginals.  ``scale`` multiplies the
    positional widths (for a downscaled image)."""
    dcrf = require_pydensecrf()
    K, H, W = probs.shape
    if image.shape[:2] != (H, W):
        raise ModelError(f"CRF: the image is {image.shape[1]}×{image.shape[0]} but the probabilities "
                         f"are {W}×{H}")
    unary = -np.log(np.clip(probs.reshape(K, -1), 1e-8, 1.0))
    d = dcrf.DenseCRF2D(W, H, K)
    d.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    d.addPairwiseGaussian(sxy=max(params.gaussian_sxy * scale, 0.5), compat=params.gaussian_compat)
    rgb = np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)
    if not rgb.flags.writeable:  # pydensecrf wants a writable buffer (decoded images are read-only)
        rgb = rgb.copy()
    d.addPairwiseBilateral(sxy=max(params.bilateral_sxy * scale, 0.5), srgb=params.bilateral_srgb,
                           rgbim=rgb, compat=params.bilateral_compat)
    q = d.inference(int(params.iterations))
    return np.asarray(q, dtype=np.float32).reshape(K, H, W)


def _working(shape: tuple[int, int], max_side: int) -> tuple[tuple[int, int], float]:
    H, W = shape
    if not max_side or max(H, W) <= max_side:
        return (H, W), 1.0
    s = max_side / max(H, W)
    return (max(1, round(H * s)), max(1, round(W * s))), s


def refine(image: np.ndarray, probs: np.ndarray, class_ids: np.ndarray | None = None,
           params: CRFParams = CRFParams()) -> np.ndarray:
    """Refine a semantic prediction: uint8 class map (H, W) of ``class_ids``.

    ``probs``: (K, h, w) class probabilities at any resolution (resized to the
    image), e.g. ``SemanticResult.probabilities()``; ``class_ids``: the label
    id of each row (default 0..K-1).
    """
    import cv2
    import torch

    from segstudio.ml.postprocess import upsampled_argmax

    require_pydensecrf()
    image = np.asarray(image)
    if image.ndim != 3 or image.dtype != np.uint8:
        raise ModelError(f"CRF: expected an H×W×3 uint8 image, got {image.dtype} {image.shape}")
    probs = np.asarray(probs, dtype=np.float32)
    K = probs.shape[0]
    class_ids = np.arange(K) if class_ids is None else np.asarray(class_ids)
    H, W = image.shape[:2]
    # label pruning: classes that never reach min_prob cannot win and barely change the others
    peak = probs.reshape(K, -1).max(1)
    keep = np.flatnonzero(peak >= params.min_prob)
    if keep.size == 0:
        keep = np.array([int(peak.argmax())])
    if keep.size == 1:
        return np.full((H, W), class_ids[keep[0]], np.uint8)
    probs = probs[keep]
    size, s = _working((H, W), params.max_side)
    small = _resize(image[:, :, :3], size, cv2.INTER_AREA)
    p = _resize_probs(probs, size)
    p = p / np.maximum(p.sum(0, keepdims=True), 1e-12)
    q = crf_inference(small, p, params, scale=s)
    arg = upsampled_argmax(torch.from_numpy(q), (H, W)).numpy()
    return class_ids[keep][arg].astype(np.uint8)


def refine_instance(image: np.ndarray, prob: np.ndarray, box: tuple[int, int, int, int],
                    params: CRFParams = CRFParams(), threshold: float = 0.5) -> np.ndarray:
    """Refine one instance's soft mask ``prob`` (the crop inside ``box`` = x0, y0, x1, y1)
    with a two-label CRF on the same crop of the image; returns the bool mask crop."""
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1]
    prob = np.clip(np.asarray(prob, dtype=np.float32), 0.0, 1.0)
    if crop.shape[:2] != prob.shape:
        raise ModelError(f"CRF: the instance mask is {prob.shape[::-1]} but its box is "
                         f"{crop.shape[1]}×{crop.shape[0]}")
    if min(prob.shape) < 2:
        return prob >= threshold
    two = np.stack([1.0 - prob, prob])
    two = np.clip(two, 1e-4, 1.0)  # a 2-label CRF must be able to flip either way
    return refine(crop, two, np.array([0, 1]), replace(params, min_prob=0.0)) == 1


def refine_result(image: np.ndarray, result: Any, params: CRFParams | None = None):
    """CRF-refine a ``SemanticResult`` or an ``InstanceResult``: a new result of the same type
    (the class map, or the instances' masks, refined; the model's logits and scores kept)."""
    from segstudio.ml.results import InstanceResult, PredictedInstance

    params = params or CRFParams()
    if isinstance(result, InstanceResult):
        out = []
        for inst in result.instances:
            if inst.prob is None:
                out.append(inst)
                continue
            mask = refine_instance(image, inst.prob, inst.box, params)
            if mask.any():
                out.append(PredictedInstance(inst.box, inst.score, inst.class_id, inst.class_name, mask, inst.prob))
        return InstanceResult(out, result.labels, result.size, result.unmapped, result.model, result.version)
    probs, ids = result.probabilities(params.min_prob)
    return replace(result, class_map=refine(image, probs, ids, params))
