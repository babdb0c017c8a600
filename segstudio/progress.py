"""A small terminal progress bar for long CLI work (stderr, only on a terminal)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, total: int | None, label: str = "", stream=None, enabled: bool | None = None):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.count = 0
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, n: int = 1, info: str = "") -> None:
        self.count += n
        self._draw(info)

    def set(self, count: int, total: int | None = None, info: str = "") -> None:
        self.count = count
        if total is not None:
            self.total = total
        self._draw(info)

    def _draw(self, info: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and (self.total is None or self.count < self.total):
            return
        self._last = now
        elapsed = now - self.start
        if self.total:
            frac = min(1.0, self.count / self.total)
            bar = "#" * int(frac * 30)
            eta = elapsed / frac - elapsed if frac > 0 else 0.0
            text = f"\r{self.label} [{bar:<30}] {self.count}/{self.total} {elapsed:5.0f}s eta {eta:4.0f}s {info}"
        else:
            text = f"\r{self.label} {self.count} {elapsed:5.0f}s {info}"
        self.stream.write(text[:160].ljust(80))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw("", force=True)
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
