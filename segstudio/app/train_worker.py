"""The background fine-tuning job of the app.

``TrainWorker`` is a ``QThread`` that starts the training job
(``segstudio.ml.training.remote.run_job``) in a child process — so neither the
GIL nor pydensecrf can stall the GUI — and turns its events into Qt signals
(queued to the GUI thread): the UI never blocks on training and training never
waits for the UI.  ``mode="thread"`` runs the same job in a thread of this
process instead (tests that patch the training code use it).  ``cancel()`` (GUI
thread) stops the loop at the next batch boundary; ``last.pt`` is then saved
for a later resume.  The child's device budget is its own: on a shared GPU the
interactive predictor and the child each hold their memory.

Signals:

* ``phase(object)``           a ``PhaseInfo``: work outside the training steps (opening the
  data, scoring the model in use, building, the first step, validating, fitting the CRF)
* ``progress(object)``        an ``IterationInfo`` (epoch, iteration, loss, lr, images/s, ETA)
* ``epoch_done(object)``      an ``EpochInfo`` (validation metrics, score, best)
* ``incumbent_scored(object)``  the model in use scored on the validation images (a dict, see
  ``remote.score_incumbent``)
* ``checkpoint_ready(object)``  a ``CheckpointInfo`` (path, version, score) of a published checkpoint
* ``checkpoint_published(str, str)``  path and version of it (kept for simple listeners)
* ``message(str)``            a line for a log or status bar
* ``failed(str)``             a user-facing error message (``SegStudioError``) or a bug report
* ``finished_with(str, object)``  "done" | "cancelled" | "failed", and the ``TrainResult`` (or None)
"""

from __future__ import annotations

import dataclasses
import queue
import threading

from PySide6.QtCore import QThread, Signal

POLL_S = 0.1


class TrainWorker(QThread):
    phase = Signal(object)
    progress = Signal(object)
    epoch_done = Signal(object)
    incumbent_scored = Signal(object)
    checkpoint_ready = Signal(object)
    checkpoint_published = Signal(str, str)
    message = Signal(str)
    failed = Signal(str)
    finished_with = Signal(str, object)

    def __init__(self, config, data_spec, parent=None, incumbent: dict | None = None, mode: str = "process"):
        """``config``: a ``TrainConfig`` or its keyword arguments (a dict, so the GUI thread
        need not import torch); ``data_spec``: a ``DataSpec`` or its keyword arguments;
        ``incumbent``: {"model", "weights"} of the model in use, scored on the validation images
        before training (None: nothing to compare with)."""
        super().__init__(parent)
        if mode not in ("process", "thread"):
            raise ValueError(f"mode must be 'process' or 'thread', not {mode!r}")
        self.config = config if isinstance(config, dict) else dataclasses.asdict(config)
        self.data_spec = data_spec if isinstance(data_spec, dict) else dataclasses.asdict(data_spec)
        self.incumbent = incumbent
        self.mode = mode
        self._cancel_requested = False
        self._cancel = None
        self.result = None
        self.state = "idle"
        self.exit_code: int | None = None
        self.pid: int | None = None     # the child process's id (process mode)

    # -- GUI thread ------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop at the next batch boundary (or before training starts)."""
        self._cancel_requested = True
        if self._cancel is not None:
            self._cancel.set()

    # -- worker thread -------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - QThread entry point
        from segstudio.ml.training.remote import run_job

        self.state = "running"
        job = {"config": self.config, "spec": self.data_spec, "incumbent": self.incumbent}
        if self.mode == "process":
            import multiprocessing as mp

            ctx = mp.get_context("spawn")  # never fork a process that runs Qt
            events, self._cancel = ctx.Queue(), ctx.Event()
            runner = ctx.Process(target=run_job, args=(job, events, self._cancel), daemon=True,
                                 name="segstudio-finetune")
        else:
            events, self._cancel = queue.Queue(), threading.Event()
            runner = threading.Thread(target=run_job, args=(job, events, self._cancel), daemon=True,
                                      name="segstudio-finetune")
        if self._cancel_requested:
            self._cancel.set()
        ended = started = False
        try:
            try:
                runner.start()
                started = True
            except (OSError, RuntimeError) as e:  # no new process or thread could be made
                self._fail(f"the training could not start: {e}. Close other programs and try again; "
                           "nothing was changed")
                ended = True
            self.pid = getattr(runner, "pid", None)
            while not ended:
                try:
                    kind, payload = events.get(timeout=POLL_S)
                except queue.Empty:
                    if not runner.is_alive():
                        try:  # anything still in the pipe goes first
                            kind, payload = events.get(timeout=POLL_S)
                        except queue.Empty:
                            break
                    else:
                        continue
                ended = self._dispatch(kind, payload)
        finally:
            if started:
                runner.join(timeout=30)
            self.exit_code = getattr(runner, "exitcode", None)
            if self.state == "running":
                if not ended:
                    self._fail(f"the training process ended unexpectedly (exit code {self.exit_code}); "
                               "its last checkpoint (last.pt) can be resumed")
                else:
                    self.state = "failed"
            self.finished_with.emit(self.state, self.result)

    def _dispatch(self, kind: str, payload) -> bool:
        """Emit one event; True when it ends the job."""
        if kind == "iteration":
            self.progress.emit(payload)
        elif kind == "epoch":
            self.epoch_done.emit(payload)
        elif kind == "checkpoint":
            self.checkpoint_ready.emit(payload)
            self.checkpoint_published.emit(payload.path, payload.version)
        elif kind == "phase":
            self.phase.emit(payload)
        elif kind == "message":
            self.message.emit(payload)
        elif kind == "incumbent":
            self.incumbent_scored.emit(payload)
        elif kind == "failed":
            self._fail(payload)
            return True
        elif kind == "result":
            self.result = payload
            self.state = "cancelled" if payload is None or payload.cancelled else "done"
            return True
        return False

    def _fail(self, text: str) -> None:
        self.state = "failed"
        self.failed.emit(text)
