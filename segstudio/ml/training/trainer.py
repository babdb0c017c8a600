"""The fine-tuning loop.

``Trainer(config, data, hooks).fit()`` trains a semantic model (or Mask R-CNN)
on ``OpenedData`` and returns a ``TrainResult``.  In the output folder it keeps
``last.pt`` (everything needed to resume: model, optimizer, scheduler, scaler,
epoch, iteration) and publishes ``best.pt`` + ``best.json`` (the model card)
atomically whenever the validation score improves.  ``cancel()`` (any thread)
stops at the next batch boundary.  Under torchrun the model is wrapped in DDP,
batches are sharded and rank 0 alone logs and writes files.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from segstudio.errors import TrainingError
from segstudio.ml.training import checkpoint as ck
from segstudio.ml.training.autofit import RECHECK_AFTER
from segstudio.ml.training.blend import blend_for_run, start_state
from segstudio.ml.training import distributed as D
from segstudio.ml.training.hooks import CheckpointInfo, EpochInfo, Hook, IterationInfo, PhaseInfo, TrainResult
from segstudio.ml.training.loss_setup import setup_loss
from segstudio.ml.training.model_setup import TrainModel, build_train_model, set_train_mode
from segstudio.ml.training.schedule import WarmupPolyLR, build_optimizer
from segstudio.ml.training.step import StepRunner


@dataclass
class TrainConfig:
    model: str | None                  # registry name (None: taken from a checkpoint given as weights)
    out: str | Path
    weights: str = "default"           # "default" | "none" | checkpoint path
    epochs: int | None = None          # default 10 unless a time budget is given
    max_minutes: float | None = None   # training-time budget (validation not counted)
    max_iterations: int | None = None
    batch_size: int | None = None      # None: chosen from the device and the budget (see autofit.py)
    crop: int | None = None            # None: chosen likewise
    base_size: int | None = None       # random resize around this shorter side (default crop × 520/480)
    eval_size: int | None = None       # validation / working size: val images' shorter side (default 1.25 ×
                                       # the base size; scores stay at full size); recorded in the card
    lr: float | None = None            # default 0.01 (semantic), 0.02 × batch / 16 (instance)
    momentum: float = 0.9
    weight_decay: float | None = None  # default 1e-4, 1e-6 for MobileNet
    warmup_iters: int | None = None    # default 0 (semantic), min(1000, a tenth of the run) (instance)
    aux_weight: float = 0.5
    freeze_backbone: bool = False
    device: str = "auto"
    amp: bool = True                   # autocast + GradScaler on CUDA
    workers: int = 0
    seed: int = 0
    resume: bool = False
    auto_batch: bool = False           # on GPU OOM: halve the micro-batch and go on
    validate: bool = True
    version: str | None = None         # version prefix of published checkpoints
    min_size: int | None = None        # Mask R-CNN: its internal resize (default 800 / 1333 max)
    write_checkpoints: bool = True     # False: keep nothing on disk (experiments, benchmarks)
    precise_bn: int = 10               # recompute BatchNorm statistics on N batches before validation
    loss: str = "ce"                   # "ce" | "dice" | "ce+dice" (see losses.py)
    class_weights: str = "none"        # "none" | "median-frequency" | path of a weights file
    border_weight: float | None = None  # U-Net's w0 between touching instances (None: off)
    border_sigma: float = 5.0
    fit_crf: bool = True               # semantic: fit the dense CRF to the best checkpoint at the end
    crf_fit_seconds: float | None = None  # time box of that search (default: see crf_step.py; 0 = off)
    blend: bool = True                 # started from a checkpoint of the same classes: keep the best blend
                                       # of its weights and the trained ones on the validation images (blend.py)

    def to_json(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


class Trainer:
    def __init__(self, config: TrainConfig, data, hooks: list[Hook] | None = None, ctx: D.DistContext | None = None,
                 gate=None, train_model: TrainModel | None = None):
        self.config = config
        self.data = data
        self.hooks = list(hooks or [])
        self.ctx = ctx
        self.gate = gate                 # callable -> context manager, held around each step
        self._prebuilt = train_model
        self._cancel = threading.Event()
        self.out = Path(config.out)
        self.iteration = 0
        self.epoch = 0
        self.best_score: float | None = None
        self.history: list[dict] = []

    # -- control ----------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the loop to stop at the next batch boundary (thread-safe)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def score_name(self) -> str:
        return "mIoU" if self.task == "semantic" else "segm AP"

    def _emit(self, name: str, *args) -> None:
        if self.ctx is None or self.ctx.is_main:
            for h in self.hooks:
                getattr(h, name)(self, *args)

    def message(self, text: str) -> None:
        self._emit("on_message", text)

    def phase(self, name: str, done: int = 0, total: int = 0, text: str = "") -> None:
        """Progress of work outside the training steps (validation, the CRF fit...)."""
        self._emit("on_phase", PhaseInfo(name, int(done), int(total), text))

    # -- set-up -------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.config
        if self.ctx is None:
            self.ctx = D.setup(cfg.device)
        self.device = self.ctx.device
        if self.gate is None:  # share the device with interactive inference: held per step
            from segstudio.ml.devices import device_gate

            device = self.device
            self.gate = lambda: device_gate(device, "background")
        self.amp = bool(cfg.amp and self.device.type == "cuda")
        seed = cfg.seed + self.ctx.rank
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        tm = self._prebuilt or build_train_model(cfg.model, cfg.weights, self.data.labels, cfg.freeze_backbone)
        if tm.task != self.data.task:
            raise TrainingError(f"{tm.architecture} is a {tm.task} model but the data is for {self.data.task} "
                                "models; pick a matching --model")
        self.tm = tm
        if cfg.min_size and hasattr(tm.model, "transform"):
            tm.model.transform.min_size = (int(cfg.min_size),)
            tm.model.transform.max_size = max(int(cfg.min_size), int(cfg.min_size * 1333 / 800))
        self.task = tm.task
        self.loss = setup_loss(cfg, self.data, tm, self.message)
        if self.loss.criterion is not None:
            self.loss.criterion.to(self.device)
        semantic = tm.task == "semantic"
        self.start_card = tm.checkpoint_card if semantic else None   # its sizes are kept (autofit.py)
        self.start_state = start_state(tm) if cfg.blend and semantic else None
        self.model = tm.model.to(self.device)
        self.model_plain = self.model
        self._auto_size()
        self._resolve_sizes()
        self.lr = cfg.lr if cfg.lr is not None else (0.01 if self.task == "semantic"
                                                     else 0.02 * cfg.batch_size * self.ctx.world / 16)
        self.optimizer = build_optimizer(self.model, tm.architecture, self.lr, cfg.momentum, cfg.weight_decay)
        if not any(p.requires_grad for g in self.optimizer.param_groups for p in g["params"]):
            raise TrainingError(f"{tm.architecture}: nothing to train (every parameter is frozen)")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        if self.ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DDP(self.model, device_ids=ids, find_unused_parameters=cfg.freeze_backbone)
        self._build_loaders(cfg.batch_size)
        total = self._planned_iterations()
        warm = cfg.warmup_iters if cfg.warmup_iters is not None else (
            0 if self.task == "semantic" else min(1000, max(0, total // 10)))
        self.scheduler = WarmupPolyLR(self.optimizer, total, warmup_iters=warm,
                                      policy="poly" if self.task == "semantic" else "step")
        self.steps = StepRunner(self)
        self.run_id = cfg.version or ("ft-" + _dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
        if cfg.resume:
            self._resume()

    def _auto_size(self) -> None:
        """Sizes the user left open are chosen from the device and the budget (autofit.py)."""
        from segstudio.ml.training.autofit import auto_size

        if self.config.resume and (self.out / "last.pt").exists():
            self._resume_ckpt = ck.load_checkpoint(self.out / "last.pt", map_location=self.device)
            self._resume_sizes = self._resume_ckpt["card"].get("training", {})
        self.sizing = auto_size(self)
        if self.sizing is not None and self.sizing.summary():
            self.message(self.sizing.summary())
            self.phase("sizes", 0, 0, self.sizing.summary())

    def _recheck_sizes(self, step_times: list[float]) -> bool:
        """Once, after the first steps: a crop chosen from the start-up probe is checked against
        the real speed (autofit.recheck_crop); True when the loaders were rebuilt with another."""
        from segstudio.ml.training.autofit import apply_crop, recheck_crop

        if getattr(self, "_rechecked", False):
            return False
        self._rechecked = True
        crop = recheck_crop(self, step_times)
        if crop is None:
            return False
        self.message(apply_crop(self, crop))
        self.phase("sizes", 0, 0, self.sizing.summary())
        self._resolve_sizes()
        self._build_loaders(self.batch_size)
        return True

    def _resolve_sizes(self) -> None:
        """Base and working (validation) size of the run; the card records the working size."""
        from segstudio.ml.training.validation import working_sizes

        cfg = self.config
        if self.task == "semantic":
            self.base_size, self.working_size = working_sizes(cfg.crop, cfg.base_size, cfg.eval_size)
        else:
            self.base_size, self.working_size = None, cfg.min_size

    def _build_loaders(self, batch_size: int) -> None:
        from segstudio.ml.training import transforms as T

        cfg = self.config
        mean = self.tm.mean or T.IMAGENET_MEAN
        std = self.tm.std or T.IMAGENET_STD
        if self.task == "semantic":
            train_tf = T.SegmentationTrainTransform(cfg.crop, self.base_size, mean=mean, std=std)
            self.val_set = self.data.val  # untransformed: validation predicts through the pipeline
            collate = T.collate_semantic
        else:
            train_tf = T.InstanceTrainTransform()
            self.val_set = self.data.val.with_transform(T.InstanceEvalTransform())
            collate = T.collate_instance
        self.train_set = self.loss.train_data.with_transform(train_tf)
        self.sampler = D.EpochSampler(self.train_set, self.ctx, shuffle=True, seed=cfg.seed,
                                      drop_last=len(self.train_set) >= batch_size * self.ctx.world)
        drop_last = self.sampler.full_length() >= batch_size
        self.loader = torch.utils.data.DataLoader(
            self.train_set, batch_size=batch_size, sampler=self.sampler, num_workers=cfg.workers,
            collate_fn=collate, drop_last=drop_last, pin_memory=self.device.type == "cuda",
            persistent_workers=cfg.workers > 0)
        self.batch_size = batch_size
        per = self.sampler.full_length()
        self.iters_per_epoch = max(1, per // batch_size if drop_last else math.ceil(per / batch_size))
        self._gt_coco = None

    def _planned_iterations(self) -> int:
        cfg = self.config
        if cfg.epochs is not None or cfg.max_minutes is None:
            total = self.iters_per_epoch * (cfg.epochs if cfg.epochs is not None else 10)
        else:
            total = 10 ** 9
        if cfg.max_iterations is not None:
            total = min(total, cfg.max_iterations)
        return max(1, total)

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.exists():
            raise TrainingError(f"--resume: {path} does not exist; start without --resume "
                                "(or give the --out folder of the run to continue)")
        ckpt = getattr(self, "_resume_ckpt", None) or ck.load_checkpoint(path, map_location=self.device)
        self._resume_ckpt = None
        card = ckpt["card"]
        if card.get("architecture") != self.tm.architecture:
            raise TrainingError(f"{path} is a run of {card.get('architecture')}, not {self.tm.architecture}; "
                                "use the same --model to resume, or another --out")
        if card.get("labels") != self.tm.labels.to_json():
            raise TrainingError(f"{path} was trained with other classes; resume with the same data/labels")
        self.model_plain.load_state_dict(ckpt["model"])
        for key, obj in (("optimizer", self.optimizer), ("scheduler", self.scheduler), ("scaler", self.scaler)):
            if key in ckpt and ckpt[key]:
                obj.load_state_dict(ckpt[key])
        self.epoch = int(ckpt.get("epoch", 0))
        self.iteration = int(ckpt.get("iteration", 0))
        self.best_score = card.get("best_score")
        self.run_id = card.get("run_id", self.run_id)
        self.history = list(card.get("history", []))
        self.message(f"resumed {path} at epoch {self.epoch + 1}, iteration {self.iteration}")

    # -- the loop -------------------------------------------------------------------
    def fit(self) -> TrainResult:
        if not hasattr(self, "tm"):
            self.setup()
        cfg = self.config
        self._it0 = self.iteration
        self._emit("on_start")
        self.phase("first step", 0, 0, "the first training step…")
        budget = cfg.max_minutes * 60.0 if cfg.max_minutes is not None else None
        train_time = 0.0
        epochs = cfg.epochs if (cfg.epochs is not None or budget is None) else None
        epochs = 10 if epochs is None and budget is None else epochs
        rate = None
        stop = False
        step_times: list[float] = []
        resized = False
        best_path = last_path = None
        t_epoch_loss, n_epoch_loss = 0.0, 0
        learned = 0  # steps of this run that had pixels to learn from
        while not stop and (epochs is None or self.epoch < epochs):
            skip_batches = max(0, self.iteration - self.epoch * self.iters_per_epoch)
            if skip_batches >= self.iters_per_epoch:
                skip_batches = 0
            self.sampler.set_epoch(self.epoch, skip_batches * self.batch_size)
            set_train_mode(self.model)
            if not resized:
                t_epoch_loss, n_epoch_loss = 0.0, 0
            resized = False
            t0 = time.perf_counter()
            for batch in self.loader:
                if D.any_true(self.ctx, self.cancelled):
                    self._cancel.set()
                    stop = True
                    break
                loss, skipped, n_images = self.steps.run(batch)
                self.iteration += 1
                now = time.perf_counter()
                dt, t0 = now - t0, now
                train_time += dt
                inst = n_images * self.ctx.world / max(dt, 1e-9)
                rate = inst if rate is None else 0.9 * rate + 0.1 * inst
                if not skipped:
                    t_epoch_loss += loss
                    n_epoch_loss += 1
                    learned += 1
                    step_times.append(dt)
                if budget is not None:
                    self._reestimate_total(train_time, budget)
                eta = self._eta(train_time, budget, rate)
                self._emit("on_iteration", IterationInfo(
                    self.epoch, epochs, self.iteration, self.scheduler.total_iters, loss,
                    self.optimizer.param_groups[0]["lr"], rate, eta, n_images, skipped))
                if (cfg.max_iterations is not None and self.iteration >= cfg.max_iterations) or \
                        (budget is not None and D.any_true(self.ctx, train_time >= budget)):
                    stop = True
                    break
                if len(step_times) == RECHECK_AFTER + 1 and self._recheck_sizes(step_times):
                    resized = True
                    break  # the epoch goes on with the new crop (the sampler skips the batches done)
                t0 = time.perf_counter()
            if resized:
                continue
            if self.cancelled:
                last_path = self._save_last(self.epoch)
                break
            if not learned:  # never publish an untrained model as the best one
                raise TrainingError("every training batch was all void (255): there is nothing to learn from, and "
                                    "no checkpoint was written. Check that the masks hold class ids (--labels, "
                                    "--void) and that the images are labelled")
            self.epoch += 1
            mean_loss = t_epoch_loss / n_epoch_loss if n_epoch_loss else None
            best_path = self._end_epoch(mean_loss) or best_path
            last_path = self._save_last(self.epoch)
        if not self.cancelled:
            self._blend()
        if not self.cancelled:
            self._fit_crf()
        result = TrainResult(self.epoch, self.iteration, self.best_score,
                             str(self.out / "best.pt") if (self.out / "best.pt").exists() else best_path,
                             str(last_path) if last_path else None, self.cancelled, list(self.history))
        self._emit("on_end", result)
        return result

    def _reestimate_total(self, train_time: float, budget: float) -> None:
        per_it = train_time / max(1, self.iteration - getattr(self, "_it0", 0))
        remaining = max(0.0, budget - train_time) / max(per_it, 1e-9)
        total = self.iteration + int(remaining) + 1
        if self.config.max_iterations is not None:
            total = min(total, self.config.max_iterations)
        self.scheduler.total_iters = max(self.iteration + 1, total)

    def _eta(self, train_time: float, budget: float | None, rate: float | None) -> float:
        if budget is not None:
            return max(0.0, budget - train_time)
        left = max(0, self.scheduler.total_iters - self.iteration)
        per_it = self.batch_size * self.ctx.world / rate if rate else 0.0
        return left * per_it

    # -- epoch end: validate, publish, save -------------------------------------------------
    def evaluate(self) -> tuple[dict, float | None]:
        from segstudio.ml.training import evaluation as E

        if len(self.val_set) == 0:
            return {}, None
        gate = self.gate
        if self.task == "semantic":
            from segstudio.ml.training.validation import validate_semantic

            def progress(done: int, total: int) -> None:
                self.phase("validating", done, total, f"validating on {total} image{'s' if total != 1 else ''} "
                           f"at {self.working_size} px")

            m = validate_semantic(self.model_plain, self.tm, self.val_set, self.device, self.working_size, self.amp,
                                  self.ctx.rank, self.ctx.world, progress=progress)
            return m.to_json(self.tm.labels.names), m.miou
        if self._gt_coco is None:
            from segstudio.ml.data.instance import to_coco

            self._gt_coco = to_coco(self.data.val)
        model = _OutputMapped(self.model_plain, self.tm.output_to_label)
        res = E.evaluate_instance(model, self.val_set, self._gt_coco, self.device, self.amp,
                                  self.ctx.rank, self.ctx.world, gate)
        return res, res["segm_ap"]

    def _blend(self) -> None:
        """Warm-started semantic runs: the best blend of the starting and trained weights (blend.py)."""
        card = blend_for_run(self)
        if card is not None and self.ctx.is_main:  # a better checkpoint under the same name
            self._emit("on_checkpoint", CheckpointInfo(str(self.out / "best.pt"), card["version"],
                                                       card.get("epoch", self.epoch) - 1, card["iteration"],
                                                       card.get("best_score"), True))

    def _fit_crf(self) -> None:
        """Semantic runs: fit the dense CRF to the best checkpoint (crf_step.py); its card is republished."""
        if self.ctx.is_main:
            from segstudio.ml.training.crf_step import fit_crf_for_run

            card = fit_crf_for_run(self)
            if card is not None:  # the same checkpoint with a new card: consumers reload it
                self._emit("on_checkpoint", CheckpointInfo(str(self.out / "best.pt"), card["version"],
                                                           card.get("epoch", self.epoch) - 1, card["iteration"],
                                                           card.get("best_score"), True))
        D.barrier(self.ctx)

    def refresh_bn(self) -> int:
        """Precise BatchNorm statistics from ``config.precise_bn`` training batches (see precise_bn.py)."""
        from segstudio.ml.training.precise_bn import recompute_bn_stats

        if self.config.precise_bn <= 0 or self.task != "semantic":
            return 0
        self.phase("statistics", 0, 0, f"recomputing BatchNorm statistics on {self.config.precise_bn} training "
                   "batches…")
        set_train_mode(self.model_plain)
        self.sampler.set_epoch(self.epoch + 10 ** 6)
        return recompute_bn_stats(self.model_plain, self.loader, self.config.precise_bn, self.device,
                                  self.gate, self.ctx, self.steps.micro)

    def _end_epoch(self, mean_loss: float | None) -> str | None:
        self.refresh_bn()
        metrics, score = self.evaluate() if self.config.validate else ({}, None)
        improved = score is not None and (self.best_score is None or score > self.best_score)
        no_val = score is None
        entry = {"epoch": self.epoch, "iteration": self.iteration, "train_loss": mean_loss, "score": score}
        self.history.append(entry)
        published = None
        if improved:
            self.best_score = score
        if (improved or no_val) and self.ctx.is_main and self.config.write_checkpoints:
            published = self._publish(metrics, score)
        D.barrier(self.ctx)
        self._emit("on_epoch", EpochInfo(self.epoch - 1, self.iteration, metrics, score, improved, mean_loss))
        if published is not None:
            self._emit("on_checkpoint", CheckpointInfo(str(published), self._version(), self.epoch - 1,
                                                       self.iteration, score, True))
        return str(published) if published else None

    def _version(self) -> str:
        return f"{self.run_id}-e{self.epoch}-i{self.iteration}"

    def _card(self, metrics: dict, score: float | None) -> dict:
        from segstudio.ml.usage import validation_entry

        cfg = self.config
        card = ck.make_card(
            self.tm.architecture, self.task, self.tm.labels, self._version(), metrics=metrics,
            data=dict(getattr(self.data, "summary", {})), base_weights=self.tm.base_weights,
            score={"name": self.score_name, "value": score}, best_score=self.best_score, run_id=self.run_id,
            epoch=self.epoch, iteration=self.iteration, history=list(self.history),
            training={"batch_size": cfg.batch_size, "crop": cfg.crop, "base_size": self.base_size,
                      "auto_sized": list(self.sizing.chosen) if getattr(self, "sizing", None) else [],
                      "eval_size": self.working_size, "lr": self.lr, "freeze_backbone": cfg.freeze_backbone,
                      "world_size": self.ctx.world, "base_version": self.tm.base_version, **self.loss.card})
        card["usage"] = {"working_size": self.working_size,
                         "validation": validation_entry(self.score_name, score, self.data.val.keys,
                                                        f"{getattr(self.data, 'summary', {}).get('path', '')} "
                                                        f"({self.data.val.name})")}
        return card

    def _publish(self, metrics: dict, score: float | None) -> Path:
        ckpt = ck.checkpoint_dict(self.model_plain.state_dict(), self._card(metrics, score),
                                  epoch=self.epoch, iteration=self.iteration)
        return ck.publish_checkpoint(self.out / "best.pt", ckpt)

    def _save_last(self, epoch: int) -> Path | None:
        path = None
        if self.ctx.is_main and self.config.write_checkpoints:
            ckpt = ck.checkpoint_dict(self.model_plain.state_dict(), self._card({}, None), self.optimizer,
                                      self.scheduler, self.scaler, epoch, self.iteration)
            path = ck.save_checkpoint(self.out / "last.pt", ckpt)
        D.barrier(self.ctx)
        return path


class _OutputMapped(torch.nn.Module):
    """Maps model output indices to label ids when they differ (eval only)."""

    def __init__(self, model, output_to_label):
        super().__init__()
        self.inner = model
        self.o2l = None if output_to_label is None else torch.as_tensor(output_to_label)

    def forward(self, x):
        out = self.inner(x)
        if self.o2l is None:
            return out
        if isinstance(out, dict):  # semantic: reorder channels so argmax gives label ids
            logits = out["out"]
            n = int(self.o2l.max()) + 1
            mapped = torch.full(logits.shape[:1] + (n,) + logits.shape[2:], float("-inf"),
                                device=logits.device, dtype=logits.dtype)
            for o, lab in enumerate(self.o2l.tolist()):
                if lab != 255:
                    mapped[:, lab] = torch.maximum(mapped[:, lab], logits[:, o])
            return {"out": mapped}
        for det in out:  # instance: relabel detections
            det["labels"] = self.o2l.to(det["labels"].device)[det["labels"]]
        return out
