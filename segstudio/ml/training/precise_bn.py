"""Precise BatchNorm statistics before validation (as detectron2's PreciseBN hook).

BatchNorm keeps running means and variances as exponential averages; with
torchvision's MobileNetV3 (momentum 0.01) they lag far behind the weights on
short runs, so the eval-mode model predicts worse than it trains.  Here the
statistics are recomputed as the exact average over ``num_batches`` training
batches, without gradients, before the model is scored and saved.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


@torch.no_grad()
def recompute_bn_stats(model: nn.Module, batches, num_batches: int, device: torch.device, gate=None,
                       ctx=None, micro_batch: int | None = None) -> int:
    """Average the batch statistics of ``num_batches`` batches into every training-mode BatchNorm.

    Frozen (eval-mode) BatchNorm layers are left alone; ``micro_batch`` splits batches (after
    an out-of-memory the trainer trains in pieces too).  Returns the number of batches used.
    """
    was_training = model.training
    bns = [m for m in model.modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats]
    if not bns or num_batches <= 0:
        return 0
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None            # cumulative average over the batches below
    used = 0
    try:
        for batch in batches:
            images = batch[0]
            if used >= num_batches:
                break
            step = micro_batch or len(images)
            for a in range(0, len(images), step):
                with gate() if gate is not None else contextlib.nullcontext():
                    if isinstance(images, (list, tuple)):
                        model([im.to(device) for im in images[a:a + step]])
                    else:
                        model(images[a:a + step].to(device))
            used += 1
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        model.train(was_training)
    if ctx is not None and ctx.distributed:
        import torch.distributed as dist

        for m in bns:
            for buf in (m.running_mean, m.running_var):
                dist.all_reduce(buf)
                buf /= ctx.world
    return used
