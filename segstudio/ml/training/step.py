"""One optimisation step: forward, loss, backward, optimizer and scheduler step.

Rules the trainer relies on:

* a semantic batch with no valid (non-void) pixel on any process is skipped
  before the forward pass: no BatchNorm statistics, momentum or weight decay
  touch the weights; only the scheduler advances;
* a non-finite loss stops training with a ``TrainingError`` saying what to lower;
* GPU out-of-memory either gives a clear ``TrainingError`` or, with
  ``auto_batch``, halves the micro-batch (gradients are accumulated over the
  pieces, so the optimisation is the same) and retries the batch;
* the device gate is held for the whole step, so interactive inference gets
  the GPU between steps.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import torch

from segstudio.errors import TrainingError
from segstudio.ml.training import distributed as D
from segstudio.ml.training.evaluation import autocast_for
from segstudio.ml.training.losses import VOID, instance_loss


def _oom_types() -> tuple:
    types = [torch.cuda.OutOfMemoryError]
    if hasattr(torch, "OutOfMemoryError"):
        types.append(torch.OutOfMemoryError)
    return tuple(types)


class StepRunner:
    def __init__(self, trainer):
        self.t = trainer
        self.micro = trainer.batch_size
        l2o = trainer.tm.label_to_output
        self.l2o = None if l2o is None else torch.as_tensor(l2o, device=trainer.device)

    def run(self, batch) -> tuple[float, bool, int]:
        while True:
            try:
                with self.t.gate() if self.t.gate is not None else contextlib.nullcontext():
                    return self._run(batch)
            except _oom_types():
                self.t.optimizer.zero_grad(set_to_none=True)
                if self.t.device.type == "cuda":
                    torch.cuda.empty_cache()
                n = len(batch[0])
                if self.t.config.auto_batch and self.micro > 1 and not self.t.ctx.distributed:
                    self.micro = max(1, min(self.micro, n) // 2)
                    self.t.message(f"GPU out of memory at batch size {n}: going on with pieces of "
                                   f"{self.micro} images (gradients accumulated)")
                    continue
                raise TrainingError(
                    f"the GPU ran out of memory training {self.t.tm.architecture} at batch size "
                    f"{min(self.micro, n)} and crop {self.t.config.crop} px; lower --batch-size or --crop, "
                    "pass --auto-batch to halve the batch automatically, or free the GPU") from None

    def _run(self, batch) -> tuple[float, bool, int]:
        t = self.t
        images, targets, *extra = batch
        pixel_weights = extra[0] if extra else None   # border weights, when the loss uses them
        n = len(images)
        if t.task == "semantic":
            targets = targets.to(t.device, non_blocking=True)
            if self.l2o is not None:
                targets = self.l2o[targets]
            valid = int((targets != VOID).sum())
            total_valid = D.all_sum(t.ctx, [float(valid)])[0]
            if total_valid == 0:
                with warnings.catch_warnings():  # the schedule advances by design, even before the first step
                    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
                    t.scheduler.step()
                return 0.0, True, n
            images = images.to(t.device, non_blocking=True)
            if pixel_weights is not None:
                pixel_weights = pixel_weights.to(t.device, non_blocking=True)
            pieces = self._pieces(n)
            weights = [int((targets[a:b] != VOID).sum()) / max(valid, 1) for a, b in pieces]
        else:
            images = [im.to(t.device, non_blocking=True) for im in images]
            targets = [{k: (v.to(t.device) if torch.is_tensor(v) else v) for k, v in tg.items()} for tg in targets]
            if self.l2o is not None:
                for tg in targets:
                    tg["labels"] = self.l2o[tg["labels"]]
            pieces = self._pieces(n)
            weights = [(b - a) / n for a, b in pieces]

        t.optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        last = len(pieces) - 1
        for i, ((a, b), w) in enumerate(zip(pieces, weights)):
            if w == 0 and not t.ctx.distributed:
                continue  # a piece without valid pixels: leave BatchNorm statistics alone
            sync = contextlib.nullcontext() if (i == last or not t.ctx.distributed) else t.model.no_sync()
            with sync:
                with autocast_for(t.device, t.amp):
                    if t.task == "semantic":
                        loss = t.loss.criterion(t.model(images[a:b]), targets[a:b],
                                                None if pixel_weights is None else pixel_weights[a:b])
                    else:
                        loss = instance_loss(t.model(images[a:b], targets[a:b]))
                value = float(loss.detach())
                if D.any_true(t.ctx, not math.isfinite(value)):
                    t.optimizer.zero_grad(set_to_none=True)
                    raise TrainingError(
                        f"the training loss became {value if not math.isfinite(value) else 'non-finite'} "
                        f"at epoch {t.epoch + 1}, iteration {t.iteration + 1} (learning rate "
                        f"{t.optimizer.param_groups[0]['lr']:.3g}); lower the learning rate (--lr) and check "
                        "that the masks hold only class ids of the label set or 255")
                t.scaler.scale(loss * w).backward()
                loss_sum += value * w
        t.scaler.step(t.optimizer)
        t.scaler.update()
        t.scheduler.step()
        mean = D.all_sum(t.ctx, [loss_sum])[0] / t.ctx.world if t.ctx.distributed else loss_sum
        return mean, False, n

    def _pieces(self, n: int) -> list[tuple[int, int]]:
        m = max(1, min(self.micro, n))
        return [(a, min(n, a + m)) for a in range(0, n, m)]
