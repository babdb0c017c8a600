"""Pixel-level edge refinement of a region chosen from superpixels (numpy and OpenCV only).

A region made of superpixels has their edge: on a 480×360 image with ~10 px
superpixels a boundary pixel is off by up to half a superpixel, and for the
typical small region (a pole, a sign, a cyclist) that is a large share of it.
``refine_edge`` lets the region's edge move outwards, pixel by pixel, up to
``band`` pixels, following the image's colour edges:

* the region's pixels stay in; the pixels farther than ``band`` outside it
  stay out, and so do the ``keep_out`` pixels;
* each pixel of the band between is decided by a two-label graph cut with a
  colour model of each side (OpenCV's GrabCut: a Gaussian mixture fitted on
  the region and one on its surroundings inside the box, refitted
  ``ITERATIONS`` times, and contrast-sensitive smoothness between
  neighbours).

Only outwards: on CamVid val (robot annotator, ``ml.robot``) letting the cut
also shrink the region cost clicks -- the colour models are too weak to
overrule the model-guided superpixel choice inside it -- while growing it
to the colour edge saved them.

The work is bounded by the region's box (``pad_box`` grows it by twice the
band): a box of more than ``MAX_PIXELS`` pixels is cut on a reduced copy whose
decision only the band's pixels take, so a click costs the same on a
6000×4000 image as on a small one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_PIXELS = 60_000    # larger boxes are cut on a reduced copy of about this many pixels
ITERATIONS = 2         # GrabCut's rounds of refitting the colour models and cutting
MIN_SIDE_PIXELS = 12   # fewer sure pixels on either side than this: no colour model, no refinement


def refine_edge(image: np.ndarray, region: np.ndarray, offset: tuple[int, int], band: float,
                keep_out: np.ndarray | None = None) -> np.ndarray:
    """bool mask of ``region``'s shape: ``region`` (bool, placed at ``offset`` on ``image``, an
    RGB or grey uint8 array) grown to the image's edges by at most ``band`` pixels (see the
    module).  Its box is where the work happens: ``pad_box`` grows a region's box to leave the
    band room.  ``keep_out`` (bool, the region's shape, or None) are pixels that must stay out."""
    r = max(1, int(round(band)))
    y0, x0 = offset
    y1, x1 = y0 + region.shape[0], x0 + region.shape[1]
    inside = region.astype(bool)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    out_fixed = ~cv2.dilate(inside.astype(np.uint8), disk).astype(bool)
    if keep_out is not None:
        out_fixed |= keep_out & ~inside
    gc = np.full(inside.shape, cv2.GC_PR_BGD, np.uint8)
    gc[inside] = cv2.GC_FGD
    gc[out_fixed] = cv2.GC_BGD
    cut = colour_cut(image[y0:y1, x0:x1], gc)
    return inside if cut is None else inside | (cut & ~out_fixed)


def colour_cut(crop: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """GrabCut of ``crop`` (uint8 RGB, RGBA or grey) from ``labels`` (``cv2.GC_*`` per pixel: the
    sure sides and the undecided pixels), on a reduced copy of about ``MAX_PIXELS`` when larger:
    the bool foreground at ``crop``'s size, or None when either sure side has fewer than
    ``MIN_SIDE_PIXELS`` pixels (no colour model) or nothing is undecided."""
    img = crop if crop.ndim == 3 else np.repeat(crop[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)
    gc = np.ascontiguousarray(labels, dtype=np.uint8)
    h, w = gc.shape
    s = min(1.0, math.sqrt(MAX_PIXELS / gc.size))
    if s < 1.0:
        size = (max(1, round(w * s)), max(1, round(h * s)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        gc = cv2.resize(gc, size, interpolation=cv2.INTER_NEAREST)
    if (np.count_nonzero(gc == cv2.GC_FGD) < MIN_SIDE_PIXELS
            or np.count_nonzero(gc == cv2.GC_BGD) < MIN_SIDE_PIXELS
            or not np.any((gc == cv2.GC_PR_BGD) | (gc == cv2.GC_PR_FGD))):
        return None
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(img, gc, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    cut = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    if s < 1.0:
        cut = cv2.resize(cut.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return cut


def pad_box(box: tuple[int, int, int, int], band: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` (y0, x0, y1, x1) grown by twice the band (``refine_edge``'s room), clipped to ``shape``."""
    m = 2 * max(1, int(round(band)))
    return max(0, box[0] - m), max(0, box[1] - m), min(shape[0], box[2] + m), min(shape[1], box[3] + m)
