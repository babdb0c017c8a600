"""Pixel-level edge refinement of superpixel regions (core.edge_refine) and click to correct with it."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import edge_refine
from segstudio.core.click_correct import correct_proposal
from segstudio.core.edge_refine import pad_box, refine_edge
from segstudio.core.superpixels import compute_superpixels
from tests.smart_cases import memory_of, predicted_doc

H, W = 90, 120
CENTRE, RADIUS = (44.0, 61.0), 23.0


def disc_scene(seed: int = 0):
    """(rgb, truth): a red disc on a grey ground, with noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    truth = (yy - CENTRE[0]) ** 2 + (xx - CENTRE[1]) ** 2 <= RADIUS ** 2
    colours = np.array([[120, 125, 130], [190, 60, 50]], np.float32)
    rgb = np.clip(colours[truth.astype(int)] + rng.normal(0, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    return rgb, truth


def blocky(truth: np.ndarray, cell: int = 8) -> np.ndarray:
    """The truth as the whole cells inside it (what superpixels ``cell`` wide that stop short of
    the edge give): the edge is off by up to a cell."""
    out = np.zeros_like(truth)
    for y in range(0, H, cell):
        for x in range(0, W, cell):
            out[y:y + cell, x:x + cell] = truth[y:y + cell, x:x + cell].all()
    return out


def test_the_refined_edge_follows_the_true_edge_better_than_the_cells():
    rgb, truth = disc_scene()
    cells = blocky(truth)
    before = np.count_nonzero(cells != truth)
    assert before > 150  # the cells really do miss the edge
    refined = refine_edge(rgb, cells, (0, 0), band=8)
    after = np.count_nonzero(refined != truth)
    assert after < 0.3 * before
    assert refined[cells].all()  # the region stays
    far = np.hypot(*(np.mgrid[:H, :W] - np.array(CENTRE)[:, None, None])) > RADIUS + 10
    assert not refined[far].any()  # and grows within the band only


def test_the_edge_only_moves_outwards():
    rgb, truth = disc_scene()
    too_big = np.zeros(truth.shape, bool)
    too_big[10:80, 30:95] = True
    refined = refine_edge(rgb, too_big, (0, 0), band=6)
    assert refined[too_big].all()
    grown = refine_edge(rgb, truth[5:85, 10:110], (5, 10), band=6)  # already on the edge: stays there
    assert np.count_nonzero(grown != truth[5:85, 10:110]) < 10


def test_keep_out_pixels_stay_out():
    rgb, truth = disc_scene()
    keep = np.zeros(truth.shape, bool)
    keep[:, 70:] = True
    cells = blocky(truth)
    refined = refine_edge(rgb, cells, (0, 0), band=8, keep_out=keep)
    assert not refined[keep & ~cells].any()
    assert np.count_nonzero(refined[:, :60] != truth[:, :60]) < 0.3 * np.count_nonzero(cells[:, :60] != truth[:, :60])


def test_a_large_box_is_refined_on_a_reduced_copy(monkeypatch):
    rgb, truth = disc_scene()
    monkeypatch.setattr(edge_refine, "MAX_PIXELS", H * W // 4)  # half the side
    cells = blocky(truth)
    refined = refine_edge(rgb, cells, (0, 0), band=8)
    assert refined.shape == cells.shape and refined[cells].all()
    assert np.count_nonzero(refined != truth) < 0.6 * np.count_nonzero(cells != truth)


def test_pad_box_leaves_room_for_the_band_inside_the_image():
    assert pad_box((10, 20, 30, 40), 3, (100, 100)) == (4, 14, 36, 46)
    assert pad_box((2, 0, 98, 100), 3, (100, 100)) == (0, 0, 100, 100)


@pytest.mark.parametrize("seed", [0, 1])
def test_click_to_correct_with_the_image_follows_the_edge_better(seed):
    """Coarse superpixels on a disc the model missed: the click with the image refines their edge
    (the superpixel scoring; the network's doubtful edge is cut by colour: tests/core/test_click_net.py)."""
    rgb, truth = disc_scene(seed)
    gt = np.where(truth, 3, 2).astype(np.uint8)
    probs = np.full((4, H, W), 0.01, np.float32)
    probs[2] = np.where(truth, 0.6, 0.95)
    probs[3] = np.where(truth, 0.35, 0.02)
    probs /= probs.sum(0, keepdims=True)
    sp = compute_superpixels(rgb, 16)
    click = (CENTRE[1], CENTRE[0])
    errors = []
    for image in (None, rgb):
        doc = predicted_doc(np.full((H, W), 2, np.uint8))
        prop = correct_proposal(doc, memory_of(probs), click, 3, sp, anchors=(), image=image, method="superpixels")
        out = doc.class_map.copy()
        y0, x0, y1, x1 = prop.box
        out[y0:y1, x0:x1][prop.mask] = 3
        errors.append(np.count_nonzero(out != gt))
    assert errors[1] < 0.5 * errors[0]


@pytest.mark.parametrize("form", ["grey", "rgba"])
def test_grey_and_rgba_images_are_refined_like_rgb(form):
    rgb, truth = disc_scene()
    image = rgb.mean(axis=2).astype(np.uint8) if form == "grey" else np.dstack([rgb, np.full((H, W), 255, np.uint8)])
    cells = blocky(truth)
    refined = refine_edge(image, cells, (0, 0), band=8)
    assert refined.shape == truth.shape and refined[cells].all()
    assert np.count_nonzero(refined != truth) < 0.5 * np.count_nonzero(cells != truth)
