"""Polygons from datasets are clipped and checked before rasterising (formats.polygons)."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from segstudio.errors import FormatError
from segstudio.formats.polygons import clip_polygon, polygon_points
from segstudio.formats.readers.coco import decode_segmentation

H, W = 24, 32


def _raster(flat) -> np.ndarray:
    return mask_utils.decode(mask_utils.frPyObjects([list(flat)], H, W))[:, :, 0].astype(bool)


def test_polygons_near_the_image_are_left_exactly_as_they_are():
    rng = np.random.default_rng(0)
    for _ in range(50):
        pts = np.stack([rng.uniform(-W, 2 * W, 7), rng.uniform(-H, 2 * H, 7)], 1)
        assert clip_polygon(pts, W, H) is pts
        assert np.array_equal(decode_segmentation([pts.ravel().tolist()], H, W, "t"), _raster(pts.ravel()))


@pytest.mark.parametrize("far", [1e4, 1e9, 1e12])
def test_far_coordinates_give_the_pixels_inside_the_image(far):
    square = [-far, -far, far, -far, far, far, -far, far]
    assert decode_segmentation([square], H, W, "t").all()
    # a triangle whose long edge is the diagonal y = x: the pixels below it, up to the boundary pixels
    tri = decode_segmentation([[-far, -far, far, far, far, -far]], H, W, "t")
    ys, xs = np.mgrid[:H, :W]
    assert tri[ys + 1 < xs].all() and not tri[ys > xs + 1].any()
    assert not decode_segmentation([[far, far, 2 * far, far, 2 * far, 2 * far]], H, W, "t").any()


def test_clipping_keeps_a_crossing_polygon_within_a_pixel_of_the_original():
    rng = np.random.default_rng(1)
    for _ in range(30):
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 6))
        r = rng.uniform(5, 400, 6)
        pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
        a, b = _raster(pts.ravel()), decode_segmentation([pts.ravel().tolist()], H, W, "t")
        assert (a != b).sum() <= 2 * (H + W)  # only along the image border, if at all


@pytest.mark.parametrize("values, match", [
    ([0, 0, 5, float("nan"), 5, 5], "not finite"),
    ([0, 0, 5, 1e14, 5, 5], "coordinate"),
    ([0, 0, 5, "1", 5, 5], "numbers"),
    ([0, 0, 5], "numbers"),
])
def test_bad_coordinates_are_refused(values, match):
    with pytest.raises(FormatError, match=match):
        polygon_points(values, "f.json")


def test_an_outline_too_long_to_rasterise_is_refused():
    zigzag = np.zeros((40_000, 2))  # 40,000 edges of 96 pixels
    zigzag[::2] = (-W, -H)
    zigzag[1::2] = (2 * W, 2 * H)
    with pytest.raises(FormatError, match="simplify"):
        decode_segmentation([zigzag.ravel().tolist()], H, W, "f.json, annotation 3")
