"""The segmentation losses: cross-entropy, Dice or both, ignoring void (255); aux head weighted 0.5.

* **Cross-entropy** with an optional weight per pixel ``w(x)``: the mean over
  the valid pixels of ``w(x) · CE(x)``.  ``w(x) = w_c(class of x)`` (class
  weights, e.g. median-frequency balancing as SegNet trained on CamVid; 1
  without them) ``+ border(x)`` (U-Net's separation weights between touching
  instances, see ``border_weights``), as the U-Net paper defines its weight map.
* **Dice**: soft multi-class Dice over the batch's valid pixels, ``1 - 2 Σ p·g
  / (Σ p + Σ g)`` per class, averaged over the classes present in the batch's
  ground truth (weighted by the class weights when given).  It does not use the
  border weights (they weigh pixels of the cross-entropy).
* **ce+dice**: their sum.

Cross-entropy is written as sum / max(valid, 1): with uniform weights the same
as ``reduction="mean"`` when there is a valid pixel, and 0 with zero gradients
when there is none (instead of 0/0 = NaN).  A batch without valid pixels must
still be skipped by the caller, because momentum and weight decay would move
the weights even with zero gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

VOID = 255
AUX_WEIGHT = 0.5
LOSSES = ("ce", "dice", "ce+dice")


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None,
                  pixel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over valid pixels of ``(class_weights[target] + pixel_weights) · CE``; void pixels count for nothing."""
    n = max(valid_pixels(target), 1)
    if class_weights is None and pixel_weights is None:
        return F.cross_entropy(logits, target, ignore_index=VOID, reduction="sum") / n
    ce = F.cross_entropy(logits, target, ignore_index=VOID, reduction="none")  # 0 at void
    if class_weights is not None:
        w = class_weights.to(ce.dtype)[torch.where(target == VOID, 0, target)]
    else:
        w = torch.ones_like(ce)
    if pixel_weights is not None:
        w = w + pixel_weights.to(ce.dtype)
    return (ce * w).sum() / n


def dice_loss(logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None,
              eps: float = 1e-6) -> torch.Tensor:
    """1 − soft Dice, averaged over the classes present in the valid pixels of ``target``."""
    probs = logits.float().softmax(1)
    valid = (target != VOID).unsqueeze(1).to(probs.dtype)
    onehot = F.one_hot(torch.where(target == VOID, 0, target), probs.shape[1]).permute(0, 3, 1, 2)
    onehot = onehot.to(probs.dtype) * valid
    probs = probs * valid
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    total = probs.sum(dims) + onehot.sum(dims)
    dice = 2 * inter / total.clamp_min(eps)
    w = (onehot.sum(dims) > 0).to(probs.dtype)
    if class_weights is not None:
        w = w * class_weights.to(probs.dtype)
    return (w * (1 - dice)).sum() / w.sum().clamp_min(eps)   # no class to score: 0, zero gradients


@dataclass
class Criterion:
    """The training loss of a semantic model: ``criterion(outputs, target, pixel_weights=None)``.

    ``class_weights`` are indexed by model output (the trainer maps label ids to outputs).
    """

    kind: str = "ce"
    class_weights: torch.Tensor | None = None
    aux_weight: float = AUX_WEIGHT

    def __post_init__(self):
        if self.kind not in LOSSES:
            raise ValueError(f"unknown loss {self.kind!r}; use one of {', '.join(LOSSES)}")

    def to(self, device) -> "Criterion":
        if self.class_weights is not None:
            self.class_weights = self.class_weights.to(device)
        return self

    def single(self, logits: torch.Tensor, target: torch.Tensor, pixel_weights=None) -> torch.Tensor:
        loss = None
        if self.kind in ("ce", "ce+dice"):
            loss = cross_entropy(logits, target, self.class_weights, pixel_weights)
        if self.kind in ("dice", "ce+dice"):
            d = dice_loss(logits, target, self.class_weights)
            loss = d if loss is None else loss + d
        return loss

    def __call__(self, outputs: dict, target: torch.Tensor, pixel_weights=None) -> torch.Tensor:
        loss = self.single(outputs["out"], target, pixel_weights)
        if "aux" in outputs and outputs["aux"] is not None:
            loss = loss + self.aux_weight * self.single(outputs["aux"], target, pixel_weights)
        return loss


def valid_pixels(target: torch.Tensor) -> int:
    return int((target != VOID).sum())


def instance_loss(loss_dict: dict) -> torch.Tensor:
    """Mask R-CNN returns its losses as a dict in train mode; the training loss is their sum."""
    return sum(loss_dict.values())
