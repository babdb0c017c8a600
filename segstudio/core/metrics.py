"""Segmentation metrics from a confusion matrix.

``ConfusionMatrix`` accumulates (ground truth, prediction) pixel pairs; pixels
whose ground truth equals the ignore id (255, void) are not counted.  A
prediction outside 0..n-1 (void, or an unknown class) on a counted pixel is a
miss: it goes to an extra "other" column, so it lowers recall but is nobody's
false positive.

Per class c, with TP, FP, FN from the matrix:

* IoU = TP / (TP + FP + FN)          (None when c is in neither gt nor prediction)
* accuracy = recall = TP / (TP + FN) (None when c is not in the ground truth)
* precision = TP / (TP + FP)         (None when c is never predicted)
* Dice = F1 = 2TP / (2TP + FP + FN)  (None when c is in neither)

Means leave out the None values.  Frequency-weighted IoU weights each class's
IoU by its share of the counted ground-truth pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segstudio.errors import SegStudioError


class ConfusionMatrix:
    def __init__(self, num_classes: int, ignore_index: int | None = 255):
        if not 1 <= num_classes <= 65536:
            raise SegStudioError(f"the number of classes must be positive, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        # rows: ground truth 0..n-1; columns: prediction 0..n-1 and "other" (n)
        self.matrix = np.zeros((self.num_classes, self.num_classes + 1), np.int64)

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        gt = np.asarray(gt)
        pred = np.asarray(pred)
        if gt.shape != pred.shape:
            raise SegStudioError(f"ground truth is {gt.shape} but the prediction is {pred.shape}")
        gt = gt.reshape(-1).astype(np.int64)
        pred = pred.reshape(-1).astype(np.int64)
        keep = np.ones(gt.shape, bool) if self.ignore_index is None else gt != self.ignore_index
        bad_gt = keep & ((gt < 0) | (gt >= self.num_classes))
        if bad_gt.any():
            v = int(gt[bad_gt][0])
            raise SegStudioError(
                f"ground truth holds class id {v}, outside 0..{self.num_classes - 1}; "
                f"raise --num-classes or mark it with the ignore id {self.ignore_index}")
        gt, pred = gt[keep], pred[keep]
        n = self.num_classes
        pred = np.where((pred < 0) | (pred >= n), n, pred)
        self.matrix += np.bincount(gt * (n + 1) + pred, minlength=n * (n + 1)).reshape(n, n + 1)

    def merge(self, other: "ConfusionMatrix") -> None:
        if other.matrix.shape != self.matrix.shape:
            raise SegStudioError("cannot merge confusion matrices of different sizes")
        self.matrix += other.matrix

    def compute(self) -> "Metrics":
        return Metrics.from_matrix(self.matrix)


def _ratio(num: np.ndarray, den: np.ndarray) -> list[float | None]:
    return [float(a) / float(b) if b > 0 else None for a, b in zip(num, den)]


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


@dataclass
class Metrics:
    pixel_accuracy: float | None
    mean_pixel_accuracy: float | None
    miou: float | None
    fw_iou: float | None
    iou: list[float | None]
    accuracy: list[float | None]
    dice: list[float | None]
    precision: list[float | None]
    recall: list[float | None]
    total: int

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> "Metrics":
        n = matrix.shape[0]
        tp = np.diag(matrix[:, :n]).astype(np.int64)
        gt_count = matrix.sum(axis=1)
        pred_count = matrix[:, :n].sum(axis=0)
        fp = pred_count - tp
        fn = gt_count - tp
        total = int(matrix.sum())
        union = tp + fp + fn
        iou = _ratio(tp, union)
        acc = _ratio(tp, gt_count)
        prec = _ratio(tp, pred_count)
        dice = _ratio(2 * tp, 2 * tp + fp + fn)
        fw = None
        if total > 0:
            fw = float(sum(gt_count[c] / total * iou[c] for c in range(n) if iou[c] is not None))
        return cls(
            pixel_accuracy=float(tp.sum()) / total if total else None,
            mean_pixel_accuracy=_mean(acc),
            miou=_mean(iou),
            fw_iou=fw,
            iou=iou, accuracy=acc, dice=dice, precision=prec, recall=list(acc), total=total)

    def to_json(self, names: list[str] | None = None) -> dict:
        n = len(self.iou)
        names = names or [f"class {i}" for i in range(n)]
        return {
            "pixel_accuracy": self.pixel_accuracy,
            "mean_pixel_accuracy": self.mean_pixel_accuracy,
            "miou": self.miou,
            "fw_iou": self.fw_iou,
            "per_class": [
                {"id": c, "name": names[c] if c < len(names) else f"class {c}", "iou": self.iou[c],
                 "accuracy": self.accuracy[c], "dice": self.dice[c], "precision": self.precision[c],
                 "recall": self.recall[c]}
                for c in range(n)
            ],
        }


def evaluate_maps(pairs, num_classes: int, ignore_index: int | None = 255) -> Metrics:
    """Metrics over an iterable of (ground truth, prediction) label maps."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    for gt, pred in pairs:
        cm.update(gt, pred)
    return cm.compute()
