"""The segmentation loss: cross-entropy ignoring void (255), aux head weighted 0.5."""

from __future__ import annotations

import torch
import torch.nn.functional as F

VOID = 255
AUX_WEIGHT = 0.5


def segmentation_loss(outputs: dict, target: torch.Tensor, aux_weight: float = AUX_WEIGHT) -> torch.Tensor:
    """Mean cross-entropy over the valid pixels of ``outputs["out"]`` (+ ``aux_weight`` × the aux loss).

    Written as sum / max(valid, 1): the same as ``reduction="mean"`` when there is a
    valid pixel, and 0 with zero gradients when there is none (instead of 0/0 = NaN).
    A batch without valid pixels must still be skipped by the caller, because
    momentum and weight decay would move the weights even with zero gradients.
    """
    n = max(valid_pixels(target), 1)
    loss = F.cross_entropy(outputs["out"], target, ignore_index=VOID, reduction="sum") / n
    if "aux" in outputs and outputs["aux"] is not None:
        loss = loss + aux_weight * F.cross_entropy(outputs["aux"], target, ignore_index=VOID, reduction="sum") / n
    return loss


def valid_pixels(target: torch.Tensor) -> int:
    return int((target != VOID).sum())


def instance_loss(loss_dict: dict) -> torch.Tensor:
    """Mask R-CNN returns its losses as a dict in train mode; the training loss is their sum."""
    return sum(loss_dict.values())
