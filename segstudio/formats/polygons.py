"""Polygons from datasets, made safe to rasterise.

Rasterisers (pycocotools, Pillow) spend time and memory in proportion to a
polygon's extent: a COCO polygon with a vertex at 1e12 asks for terabytes.
``clip_polygon`` cuts a polygon that reaches far outside the image to a
window around it (Sutherland-Hodgman against each side).  The window is the
image grown by its longer side in every direction, so ordinary polygons that
cross the border a little are never touched and rasterise exactly as before;
a clipped one can differ from the unclipped rasterisation by a pixel or two
along the image border (pycocotools rounds its vertices to 1/5 pixel).
``polygon_points`` checks the numbers first.
"""

from __future__ import annotations

import numpy as np

from segstudio.errors import FormatError

# A rasteriser walks every edge; a longer outline than this is no real annotation.
MAX_PERIMETER = 2_000_000  # pixels
# Coordinates this far out still clip to a fraction of a pixel (float64); farther ones are garbage.
MAX_COORDINATE = 1e13


def polygon_points(values, where: str, what: str = "a polygon") -> np.ndarray:
    """(n, 2) float64 points from a flat list ``[x0, y0, x1, y1, ...]`` of finite numbers."""
    try:
        a = np.asarray(values)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: {what} must be a flat list of x, y numbers") from None
    if a.dtype.kind not in "biuf":  # strings, nested lists, numbers too large for a float
        raise FormatError(f"{where}: {what} must be a flat list of x, y numbers")
    if a.ndim != 1 or a.size % 2:
        raise FormatError(f"{where}: {what} must be a flat list of x, y numbers")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise FormatError(f"{where}: {what} has coordinates that are not finite numbers (NaN or infinity)")
    if a.size and np.abs(a).max() > MAX_COORDINATE:
        raise FormatError(f"{where}: {what} has a coordinate of {np.abs(a).max():.3g} pixels; coordinates beyond "
                          f"±{MAX_COORDINATE:.0e} are no annotation - check what wrote the file")
    return a.reshape(-1, 2)


def _clip_side(pts: np.ndarray, axis: int, bound: float, keep_greater: bool) -> np.ndarray:
    if not len(pts):
        return pts
    nxt = np.roll(pts, -1, axis=0)
    a, b = pts[:, axis], nxt[:, axis]
    in_a = a >= bound if keep_greater else a <= bound
    in_b = b >= bound if keep_greater else b <= bound
    cross = in_a != in_b
    out = np.empty((len(pts), 2, 2), np.float64)
    with np.errstate(all="ignore"):
        t = np.where(cross, (bound - a) / np.where(cross, b - a, 1.0), 0.0)
        out[:, 0] = pts + t[:, None] * (nxt - pts)
    out[:, 0, axis] = bound
    out[:, 1] = nxt
    # per edge: the crossing point (if it crosses), then the end point (if inside)
    return out[np.stack([cross, in_b], axis=1)]


def clip_polygon(pts: np.ndarray, width: int, height: int, margin: float | None = None) -> np.ndarray:
    """``pts`` cut to the window [-margin, width + margin] × [-margin, height + margin].

    ``margin`` defaults to the image's longer side.  Returns ``pts`` itself
    when it already lies inside the window.
    """
    margin = float(max(width, height, 1)) if margin is None else float(margin)
    lo_x, lo_y, hi_x, hi_y = -margin, -margin, width + margin, height + margin
    if len(pts) and pts[:, 0].min() >= lo_x and pts[:, 0].max() <= hi_x and \
            pts[:, 1].min() >= lo_y and pts[:, 1].max() <= hi_y:
        return pts
    for axis, bound, keep_greater in ((0, lo_x, True), (0, hi_x, False), (1, lo_y, True), (1, hi_y, False)):
        pts = _clip_side(pts, axis, bound, keep_greater)
    return pts


def perimeter(pts: np.ndarray) -> float:
    """The outline length in pixels as a rasteriser walks it (the longer axis of each edge)."""
    if len(pts) < 2:
        return 0.0
    d = np.abs(np.roll(pts, -1, axis=0) - pts)
    return float(d.max(axis=1).sum())


def check_perimeter(total: float, where: str, what: str = "the polygons") -> None:
    if total > MAX_PERIMETER:
        raise FormatError(f"{where}: {what} run {total:.0f} pixels along their edges inside the image "
                          f"(at most {MAX_PERIMETER} are rasterised); simplify them or store the mask as RLE")
