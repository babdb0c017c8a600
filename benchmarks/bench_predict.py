"""Overhead of segstudio's whole predict path over a bare torchvision forward.

For each semantic model (weights=None, CPU), on a 1024×768 image:
  ours = Predictor.predict(rgb): uint8 -> resize/normalise -> forward -> logits
         resized to the image (bilinear) -> argmax -> uint8 class map
  bare = model(x) on the same preprocessed tensor x
Runs are interleaved in pairs; the figure is the median of the per-pair
ratios (target <= 1.15); the ratio of the fastest runs and of the process CPU
times are printed too.  ``--confidence`` also times the
lazily computed confidence map.  With a CUDA GPU it also reports
DeepLabV3-ResNet50 at 520 px: images/s with autocast + channels_last vs fp32.

    python benchmarks/bench_predict.py [--models a,b] [--repeats N] [--threads N]

On a machine shared with other jobs, ``--threads 1`` gives steady figures:
with several OpenMP threads, descheduled threads stall every parallel op of
both the baseline and our path, and the timings swing by 10x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from segstudio.ml.predictor import Predictor  # noqa: E402
from segstudio.ml.registry import list_cards  # noqa: E402
from segstudio.ml.weights import load_model  # noqa: E402


def image(width=1024, height=768, seed=0):
    from tests.synthetic import scene

    rgb, _ = scene(height, width, seed=seed)
    return rgb


def bench_cpu(names, repeats, confidence, seconds=20.0):
    rgb = image()
    rows = []
    for name in names:
        torch.manual_seed(0)
        lm = load_model(name, "none")
        p = Predictor(lm, "cpu")
        x = p.preprocess(rgb)
        with torch.inference_mode():
            lm.model(x)  # warm-up
            t = time.perf_counter()
            lm.model(x)
            once = time.perf_counter() - t
        p.predict(rgb)
        n = max(repeats, min(40, int(seconds / (2 * once))))  # more runs for fast models: steadier minima
        ours, bare, conf, ours_c, bare_c = [], [], [], [], []
        for _ in range(n):
            t, c = time.perf_counter(), time.process_time()
            with torch.inference_mode():
                lm.model(x)
            bare.append(time.perf_counter() - t)
            bare_c.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            r = p.predict(rgb)
            ours.append(time.perf_counter() - t)
            ours_c.append(time.process_time() - c)
            if confidence:
                t = time.perf_counter()
                r.confidence
                conf.append(time.perf_counter() - t)
        ratio_min = min(ours) / min(bare)
        ratio_med = statistics.median(o / b for o, b in zip(ours, bare))
        ratio_cpu = min(ours_c) / min(bare_c)
        rows.append((name, min(bare), min(ours), ratio_min, ratio_med, min(conf) if conf else None))
        print(f"{name:<30} bare {min(bare) * 1000:8.1f} ms  predict {min(ours) * 1000:8.1f} ms  "
              f"ratio {ratio_med:5.3f} (fastest runs {ratio_min:5.3f}, CPU time {ratio_cpu:5.3f}, n={n})"
              + (f"  +confidence {min(conf) * 1000:6.1f} ms" if conf else ""), flush=True)
    worst = max(r[4] for r in rows)
    print(f"\nworst ratio {worst:.3f} (target <= 1.15): {'OK' if worst <= 1.15 else 'MISSED'}")
    return rows


def bench_gpu(repeats=20):
    x = torch.rand(8, 3, 520, 520)
    res = {}
    for label, amp in (("fp32", False), ("autocast+channels_last", True)):
        p = Predictor(load_model("deeplabv3_resnet50", "none"), "cuda", amp=amp, channels_last=amp)
        xx = x.to(p.device)
        if amp:
            xx = xx.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            for _ in range(3):
                p._forward(xx)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(repeats):
                p._forward(xx)
            torch.cuda.synchronize()
        res[label] = repeats * x.shape[0] / (time.perf_counter() - t)
        print(f"deeplabv3_resnet50 520px batch 8 {label:<24} {res[label]:8.1f} images/s", flush=True)
    print(f"speed-up {res['autocast+channels_last'] / res['fp32']:.2f}x on {torch.cuda.get_device_name()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help="comma-separated subset")
    ap.add_argument("--repeats", type=int, default=3, help="at least this many runs per model")
    ap.add_argument("--seconds", type=float, default=20.0, help="time budget per model for extra runs")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--confidence", action="store_true")
    ap.add_argument("--gpu-only", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.models.split(",") if args.models else [c.name for c in list_cards() if c.task == "semantic"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, image 1024x768", flush=True)
    if not args.gpu_only:
        bench_cpu(names, args.repeats, args.confidence, args.seconds)
    if torch.cuda.is_available():
        bench_gpu()


if __name__ == "__main__":
    main()
