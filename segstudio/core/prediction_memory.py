"""What a semantic prediction leaves beside the annotation (numpy only).

Smart correction tools and the uncertainty ranking need more than the class
map: which classes the model hesitated between and how sure it was.  A
``PredictionMemory`` keeps, per pixel of a reduced grid (the longer side at
most ``MAX_SIDE``, never larger than the model's working resolution):

* ``classes``  uint8 (K, h, w): the K most probable label ids, best first
  (255 where the model's class has no counterpart in the project's labels);
* ``probs``    uint8 (K, h, w): their probabilities × 255, rounded;
* ``entropy``  uint8 (h, w): the entropy of the whole distribution divided by
  log(C) (0 = certain, 1 = uniform) × 255.

With K = 3 and ``MAX_SIDE`` = 320 that is at most 320×320×7 bytes = 700 KB
before compression, whatever the image size.

When the model has at most ``FULL_MAX_CLASSES`` label ids it also keeps
``logp`` uint8 (C, h, w): every class's probability as −ln p × ``LOGP_SCALE``
(255, read back as 0, for p ≤ e^−16), with ``logp_ids`` uint8 (C,) the label id of each row.
Click-to-correct needs it: the classes people correct most are rare ones the
model never ranks in its top 3 (CamVid's cyclists: p ≈ 0.015 on them against
0.002 around, ranked 6th), and their low but raised probability is the
signal.  That adds at most 24×320×320 bytes = 2.4 MB before compression
(CamVid's 11 classes at LR-ASPP's 256×192: 540 KB); a memory without it (more
classes, or saved before) answers from the top K.  Full-resolution values inside a
box are interpolated on demand (``class_prob``, ``top_class``), so a tool's
work is bounded by the box it touches, not by the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.core.annotation import Box
from segstudio.core.labels import VOID_ID
from segstudio.errors import FormatError

MAX_SIDE = 320
TOP_K = 3
FULL_MAX_CLASSES = 24   # keep every class's log-probability up to this many label ids
LOGP_SCALE = 16.0       # logp = −ln p × LOGP_SCALE, clipped to 255 (which reads back as 0)
_LOGP_LUT = np.exp(-np.arange(256, dtype=np.float32) / LOGP_SCALE).astype(np.float32)
_LOGP_LUT[255] = 0.0
_ARRAYS = ("classes", "probs", "entropy", "size")


def grid_size(size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The reduced (h, w) for an image of ``size`` = (H, W): longer side at most ``max_side``."""
    H, W = int(size[0]), int(size[1])
    s = min(1.0, max_side / max(H, W, 1))
    return max(1, round(H * s)), max(1, round(W * s))


@dataclass
class PredictionMemory:
    classes: np.ndarray           # uint8 (K, h, w)
    probs: np.ndarray             # uint8 (K, h, w), probability × 255
    entropy: np.ndarray           # uint8 (h, w), normalised entropy × 255
    size: tuple[int, int]         # (H, W) of the image
    model: str = ""               # "name@version" that predicted it
    logp: np.ndarray | None = None      # uint8 (C, h, w): −ln p × LOGP_SCALE of every class, or None
    logp_ids: np.ndarray | None = None  # uint8 (C,): the label id of each ``logp`` row

    def __post_init__(self) -> None:
        self.size = (int(self.size[0]), int(self.size[1]))
        c, p, e = self.classes, self.probs, self.entropy
        if (c.dtype != np.uint8 or p.dtype != np.uint8 or e.dtype != np.uint8 or c.ndim != 3
                or c.shape != p.shape or c.shape[1:] != e.shape or c.shape[0] < 1):
            raise FormatError(f"prediction memory: inconsistent arrays classes {c.dtype}{c.shape}, "
                              f"probs {p.dtype}{p.shape}, entropy {e.dtype}{e.shape}")
        if min(self.size) < 1:
            raise FormatError(f"prediction memory: bad image size {self.size}")
        if (self.logp is None) != (self.logp_ids is None):
            raise FormatError("prediction memory: logp and logp_ids come together")
        if self.logp is not None:
            lp, li = self.logp, np.asarray(self.logp_ids).reshape(-1)
            if lp.dtype != np.uint8 or lp.ndim != 3 or lp.shape[1:] != e.shape or li.size != lp.shape[0]:
                raise FormatError(f"prediction memory: inconsistent logp {lp.dtype}{lp.shape} for "
                                  f"{li.size} class ids")
            self.logp_ids = li.astype(np.uint8)

    # -- making one ------------------------------------------------------------
    @classmethod
    def from_probabilities(cls, probs: np.ndarray, class_ids: np.ndarray, size: tuple[int, int],
                           model: str = "", k: int = TOP_K, max_side: int = MAX_SIDE) -> "PredictionMemory":
        """From softmax probabilities ``probs`` float (C, h, w) at any resolution, the label id
        of each row (``class_ids``, 255 = not a project class; rows sharing an id are summed),
        for an image of ``size`` = (H, W)."""
        probs = np.asarray(probs, dtype=np.float32)
        if probs.ndim != 3:
            raise FormatError(f"prediction memory: probabilities must be (C, h, w), got {probs.shape}")
        class_ids = np.asarray(class_ids).astype(np.int64).reshape(-1)
        if class_ids.size != probs.shape[0]:
            raise FormatError("prediction memory: one class id per probability row is needed")
        n_classes = probs.shape[0]
        gh, gw = grid_size(size, max_side)
        gh, gw = min(gh, probs.shape[1]), min(gw, probs.shape[2])
        if probs.shape[1:] != (gh, gw):
            probs = np.stack([cv2.resize(p, (gw, gh), interpolation=cv2.INTER_AREA) for p in probs])
        # entropy of the model's own distribution, before rows are merged by label id
        p = np.clip(probs, 1e-12, 1.0)
        ent = -(probs * np.log(p)).sum(0) / max(math.log(n_classes), 1e-12)
        ids, inverse = np.unique(class_ids, return_inverse=True)
        if ids.size != class_ids.size:  # several outputs map to one label: add their probabilities
            merged = np.zeros((ids.size,) + probs.shape[1:], np.float32)
            np.add.at(merged, inverse, probs)
            probs, class_ids = merged, ids
        k = max(1, min(int(k), probs.shape[0]))
        order = np.argsort(-probs, axis=0, kind="stable")[:k]
        top = np.take_along_axis(probs, order, axis=0)
        logp = logp_ids = None
        if probs.shape[0] <= FULL_MAX_CLASSES:
            logp = np.rint(np.clip(-np.log(np.clip(probs, 1e-30, 1.0)) * LOGP_SCALE, 0, 255)).astype(np.uint8)
            logp_ids = class_ids.clip(0, VOID_ID).astype(np.uint8)
        return cls(class_ids[order].clip(0, VOID_ID).astype(np.uint8),
                   np.rint(np.clip(top, 0, 1) * 255).astype(np.uint8),
                   np.rint(np.clip(ent, 0, 1) * 255).astype(np.uint8), size, model, logp, logp_ids)

    # -- what it tells ------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.classes.shape[0]

    @property
    def grid(self) -> tuple[int, int]:
        return self.classes.shape[1], self.classes.shape[2]  # type: ignore[return-value]

    @property
    def nbytes(self) -> int:
        return (self.classes.nbytes + self.probs.nbytes + self.entropy.nbytes
                + (self.logp.nbytes if self.logp is not None else 0))

    def margin(self) -> np.ndarray:
        """float32 (h, w) in 0..1: top-1 minus top-2 probability (1 where K = 1)."""
        p = self.probs.astype(np.float32) / 255.0
        return p[0] - p[1] if self.k > 1 else p[0]

    def uncertainty(self) -> np.ndarray:
        """float32 (h, w) in 0..1: the normalised entropy (0 = sure, 1 = no idea)."""
        return self.entropy.astype(np.float32) / 255.0

    def mean_uncertainty(self) -> float:
        """The image's mean normalised entropy (MONAI Label's ranking score)."""
        return float(self.entropy.mean()) / 255.0

    def _grid_box(self, box: Box) -> tuple[np.ndarray, np.ndarray, tuple[slice, slice]]:
        """For full-resolution ``box``: the grid rows/columns sampled for each pixel centre
        (as float coordinates relative to the returned grid slice) and that slice."""
        H, W = self.size
        gh, gw = self.grid
        y0, x0, y1, x1 = box
        ys = (np.arange(y0, y1, dtype=np.float64) + 0.5) * (gh / H) - 0.5
        xs = (np.arange(x0, x1, dtype=np.float64) + 0.5) * (gw / W) - 0.5
        np.clip(ys, 0, gh - 1, out=ys)
        np.clip(xs, 0, gw - 1, out=xs)
        gy0, gx0 = int(math.floor(ys.min(initial=0))), int(math.floor(xs.min(initial=0)))
        gy1 = min(gh, int(math.floor(ys.max(initial=0))) + 2)
        gx1 = min(gw, int(math.floor(xs.max(initial=0))) + 2)
        return ys - gy0, xs - gx0, (slice(gy0, gy1), slice(gx0, gx1))

    def _clip_box(self, box: Box | None) -> Box:
        H, W = self.size
        if box is None:
            return 0, 0, H, W
        y0, x0, y1, x1 = (int(v) for v in box)
        return max(0, y0), max(0, x0), min(H, max(y0, y1)), min(W, max(x0, x1))

    def class_prob(self, class_id: int, box: Box | None = None) -> np.ndarray:
        """float32 (y1 - y0, x1 - x0): the probability of ``class_id`` at each pixel of ``box``
        (full resolution, bilinear from the grid; 0 where the class is not among the top K)."""
        box = self._clip_box(box)
        y0, x0, y1, x1 = box
        if y1 <= y0 or x1 <= x0:
            return np.zeros((max(0, y1 - y0), max(0, x1 - x0)), np.float32)
        ys, xs, sl = self._grid_box(box)
        return _bilinear(self.class_plane(class_id, sl), ys, xs)

    def top_class(self, box: Box | None = None) -> np.ndarray:
        """uint8 (y1 - y0, x1 - x0): the most probable label id at each pixel of ``box``
        (nearest grid cell)."""
        box = self._clip_box(box)
        ys, xs, sl = self._grid_box(box)
        grid = self.classes[0][sl]
        return grid[np.rint(ys).astype(np.intp)[:, None], np.rint(xs).astype(np.intp)[None, :]]

    def class_plane(self, class_id: int, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """float32 (h, w) on the grid (or its ``window``): the probability of ``class_id`` -- from
        ``logp`` when kept, else from the top K (0 where the class is not among them)."""
        sl = window or (slice(None), slice(None))
        if self.logp is not None:
            rows = np.flatnonzero(self.logp_ids == class_id)
            if rows.size == 0:
                return np.zeros(self.entropy[sl].shape, np.float32)
            out = _LOGP_LUT[self.logp[(int(rows[0]),) + sl]]
            for r in rows[1:]:
                out = out + _LOGP_LUT[self.logp[(int(r),) + sl]]
            return out
        match = self.classes[(slice(None),) + sl] == class_id
        return (match * self.probs[(slice(None),) + sl]).sum(0, dtype=np.float32) / 255.0

    def sample(self, plane: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float32 (len(rows), len(cols)): a grid plane (h, w) sampled bilinearly at full-resolution
        pixel coordinates ``rows`` × ``cols`` (floats; integer = pixel centre), e.g. a reduced copy's."""
        (H, W), (gh, gw) = self.size, self.grid
        ys = np.clip((np.asarray(rows, np.float64) + 0.5) * (gh / H) - 0.5, 0, gh - 1)
        xs = np.clip((np.asarray(cols, np.float64) + 0.5) * (gw / W) - 0.5, 0, gw - 1)
        if ys.size == 0 or xs.size == 0:
            return np.zeros((ys.size, xs.size), np.float32)
        gy0, gx0 = int(ys.min()), int(xs.min())
        gy1, gx1 = min(gh, int(ys.max()) + 2), min(gw, int(xs.max()) + 2)
        return _bilinear(np.asarray(plane, np.float32)[gy0:gy1, gx0:gx1], ys - gy0, xs - gx0)

    # -- storage (the project store writes these arrays; see formats.project) -------
    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {"classes": self.classes, "probs": self.probs, "entropy": self.entropy,
               "size": np.asarray(self.size, np.int64), "model": np.asarray(self.model)}
        if self.logp is not None:
            out.update(logp=self.logp, logp_ids=self.logp_ids)
        return out

    @classmethod
    def from_arrays(cls, arrays, source: str = "prediction memory") -> "PredictionMemory":
        missing = [k for k in _ARRAYS if k not in arrays]
        if missing:
            raise FormatError(f"{source}: missing {', '.join(missing)}")
        size = np.asarray(arrays["size"]).reshape(-1)
        if size.size != 2:
            raise FormatError(f"{source}: bad image size")
        model = str(arrays["model"]) if "model" in arrays else ""
        try:
            logp = np.asarray(arrays["logp"]) if "logp" in arrays else None
            logp_ids = np.asarray(arrays["logp_ids"]) if "logp_ids" in arrays else None
            return cls(np.asarray(arrays["classes"]), np.asarray(arrays["probs"]), np.asarray(arrays["entropy"]),
                       (int(size[0]), int(size[1])), model, logp, logp_ids)
        except FormatError as e:
            raise FormatError(f"{source}: {e}") from None


def _bilinear(plane: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample a 2-D float plane at the (row, column) coordinates ``ys`` × ``xs`` (separable)."""
    h, w = plane.shape
    y0 = np.floor(ys).astype(np.intp)
    x0 = np.floor(xs).astype(np.intp)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    fy = (ys - y0).astype(np.float32)[:, None]
    fx = (xs - x0).astype(np.float32)[None, :]
    top = plane[y0][:, x0] * (1 - fx) + plane[y0][:, x1] * fx
    bottom = plane[y1][:, x0] * (1 - fx) + plane[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32, copy=False)
