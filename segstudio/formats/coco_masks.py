"""Instance masks as COCO segmentations: RLE, or polygons where they are exact.

``encode_rle`` gives pycocotools' compressed RLE with ``counts`` as text;
``exact_polygons`` traces a hole-free mask on the pixel edges and returns
the polygons only if pycocotools rasterises them back to exactly the same
pixels, so choosing polygons never changes a mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils


def encode_rle(mask: np.ndarray) -> dict:
    """Compressed RLE of a 2-D mask (no copy when it is already Fortran-ordered bool/uint8)."""
    mask = np.asarray(mask)
    if mask.dtype == bool:
        mask = mask.view(np.uint8)
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_area_bbox(rle: dict) -> tuple[int, list[float]]:
    r = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    return int(mask_utils.area(r)), [float(v) for v in mask_utils.toBbox(r)]


def has_holes(mask: np.ndarray) -> bool:
    _, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool((hierarchy[0][:, 3] >= 0).any())


def exact_polygons(mask: np.ndarray, box: tuple[int, int, int, int] | None = None) -> list[list[float]] | None:
    """COCO polygons reproducing ``mask`` exactly, or None (holes, or not exact).

    ``box`` = (y0, x0, y1, x1) of the mask's pixels, to trace only that region.
    """
    h, w = mask.shape
    y0, x0, y1, x1 = box if box is not None else (0, 0, h, w)
    # one pixel of margin so contours never touch the crop's border
    cy0, cx0, cy1, cx1 = max(0, y0 - 1), max(0, x0 - 1), min(h, y1 + 1), min(w, x1 + 1)
    crop = np.zeros((cy1 - cy0 + 2, cx1 - cx0 + 2), np.uint8)
    crop[1:-1, 1:-1] = mask[cy0:cy1, cx0:cx1]
    if has_holes(crop):
        return None
    # Trace the 2x upsampled mask: its contour runs a quarter pixel inside the
    # pixel edges, which pycocotools' rasteriser maps back to the same pixels.
    up = np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        p = (c.reshape(-1, 2).astype(np.float64) + 0.5) / 2.0 - 1.0
        p[:, 0] += cx0
        p[:, 1] += cy0
        flat = [round(float(v), 2) for v in p.ravel()]
        while len(flat) < 6:  # pycocotools needs at least 3 points
            flat += flat[:2]
        polys.append(flat)
    if not polys:
        return None
    back = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w)))
    if not np.array_equal(back.astype(bool), mask.astype(bool)):
        return None
    return polys


def rles_by_value(map_t: np.ndarray, values, height: int, width: int) -> dict[int, dict]:
    """Compressed RLEs of ``map == v`` for each v in ``values``, from one pass over the map.

    ``map_t`` is the label map transposed (C-ordered W×H), i.e. the original
    in COCO's column-major pixel order.  The runs of equal values are found
    once; each value's RLE counts are then built from its own runs only, which
    is much cheaper than a full-image mask and ``encode`` per value.
    Identical to ``encode_rle(map == v)``.
    """
    flat = map_t.ravel()
    n = flat.size
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    vals = flat[starts]
    order = np.argsort(vals, kind="stable")
    sorted_vals = vals[order]
    out: dict[int, dict] = {}
    for v in values:
        lo, hi = np.searchsorted(sorted_vals, v, "left"), np.searchsorted(sorted_vals, v, "right")
        if lo == hi:
            continue
        sel = order[lo:hi]
        s, e = starts[sel], ends[sel]
        counts = np.empty(2 * len(s) + 1, np.int64)
        counts[0] = s[0]
        counts[2:-1:2] = s[1:] - e[:-1]
        counts[1::2] = e - s
        counts[-1] = n - e[-1]
        if counts[-1] == 0:
            counts = counts[:-1]
        rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts.tolist()}, height, width)
        out[int(v)] = {"size": [height, width], "counts": rle["counts"].decode("ascii")}
    return out
