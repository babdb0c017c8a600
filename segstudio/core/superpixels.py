"""Superpixels (OpenCV contrib's SLIC) and the superpixel brush.

``compute_superpixels`` runs SLIC (``cv2.ximgproc``, in CIELAB, connectivity
enforced) once per image and size; the app runs it in a worker when an image
opens and caches the result per image and size level, the size following the
zoom (about ``SCREEN_SIZE`` screen pixels per superpixel).  Large images and
large superpixels are segmented on a reduced copy (at most ``MAX_WORK_PIXELS``,
and superpixels at most ``WORK_SIZE`` copy pixels across); ``labels`` keep that
resolution and every mask is sampled from it inside a box.

Per superpixel the result keeps its box and its mean colour, so the brush
finds a superpixel's pixels inside that box only: a click costs the size of
the superpixels it touches, not of the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.core.annotation import Annotation, Box, Patch
from segstudio.core.edits import brush_segment_mask
from segstudio.core.smart import Proposal, SmartParams, apply_proposal, locked_pixels
from segstudio.errors import EditError

MAX_WORK_PIXELS = 4_000_000   # SLIC on at most this many pixels (a reduced copy of larger images)
WORK_SIZE = 16                # larger superpixels are computed on a copy where they are this wide
SCREEN_SIZE = 24              # the superpixel brush aims at superpixels this wide on screen
SIZE_LEVELS = (6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def size_for_zoom(scale: float, screen: int = SCREEN_SIZE) -> int:
    """The superpixel size (image pixels) whose superpixels look ``screen`` pixels wide at zoom
    ``scale`` (screen pixels per image pixel), rounded to one of ``SIZE_LEVELS``."""
    want = screen / max(float(scale), 1e-6)
    return min(SIZE_LEVELS, key=lambda s: abs(math.log(s / want)))


@dataclass
class Superpixels:
    labels: np.ndarray        # int32 (h, w): superpixel id per pixel of the reduced copy
    scale: float              # reduced copy = image × scale (≤ 1)
    size: int                 # the asked superpixel size in image pixels
    image_size: tuple[int, int]
    boxes: np.ndarray         # int32 (n, 4): y0, x0, y1, x1 of each superpixel in ``labels``
    colours: np.ndarray       # float32 (n, 3): mean CIELAB colour of each superpixel

    @property
    def count(self) -> int:
        return len(self.boxes)

    # -- coordinates ---------------------------------------------------------------
    def work_rows(self, y0: int, y1: int) -> np.ndarray:
        h = self.labels.shape[0]
        return np.minimum(h - 1, ((np.arange(y0, y1) + 0.5) * self.scale).astype(np.intp))

    def work_cols(self, x0: int, x1: int) -> np.ndarray:
        w = self.labels.shape[1]
        return np.minimum(w - 1, ((np.arange(x0, x1) + 0.5) * self.scale).astype(np.intp))

    def labels_in(self, box: Box) -> np.ndarray:
        """int32 (y1 - y0, x1 - x0): the superpixel id of each image pixel of ``box``."""
        y0, x0, y1, x1 = box
        return self.labels[self.work_rows(y0, y1)[:, None], self.work_cols(x0, x1)[None, :]]

    def image_box(self, ids) -> Box:
        """The image-pixel box holding the superpixels ``ids``."""
        b = self.boxes[np.asarray(ids, np.intp)]
        H, W = self.image_size
        s = self.scale
        return (max(0, int(math.floor(b[:, 0].min() / s)) - 1), max(0, int(math.floor(b[:, 1].min() / s)) - 1),
                min(H, int(math.ceil(b[:, 2].max() / s)) + 1), min(W, int(math.ceil(b[:, 3].max() / s)) + 1))

    def ids_under(self, mask: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
        """The ids of the superpixels touched by ``mask`` (image pixels, placed at ``offset``)."""
        oy, ox = offset
        H, W = self.image_size
        y0, x0 = max(0, oy), max(0, ox)
        y1, x1 = min(H, oy + mask.shape[0]), min(W, ox + mask.shape[1])
        if y1 <= y0 or x1 <= x0:
            return np.zeros(0, np.int32)
        m = mask[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        return np.unique(self.labels_in((y0, x0, y1, x1))[m])

    def mask_of(self, ids) -> tuple[np.ndarray, tuple[int, int]]:
        """(bool mask, (y, x) offset): the image pixels of superpixels ``ids``, inside their box."""
        box = self.image_box(ids)
        lab = self.labels_in(box)
        ids = np.asarray(ids)
        mask = lab == ids[0] if ids.size == 1 else np.isin(lab, ids)
        return mask, box[:2]


def compute_superpixels(image: np.ndarray, size: int = 16, iterations: int = 10, ruler: float = 10.0,
                        max_pixels: int = MAX_WORK_PIXELS) -> Superpixels:
    """SLIC superpixels of about ``size`` image pixels across (see the module)."""
    if not hasattr(cv2, "ximgproc"):
        raise EditError("superpixels need OpenCV's contrib modules: install opencv-contrib-python-headless "
                        "(and no other opencv package)")
    rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.dtype != np.uint8:
        raise EditError(f"superpixels need an H×W×3 uint8 image, got {rgb.dtype} {rgb.shape}")
    H, W = rgb.shape[:2]
    size = max(2, int(size))
    # big superpixels need no full resolution: WORK_SIZE reduced pixels across keep their edges
    # within a screen pixel or two at the zoom that asks for them
    s = min(1.0, math.sqrt(max_pixels / float(H * W)), WORK_SIZE / size)
    if s < 1.0:
        w, h = max(1, round(W * s)), max(1, round(H * s))
        small = cv2.resize(rgb[:, :, :3], (w, h), interpolation=cv2.INTER_AREA)
        s = w / W
    else:
        small = rgb[:, :, :3]
    lab = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2Lab)
    region = max(2, int(round(size * s)))
    slic = cv2.ximgproc.createSuperpixelSLIC(lab, cv2.ximgproc.SLIC, region, float(ruler))
    slic.iterate(int(iterations))
    slic.enforceLabelConnectivity(25)
    labels = np.ascontiguousarray(slic.getLabels(), dtype=np.int32)
    boxes, colours = _stats(labels, lab)
    return Superpixels(labels, s, size, (H, W), boxes, colours)


def _stats(labels: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label: its box (y0, x0, y1, x1) and its mean colour, in one sort of the pixels."""
    flat = labels.reshape(-1)
    n = int(flat.max()) + 1
    counts = np.bincount(flat, minlength=n).astype(np.float64)
    colours = np.stack([np.bincount(flat, weights=lab[:, :, c].reshape(-1).astype(np.float64), minlength=n)
                        for c in range(3)], 1) / np.maximum(counts, 1)[:, None]
    order = np.argsort(flat, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts.astype(np.int64))[:-1]])
    w = labels.shape[1]
    rows, cols = np.divmod(order, w)
    boxes = np.zeros((n, 4), np.int32)
    present = counts > 0
    st = starts[present]
    boxes[present, 0] = np.minimum.reduceat(rows, st)
    boxes[present, 1] = np.minimum.reduceat(cols, st)
    boxes[present, 2] = np.maximum.reduceat(rows, st) + 1
    boxes[present, 3] = np.maximum.reduceat(cols, st) + 1
    return boxes, colours.astype(np.float32)


# -- the superpixel brush ----------------------------------------------------------------

def superpixel_proposal(doc: Annotation, sp: Superpixels, p0, p1, radius: float, class_id: int,
                        params: SmartParams = SmartParams()) -> Proposal | None:
    """The superpixels touched by a brush segment p0–p1 of ``radius`` (0: the one under the
    point), to become ``class_id``; hand-painted pixels follow the smart-tool rule."""
    if sp.image_size != doc.shape:
        raise EditError(f"the superpixels are for a {sp.image_size[1]}×{sp.image_size[0]} image, "
                        f"not {doc.width}×{doc.height}")
    foot, offset = brush_segment_mask(p0, p1, max(float(radius), 0.5))
    ids = sp.ids_under(foot, offset)
    if ids.size == 0:
        return None
    mask, (y0, x0) = sp.mask_of(ids)
    box = (y0, x0, y0 + mask.shape[0], x0 + mask.shape[1])
    seeds = np.zeros(mask.shape, bool)
    fy0, fx0 = max(offset[0], y0), max(offset[1], x0)
    fy1, fx1 = min(offset[0] + foot.shape[0], box[2]), min(offset[1] + foot.shape[1], box[3])
    if fy1 > fy0 and fx1 > fx0:
        seeds[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0] = foot[fy0 - offset[0]:fy1 - offset[0],
                                                           fx0 - offset[1]:fx1 - offset[1]]
    mask &= ~locked_pixels(doc, box, seeds & mask, params.keep_user)
    return Proposal((y0, x0), mask, int(class_id))


def superpixel_paint(doc: Annotation, sp: Superpixels, p0, p1, radius: float, class_id: int,
                     params: SmartParams = SmartParams()) -> list[Patch]:
    """Paint the superpixels touched by a brush segment (see ``superpixel_proposal``)."""
    return apply_proposal(doc, superpixel_proposal(doc, sp, p0, p1, radius, class_id, params))
