"""Trainer hooks: side effects (progress bars, logs, the app's signals) without touching the loop.

A hook subclasses ``Hook`` and overrides what it needs.  Only the main process
(rank 0) calls hooks.  They run on the training thread: keep them quick.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field


@dataclass
class IterationInfo:
    epoch: int                 # 0-based
    epochs: int | None         # None with a time budget only
    iteration: int             # optimizer steps done (1-based after the first)
    total_iterations: int      # current estimate with a time budget
    loss: float
    lr: float
    images_per_s: float
    eta_s: float
    batch_size: int
    skipped: bool = False      # no valid (non-void) pixel: no step was taken


@dataclass
class EpochInfo:
    epoch: int
    iteration: int
    metrics: dict              # Metrics.to_json(names) or {"segm_ap": ...}
    score: float | None        # mIoU or segm AP
    best: bool
    train_loss: float | None = None


@dataclass
class CheckpointInfo:
    path: str
    version: str
    epoch: int
    iteration: int
    score: float | None
    best: bool = True


@dataclass
class PhaseInfo:
    """Work outside the training steps, so a progress display never looks stuck: "data",
    "model", "sizing", "first step", "validating", "crf" (fitting the dense CRF), "incumbent"
    (scoring the model in use) ...; ``total`` 0 when unknown."""

    phase: str
    done: int
    total: int
    text: str


@dataclass
class TrainResult:
    epochs_done: int
    iterations: int
    best_score: float | None
    best_path: str | None
    last_path: str | None
    cancelled: bool = False
    history: list = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def counts(self) -> str:
        """What the run did, in words: "2 epochs, 1 iteration"."""
        e, i = self.epochs_done, self.iterations
        return f"{e} epoch{'s' if e != 1 else ''}, {i} iteration{'s' if i != 1 else ''}"


class Hook:
    def on_start(self, trainer) -> None: ...
    def on_iteration(self, trainer, info: IterationInfo) -> None: ...
    def on_epoch(self, trainer, info: EpochInfo) -> None: ...
    def on_checkpoint(self, trainer, info: CheckpointInfo) -> None: ...
    def on_message(self, trainer, text: str) -> None: ...
    def on_phase(self, trainer, info: PhaseInfo) -> None: ...
    def on_end(self, trainer, result: TrainResult) -> None: ...


class CallbackHook(Hook):
    """Forward events to plain callables (scripts and tests)."""

    def __init__(self, iteration=None, epoch=None, checkpoint=None, message=None, end=None, phase=None):
        self._it, self._ep, self._ck, self._msg, self._end = iteration, epoch, checkpoint, message, end
        self._phase = phase

    def on_iteration(self, trainer, info):
        if self._it:
            self._it(info)

    def on_epoch(self, trainer, info):
        if self._ep:
            self._ep(info)

    def on_checkpoint(self, trainer, info):
        if self._ck:
            self._ck(info)

    def on_message(self, trainer, text):
        if self._msg:
            self._msg(text)

    def on_phase(self, trainer, info):
        if self._phase:
            self._phase(info)

    def on_end(self, trainer, result):
        if self._end:
            self._end(result)


class JsonLogHook(Hook):
    """Append one JSON line per epoch to a log file (``metrics.jsonl`` in the output folder)."""

    def __init__(self, path):
        self.path = path

    def on_epoch(self, trainer, info):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"epoch": info.epoch, "iteration": info.iteration, "score": info.score,
                                "best": info.best, "train_loss": info.train_loss,
                                "metrics": info.metrics}) + "\n")


class PrintHook(Hook):
    """Epoch summaries and messages as lines on a stream (the CLI)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def on_epoch(self, trainer, info):
        score = "-" if info.score is None else f"{100 * info.score:.2f}"
        loss = "-" if info.train_loss is None else f"{info.train_loss:.4f}"
        self.stream.write(f"epoch {info.epoch + 1}: train loss {loss}, val {trainer.score_name} {score}"
                          f"{' (best)' if info.best else ''}\n")
        self.stream.flush()

    def on_message(self, trainer, text):
        self.stream.write(text + "\n")
        self.stream.flush()
