"""Edit speed and undo memory on a 6000×4000 document, and `segstudio --help` start-up time.

Prints, each against a baseline measured in the same run:
* one radius-25 brush segment including its undo patch vs one full copy of the class map
  (target: ratio <= 1/50).  Segments come from 200 simulated drags: mouse events at integer
  screen positions (zoom 1) along curved paths, 2-10 px apart, on a busy document.  The
  median is reported with the 95th percentile and the cost of a footprint not yet cached;
* memory held by the history after those 200 strokes vs 200 full copies of the class map
  (target: <= 5%);
* wall time of `segstudio --help` (target: <= 0.5 s).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core import edits  # noqa: E402
from segstudio.core.annotation import Annotation  # noqa: E402
from segstudio.core.history import History  # noqa: E402

H, W = 4000, 6000
RADIUS = 25


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def drag_path(rng, n_moves=20):
    p = rng.uniform([300, 300], [W - 300, H - 300])
    angle = rng.uniform(0, 2 * np.pi)
    pts = [p.round()]
    for _ in range(n_moves):
        angle += rng.normal(0, 0.3)
        p = p + rng.uniform(2, 10) * np.array([np.cos(angle), np.sin(angle)])
        pts.append(p.round())
    return [(float(x), float(y)) for x, y in pts]


def main() -> None:
    rng = np.random.default_rng(0)
    doc = Annotation.blank(H, W)
    doc.class_map[:] = rng.integers(0, 21, (H, W), dtype=np.uint8)  # a busy document
    copy_t = median_time(lambda: doc.class_map.copy(), 30)

    paths = [drag_path(rng) for _ in range(200)]
    hist = History(max_bytes=1 << 40)
    seg_times = []
    for s, pts in enumerate(paths):
        with hist.step("brush"):
            for a, b in zip(pts, pts[1:]):
                t = time.perf_counter()
                hist.add(edits.paint_segment(doc, a, b, RADIUS, class_id=1 + s % 20))
                seg_times.append(time.perf_counter() - t)
    seg_t = statistics.median(seg_times)
    p95 = float(np.percentile(seg_times, 95))

    def cold():
        edits._capsule.cache_clear()
        edits.paint_segment(doc, (3000.0, 2000.0), (3007.0, 2003.0), RADIUS, class_id=5)

    cold_t = median_time(cold, 50)
    print(f"brush segment r={RADIUS} incl. undo patch: median {seg_t * 1e3:.3f} ms "
          f"(p95 {p95 * 1e3:.3f} ms, footprint not cached {cold_t * 1e3:.3f} ms); "
          f"full class-map copy {copy_t * 1e3:.2f} ms; ratio {seg_t / copy_t:.4f} (target <= {1 / 50:.3f})")

    full = 200 * doc.class_map.nbytes
    print(f"history after 200 strokes: {hist.nbytes / 1e6:.1f} MB; 200 full class-map copies: "
          f"{full / 1e6:.0f} MB; ratio {hist.nbytes / full:.4f} (target <= 0.05)")

    repo = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "segstudio", "--help"]
    subprocess.run(cmd, cwd=repo, capture_output=True)  # warm the file cache
    py_t = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True), 7)
    help_t = median_time(lambda: subprocess.run(cmd, cwd=repo, capture_output=True, check=True), 7)
    print(f"segstudio --help: {help_t * 1e3:.0f} ms (bare python start: {py_t * 1e3:.0f} ms; "
          f"ratio {help_t / py_t:.1f}; target <= 500 ms)")


if __name__ == "__main__":
    main()
