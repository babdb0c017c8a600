"""Turn logits at the working resolution into full-size outputs.

``upsampled_argmax`` gives exactly the argmax of the logits resized to the
image with bilinear interpolation (``align_corners=False``), without
materialising the C×H×W resized logits: a bilinear output pixel is a convex
combination of four source pixels, so where all four have the same argmax the
result has it too; only the pixels on class boundaries are interpolated in
full.  That keeps post-processing a small fraction of the forward pass on CPU.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def _source_index(out_size: int, in_size: int):
    """PyTorch's bilinear source indices/weights for one axis (align_corners=False), as numpy."""
    scale = np.float32(in_size / out_size)
    src = np.maximum((np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5), 0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    w1 = (src - i0).astype(np.float32)
    for a in (i0, i1, w1):
        a.setflags(write=False)
    return i0, i1, w1


def upsampled_argmax(logits, size: tuple[int, int], dense: bool = False, lut: np.ndarray | None = None):
    """argmax over C of ``interpolate(logits[None], size, 'bilinear')[0]``, (H, W).

    Returns a tensor (uint8 for up to 256 classes, else int64), or, with
    ``lut`` (a uint8 table indexed by class), the uint8 numpy array
    ``lut[argmax]``.  ``dense`` computes it the plain way (used on GPUs).
    """
    import torch
    import torch.nn.functional as F

    H, W = size
    C, h, w = logits.shape
    if dense or logits.device.type != "cpu" or C > 256:
        if (h, w) != (H, W):
            logits = F.interpolate(logits[None], size=(H, W), mode="bilinear", align_corners=False)[0]
        arg = logits.max(0).indices
        if lut is not None:
            return lut[arg.cpu().numpy()]
        return arg.to(torch.uint8) if C <= 256 else arg
    low = logits.max(0).indices.to(torch.uint8).numpy()
    # a 2×2 block of source pixels with one class interpolates to that class everywhere
    pad = np.pad(low, ((0, 1), (0, 1)), mode="edge")
    corner = pad[:-1, :-1]
    mixed = (corner != pad[:-1, 1:]) | (corner != pad[1:, :-1]) | (corner != pad[1:, 1:])
    y0, y1, wy = _source_index(H, h)
    x0, x1, wx = _source_index(W, w)
    values = low if lut is None else lut[low]
    out = values[y0][:, x0]
    if mixed.any():
        ys, xs = np.nonzero(mixed[y0][:, x0])
        flat = logits.contiguous().numpy().reshape(C, h * w)
        ly, lx = wy[ys], wx[xs]
        row0, row1 = y0[ys] * w, y1[ys] * w
        col0, col1 = x0[xs], x1[xs]
        top = flat[:, row0 + col0] * (1 - lx) + flat[:, row0 + col1] * lx
        bottom = flat[:, row1 + col0] * (1 - lx) + flat[:, row1 + col1] * lx
        arg = (top * (1 - ly) + bottom * ly).argmax(0).astype(np.uint8)
        out[ys, xs] = arg if lut is None else lut[arg]
    return out if lut is not None else torch.from_numpy(out)


def resize_plane(plane, size: tuple[int, int]):
    """Bilinear resize of an (h, w) float tensor to ``size``."""
    import torch.nn.functional as F

    if tuple(plane.shape) == tuple(size):
        return plane
    return F.interpolate(plane[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]


def kept_classes(probs, min_prob: float) -> np.ndarray:
    """Ids of the classes whose probability reaches ``min_prob`` somewhere, plus every argmax class."""
    import torch

    peak = probs.flatten(1).amax(1)
    keep = peak >= min_prob
    keep[torch.unique(probs.argmax(0))] = True
    return torch.nonzero(keep).flatten().cpu().numpy()
