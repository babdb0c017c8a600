"""Check a built bundle against a pip install on generated data, and time both.

    python packaging/smoke_test.py dist/segstudio/segstudio [--pip SEGSTUDIO_COMMAND] [--runs 5]

Runs the frozen binary (``--version``, ``--help``, ``models --json``, a tiny
``finetune --weights none`` with two DataLoader worker processes, ``predict``
with that checkpoint (three images, so decoding runs in worker processes), a
CRF prediction and a Mask R-CNN prediction (torchvision's compiled ops), and
the window offscreen), then the same prediction with the pip-installed
``segstudio`` command: the class maps must be identical.  Start-up time to a
shown window (``SEGSTUDIO_EXIT_AFTER_SHOW``, whole process) is the median of
``--runs`` launches of each.  Needs numpy and Pillow in the interpreter that
runs it (any segstudio venv).  Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

LABELS = "background\nsquare #ff0000\ndisc #00ff00\n"


def make_data(root: Path, n: int = 6, size: int = 64) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(0)
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        x, y = rng.integers(8, size - 24, 2)
        mask[y:y + 16, x:x + 16] = 1
        cx, cy = rng.integers(12, size - 12, 2)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < 64] = 2
        img[mask == 1] = (220, 40, 40)
        img[mask == 2] = (40, 220, 40)
        Image.fromarray(img).save(images / f"im{i}.png")
        Image.fromarray(mask).save(masks / f"im{i}.png")
    (root / "labels.txt").write_text(LABELS, "utf-8")
    return images, masks, root / "labels.txt"


def run(cmd: list[str], env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    r.seconds = time.perf_counter() - t
    return r


def startup(cmd: list[str], image: Path, config: Path, runs: int) -> tuple[float, str]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               SEGSTUDIO_EXIT_AFTER_SHOW="1", SEGSTUDIO_CONFIG_DIR=str(config))
    times, line = [], ""
    for _ in range(runs):
        r = run(cmd + [str(image)], env, timeout=300)
        if r.returncode != 0 or "shown" not in r.stdout:
            raise SystemExit(f"window launch failed: {cmd}\n{r.stdout}\n{r.stderr[-3000:]}")
        times.append(r.seconds)
        line = r.stdout.strip().splitlines()[-1]
    return statistics.median(times), line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle", help="the frozen executable (dist/segstudio/segstudio)")
    ap.add_argument("--pip", default=shutil.which("segstudio"), help="the pip-installed segstudio command")
    ap.add_argument("--runs", type=int, default=5, help="launches per start-up timing (median)")
    ap.add_argument("--keep", help="keep the generated data and outputs in this folder")
    args = ap.parse_args()
    exe = str(Path(args.bundle).resolve())
    work = Path(args.keep or tempfile.mkdtemp(prefix="segstudio-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []

    def check(name: str, r: subprocess.CompletedProcess, ok: bool = True) -> None:
        good = r.returncode == 0 and ok
        print(f"{'ok  ' if good else 'FAIL'} {name} ({r.seconds:.1f} s)", flush=True)
        if not good:
            failures.append(name)
            print(r.stdout[-2000:] + r.stderr[-4000:], flush=True)

    r = run([exe, "--version"])
    check("--version", r, r.stdout.startswith("segstudio "))
    r = run([exe, "--help"])
    check("--help", r, "segstudio [PATH]" in r.stdout)
    r = run([exe, "models", "--json"])
    cards = json.loads(r.stdout) if r.returncode == 0 else []
    check(f"models --json ({len(cards)} models)", r, len(cards) > 0)

    images, masks, labels = make_data(work / "data")
    run_dir = work / "run"
    r = run([exe, "finetune", str(images), "--masks", str(masks), "--labels", str(labels),
             "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--max-iterations", "2",
             "--batch-size", "2", "--crop", "48", "--workers", "2", "--device", "cpu", "--seed", "0",
             "--out", str(run_dir)])
    check("finetune --weights none --max-iterations 2 --workers 2", r, (run_dir / "best.pt").is_file())

    inputs = [str(p) for p in sorted(images.glob("*.png"))[:3]]
    frozen_out, pip_out = work / "pred-frozen", work / "pred-pip"
    predict = ["predict", "--model", "lraspp_mobilenet_v3_large", "--weights", str(run_dir / "best.pt"),
               "--device", "cpu", "--workers", "2"]
    r = run([exe, *predict, "--out", str(frozen_out), *inputs])
    check("predict --weights best.pt (3 images, 2 decoding workers)", r, len(list(frozen_out.glob("*.png"))) == 3)
    r = run([exe, "predict", "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--crf",
             "--device", "cpu", "--out", str(work / "pred-crf"), inputs[0]])
    check("predict --weights none --crf (pydensecrf)", r)
    r = run([exe, "predict", "--model", "maskrcnn_resnet50_fpn", "--weights", "none", "--score-threshold", "0",
             "--device", "cpu", "--out", str(work / "pred-maskrcnn"), inputs[0]])
    check("predict maskrcnn --weights none (torchvision nms/roi_align)", r)

    if args.pip:
        r = run([args.pip, *predict, "--out", str(pip_out), *inputs])
        check("pip install: same prediction", r)
        for f in sorted(frozen_out.glob("*.png")):
            if f.name.endswith("_instances.png"):
                continue
            a, b = np.asarray(Image.open(f)), np.asarray(Image.open(pip_out / f.name))
            same = a.shape == b.shape and bool((a == b).all())
            print(f"{'ok  ' if same else 'FAIL'} class map {f.name}: frozen == pip "
                  f"({np.unique(a).tolist()} classes present)", flush=True)
            if not same:
                failures.append(f"class map {f.name}")

    image = Path(inputs[0])
    t_frozen, line = startup([exe], image, work / "config-frozen", args.runs)
    print(f"ok   window (frozen): {line}; median start-up {t_frozen:.2f} s", flush=True)
    if args.pip:
        t_pip, line = startup([args.pip], image, work / "config-pip", args.runs)
        print(f"ok   window (pip):    {line}; median start-up {t_pip:.2f} s", flush=True)
        ratio = t_frozen / t_pip
        print(f"start-up frozen / pip = {ratio:.2f} (target <= 1.5)", flush=True)
        if ratio > 1.5:
            failures.append("start-up ratio")
    print("all checks passed" if not failures else f"FAILED: {', '.join(failures)}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
