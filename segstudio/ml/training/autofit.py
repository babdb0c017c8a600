"""Training sizes that fit the device and the time budget: ``choose_sizes``.

With no size options, ``finetune`` and the Train tab let this module choose the
crop, base size, batch and working (validation) size.  It times one training
step of the real model at a small probe size on the real device (and, on a GPU,
measures its memory), then:

* batch: 8 on CPUs and Apple MPS; on a GPU the largest of 16, 8, 4, 2 whose
  estimated memory at the chosen crop stays within 60 % of the free memory;
* crop: the largest candidate (128 to 512 px, at most the images' typical
  longer side) that still leaves ``MIN_STEPS`` optimiser steps and ``MIN_EPOCHS``
  epochs in the time budget; without a budget, the largest whose planned epochs take
  at most ``NO_BUDGET_MINUTES``.  A short CPU budget thus gets small crops and
  enough steps (4 minutes on a busy 2-core CPU: crop 128, see ``MIN_STEPS``),
  a GPU gets the reference's 480 around base 520;
* base size: crop × 520/480 (torchvision's references), working size 1.25 × base.

The probe is a few seconds at the start; on a shared machine the load can
change by 2× after it.  So with a time budget the choice is checked once more
against the real speed of the first ``RECHECK_AFTER`` training steps
(``recheck_crop``) and the crop is changed then if the budget supports another.

Explicit options always win: each value given is kept and the rest is chosen
around it.  ``SizeChoice.summary()`` says what was chosen and why.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from segstudio.ml.training.validation import default_base_size, default_working_size

CROPS = (128, 160, 192, 224, 256, 320, 384, 448, 480, 512)
MIN_STEPS = 250             # optimiser steps wanted at least within a time budget, and
MIN_EPOCHS = 12             # epochs of the training images wanted at least (whichever is more steps).
                            # Measured on CamVid (LR-ASPP from scratch, 4 min, one CPU thread, seven runs
                            # side by side): crop 128 won every time, with 122 to 561 steps (3 to 13
                            # epochs), against 96 with 177 steps (22.6 vs 20.7 mIoU), 160 with 125 (21.2
                            # vs 20.0) and 192 with 103, 152 and 270 (23.3 vs 19.4, 27.3 vs 21.7, 34.3 vs
                            # 29.6): on short runs from scratch steps matter more than pixels per step,
                            # and crops below 128 do not pay even with many more steps
STEP_OVERHEAD = 1.5         # a real step (data loading in the training process, the optimiser) takes about
                            # 1.5× the probe's forward and backward (measured on CamVid, CPU: 1.4–1.6×)
NO_BUDGET_MINUTES = 60.0    # without a budget: the planned epochs should take about this long at most
PROBE_CROP, PROBE_BATCH = 128, 2
GPU_MEMORY_SHARE = 0.6


@dataclass
class SizeChoice:
    crop: int
    batch_size: int
    base_size: int
    eval_size: int
    chosen: tuple[str, ...] = ()           # the fields chosen here (the others were given)
    reasons: list[str] = field(default_factory=list)
    step_seconds: float | None = None      # estimated seconds per step at the chosen size
    steps: int | None = None               # estimated steps in the budget
    candidates: tuple[int, ...] = CROPS    # the crops that were considered
    inherited: tuple[str, ...] = ()        # the fields taken from the starting checkpoint's card

    def summary(self) -> str:
        if not self.chosen and not self.inherited:
            return ""
        names = {"crop": f"crop {self.crop} px", "batch_size": f"batch {self.batch_size}",
                 "base_size": f"base size {self.base_size} px", "eval_size": f"working size {self.eval_size} px"}
        order = ("crop", "batch_size", "base_size", "eval_size")
        parts = []
        if self.inherited:
            parts.append("kept " + ", ".join(names[c] for c in order if c in self.inherited) + " from the starting "
                         "checkpoint (it goes on learning at the scale it was trained and predicts at)")
        if self.chosen:
            parts.append("chose " + ", ".join(names[c] for c in order if c in self.chosen) + ": "
                         + "; ".join(self.reasons))
        return "; ".join(parts) + ". Give --crop / --batch-size / --base-size / --eval-size to choose yourself"


@dataclass
class Probe:
    seconds_per_pixel: float               # one training step's time per image pixel
    bytes_per_pixel: float | None = None   # GPU memory per image pixel (None: not measured)
    free_bytes: int | None = None


def probe_step(model, device, num_classes: int, crop: int = PROBE_CROP, batch: int = PROBE_BATCH,
               repeats: int = 2) -> Probe:
    """Time forward + backward of ``model`` (train mode) on random data; leaves the model (weights,
    BatchNorm statistics, gradients, mode) and torch's random state as they were."""
    import torch

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        return _probe(model, device, num_classes, crop, batch, repeats)


def _probe(model, device, num_classes: int, crop: int, batch: int, repeats: int) -> Probe:
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.train()
    x = torch.randn(batch, 3, crop, crop, device=device)
    y = torch.randint(0, max(1, num_classes), (batch, crop, crop), device=device)
    cuda = device.type == "cuda"
    base_mem = 0
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base_mem = torch.cuda.memory_allocated(device)
    # BatchNorm running statistics must not learn from noise, and the run's random numbers stay as seeded
    bn_state = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k or "num_batches" in k}
    times = []
    try:
        for i in range(repeats + 1):
            t = time.perf_counter()
            out = model(x)["out"]
            loss = F.cross_entropy(out, y)
            loss.backward()
            if cuda:
                torch.cuda.synchronize(device)
            if i:  # the first step pays one-off costs
                times.append(time.perf_counter() - t)
    finally:
        model.zero_grad(set_to_none=True)
        model.load_state_dict(bn_state, strict=False)
        model.train(was_training)
    pixels = batch * crop * crop
    probe = Probe(min(times) / pixels)
    if cuda:
        peak = torch.cuda.max_memory_allocated(device) - base_mem
        free, _ = torch.cuda.mem_get_info(device)
        probe.bytes_per_pixel = peak / pixels
        probe.free_bytes = int(free)
    return probe


def _typical_long_side(sizes: list[tuple[int, int]]) -> int | None:
    if not sizes:
        return None
    longs = sorted(max(h, w) for h, w in sizes)
    return longs[len(longs) // 2]


def choose_sizes(probe: Probe, device_type: str, *, budget_minutes: float | None, epochs: int | None,
                 train_images: int, image_sizes: list[tuple[int, int]] | None = None, crop: int | None = None,
                 batch_size: int | None = None, base_size: int | None = None,
                 eval_size: int | None = None) -> SizeChoice:
    """Crop, batch, base and working size for a semantic run (given values are kept)."""
    chosen = [n for n, v in (("crop", crop), ("batch_size", batch_size), ("base_size", base_size),
                             ("eval_size", eval_size)) if v is None]
    reasons: list[str] = []
    long_side = _typical_long_side(image_sizes or [])
    cap = min(512, max(CROPS[0], long_side)) if long_side else 512
    candidates = [c for c in CROPS if c <= cap] or [CROPS[0]]

    def batch_for(c: int) -> int:
        if batch_size is not None:
            return batch_size
        if device_type != "cuda" or not probe.bytes_per_pixel or not probe.free_bytes:
            return 8
        for b in (16, 8, 4, 2):
            if b * c * c * probe.bytes_per_pixel <= GPU_MEMORY_SHARE * probe.free_bytes:
                return b
        return 1

    def step_s(c: int) -> float:
        return STEP_OVERHEAD * probe.seconds_per_pixel * batch_for(c) * c * c

    def wanted(c: int) -> int:
        return max(MIN_STEPS, MIN_EPOCHS * math.ceil(max(1, train_images) / batch_for(c)))

    if budget_minutes is not None:
        budget_s = budget_minutes * 60.0
        fits = [c for c in candidates if budget_s / step_s(c) >= wanted(c)]
        pick = crop if crop is not None else (max(fits) if fits else candidates[0])
        steps = int(budget_s / step_s(pick))
        why = f"{budget_minutes:g} min of training"
    else:
        n_epochs = epochs if epochs is not None else 10

        def run_s(c: int) -> float:
            return n_epochs * max(1, math.ceil(train_images / batch_for(c))) * step_s(c)
        fits = [c for c in candidates if run_s(c) <= NO_BUDGET_MINUTES * 60.0]
        pick = crop if crop is not None else (max(fits) if fits else candidates[0])
        steps = n_epochs * max(1, math.ceil(train_images / batch_for(pick)))
        why = f"{n_epochs} epochs of {train_images} images"
    batch = batch_for(pick)
    est = step_s(pick)
    if "crop" in chosen:
        if budget_minutes is not None:
            bigger = [c for c in candidates if c > pick]
            more = (f"; a {bigger[0]}-px crop would give ≈{int(budget_minutes * 60 / step_s(bigger[0]))}"
                    if bigger else "")
            enough = (f"≥ {wanted(pick)} wanted: {MIN_EPOCHS} epochs, at least {MIN_STEPS}{more}"
                      if steps >= wanted(pick) else
                      f"fewer than the {wanted(pick)} wanted, but smaller crops learn less on short runs")
            reasons.append(f"a step of {batch}×{pick}² takes ≈{est:.2f} s on this {device_type} (measured), so "
                           f"{why} give ≈{steps} steps ({enough})")
        else:
            within = "≤" if steps * est <= NO_BUDGET_MINUTES * 60 else "more than the"
            reasons.append(f"a step of {batch}×{pick}² takes ≈{est:.2f} s on this {device_type} (measured); "
                           f"{why} take ≈{steps * est / 60:.0f} min ({within} {NO_BUDGET_MINUTES:.0f} wanted)")
    if "batch_size" in chosen:
        if device_type == "cuda" and probe.bytes_per_pixel:
            reasons.append(f"batch {batch}: ≈{batch * pick * pick * probe.bytes_per_pixel / 2 ** 30:.1f} GiB of "
                           f"{probe.free_bytes / 2 ** 30:.1f} GiB free GPU memory")
        else:
            reasons.append(f"batch {batch} on the {device_type}")
    base = base_size if base_size is not None else default_base_size(pick)
    work = eval_size if eval_size is not None else default_working_size(base)
    if "base_size" in chosen or "eval_size" in chosen:
        reasons.append("base size = crop × 520/480 and validation at 1.25 × base, the size predict will use")
    return SizeChoice(pick, batch, base, work, tuple(chosen), reasons, est, steps, tuple(candidates))


# -- the trainer's use -----------------------------------------------------------------
SIZE_FIELDS = ("crop", "batch_size", "base_size", "eval_size")


def _agree(probe: Probe, ctx) -> Probe:
    """Under torchrun every process must choose the same sizes: take the slowest, tightest probe."""
    if ctx is None or not ctx.distributed:
        return probe
    import torch
    import torch.distributed as dist

    dev = ctx.device if dist.get_backend() == "nccl" else torch.device("cpu")
    t = torch.tensor([probe.seconds_per_pixel, probe.bytes_per_pixel or 0.0, -(probe.free_bytes or 0)],
                     dtype=torch.float64, device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    v = t.cpu().tolist()
    return Probe(v[0], v[1] or None, int(-v[2]) or None)


def _image_sizes(dataset, limit: int = 16) -> list[tuple[int, int]]:
    from segstudio.formats.images import image_size

    sizes = []
    samples = getattr(dataset, "samples", [])
    step = max(1, len(samples) // limit)
    for s in samples[::step][:limit]:
        try:
            w, h = image_size(s.image_path)
        except Exception:  # an unreadable image is reported when it is loaded for training
            continue
        sizes.append((h, w))
    return sizes


def auto_size(trainer) -> SizeChoice | None:
    """Fill the trainer's missing sizes (``config.crop``/``batch_size``/``base_size``/``eval_size``
    None) before its loaders are built; returns what was chosen (None: nothing to choose)."""
    cfg = trainer.config
    if trainer.task != "semantic":
        if cfg.batch_size is None:
            cfg.batch_size = 4 if trainer.device.type == "cuda" else 2
            return SizeChoice(0, cfg.batch_size, 0, 0, ("batch_size",), [f"batch {cfg.batch_size} on the "
                                                                        f"{trainer.device.type}"])
        return None
    given = {n: getattr(cfg, n) for n in SIZE_FIELDS}
    previous = getattr(trainer, "_resume_sizes", None) or {}
    inherited = []
    if not previous:  # a run that continues from a checkpoint keeps the scale it learned at
        previous = start_sizes(getattr(trainer, "start_card", None))
        inherited = [n for n in SIZE_FIELDS if given[n] is None and previous.get(n)]
    for n in SIZE_FIELDS:  # a resumed run keeps its sizes unless told otherwise
        if given[n] is None and previous.get(n):
            setattr(cfg, n, int(previous[n]))
    if cfg.crop is not None and cfg.batch_size is not None:
        if not inherited:
            return None
        base = cfg.base_size or default_base_size(cfg.crop)
        choice = SizeChoice(cfg.crop, cfg.batch_size, base, cfg.eval_size or default_working_size(base), ())
    else:
        probe = _agree(probe_step(trainer.model, trainer.device, len(trainer.tm.labels)), trainer.ctx)
        choice = choose_sizes(probe, trainer.device.type, budget_minutes=cfg.max_minutes, epochs=cfg.epochs,
                              train_images=len(trainer.data.train), image_sizes=_image_sizes(trainer.data.train),
                              crop=cfg.crop, batch_size=cfg.batch_size, base_size=cfg.base_size,
                              eval_size=cfg.eval_size)
        cfg.crop, cfg.batch_size = choice.crop, choice.batch_size
    choice.inherited = tuple(inherited)
    return choice


def start_sizes(card: dict | None) -> dict:
    """The training sizes a segstudio checkpoint's card records (crop, batch, base and working size)."""
    if not isinstance(card, dict):
        return {}
    training = card.get("training") if isinstance(card.get("training"), dict) else {}
    usage = card.get("usage") if isinstance(card.get("usage"), dict) else {}
    out = {n: training.get(n) for n in ("crop", "batch_size", "base_size")}
    out["eval_size"] = usage.get("working_size") or training.get("eval_size")
    return {n: int(v) for n, v in out.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}


RECHECK_AFTER = 6   # training steps timed (after the first) before the crop is checked against them


def recheck_crop(trainer, step_seconds: list[float]) -> int | None:
    """The crop the measured speed of the first steps supports, when it differs from the chosen one
    (None: keep it).  Only for a crop chosen here, with a time budget, in a single process."""
    import statistics

    cfg, sizing = trainer.config, getattr(trainer, "sizing", None)
    if (sizing is None or "crop" not in sizing.chosen or cfg.max_minutes is None or trainer.ctx.distributed
            or len(step_seconds) < RECHECK_AFTER + 1 or trainer.epoch > 0):
        return None  # after the first validation the sizes stay: checkpoints are compared at one size
    per_step = statistics.median(step_seconds[1:])      # the first step pays one-off costs
    per_pixel = per_step / (cfg.batch_size * cfg.crop * cfg.crop)
    budget_s = cfg.max_minutes * 60.0
    wanted = max(MIN_STEPS, MIN_EPOCHS * max(1, trainer.iters_per_epoch))
    fits = [c for c in sizing.candidates if budget_s / (per_pixel * cfg.batch_size * c * c) >= wanted]
    crop = max(fits) if fits else sizing.candidates[0]
    if crop == cfg.crop:
        return None
    sizing.reasons.append(f"then {per_step:.2f} s per real step was measured: crop {crop} gives "
                          f"≈{int(budget_s / (per_pixel * cfg.batch_size * crop * crop))} steps")
    return crop


def apply_crop(trainer, crop: int) -> str:
    """Switch the run to ``crop`` (and the base and working sizes chosen with it); a message."""
    cfg, sizing = trainer.config, trainer.sizing
    old = cfg.crop
    cfg.crop = crop
    sizing.crop = crop
    if "base_size" in sizing.chosen:
        cfg.base_size = sizing.base_size = default_base_size(crop)
    if "eval_size" in sizing.chosen:
        cfg.eval_size = None
        sizing.eval_size = default_working_size(cfg.base_size or default_base_size(crop))
    return (f"the first steps ran at a different speed than measured at the start: crop {old} → {crop} px "
            f"(base size {cfg.base_size or default_base_size(crop)} px, working size {sizing.eval_size} px)")
