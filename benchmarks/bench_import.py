"""COCO import at scale: speed and peak memory against pycocotools' own loading.

Real COCO train (~450 MB, 118k images) must import with memory bounded by
the parsed JSON plus the largest image's masks.  This script writes a large
synthetic COCO instances file (default about 52 MB: 15,000 images of 160×120
with 7 polygons of 24 points each, 4 % crowd RLEs), then runs, each in a
fresh child process so their peaks do not mix:

* ``idle``: the interpreter with segstudio and pycocotools imported (the floor);
* ``pycocotools``: ``COCO(file)`` - json.load plus its index, the baseline;
* ``import``: ``segstudio import`` of the same file into a new project:
  reading and checking the JSON, copying every image, rasterising and saving
  every annotation (class map, instance map, user mask, table).

It prints, per run, the seconds, the images per second and the peak resident
memory (``ru_maxrss`` of the child); for the import also the seconds until the
JSON was read and checked (the first progress report).  The figure to watch is
``import peak / pycocotools peak``: the import holds the parsed JSON (as
pycocotools does) plus one image's masks, so the ratio stays near 1 and does
not grow with the number of images.  ``--tracemalloc`` adds the import's peak
of traced Python+numpy allocations (slower).

The image files are hard links to one small PNG (the import still copies each
one's bytes into the project), so the data costs little disk.

Usage: python benchmarks/bench_import.py [--images N] [--anns K] [--points P] [--size WxH] [--keep DIR]
       [--tracemalloc]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024


# -- the data --------------------------------------------------------------------------------
def make_dataset(folder: Path, n_images: int, anns: int, points: int, size: tuple[int, int] = (160, 120),
                 seed: int = 0) -> Path:
    import numpy as np
    from PIL import Image
    from pycocotools import mask as mask_utils

    W, H = size
    rng = np.random.default_rng(seed)
    img_dir = folder / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:H, :W]
    Image.fromarray(np.dstack([xx * 255 // W, yy * 255 // H, (xx + yy) % 256]).astype(np.uint8)).save(
        img_dir / "template.png")
    cats = [{"id": cid, "name": f"thing {cid}", "supercategory": "thing"} for cid in range(1, 91, 2)]
    ann_id = 0
    path = folder / "instances_train.json"
    with open(path, "w", encoding="ascii") as f:
        f.write('{"info": {"description": "synthetic"}, "licenses": [], "categories": ')
        f.write(json.dumps(cats))
        f.write(', "images": [')
        for i in range(n_images):
            name = f"images/{i // 1000:03d}/{i:07d}.png"
            dst = folder / name
            dst.parent.mkdir(exist_ok=True)
            try:
                os.link(img_dir / "template.png", dst)
            except OSError:
                shutil.copyfile(img_dir / "template.png", dst)
            f.write(("," if i else "") + json.dumps({"id": i + 1, "file_name": name, "width": W, "height": H}))
        f.write('], "annotations": [')
        ang = np.linspace(0, 2 * np.pi, points, endpoint=False)
        for i in range(n_images):
            for _ in range(anns):
                ann_id += 1
                cx, cy = rng.uniform(10, W - 10), rng.uniform(10, H - 10)
                r = rng.uniform(4, 30) * (W / 160) * rng.uniform(0.6, 1.0, points)
                poly = np.stack([np.clip(cx + r * np.cos(ang), 0, W), np.clip(cy + r * np.sin(ang), 0, H)], 1)
                crowd = rng.random() < 0.04
                if crowd:
                    m = np.zeros((H, W), np.uint8, order="F")
                    m[int(cy) - 5:int(cy) + 5, int(cx) - 8:int(cx) + 8] = 1
                    rle = mask_utils.encode(m)
                    seg = {"size": [H, W], "counts": rle["counts"].decode("ascii")}
                else:
                    seg = [[round(float(v), 2) for v in poly.ravel()]]
                f.write(("," if ann_id > 1 else "") + json.dumps({
                    "id": ann_id, "image_id": i + 1, "category_id": int(rng.choice([c["id"] for c in cats])),
                    "segmentation": seg, "area": 100.0, "bbox": [cx - 5, cy - 5, 10, 10], "iscrowd": int(crowd)}))
        f.write("]}\n")
    return path


# -- the runs (each in its own process) -------------------------------------------------------
def child(mode: str, json_path: str, out: str | None, trace: bool) -> dict:
    import contextlib
    import io

    from pycocotools.coco import COCO

    from segstudio.formats.imports import import_coco

    result: dict = {"mode": mode}
    t0 = time.perf_counter()
    if mode == "pycocotools":
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(json_path)
        result["images"] = len(coco.imgs)
    elif mode == "import":
        import tracemalloc

        if trace:
            tracemalloc.start()
        marks: dict = {}

        def progress(done: int, total: int, message: str) -> None:
            marks.setdefault("first", time.perf_counter() - t0)

        project = import_coco(json_path, out, progress=progress)
        result["images"] = len(project.images)
        result["read_seconds"] = marks.get("first")
        if trace:
            result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / (1 << 20)
    result["seconds"] = time.perf_counter() - t0
    result["maxrss_mb"] = _maxrss_mb()
    return result


def run_child(mode: str, json_path: Path, out: Path | None = None, trace: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, str(json_path)] + ([str(out)] if out else [])
    cmd += ["--tracemalloc"] if trace else []
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    if r.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=15000)
    ap.add_argument("--anns", type=int, default=7, help="annotations per image")
    ap.add_argument("--points", type=int, default=24, help="points per polygon")
    ap.add_argument("--size", default="160x120", help="image size WxH (160x120)")
    ap.add_argument("--keep", type=Path, help="write the data here and keep it (default: a temporary folder)")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace the import's Python allocations")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, json_path, *out = args.child
        print(json.dumps(child(mode, json_path, out[0] if out else None, args.tracemalloc)))
        return
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        t = time.perf_counter()
        json_path = base / "data" / "instances_train.json"
        if not json_path.exists():
            size = tuple(int(v) for v in args.size.lower().split("x"))
            json_path = make_dataset(base / "data", args.images, args.anns, args.points, size)
        size_mb = json_path.stat().st_size / 1e6
        print(f"data: {args.images} images of {args.size}, {args.images * args.anns} annotations, {json_path.name} "
              f"{size_mb:.1f} MB (made in {time.perf_counter() - t:.0f} s)")
        idle = run_child("idle", json_path)
        coco = run_child("pycocotools", json_path)
        shutil.rmtree(base / "project", ignore_errors=True)
        imp = run_child("import", json_path, base / "project", args.tracemalloc)
        print(f"{'run':<14}{'seconds':>9}{'images/s':>10}{'peak RSS MB':>13}{'above idle MB':>15}")
        for r in (idle, coco, imp):
            ips = f"{r['images'] / r['seconds']:.0f}" if r.get("images") else "-"
            print(f"{r['mode']:<14}{r['seconds']:>9.1f}{ips:>10}{r['maxrss_mb']:>13.0f}"
                  f"{r['maxrss_mb'] - idle['maxrss_mb']:>15.0f}")
        print(f"import: JSON read and checked after {imp['read_seconds']:.1f} s "
              f"(pycocotools loads it in {coco['seconds']:.1f} s)")
        if "traced_peak_mb" in imp:
            print(f"import: traced peak {imp['traced_peak_mb']:.0f} MB")
        above = (imp["maxrss_mb"] - idle["maxrss_mb"]) / max(1.0, coco["maxrss_mb"] - idle["maxrss_mb"])
        print(f"peak memory above idle, import / pycocotools: {above:.2f} "
              f"(target: about 1 - the parsed JSON plus one image's masks)")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
