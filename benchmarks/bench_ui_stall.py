"""Does the GUI stay responsive while the Train tab trains and fits the CRF? (CamVid, CPU)

A Qt event loop (offscreen) runs a 5 ms timer and records every gap between
two ticks; a stall is a gap longer than the timer's interval.  Three phases,
each measured the same way in the same run:

* idle: the window's Train panel with nothing running (the machine's own noise);
* process: the Train tab's job as the app runs it, in a child process;
* thread: the same job in a thread of the GUI's process (the old way).

The job: LR-ASPP from random weights on CamVid train (``--iterations`` steps at
crop 128, batch 8), validation on the held-out tenth, then the dense CRF fit
(``--crf-seconds``).  Printed per phase: ticks, the longest stall, the 99th
percentile and how many stalls exceeded 50 ms.  Target: no stall over 50 ms
while training (process mode); compare with idle to see the machine's share.

    python benchmarks/bench_ui_stall.py [--iterations 30] [--crf-seconds 20] [--idle 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import CAMVID_CLASSES, VOID, find_camvid  # noqa: E402

TICK_MS = 5


class StallMeter:
    def __init__(self, app):
        from PySide6.QtCore import QTimer

        self.app = app
        self.gaps: list[float] = []
        self.last = None
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        if self.last is not None:
            self.gaps.append((now - self.last) * 1000 - TICK_MS)
        self.last = now

    def start(self):
        self.gaps, self.last = [], None
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return list(self.gaps)


def report(name: str, gaps: list[float], seconds: float) -> float:
    worst = max(gaps) if gaps else 0.0
    p99 = statistics.quantiles(gaps, n=100)[98] if len(gaps) >= 100 else worst
    over = sum(g > 50 for g in gaps)
    print(f"{name:<8} {seconds:6.0f} s {len(gaps):7d} ticks   longest stall {worst:7.1f} ms   99th pct {p99:6.1f} ms"
          f"   stalls > 50 ms: {over}", flush=True)
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--crf-seconds", type=float, default=20.0)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of the idle baseline (10)")
    ap.add_argument("--modes", default="process,thread")
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from segstudio.app.panels.train_panel import TrainPanel
    from segstudio.app.train import TrainController

    root = find_camvid(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-ui-stall-"))
    labels = work / "labels.txt"
    labels.write_text("\n".join(CAMVID_CLASSES) + "\n", "utf-8")
    app = QApplication.instance() or QApplication([])
    meter = StallMeter(app)
    panel = TrainPanel()
    panel.resize(420, 900)
    panel.show()
    print(f"load avg {open('/proc/loadavg').read().split()[0]}; timer every {TICK_MS} ms; job: {args.iterations} "
          f"steps (crop 128, batch 8), validation, CRF fit {args.crf_seconds:g} s", flush=True)

    from PySide6.QtCore import QEventLoop, QTimer

    meter.start()
    loop = QEventLoop()
    QTimer.singleShot(int(args.idle * 1000), loop.quit)
    loop.exec()
    worst = {"idle": report("idle", meter.stop(), args.idle)}
    for mode in args.modes.split(","):
        ctl = TrainController(panel, mode=mode)
        panel.set_project(None)
        panel.data_path.setText(str(root / "train"))
        panel.masks_path.setText(str(root / "trainannot"))
        panel.labels_path.setText(str(labels))
        panel.void_ids.setText(str(VOID))
        panel.weights.setCurrentText("none")
        panel.epochs.setValue(1)
        panel.auto_size.setChecked(False)
        panel.batch.setValue(8)
        panel.crop.setValue(128)
        panel.out_path.setText(str(work / mode))
        done = []
        loop = QEventLoop()
        ctl.training_finished.connect(done.append)
        ctl.training_finished.connect(loop.quit)
        meter.start()
        t0 = time.perf_counter()
        ok = ctl.start({"device": "cpu", "max_iterations": args.iterations, "crf_fit_seconds": args.crf_seconds})
        if not ok:
            print(f"{mode}: could not start: {ctl.last_error}")
            return 1
        loop.exec()
        gaps = meter.stop()
        if done[0] != "done":
            print(f"{mode}: the job ended {done[0]}: {ctl.last_error}")
        worst[mode] = report(mode, gaps, time.perf_counter() - t0)
        ctl.training_finished.disconnect()
        ctl.deleteLater()
    target = worst.get("process")
    if target is not None:
        print(f"\nlongest GUI stall while the app trains and fits the CRF (child process): {target:.1f} ms "
              f"(target <= 50; idle baseline {worst['idle']:.1f} ms): {'OK' if target <= 50 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
