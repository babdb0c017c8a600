"""Semantic architectures and losses on CamVid (../shared/data/camvid), all from --weights none.

Every semantic architecture trains with the segstudio Trainer under the same
compute budget and the same small-crop settings, then is scored on CamVid val
(101 images): mIoU, pixel accuracy, mean class accuracy; plus training and
prediction images/s and parameters.  Then the best architecture (by val mIoU)
trains again with median-frequency class weights and with ce+dice, the same
budget, so the three losses can be compared (mean class accuracy is where
weighting shows, as in the SegNet paper).

Fair under load: the machine may be shared, so wall-clock budgets would hand
more training to whichever model ran while the others were idle.  The budget
is **process CPU time with one intra-op thread**: each model's CPU seconds per
training iteration are measured once (a few iterations on the same batches,
after a warm-up), and the model then trains for ``budget / seconds-per-
iteration`` iterations (a fixed count, so the poly learning-rate schedule
ends at zero for every model).  Images/s are images per CPU second (1 thread);
wall-clock figures are printed beside them.  Before scoring, BatchNorm
statistics are recomputed on 10 training batches for every model.

    nice -n 10 python benchmarks/bench_architectures.py [--budget-minutes 5] [--models a,b] [--crop 128]
    python benchmarks/bench_architectures.py --quick     # a tiny run to check the script
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import find_camvid, open_camvid  # noqa: E402

NEW = ["unet_resnet34", "segnet_vgg16_bn", "pspnet_resnet50", "deeplabv3plus_resnet50"]
# one model per torchvision architecture (the ResNet-101 and MobileNet DeepLabV3 variants: --models)
TORCHVISION = ["fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large"]


def cpu() -> float:
    return time.process_time()


def calibrate(arch: str, data, args) -> float:
    """CPU seconds per training iteration of ``arch`` (the Trainer's own step on real batches)."""
    from segstudio.ml.training.model_setup import set_train_mode
    from segstudio.ml.training.trainer import Trainer

    cfg = _config(arch, args, max_iterations=1 + args.calibration)
    trainer = Trainer(cfg, data, [])
    trainer.setup()
    set_train_mode(trainer.model)
    times = []
    it = iter(trainer.loader)
    for i in range(1 + args.calibration):
        batch = next(it)
        c = cpu()
        trainer.steps.run(batch)
        if i:                      # the first step warms up allocators and kernels
            times.append(cpu() - c)
    return sorted(times)[len(times) // 2]


def _config(arch: str, args, **kw):
    from segstudio.ml.training.trainer import TrainConfig

    base = dict(weights="none", epochs=10 ** 6, batch_size=args.batch_size, crop=args.crop,
                base_size=args.base_size, eval_size=args.eval_size, lr=args.lr, workers=0, device="cpu",
                seed=0, precise_bn=0, validate=False, write_checkpoints=False)
    base.update(kw)
    return TrainConfig(arch, Path(tempfile.mkdtemp(prefix="bench-arch-")), **base)


def train_and_score(arch: str, data, args, iterations: int, **loss) -> dict:
    import torch

    from segstudio.ml.training.hooks import Hook
    from segstudio.ml.training.trainer import Trainer

    class Clock(Hook):
        def __init__(self):
            self.cpu = self.wall = 0.0
            self.images = 0
            self.c = self.w = None

        def on_start(self, trainer):
            self.c, self.w = cpu(), time.perf_counter()

        def on_iteration(self, trainer, info):
            self.cpu += cpu() - self.c
            self.wall += time.perf_counter() - self.w
            self.images += info.batch_size
            self.c, self.w = cpu(), time.perf_counter()

        def on_epoch(self, trainer, info):   # BatchNorm refresh or validation is no training time
            self.c, self.w = cpu(), time.perf_counter()

    torch.manual_seed(0)
    clock = Clock()
    trainer = Trainer(_config(arch, args, max_iterations=iterations, **loss), data, [clock])
    trainer.setup()
    trainer.fit()
    trainer.config.precise_bn = args.precise_bn
    trainer.refresh_bn()
    c = cpu()
    metrics, score = trainer.evaluate()
    eval_cpu = cpu() - c
    predict_rate = predict_speed(trainer, data, args)
    per_class = [r for r in metrics["per_class"] if r["accuracy"] is not None]
    return {"model": arch, "loss": loss.get("loss", "ce"), "class_weights": loss.get("class_weights", "none"),
            "iterations": iterations, "miou": score, "pixel_accuracy": metrics["pixel_accuracy"],
            "mean_class_accuracy": sum(r["accuracy"] for r in per_class) / max(1, len(per_class)),
            "per_class_iou": {r["name"]: r["iou"] for r in metrics["per_class"]},
            "train_img_per_cpu_s": clock.images / max(clock.cpu, 1e-9),
            "train_img_per_wall_s": clock.images / max(clock.wall, 1e-9),
            "predict_img_per_cpu_s": predict_rate, "eval_cpu_s": eval_cpu,
            "parameters": sum(p.numel() for p in trainer.model_plain.parameters()),
            "train_cpu_s": clock.cpu, "train_wall_s": clock.wall}


def predict_speed(trainer, data, args) -> float:
    """Images per CPU second of the prediction pipeline on val images at the evaluation size."""
    from segstudio.formats.images import load_image
    from segstudio.ml.training.validation import module_pipeline

    p = module_pipeline(trainer.model_plain, trainer.tm, "cpu", args.eval_size)
    p.predictor.model.eval()  # module_pipeline leaves the model in the mode it found it in
    images = [load_image(s.image_path) for s in data.val.samples[:args.predict_images]]
    p.predict(images[0])
    c = cpu()
    for im in images:
        p.predict(im)
    return len(images) / max(cpu() - c, 1e-9)


def table(rows: list[dict]) -> str:
    head = ("| model | params | iterations | val mIoU | pixel acc. | mean class acc. | train img/s | "
            "predict img/s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        name = r["model"] if _loss_name(r) == "ce" else f"{r['model']} ({_loss_name(r)})"
        lines.append(f"| {name} | {r['parameters'] / 1e6:.1f}M | {r['iterations']} | {100 * r['miou']:.1f} | "
                     f"{100 * r['pixel_accuracy']:.1f} | {100 * r['mean_class_accuracy']:.1f} | "
                     f"{r['train_img_per_cpu_s']:.2f} | {r['predict_img_per_cpu_s']:.2f} |")
    return head + "\n".join(lines)


def _loss_name(r: dict) -> str:
    if r["class_weights"] != "none":
        return f"{r['loss']}, {r['class_weights']}"
    return r["loss"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder (train/, trainannot/, val/, valannot/)")
    ap.add_argument("--models", help="comma-separated models (default: U-Net, SegNet, PSPNet, DeepLabV3+, "
                    "FCN and DeepLabV3 with ResNet-50, LR-ASPP)")
    ap.add_argument("--budget-minutes", type=float, default=5.0, help="training CPU minutes per model (5)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--base-size", type=int, default=144, help="random resize around this shorter side (144)")
    ap.add_argument("--eval-size", type=int, default=144, help="val images' shorter side for prediction (144)")
    ap.add_argument("--lr", type=float, default=0.02, help="SGD learning rate for every model (0.02)")
    ap.add_argument("--precise-bn", type=int, default=10, help="BatchNorm statistics from N batches (10)")
    ap.add_argument("--calibration", type=int, default=2, help="iterations timed per model (2, after 1 warm-up)")
    ap.add_argument("--predict-images", type=int, default=10)
    ap.add_argument("--no-losses", action="store_true", help="skip the loss comparison")
    ap.add_argument("--quick", action="store_true", help="tiny settings to check the script")
    ap.add_argument("--calibrate-only", action="store_true", help="print each model's CPU s per iteration and stop")
    ap.add_argument("--json", help="write every result to this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.budget_minutes, args.crop, args.base_size, args.eval_size = 0.05, 64, 64, 64
        args.batch_size, args.precise_bn, args.calibration, args.predict_images = 2, 2, 1, 2

    import torch

    from segstudio.errors import TrainingError

    torch.set_num_threads(1)
    models = args.models.split(",") if args.models else NEW + TORCHVISION
    root = find_camvid(args.data)
    data = open_camvid(root)
    if args.quick:
        data.train = data.train.subset(data.train.keys[:8])
        data.val = data.val.subset(data.val.keys[:3])
    budget = args.budget_minutes * 60
    print(f"camvid: {len(data.train)} train / {len(data.val)} val images, {len(data.labels)} classes; batch "
          f"{args.batch_size}, crop {args.crop}, resize around {args.base_size} (val at {args.eval_size}), "
          f"SGD lr {args.lr}; budget {args.budget_minutes:g} CPU minutes per model, 1 thread")
    rows = []
    for arch in models:
        per_it = calibrate(arch, data, args)
        n = max(1, int(budget / per_it))
        print(f"{arch}: {per_it:.2f} CPU s per iteration -> {n} iterations", flush=True)
        if args.calibrate_only:
            continue
        try:
            r = train_and_score(arch, data, args, n)
        except TrainingError as e:  # e.g. a diverging loss: report it, go on with the others
            print(f"  {arch} failed: {e}", flush=True)
            continue
        r["cpu_s_per_iteration"] = per_it
        rows.append(r)
        print(f"  val mIoU {100 * r['miou']:.2f}, pixel acc {100 * r['pixel_accuracy']:.2f}, mean class acc "
              f"{100 * r['mean_class_accuracy']:.2f}; train {r['train_img_per_cpu_s']:.2f} img/CPU-s "
              f"({r['train_img_per_wall_s']:.2f} img/wall-s), predict {r['predict_img_per_cpu_s']:.2f} img/CPU-s",
              flush=True)
    if args.calibrate_only:
        return 0
    print("\nArchitectures (cross-entropy), same CPU budget:\n")
    print(table(rows))
    loss_rows = []
    if not args.no_losses:
        best = max(rows, key=lambda r: r["miou"])
        loss_rows.append(best)
        for loss in ({"class_weights": "median-frequency"}, {"loss": "ce+dice"}):
            try:
                r = train_and_score(best["model"], data, args, best["iterations"], **loss)
            except TrainingError as e:
                print(f"  {best['model']} {loss} failed: {e}", flush=True)
                continue
            loss_rows.append(r)
            print(f"{best['model']} {_loss_name(r)}: val mIoU {100 * r['miou']:.2f}, mean class acc "
                  f"{100 * r['mean_class_accuracy']:.2f}", flush=True)
        print(f"\nLosses on {best['model']}, same iterations:\n")
        print(table(loss_rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "architectures": rows,
                                               "losses": loss_rows[1:]}, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
