"""Click to correct's network: the numpy forward pass against torch, its inputs, and its use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import segstudio.core.click_correct as cc
from segstudio.core import click_net
from segstudio.core.annotation import Annotation
from segstudio.core.prediction_memory import PredictionMemory
from segstudio.ml.click_net_torch import export, unet
from tests.smart_cases import memory_of, predicted_doc, scene


def trained_like_net(seed: int = 0):
    """A U-Net with random weights and BatchNorm statistics, as training would leave it."""
    torch.manual_seed(seed)
    model = unet()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


def test_the_numpy_forward_pass_is_the_torch_network():
    model = trained_like_net()
    params = export(model)
    x = np.random.default_rng(0).normal(0, 1, (3, click_net.CHANNELS, click_net.SIZE, click_net.SIZE))
    with torch.no_grad():
        ref = model(torch.from_numpy(x.astype(np.float32))).numpy()
    got = np.stack([click_net.forward(params, xi) for xi in x])
    assert got.shape == (3, click_net.SIZE, click_net.SIZE)
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)


def test_the_shipped_weights_are_the_network():
    params = click_net.load()
    ours = export(unet())
    assert set(params) == set(ours)
    assert all(params[k].shape == ours[k].shape and params[k].dtype == np.float32 for k in ours)
    assert all(np.isfinite(v).all() for v in params.values())


def test_inputs_show_the_click_the_anchors_and_the_image_edge():
    rgb, gt, pred, probs = scene()
    doc = predicted_doc(pred)
    anchors = [(115.0, 50.0, 3), (100.0, 60.0, 1), (5.0, 5.0, 3)]   # the last is outside the square
    x, R = click_net.inputs(rgb, doc.class_map, doc.user_mask, memory_of(probs), 55, 110, 3, anchors)
    S = click_net.SIZE
    assert x.shape == (click_net.CHANNELS, S, S) and x.dtype == np.float32
    assert R == click_net.reach(gt.shape)
    assert np.unravel_index(np.argmax(x[8]), (S, S)) in {(S // 2 - 1, S // 2 - 1), (S // 2, S // 2)}
    step = 2 * R / S
    assert x[9][round((50 - 55 + R) / step), round((115 - 110 + R) / step)] > 0.9   # the earlier click of c
    assert x[10][round((60 - 55 + R) / step), round((100 - 110 + R) / step)] > 0.9  # ... and of another class
    assert x[9].sum() < 2 * np.pi * 2.0 ** 2 * 1.5   # one Gaussian only: the far anchor is left out
    assert (x[11] == 1).all()   # the square is inside the image
    # near the right edge (x 150 + R > 159) the cells past it read as outside, all planes 0
    e, _ = click_net.inputs(rgb, doc.class_map, doc.user_mask, memory_of(probs), 55, 150, 3, anchors)
    outside = e[11] == 0
    assert outside.any() and not outside[:, :S // 2].any() and outside[:, -1].all()
    assert (e[:11, outside] == 0).all()
    # the model's probability of c is high inside the square the model doubted, low outside it
    y_in, x_in = round((55 - 55 + R) / step), round((110 - 110 + R) / step)
    assert x[3][y_in, x_in] > x[3][0, 0]


def test_a_click_relabels_the_doubted_square_and_the_colour_cut_sharpens_its_edge(monkeypatch):
    rgb, gt, pred, probs = scene()
    errors = {}
    for edge in (None, cc.NET_EDGE):
        monkeypatch.setattr(cc, "NET_EDGE", edge)
        doc = predicted_doc(pred)
        patches = cc.correct_click(doc, memory_of(probs), (110.0, 55.0), 3, None, image=rgb)
        assert patches
        assert (doc.class_map[gt != 3] == gt[gt != 3]).mean() > 0.99
        errors[edge] = int((doc.class_map != gt).sum())
    assert errors[cc.NET_EDGE] < errors[None]
    assert errors[cc.NET_EDGE] < 0.03 * (gt == 3).sum()


def test_the_tolerance_widens_and_narrows_what_the_network_takes():
    from segstudio.core.smart import SmartParams

    rgb, gt, pred, probs = scene()
    sizes = []
    for tol in (0.0, 0.6, 1.0):
        doc = predicted_doc(pred)
        prop = cc.correct_proposal(doc, memory_of(probs), (110.0, 55.0), 3, None, SmartParams(tolerance=tol),
                                   image=rgb)
        sizes.append(prop.pixels)
    assert sizes[0] <= sizes[1] <= sizes[2] and sizes[0] < sizes[2]
    assert cc.threshold_of(SmartParams()) == pytest.approx(0.5)


def test_a_click_on_a_large_image_works_in_the_clicks_square_only():
    H, W = 2000, 3000
    rgb, gt, pred, probs = scene(0, H, W)
    doc = Annotation(np.zeros((H, W), np.uint8))
    doc.class_map[:] = pred
    small = probs[:, ::10, ::10]
    memory = PredictionMemory.from_probabilities(small, np.arange(4), (H, W))
    prop = cc.correct_proposal(doc, memory, (W * 110 / 160, H * 55 / 120), 3, None, image=rgb)
    R = click_net.reach((H, W))
    y0, x0, y1, x1 = prop.box
    assert y1 - y0 <= 2 * R and x1 - x0 <= 2 * R
    assert prop.pixels > 0.5 * (gt == 3).sum()


def test_without_the_image_it_falls_back_to_the_superpixel_scoring_and_the_net_asks_for_it():
    from segstudio.core.superpixels import compute_superpixels

    rgb, gt, pred, probs = scene()
    doc = predicted_doc(pred)
    sp = compute_superpixels(rgb, cc.superpixel_size(gt.shape))
    assert cc.correct_proposal(doc, memory_of(probs), (110.0, 55.0), 3, sp) is not None
    with pytest.raises(ValueError, match="needs the image"):
        cc.correct_proposal(doc, memory_of(probs), (110.0, 55.0), 3, sp, method="net")


@pytest.mark.parametrize("form", ["grey", "rgba"])
def test_grey_and_rgba_images_are_read_like_rgb(form):
    rgb, gt, pred, probs = scene()
    grey = rgb.mean(axis=2).astype(np.uint8)
    image = grey if form == "grey" else np.dstack([rgb, np.full(gt.shape, 255, np.uint8)])
    same = np.dstack([grey] * 3) if form == "grey" else rgb
    doc = predicted_doc(pred)
    got, _ = click_net.inputs(image, doc.class_map, doc.user_mask, memory_of(probs), 55, 110, 3)
    ref, _ = click_net.inputs(same, doc.class_map, doc.user_mask, memory_of(probs), 55, 110, 3)
    np.testing.assert_array_equal(got, ref)
    assert cc.correct_proposal(doc, memory_of(probs), (110.0, 55.0), 3, None, image=image).pixels > 0
