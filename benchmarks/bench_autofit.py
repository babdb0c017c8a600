"""Default fine-tuning sizes vs the tuned small-crop settings, side by side (CamVid, CPU).

Two ``segstudio finetune`` runs of LR-ASPP from random weights with the same
training-time budget (``--max-minutes``, default 4) on CamVid train, scored on
CamVid val:

* **auto**: no size options (crop, batch, base and working size chosen by the
  device/budget fit, which prints what it chose);
* **tuned**: ``--crop 128 --batch-size 8`` (the small-crop settings that beat
  the old default crop 480 / batch 4 on this machine).

The machine is shared, so the two runs go *at the same time*, each a separate
process with one torch thread (``OMP_NUM_THREADS=1``) and data loading in the
main process (``--workers 0``): whatever load the machine has hits both alike.
Each run's score is the best validation mIoU its card records, measured at its
own working size (as ``predict`` would use it).  The ratio auto / tuned is
printed per repeat and as the mean; target >= 0.9.

    python benchmarks/bench_autofit.py [--minutes 4] [--repeats 1] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import CAMVID_CLASSES, VOID, find_camvid  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def command(root: Path, labels: Path, out: Path, minutes: float, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "segstudio", "finetune", str(root / "train"), "--masks", str(root / "trainannot"),
            "--labels", str(labels), "--void", str(VOID), "--val-images", str(root / "val"),
            "--val-masks", str(root / "valannot"), "--model", "lraspp_mobilenet_v3_large", "--weights", "none",
            "--device", "cpu", "--workers", "0", "--max-minutes", str(minutes), "--crf-fit-seconds", "0",
            "--out", str(out)] + extra


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder")
    ap.add_argument("--minutes", type=float, default=4.0, help="training-time budget of each run (4)")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    root = find_camvid(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-autofit-"))
    labels = work / "labels.txt"
    labels.write_text("\n".join(CAMVID_CLASSES) + "\n", "utf-8")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    settings = {"auto": [], "tuned": ["--crop", "128", "--batch-size", "8"]}
    ratios = []
    print(f"camvid {root}; {args.minutes:g} min of training each, both runs at once with one thread; "
          f"load avg {open('/proc/loadavg').read().split()[0]}", flush=True)
    for r in range(args.repeats):
        procs, outs = {}, {}
        t0 = time.perf_counter()
        for name, extra in settings.items():
            outs[name] = work / f"{name}-{r}"
            log = open(work / f"{name}-{r}.log", "w")
            procs[name] = (subprocess.Popen(command(root, labels, outs[name], args.minutes, extra), env=env,
                                            stdout=log, stderr=subprocess.STDOUT), log)
        for name, (p, log) in procs.items():
            p.wait()
            log.close()
            if p.returncode != 0:
                print(f"{name} run failed (exit {p.returncode}); see {work / f'{name}-{r}.log'}")
                return 1
        scores = {}
        for name in settings:
            card = json.loads((outs[name] / "best.json").read_text("utf-8"))
            t = card["training"]
            scores[name] = card["usage"]["validation"]["score"]
            chosen = f" (chosen: {', '.join(t.get('auto_sized', []))})" if t.get("auto_sized") else ""
            print(f"  {name:<6} crop {t['crop']}, batch {t['batch_size']}, base {t['base_size']}, working size "
                  f"{card['usage']['working_size']}{chosen}: {card['iteration']} steps, best val mIoU "
                  f"{100 * scores[name]:.2f} (epoch {card['epoch']})", flush=True)
        for line in (work / f"auto-{r}.log").read_text("utf-8").splitlines():
            if line.startswith(("chose ", "the first steps ran")):
                print(f"  auto said: {line}")
        ratios.append(scores["auto"] / scores["tuned"])
        print(f"repeat {r + 1}: ratio auto / tuned {ratios[-1]:.3f} ({time.perf_counter() - t0:.0f} s wall)",
              flush=True)
    mean = sum(ratios) / len(ratios)
    print(f"\nmean ratio of val mIoU, default sizes / tuned crop 128 batch 8, same {args.minutes:g}-min budget: "
          f"{mean:.3f} over {len(ratios)} repeat(s) (target >= 0.9): {'OK' if mean >= 0.9 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
