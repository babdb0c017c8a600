"""Fine-tune a model on labelled data: a segstudio project (its edited and
reviewed images), a Pascal VOC root, an image folder with a mask folder
(--masks, --labels, --void) or a COCO instances JSON (Mask R-CNN).  The run's
folder (--out) gets last.pt (resume with --resume) and best.pt + best.json,
the best checkpoint by validation mIoU (or segm AP) and its model card, which
`segstudio predict --weights OUT/best.pt` uses.  Under
`torchrun --nproc_per_node=N -m segstudio finetune ...` it trains data-parallel
(DDP); rank 0 logs and saves."""

from __future__ import annotations

import argparse
import sys

from segstudio.commands.argtypes import float_range, int_range, output_dir

NAME = "finetune"
HELP = "fine-tune a model on a project, a VOC root, image + mask folders or a COCO json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA", help="project folder, VOC root, image folder (with --masks) or COCO json")
    p.add_argument("--model", metavar="NAME", help="model to fine-tune (see `segstudio models`); "
                   "optional when --weights is a segstudio checkpoint")
    p.add_argument("--weights", default="default", metavar="default|none|FILE",
                   help="starting weights: the published ones, random, or a checkpoint (default: default)")
    p.add_argument("--out", required=True, type=output_dir, metavar="DIR",
                   help="folder for last.pt, best.pt, best.json, metrics.jsonl")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int_range(1), metavar="N", help="epochs to train (default 10)")
    g.add_argument("--max-minutes", type=float_range(0, lo_open=True), metavar="M", help="train for M minutes of training time")
    p.add_argument("--max-iterations", type=int_range(1), metavar="N", help="stop after N optimizer steps")
    p.add_argument("--batch-size", type=int_range(1), metavar="B", help="images per step and process (default: chosen "
                   "from the device's memory: 8 on a CPU)")
    p.add_argument("--crop", type=int_range(1), metavar="PX", help="training crop size (default: chosen from the device's "
                   "speed and the time budget, e.g. 128 for 4 minutes on a small CPU, 480 on a GPU)")
    p.add_argument("--base-size", type=int_range(1), metavar="PX", help="random resize around this shorter side "
                   "(default crop × 520/480; ×0.5–2.0)")
    p.add_argument("--eval-size", type=int_range(1), metavar="PX", help="validation / working size: validation images' "
                   "shorter side (default 1.25 × the base size); recorded in the card, predict uses it")
    p.add_argument("--lr", type=float_range(0, lo_open=True), help="learning rate (0.01; Mask R-CNN 0.02 × batch / 16)")
    p.add_argument("--weight-decay", type=float_range(0), help="(1e-4; 1e-6 for MobileNet models)")
    p.add_argument("--warmup-iters", type=int_range(0), metavar="N", help="linear warm-up iterations")
    p.add_argument("--precise-bn", type=int_range(0), default=10, metavar="N",
                   help="recompute BatchNorm statistics on N training batches before each validation (10; 0: off)")
    p.add_argument("--crf-fit-seconds", type=float_range(0), metavar="S",
                   help="time box for fitting the dense CRF to the validation images at the end (default: a "
                   "tenth of --max-minutes, 30 s to 3 min; 60 s with --epochs; 0: do not fit)")
    p.add_argument("--no-blend", action="store_true",
                   help="when --weights is a checkpoint of the same classes, do not try blends of its weights and "
                   "the trained ones on the validation images (by default the best one is kept)")
    p.add_argument("--freeze-backbone", action="store_true", help="train only the heads (small label sets)")
    loss = p.add_argument_group("loss (semantic models; void 255 is always ignored)")
    loss.add_argument("--loss", choices=("ce", "dice", "ce+dice"), default="ce",
                      help="cross-entropy, soft Dice, or their sum (ce)")
    loss.add_argument("--class-weights", default="none", metavar="none|median-frequency|FILE",
                      help="weigh the loss per class: median-frequency balancing computed from the training "
                      "masks (printed and stored in the checkpoint card), or a text file with one weight per "
                      "class in label-id order (none)")
    loss.add_argument("--border-weight", type=float_range(0), metavar="W0",
                      help="U-Net's weight map: add W0·exp(-(d1+d2)²/2σ²) between touching instances, from the "
                      "data's instance maps (projects, VOC SegmentationObject); U-Net used 10")
    loss.add_argument("--border-sigma", type=float_range(0, lo_open=True), default=5.0, metavar="PX", help="σ of --border-weight (5)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (auto)")
    p.add_argument("--no-amp", action="store_true", help="no autocast on CUDA")
    p.add_argument("--auto-batch", action="store_true", help="on GPU out-of-memory halve the batch and go on")
    p.add_argument("--workers", type=int_range(0), default=2, metavar="N", help="data loading processes (2)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument("--seed", type=int, default=0, help="random seed; also fixes the train/val split (0)")
    p.add_argument("--val-fraction", type=float_range(0, 1, hi_open=True), default=0.1, metavar="F",
                   help="share of images held out for validation when the data has no split (0.1)")
    d = p.add_argument_group("image + mask folders")
    d.add_argument("--masks", metavar="DIR", help="mask PNGs with the images' names (class ids or palette)")
    d.add_argument("--labels", metavar="FILE", help="label file naming the classes (one per line, id order)")
    d.add_argument("--void", type=int_range(0, 255), action="append", default=[], metavar="ID",
                   help="mask id to treat as void 255 (repeatable)")
    d.add_argument("--val-images", metavar="DIR", help="validation images (instead of a split)")
    d.add_argument("--val-masks", metavar="DIR", help="validation masks")
    d.add_argument("--images", metavar="DIR", help="COCO: the image folder (default: the JSON's folder)")
    d.add_argument("--include-predicted", action="store_true",
                   help="project: also train on predicted images nobody has edited or reviewed")
    d.add_argument("--limit", type=int_range(1), metavar="N", help="use only the first N training images")


_PHASE_BARS = {"validating": "validating", "blend": "blending weights", "crf": "fitting the CRF"}


class _ProgressHook:
    def __init__(self):
        from segstudio.progress import ProgressBar

        self.bar = ProgressBar(None, "finetune")
        self.phase_bar = None

    def __getattr__(self, name):  # the other hook events: nothing to do
        if name.startswith("on_"):
            return lambda *a, **k: None
        raise AttributeError(name)

    def on_iteration(self, trainer, info):
        self._end_phase()
        self.bar.set(info.iteration, info.total_iterations if info.total_iterations < 10 ** 8 else None,
                     f"loss {info.loss:.4f} lr {info.lr:.2g} {info.images_per_s:.1f} img/s eta {info.eta_s:.0f}s")

    def on_phase(self, trainer, info):
        """Validation, blending and the CRF fit get a bar of their own."""
        from segstudio.progress import ProgressBar

        label = _PHASE_BARS.get(info.phase)
        if label is None or not info.total:
            return
        if self.phase_bar is None or self.phase_bar.label != label:
            self._end_phase()
            self.phase_bar = ProgressBar(info.total, label)
        self.phase_bar.set(info.done, info.total)

    def _end_phase(self):
        if self.phase_bar is not None:
            self.phase_bar.close()
            self.phase_bar = None

    def on_epoch(self, trainer, info):
        self._end_phase()
        self.bar.close()

    def on_end(self, trainer, result):
        self._end_phase()
        self.bar.close()


class _ctrl_c_cancels:
    """The first Ctrl-C cancels at the next batch boundary (last.pt is saved); a second one interrupts."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = None

    def _handler(self, signum, frame):
        import signal

        if self.trainer.cancelled:
            signal.signal(signal.SIGINT, self.previous or signal.default_int_handler)
            raise KeyboardInterrupt
        print("\ncancelling at the end of this batch (Ctrl-C again to stop at once)", file=sys.stderr)
        self.trainer.cancel()

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segstudio.errors import SegStudioError
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.registry import get_card
    from segstudio.ml.training import distributed as D
    from segstudio.ml.training.hooks import JsonLogHook, PrintHook
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    if args.model is None and args.weights in ("default", "none"):
        raise SegStudioError("give --model NAME (see `segstudio models`) or --weights CHECKPOINT")
    arch = args.model
    if arch is None:
        from segstudio.ml.weights import read_checkpoint

        _, card = read_checkpoint(args.weights)
        if card is None:
            raise SegStudioError(f"{args.weights} is a plain state dict; say which model it is with --model")
        arch = card["architecture"]
    task = get_card(arch).task
    spec = DataSpec(args.data, task=task, masks=args.masks, labels=args.labels, void_ids=tuple(args.void),
                    val_images=args.val_images, val_masks=args.val_masks, images=args.images,
                    val_fraction=args.val_fraction, seed=args.seed, include_predicted=args.include_predicted,
                    limit=args.limit)
    data = open_data(spec)
    out = Path(args.out)
    config = TrainConfig(arch, out, weights=args.weights, epochs=args.epochs, max_minutes=args.max_minutes,
                         max_iterations=args.max_iterations, batch_size=args.batch_size, crop=args.crop,
                         base_size=args.base_size, eval_size=args.eval_size, lr=args.lr,
                         weight_decay=args.weight_decay, warmup_iters=args.warmup_iters,
                         freeze_backbone=args.freeze_backbone, precise_bn=args.precise_bn,
                         crf_fit_seconds=args.crf_fit_seconds, blend=not args.no_blend,
                         device=args.device, amp=not args.no_amp,
                         workers=args.workers, seed=args.seed, resume=args.resume, auto_batch=args.auto_batch,
                         loss=args.loss, class_weights=args.class_weights, border_weight=args.border_weight,
                         border_sigma=args.border_sigma)
    ctx = D.setup(args.device)
    try:
        if ctx.is_main:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise SegStudioError(f"--out {out}: cannot create the folder ({e.strerror or e})") from None
        hooks = [_ProgressHook(), PrintHook(sys.stdout), JsonLogHook(out / "metrics.jsonl")]
        trainer = Trainer(config, data, hooks, ctx=ctx)
        trainer.setup()
        if ctx.is_main:
            print(f"fine-tuning {arch} on {data.summary['train_images']} images "
                  f"({data.summary['val_images']} for validation), {len(data.labels)} classes, "
                  f"device {ctx.device}{f', {ctx.world} processes' if ctx.distributed else ''}"
                  + (f"; crop {config.crop}, batch {config.batch_size}, base size {trainer.base_size}, validating "
                     f"at {trainer.working_size} px (the size predict will use)" if trainer.task == "semantic"
                     else f"; batch {config.batch_size}"))
        with _ctrl_c_cancels(trainer):
            result = trainer.fit()
    finally:
        D.teardown(ctx)
    if ctx.is_main:
        score = "-" if result.best_score is None else f"{100 * result.best_score:.2f}"
        state = "cancelled" if result.cancelled else "done"
        print(f"{state}: {result.counts()}; best {trainer.score_name} "
              f"{score}; best checkpoint {result.best_path}; resume from {result.last_path}")
    return 130 if result.cancelled else 0  # a cancelled run is not a finished one (130: ended by Ctrl-C)
