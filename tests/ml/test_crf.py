"""Dense CRF: sharpens a blurred prediction along real colour edges; pruned ≈ full; clear error without pydensecrf."""

import sys

import numpy as np
import pytest

from segstudio.errors import ModelError
from segstudio.ml.crf import CRFParams, crf_inference, refine, refine_instance, require_pydensecrf
from tests.synthetic import scene, soft_prediction


@pytest.fixture(scope="module")
def case():
    rgb, gt = scene(150, 200, seed=3)
    probs = soft_prediction(gt, stride=16, seed=3)
    return rgb, gt, probs


def test_crf_improves_a_blurred_prediction(case):
    rgb, gt, probs = case
    before = (probs.argmax(0) != gt).sum()
    after = (refine(rgb, probs, params=CRFParams(max_side=0)) != gt).sum()
    assert before > 200  # the blur really misplaces boundaries
    assert after < 0.3 * before


def test_read_only_image_is_refined(case):
    # decoded images can be read-only buffers (the small-image path hands them to pydensecrf as is)
    rgb, gt, probs = case
    frozen = rgb.copy()
    frozen.flags.writeable = False
    out = refine(frozen, probs, params=CRFParams(max_side=0))
    assert (out == refine(rgb, probs, params=CRFParams(max_side=0))).all()


def test_pruned_capped_crf_agrees_with_full_crf():
    rgb, gt = scene(300, 400, seed=4)
    probs = soft_prediction(gt, stride=16, seed=4)
    full = crf_inference(rgb, probs).argmax(0)  # all 21 labels, full resolution
    params = CRFParams(max_side=300)  # 7 labels, runs at 300×225, upsampled afterwards
    ours = refine(rgb, probs, params=params)
    assert ours.dtype == np.uint8 and ours.shape == gt.shape
    assert (ours == full).mean() >= 0.995


def test_class_ids_are_kept_and_single_class_is_constant(case):
    rgb, gt, probs = case
    present = np.unique(gt)
    sub = probs[present] / probs[present].sum(0, keepdims=True)
    ids = present + 100
    out = refine(rgb, sub, ids)
    assert set(np.unique(out)) <= set(ids.tolist())
    one = np.zeros((2,) + gt.shape, np.float32)
    one[1] = 1
    assert (refine(rgb, one, np.array([4, 9])) == 9).all()


def test_instance_mask_refined_inside_its_box():
    rgb, gt = scene(80, 80, num_classes=2, shapes=1, seed=5)
    ys, xs = np.nonzero(gt)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    y0, x0 = max(0, y0 - 5), max(0, x0 - 5)
    y1, x1 = min(80, y1 + 5), min(80, x1 + 5)
    prob = soft_prediction(gt, num_classes=2, stride=8, seed=5)[1][y0:y1, x0:x1]
    truth = gt[y0:y1, x0:x1] == 1
    mask = refine_instance(rgb, prob, (x0, y0, x1, y1), CRFParams(bilateral_sxy=40))
    assert mask.shape == truth.shape and mask.dtype == bool
    assert (mask != truth).sum() < (prob >= 0.5).__ne__(truth).sum()


def test_missing_pydensecrf_is_a_clear_error(monkeypatch, case):
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    with pytest.raises(ModelError, match="pip install pydensecrf2"):
        require_pydensecrf()
    rgb, _, probs = case
    with pytest.raises(ModelError, match="without --crf"):
        refine(rgb, probs)
