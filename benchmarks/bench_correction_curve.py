"""The correction-effort curve on CamVid: is labelling more images worth it?

For k = 10, 25, 50, 100 labelled training images (nested subsets of CamVid
train drawn with a fixed seed), LR-ASPP is fine-tuned from the same start
(--weights none by default) for the same budget -- the same number of
optimizer steps (--iterations, robust to other load on the machine) or the
same training time (--minutes) -- then predicts CamVid val.  The share of val pixels a user would still have to repaint is
1 - pixel accuracy (void pixels not counted).  It should fall as k grows.

    python benchmarks/bench_correction_curve.py [--data DIR] [--iterations 150 | --minutes 1] [--ks 10,25,50,100]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import find_camvid, open_camvid  # noqa: E402

ARCH = "lraspp_mobilenet_v3_large"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder (train/, trainannot/, val/, valannot/)")
    ap.add_argument("--iterations", type=int, default=200, help="optimizer steps per k (200)")
    ap.add_argument("--minutes", type=float, help="a training-time budget per k instead of --iterations")
    ap.add_argument("--ks", default="10,25,50,100")
    ap.add_argument("--weights", default="none", help="starting weights (none)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--base-size", type=int, default=96)
    ap.add_argument("--eval-size", type=int, default=96)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--precise-bn", type=int, default=20, help="BatchNorm statistics from N batches (20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from segstudio.ml.data.sources import OpenedData
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    data = open_camvid(find_camvid(args.data))
    ks = [int(k) for k in args.ks.split(",")]
    budget = f"{args.minutes:g} min of training" if args.minutes else f"{args.iterations} iterations"
    order = list(data.train.keys)
    random.Random(args.seed).shuffle(order)
    print(f"camvid: k of {len(order)} train images, {len(data.val)} val images; {ARCH} from "
          f"--weights {args.weights}, {budget} per k, batch {args.batch_size}, "
          f"crop {args.crop}, device {args.device}")
    rows = []
    for k in ks:
        subset = OpenedData(data.train.subset(order[:k]), data.val, data.labels, "semantic",
                            dict(data.summary, train_images=k))
        out = Path(tempfile.mkdtemp(prefix=f"bench-curve-k{k}-"))
        cfg = TrainConfig(ARCH, out, weights=args.weights, epochs=None if args.minutes else 10 ** 6,
                          max_minutes=args.minutes, max_iterations=None if args.minutes else args.iterations,
                          batch_size=args.batch_size, crop=args.crop, base_size=args.base_size,
                          eval_size=args.eval_size, lr=args.lr, workers=0, device=args.device, seed=args.seed,
                          validate=False, write_checkpoints=False,
                          precise_bn=args.precise_bn)
        trainer = Trainer(cfg, subset, [])
        result = trainer.fit()
        trainer.refresh_bn()
        metrics, miou = trainer.evaluate()          # the final model, on all of CamVid val
        wrong = 1.0 - metrics["pixel_accuracy"]
        rows.append((k, result.iterations, wrong, miou))
        print(f"k={k:4d}: {result.iterations} iterations, val pixels to repaint {100 * wrong:.2f}%, "
              f"mIoU {100 * miou:.2f}", flush=True)
    print(f"\n{'k images':>9} {'iterations':>10} {'to repaint':>11} {'mIoU':>7}")
    for k, its, wrong, miou in rows:
        print(f"{k:9d} {its:10d} {100 * wrong:10.2f}% {100 * miou:6.2f}%")
    falls = all(b[2] < a[2] for a, b in zip(rows, rows[1:]))
    print(f"share of pixels to repaint falls as k grows: {'yes' if falls else 'NO'} "
          f"({100 * rows[0][2]:.1f}% at k={rows[0][0]} -> {100 * rows[-1][2]:.1f}% at k={rows[-1][0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
