"""A CRF fitted to the user's labels never lowers held-out mIoU, and reports its gain (CamVid).

The model: a fine-tuned checkpoint (``--weights``; without it, LR-ASPP is
fine-tuned from random weights for ``--train-minutes`` at crop 128 first).
CamVid val (101 images) is cut into two parts, several ways (``--splits``):
the fit runs on part A only (it splits A again into a fit and a check half and
accepts a setting only if it also wins on the check half), and every setting is
judged on part B, which the fit never saw.  Per split it prints B's mIoU
without CRF, with DeepLab's default CRF, and with the fitted CRF (no CRF when
the fit said "no gain", as ``predict --crf`` then does), the gain the fit
reported and the gain it gets on B.  Target: the fitted CRF's gain on B is
never below 0.

    python benchmarks/bench_crf_fit.py [--weights best.pt] [--budget 90] [--splits 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import find_camvid, open_camvid  # noqa: E402


def judge(samples, params, n):
    import numpy as np

    from segstudio.core.metrics import ConfusionMatrix
    from segstudio.ml.crf import refine

    cm = ConfusionMatrix(n, 255)
    for s in samples:
        cm.update(s.gt, s.plain if params is None else refine(s.image, s.probs, s.ids, params))
    return float(cm.compute().miou), np.array(cm.matrix)


def train(data, minutes: float, out: Path) -> Path:
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    cfg = TrainConfig("lraspp_mobilenet_v3_large", out, weights="none", max_minutes=minutes, batch_size=8,
                      crop=128, workers=0, fit_crf=False)
    Trainer(cfg, data).fit()
    return out / "best.pt"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder")
    ap.add_argument("--weights", help="a fine-tuned CamVid checkpoint (default: fine-tune one first)")
    ap.add_argument("--train-minutes", type=float, default=4.0)
    ap.add_argument("--budget", type=float, default=90.0, help="seconds for each CRF fit (90)")
    ap.add_argument("--splits", type=int, default=3, help="ways to cut val into fit part A / judged part B (3)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--crf-max-side", type=int, help="the CRF's working resolution for the fit (default: the "
                    "fit's own choice, about the model's working resolution)")
    args = ap.parse_args()

    import numpy as np
    import torch

    from segstudio.ml.crf import CRFParams
    from segstudio.ml.crf_fit import collect_samples, fit_crf
    from segstudio.ml.model_cache import ModelCache
    from segstudio.ml.pipeline import open_pipeline
    from segstudio.ml.registry import get_card

    torch.set_num_threads(args.threads)
    data = open_camvid(find_camvid(args.data))
    weights = Path(args.weights) if args.weights else train(
        data, args.train_minutes, Path(tempfile.mkdtemp(prefix="bench-crf-fit-")))
    pipeline = open_pipeline(None, str(weights), device="cpu", labels=data.labels, cache=ModelCache())
    n = len(data.labels)
    t = time.perf_counter()
    samples = collect_samples(pipeline, data.val, max_images=len(data.val))
    print(f"{weights}: working size {pipeline.working_size}; {len(samples)} val images predicted in "
          f"{time.perf_counter() - t:.0f} s; CRF fit budget {args.budget:.0f} s; load avg "
          f"{open('/proc/loadavg').read().split()[0]}", flush=True)
    deeplab = CRFParams.from_dict(get_card(pipeline.loaded.card.name).crf)
    rng = np.random.default_rng(0)
    worst = None
    print(f"{'split':<14} {'status':<9} {'fit says':>9} {'B: no CRF':>10} {'DeepLab':>8} {'fitted':>8} "
          f"{'gain on B':>10} {'tried':>6} {'s':>5}")
    for k in range(args.splits):
        order = np.arange(len(samples)) if k == 0 else rng.permutation(len(samples))
        half = len(samples) // 2
        a = [samples[i] for i in order[:half]]
        b = [samples[i] for i in order[half:]]
        fit = fit_crf(a, n, budget_s=args.budget, seed=k, max_side=args.crf_max_side)
        base, _ = judge(b, None, n)
        dl, _ = judge(b, deeplab, n)
        used = CRFParams.from_dict(fit.params) if fit.status == "fitted" else None
        got, _ = judge(b, used, n)
        gain = got - base
        worst = gain if worst is None else min(worst, gain)
        name = "first/second" if k == 0 else f"random {k}"
        print(f"{name:<14} {fit.status:<9} {100 * fit.gain:+9.2f} {100 * base:10.2f} {100 * dl:8.2f} "
              f"{100 * got:8.2f} {100 * gain:+10.2f} {fit.tried:6d} {fit.seconds:5.0f}", flush=True)
        if fit.status == "fitted":
            print(f"{'':14} params {fit.params}")
    print(f"\nworst gain of the fitted CRF on images it was not fitted on: {100 * worst:+.2f} mIoU points "
          f"(target >= 0): {'OK' if worst >= 0 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
