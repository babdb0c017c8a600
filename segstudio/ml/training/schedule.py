"""Optimiser and learning-rate schedule, after torchvision's references.

Semantic models: SGD, momentum 0.9, weight decay 1e-4 (1e-6 for MobileNet
backbones), the aux head at 10× the learning rate, poly decay (power 0.9)
stepped per iteration after an optional linear warm-up.  Mask R-CNN: SGD with a
linear warm-up and step decay (×0.1 at 2/3 and 8/9 of the run).
"""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LRScheduler


def weight_decay_for(architecture: str) -> float:
    return 1e-6 if "mobilenet" in architecture else 1e-4


def param_groups(model: torch.nn.Module, lr: float, aux_lr_factor: float = 10.0) -> list[dict]:
    """Backbone + classifier at ``lr``; the aux classifier (if any) at ``aux_lr_factor`` × ``lr``."""
    aux = getattr(model, "aux_classifier", None)
    aux_ids = {id(p) for p in aux.parameters()} if aux is not None else set()
    main = [p for p in model.parameters() if p.requires_grad and id(p) not in aux_ids]
    groups = [{"params": main, "lr": lr, "name": "main"}]
    if aux is not None:
        aux_params = [p for p in aux.parameters() if p.requires_grad]
        if aux_params:
            groups.append({"params": aux_params, "lr": lr * aux_lr_factor, "name": "aux"})
    return groups


def build_optimizer(model: torch.nn.Module, architecture: str, lr: float, momentum: float = 0.9,
                    weight_decay: float | None = None) -> torch.optim.Optimizer:
    wd = weight_decay_for(architecture) if weight_decay is None else weight_decay
    return torch.optim.SGD(param_groups(model, lr), lr=lr, momentum=momentum, weight_decay=wd)


class WarmupPolyLR(LRScheduler):
    """Per-iteration schedule: linear warm-up from ``warmup_factor`` then poly or step decay.

    ``total_iters`` may be changed while training (a time budget re-estimates it);
    the state (iteration, totals) is saved with ``state_dict()`` for resume.
    """

    def __init__(self, optimizer, total_iters: int, power: float = 0.9, warmup_iters: int = 0,
                 warmup_factor: float = 0.001, policy: str = "poly", milestones=(2 / 3, 8 / 9),
                 gamma: float = 0.1, last_epoch: int = -1):
        if policy not in ("poly", "step"):
            raise ValueError(f"unknown policy {policy}")
        self.total_iters = max(1, int(total_iters))
        self.power = float(power)
        self.warmup_iters = int(warmup_iters)
        self.warmup_factor = float(warmup_factor)
        self.policy = policy
        self.milestones = tuple(float(m) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def factor(self, it: int) -> float:
        f = 1.0
        if it < self.warmup_iters:
            alpha = it / max(1, self.warmup_iters)
            f = self.warmup_factor * (1 - alpha) + alpha
        if self.policy == "poly":
            frac = min(1.0, it / self.total_iters)
            return f * (1.0 - frac) ** self.power
        passed = sum(1 for m in self.milestones if it >= m * self.total_iters)
        return f * self.gamma ** passed

    def get_lr(self):
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]
