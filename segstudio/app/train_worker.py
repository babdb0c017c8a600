"""The background fine-tuning job of the app.

``TrainWorker`` is a long-lived ``QThread`` that opens the data, builds the
``Trainer`` (segstudio.ml.training) and runs it; the Trainer's hook events
arrive as Qt signals (queued to the GUI thread), so the UI never blocks on
training and training never waits for the UI.  Each step holds the shared
device gate with background priority, so interactive predictions get the
device between two steps.  ``cancel()`` (GUI thread) stops the loop at the next
batch boundary; ``last.pt`` is then saved for a later resume.

Signals:

* ``progress(object)``        an ``IterationInfo`` (epoch, iteration, loss, lr, images/s, ETA)
* ``epoch_done(object)``      an ``EpochInfo`` (validation metrics, score, best)
* ``checkpoint_published(str, str)``  path of the new best checkpoint and its version: the
  predictor loads it for the next prediction
* ``message(str)``            a line for a log or status bar
* ``failed(str)``             a user-facing error message (``SegStudioError``) or a bug report
* ``finished(str, object)``   "done" | "cancelled" | "failed", and the ``TrainResult`` (or None)
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QThread, Signal


class TrainWorker(QThread):
    progress = Signal(object)
    epoch_done = Signal(object)
    checkpoint_published = Signal(str, str)
    message = Signal(str)
    failed = Signal(str)
    finished_with = Signal(str, object)

    def __init__(self, config, data_spec, parent=None):
        """``config``: a ``TrainConfig`` or its keyword arguments (a dict, so the GUI thread
        need not import torch); ``data_spec``: a ``DataSpec`` or its keyword arguments."""
        super().__init__(parent)
        self.config = config
        self.data_spec = data_spec
        self._trainer = None
        self._cancel_requested = False
        self.result = None
        self.state = "idle"

    # -- GUI thread ------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop at the next batch boundary (or before training starts)."""
        self._cancel_requested = True
        trainer = self._trainer
        if trainer is not None:
            trainer.cancel()

    # -- worker thread -------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - QThread entry point
        self.state = "running"
        try:
            from segstudio.errors import SegStudioError

            try:
                self._train()
            except SegStudioError as e:
                self._fail(str(e))
            except Exception as e:  # a bug: say so, with the traceback for a report
                self._fail(f"training stopped by an internal error ({type(e).__name__}: {e}); please report it\n"
                           + traceback.format_exc(limit=8))
        finally:
            if self.state == "running":
                self.state = "failed"
            self.finished_with.emit(self.state, self.result)

    def _fail(self, text: str) -> None:
        self.state = "failed"
        self.failed.emit(text)

    def _train(self) -> None:
        from segstudio.ml.data import open_data
        from segstudio.ml.training.hooks import CallbackHook
        from segstudio.ml.training.trainer import Trainer

        from segstudio.ml.data import DataSpec
        from segstudio.ml.training.trainer import TrainConfig

        if isinstance(self.config, dict):
            self.config = TrainConfig(**self.config)
        if isinstance(self.data_spec, dict):
            self.data_spec = DataSpec(**self.data_spec)
        self.message.emit("opening the training data…")
        data = open_data(self.data_spec)
        if self._cancel_requested:
            self.state = "cancelled"
            return
        hook = CallbackHook(iteration=self.progress.emit, epoch=self.epoch_done.emit,
                            checkpoint=lambda info: self.checkpoint_published.emit(info.path, info.version),
                            message=self.message.emit)
        trainer = Trainer(self.config, data, [hook])
        self._trainer = trainer
        if self._cancel_requested:
            trainer.cancel()
        self.message.emit(f"building {self.config.model}…")
        trainer.setup()
        self.message.emit(f"training on {len(data.train)} images ({len(data.val)} for validation), "
                          f"device {trainer.device}")
        self.result = trainer.fit()
        self.state = "cancelled" if self.result.cancelled else "done"
