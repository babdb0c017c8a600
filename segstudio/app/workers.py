"""Background jobs: torch, the CRF and batch work never run on the GUI thread.

A ``Job`` runs a plain function ``fn(ctx)`` in a ``QThreadPool``.
``ctx.progress(done, total, message)`` reports progress (and raises
``Cancelled`` once the job is cancelled), ``ctx.cancelled()`` asks, and
``ctx.partial(value)`` hands one piece of a batch to the GUI thread.  Every job
carries the image key and a generation number; ``JobRunner.is_current``
tells the receiver whether a result still matters (a newer request or a
cancel bumps the generation, so older results are dropped).
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from segstudio.errors import Cancelled, SegStudioError  # noqa: F401  (Cancelled is re-exported)


@dataclass
class JobResult:
    kind: str
    key: str | None
    generation: int
    value: Any


class JobSignals(QObject):
    progress = Signal(int, int, str)     # done, total, message
    partial = Signal(object)             # JobResult with one piece of a batch
    result = Signal(object)              # JobResult
    error = Signal(str)                  # a message a user understands
    finished = Signal(str)               # "done" | "cancelled" | "failed"


class Job(QRunnable):
    def __init__(self, kind: str, key: str | None, generation: int,
                 fn: Callable[["Job"], Any]):
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps the Python object until finished
        self.kind, self.key, self.generation, self.fn = kind, key, generation, fn
        self.signals = JobSignals()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    # -- the context handed to the job function ---------------------------
    def progress(self, done: int, total: int, message: str = "") -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.signals.progress.emit(int(done), int(total), str(message))

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def partial(self, key: str | None, value: Any) -> None:
        self.check()
        self.signals.partial.emit(JobResult(self.kind, key, self.generation, value))

    def run(self) -> None:
        try:
            value = self.fn(self)
            if self._cancel.is_set():
                raise Cancelled()
            self.signals.result.emit(JobResult(self.kind, self.key, self.generation, value))
            self.signals.finished.emit("done")
        except Cancelled:
            self.signals.finished.emit("cancelled")
        except SegStudioError as e:
            if self._cancel.is_set():  # a layer noticed the cancel in its own way
                self.signals.finished.emit("cancelled")
                return
            self.signals.error.emit(str(e))
            self.signals.finished.emit("failed")
        except MemoryError:
            self.signals.error.emit("out of memory; try a smaller model, the CPU, or a smaller image")
            self.signals.finished.emit("failed")
        except Exception as e:  # a bug: show it rather than lose it (and keep it in the log)
            logging.getLogger("segstudio").exception("background job %r failed", self.kind)
            self.signals.error.emit(f"unexpected error ({type(e).__name__}: {e}); please report it")
            self.signals.finished.emit("failed")


class JobRunner(QObject):
    """Starts jobs, keeps them alive while they run, and knows which results are current."""

    def __init__(self, max_threads: int = 1, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._serial = itertools.count(1)
        self._current: dict[str, int] = {}
        self._running: set[Job] = set()

    def submit(self, kind: str, key: str | None, fn, connect: Callable[[Job], None] | None = None) -> Job:
        """Queue ``fn``; earlier jobs of the same kind become stale (and are cancelled).

        ``connect(job)`` runs before the job starts: connect its signals there,
        or early reports from the worker thread would find no receiver.
        """
        self.cancel(kind)
        gen = next(self._serial)
        self._current[kind] = gen
        job = Job(kind, key, gen, fn)
        self._running.add(job)
        job.signals.finished.connect(lambda _state, j=job: self._running.discard(j))
        if connect is not None:
            connect(job)
        self.pool.start(job)
        return job

    def cancel(self, kind: str) -> None:
        self._current[kind] = next(self._serial)
        for job in list(self._running):
            if job.kind == kind:
                job.cancel()

    def is_current(self, result: JobResult, key: str | None = None) -> bool:
        return (self._current.get(result.kind) == result.generation
                and (key is None or result.key is None or key == result.key))

    def running(self, kind: str | None = None) -> list[Job]:
        return [j for j in self._running if kind is None or j.kind == kind]

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
