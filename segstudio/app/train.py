"""Fine-tuning from the app: the Train panel's requests run in a ``TrainWorker``.

``TrainController`` owns the background worker (one run at a time) and drives
the ``TrainPanel`` through its small methods; the window connects to its
signals:

* ``checkpoint_published(path, version)``: a better checkpoint was written (the
  predictor loads it for the next prediction);
* ``training_started()``, ``training_finished(state)`` ("done" | "cancelled" | "failed");
* ``message(text)``: a line for the status bar;
* ``error(text)``: a problem to show (bad form input, a failed run).

``before_start`` (optional callable) runs first; returning False stops the start
(the window saves the open image there, so training sees the latest edits).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot

from segstudio.app.train_worker import TrainWorker


class TrainController(QObject):
    checkpoint_published = Signal(str, str)
    training_started = Signal()
    training_finished = Signal(str)
    message = Signal(str)
    error = Signal(str)

    def __init__(self, panel, before_start: Callable[[], bool] | None = None, parent=None):
        super().__init__(parent)
        self.panel = panel
        self.before_start = before_start
        self.worker: TrainWorker | None = None
        self.last_error: str | None = None
        self.last_checkpoint: tuple[str, str] | None = None
        panel.start_requested.connect(self.start)
        panel.cancel_requested.connect(self.cancel)
        self._load_models()

    def _load_models(self) -> None:
        """The registry reads small JSON cards; torch is not imported for this."""
        from segstudio.errors import SegStudioError
        from segstudio.ml.registry import model_names

        try:
            self.panel.set_models(model_names())
        except SegStudioError as e:
            self.panel.show_status(f"no models available: {e}")

    # -- requests -----------------------------------------------------------------
    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    @Slot()
    def start(self, config_overrides: dict | None = None) -> bool:
        """Start training with the panel's settings (``config_overrides`` for scripted use)."""
        if self.is_running():
            return False
        if self.before_start is not None and not self.before_start():
            return False
        try:
            config, spec = self.panel.form_kwargs()
        except Exception as e:  # form problems and unknown models: tell the user
            self._on_failed(str(e))
            return False
        config.update(config_overrides or {})
        self.panel.clear_results()
        self.last_error = None
        worker = TrainWorker(config, spec, self)
        worker.progress.connect(self.panel.show_iteration)
        worker.epoch_done.connect(self.panel.show_epoch)
        worker.checkpoint_published.connect(self._on_checkpoint)
        worker.message.connect(self._on_message)
        worker.failed.connect(self._on_failed)
        worker.finished_with.connect(self._on_finished)
        self.worker = worker
        worker.start()
        self.panel.show_status("starting…")
        self.panel.set_running(True)
        self.training_started.emit()
        return True

    @Slot()
    def cancel(self) -> None:
        if self.is_running():
            self.worker.cancel()
            self.panel.show_status("cancelling at the end of this batch…")

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the worker (on window close); True when it has stopped."""
        if self.worker is None:
            return True
        self.worker.cancel()
        return self.worker.wait(timeout_ms)

    # -- worker events (GUI thread) -------------------------------------------------------
    def _on_checkpoint(self, path: str, version: str) -> None:
        self.last_checkpoint = (path, version)
        self.message.emit(f"published {version}: {path}")
        self.checkpoint_published.emit(path, version)

    def _on_message(self, text: str) -> None:
        self.panel.show_status(text)
        self.message.emit(text)

    def _on_failed(self, text: str) -> None:
        self.last_error = text
        self.panel.show_status(f"error: {text.splitlines()[0]}")
        self.message.emit(f"error: {text}")
        self.error.emit(text)

    def _on_finished(self, state: str, result) -> None:
        if state == "done" and result is not None:
            self.panel.show_status(f"done: {result.epochs_done} epochs, {result.iterations} iterations")
        elif state == "cancelled":
            self.panel.show_status("cancelled; the run can be resumed from last.pt")
        if self.worker is not None:
            self.worker.wait()
        self.panel.set_running(False)
        self.training_finished.emit(state)
