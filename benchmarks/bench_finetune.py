"""Fine-tuning throughput and quality on CamVid (../shared/data/camvid).

LR-ASPP (MobileNetV3, --weights none) trains for a fixed training-time budget
with the segstudio Trainer (hooks, device gate, void-batch check, loss
bookkeeping, per-epoch validation); the script reports mIoU and pixel accuracy
on CamVid val and the training images/s.  In the same run, a bare training loop
(same model, batch, crop, transforms, data loader and SGD optimiser; nothing
else) runs one iteration after each Trainer iteration, so both are timed in
pairs under the same machine load; the throughput ratio Trainer / bare is the
median over the pairs (target >= 0.9), and the ratio of the means is printed too.

    python benchmarks/bench_finetune.py [--data DIR] [--minutes 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import find_camvid, open_camvid  # noqa: E402

ARCH = "lraspp_mobilenet_v3_large"


class BareLoop:
    """The plainest loop over the same pieces, one iteration per call (its own model and loader)."""

    def __init__(self, data, args, device):
        import torch

        from segstudio.ml.training import transforms as T
        from segstudio.ml.training.schedule import build_optimizer
        from segstudio.ml.weights import load_model

        torch.manual_seed(1)
        self.device = device
        self.model = load_model(ARCH, weights="none", labels=data.labels).model.to(device).train()
        self.opt = build_optimizer(self.model, ARCH, args.lr)
        ds = data.train.with_transform(T.SegmentationTrainTransform(args.crop, args.base_size))
        self.loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                                  collate_fn=T.collate_semantic, num_workers=args.workers)
        self.it = iter(self.loader)

    def step(self) -> float:
        import torch.nn.functional as F

        t0 = time.perf_counter()
        try:
            x, y = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            x, y = next(self.it)
        x, y = x.to(self.device), y.to(self.device)
        loss = F.cross_entropy(self.model(x)["out"], y, ignore_index=255)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        float(loss.detach())
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder (train/, trainannot/, val/, valannot/)")
    ap.add_argument("--minutes", type=float, default=2.0, help="Trainer training-time budget in minutes (2)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--base-size", type=int, default=128, help="random resize around this shorter side (128)")
    ap.add_argument("--eval-size", type=int, default=128, help="val images' shorter side for prediction (128)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--precise-bn", type=int, default=20, help="BatchNorm statistics from N batches (20)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    from segstudio.ml.training.hooks import Hook
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    root = find_camvid(args.data)
    data = open_camvid(root)
    device = torch.device(args.device)
    print(f"camvid: {len(data.train)} train / {len(data.val)} val images, {len(data.labels)} classes; "
          f"{ARCH} from random init, batch {args.batch_size}, crop {args.crop}, device {device}, "
          f"{torch.get_num_threads()} threads")
    bare = BareLoop(data, args, device)
    warm = 3

    class Paired(Hook):
        """After each Trainer iteration, one bare-loop iteration: paired timings under the same load."""

        def __init__(self):
            self.trainer_s, self.bare_s, self.epochs = [], [], []
            self.last = None

        def on_start(self, trainer):
            self.last = time.perf_counter()

        def on_iteration(self, trainer, info):
            now = time.perf_counter()
            if self.last is not None and not info.skipped:
                self.trainer_s.append(now - self.last)
                self.bare_s.append(bare.step())
            self.last = time.perf_counter()

        def on_epoch(self, trainer, info):
            self.epochs.append(info)
            self.last = None           # validation is not training time

    hook = Paired()
    out = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    cfg = TrainConfig(ARCH, out, weights="none", epochs=None, max_minutes=args.minutes,
                      batch_size=args.batch_size, crop=args.crop, base_size=args.base_size,
                      eval_size=args.eval_size, lr=args.lr, workers=args.workers, device=args.device, seed=0,
                      precise_bn=args.precise_bn, fit_crf=False)  # throughput only: no CRF fit at the end
    trainer = Trainer(cfg, data, [hook])
    trainer.setup()
    t0 = time.perf_counter()
    result = trainer.fit()
    wall = time.perf_counter() - t0
    tt, bt = hook.trainer_s[warm:], hook.bare_s[warm:]
    b = args.batch_size
    ratios = [bb / t for t, bb in zip(tt, bt)]
    med_t, med_b = b / statistics.median(tt), b / statistics.median(bt)
    mean_t, mean_b = b * len(tt) / sum(tt), b * len(bt) / sum(bt)
    last = hook.epochs[-1]
    best = max(hook.epochs, key=lambda e: e.score or 0)
    print(f"\ntrainer: {result.iterations} iterations, {result.epochs_done} epochs in {args.minutes:.1f} min of "
          f"training ({wall:.0f} s wall with validation)")
    print(f"camvid val: mIoU {100 * last.score:.2f} (best epoch {100 * best.score:.2f}), pixel accuracy "
          f"{100 * last.metrics['pixel_accuracy']:.2f}")
    print(f"{'':24} {'median img/s':>12} {'mean img/s':>11}")
    print(f"{'bare loop':24} {med_b:12.2f} {mean_b:11.2f}")
    print(f"{'segstudio Trainer':24} {med_t:12.2f} {mean_t:11.2f}")
    print(f"throughput ratio Trainer / bare loop over {len(ratios)} paired iterations: "
          f"{statistics.median(ratios):.3f} (median of pairs), {mean_t / mean_b:.3f} (means); target >= 0.9")
    return 0


if __name__ == "__main__":
    sys.exit(main())
