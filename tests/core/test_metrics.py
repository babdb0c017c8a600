import numpy as np
import pytest

from segstudio.core.metrics import ConfusionMatrix, evaluate_maps
from segstudio.errors import SegStudioError


def test_hand_computed_case_with_void_and_absent_classes():
    gt = np.array([[0, 0, 1, 1],
                   [0, 255, 1, 2]], np.uint8)
    pred = np.array([[0, 1, 1, 1],
                     [0, 3, 2, 255]], np.uint8)
    m = evaluate_maps([(gt, pred)], num_classes=5)
    # counted pixels: 7 (one void gt pixel dropped)
    # class 0: gt 3, pred 2 (both right): TP 2, FN 1, FP 0
    # class 1: gt 3 (0,2),(0,3),(1,2); pred 1 at (0,1),(0,2),(0,3): TP 2, FP 1, FN 1
    # class 2: gt 1 at (1,3) predicted void -> FN 1; pred 2 at (1,2): FP 1; TP 0
    # class 3: predicted only on a void gt pixel -> not counted at all -> absent
    # class 4: absent from both
    assert m.total == 7
    assert m.pixel_accuracy == pytest.approx(4 / 7)
    assert m.iou[0] == pytest.approx(2 / 3)
    assert m.iou[1] == pytest.approx(2 / 4)
    assert m.iou[2] == 0.0
    assert m.iou[3] is None and m.iou[4] is None
    assert m.accuracy[0] == pytest.approx(2 / 3) and m.accuracy[2] == 0.0 and m.accuracy[3] is None
    assert m.precision[0] == 1.0 and m.precision[1] == pytest.approx(2 / 3) and m.precision[2] == 0.0
    assert m.dice[1] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m.miou == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert m.mean_pixel_accuracy == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert m.fw_iou == pytest.approx(3 / 7 * 2 / 3 + 3 / 7 * 1 / 2 + 1 / 7 * 0)
    js = m.to_json(["bg", "a", "b", "c", "d"])
    assert js["per_class"][3] == {"id": 3, "name": "c", "iou": None, "accuracy": None, "dice": None,
                                  "precision": None, "recall": None}


def test_class_predicted_but_absent_from_ground_truth_counts_as_zero_iou():
    gt = np.zeros((2, 2), np.uint8)
    pred = np.array([[0, 0], [0, 1]], np.uint8)
    m = evaluate_maps([(gt, pred)], 2)
    assert m.iou == [0.75, 0.0] and m.accuracy[1] is None and m.precision[1] == 0.0
    assert m.miou == pytest.approx(0.375)


def test_all_void_image_gives_nulls():
    gt = np.full((3, 3), 255, np.uint8)
    m = evaluate_maps([(gt, np.zeros((3, 3), np.uint8))], 3)
    assert m.total == 0
    assert m.pixel_accuracy is None and m.miou is None and m.fw_iou is None and m.mean_pixel_accuracy is None
    assert all(v is None for v in m.iou)


def test_perfect_prediction():
    gt = np.random.default_rng(0).integers(0, 4, (10, 10)).astype(np.uint8)
    m = evaluate_maps([(gt, gt)], 4)
    assert m.pixel_accuracy == 1.0 and m.miou == 1.0 and m.fw_iou == pytest.approx(1.0)


def test_matches_independent_per_class_computation_on_random_data():
    rng = np.random.default_rng(1)
    n = 6
    pairs = []
    for _ in range(3):
        gt = rng.integers(0, n, (31, 17)).astype(np.uint8)
        gt[rng.random(gt.shape) < 0.1] = 255
        pred = rng.integers(0, n + 1, (31, 17)).astype(np.uint8)  # includes an unknown class n
        pred[rng.random(pred.shape) < 0.05] = 255
        pairs.append((gt, pred))
    m = evaluate_maps(pairs, n)
    g = np.concatenate([p[0].ravel() for p in pairs])
    p = np.concatenate([p[1].ravel() for p in pairs])
    keep = g != 255
    g, p = g[keep], p[keep]
    assert m.pixel_accuracy == pytest.approx(np.mean(g == p))
    for c in range(n):
        tp = np.sum((g == c) & (p == c))
        fp = np.sum((g != c) & (p == c))
        fn = np.sum((g == c) & (p != c))
        assert m.iou[c] == pytest.approx(tp / (tp + fp + fn))
        assert m.precision[c] == pytest.approx(tp / (tp + fp))
        assert m.recall[c] == pytest.approx(tp / (tp + fn))
        assert m.dice[c] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_accumulates_and_validates():
    cm = ConfusionMatrix(3)
    cm.update(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    cm.update(np.ones((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    assert cm.compute().pixel_accuracy == 0.5
    with pytest.raises(SegStudioError, match="outside 0..2"):
        cm.update(np.full((1, 1), 7, np.uint8), np.zeros((1, 1), np.uint8))
    with pytest.raises(SegStudioError, match="shape|is"):
        cm.update(np.zeros((2, 2), np.uint8), np.zeros((3, 3), np.uint8))
