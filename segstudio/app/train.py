"""Fine-tuning from the app: the Train panel's requests run in a ``TrainWorker``.

``TrainController`` owns the background worker (one run at a time) and drives
the ``TrainPanel`` through its small methods; the window connects to its
signals:

* ``checkpoint_published(path, version)``: a checkpoint that scores at least as well
  as the model in use on the run's validation images was written (the predictor
  loads it for the next prediction); one that scores lower is kept out and
  offered in the panel ("Use it anyway"), see ``handover.HandOver``;
* ``training_started()``, ``training_finished(state)`` ("done" | "cancelled" | "failed");
* ``message(text)``: a line for the status bar;
* ``error(text)``: a problem to show (bad form input, a failed run).

``before_start`` (optional callable) runs first; returning False stops the start
(the window saves the open image there, so training sees the latest edits).
``model_in_use`` (optional callable) returns {"model", "weights"} of the model the
predictor uses now: the run scores it on its validation images before training.
When those weights are a checkpoint file the panel offers "model in use" as the
starting weights (``model_choice_changed``; the window calls it when the Model
panel's choice changes), and after a run's checkpoint is put in use the next run
continues from it, as the loop does: that run ends by blending its starting and
trained weights (``ml.training.blend``).
The job runs in a child process (``mode="process"``, see ``TrainWorker``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot

from segstudio.app.handover import HandOver
from segstudio.app.panels.train_panel import IN_USE
from segstudio.app.train_worker import TrainWorker
from segstudio.app.wording import in_tab_words


class TrainController(QObject):
    checkpoint_published = Signal(str, str)
    training_started = Signal()
    training_finished = Signal(str)
    message = Signal(str)
    error = Signal(str)

    def __init__(self, panel, before_start: Callable[[], bool] | None = None, parent=None,
                 model_in_use: Callable[[], dict | None] | None = None, mode: str = "process"):
        super().__init__(parent)
        self.panel = panel
        self.before_start = before_start
        self.model_in_use = model_in_use
        self.mode = mode
        self.worker: TrainWorker | None = None
        self.last_error: str | None = None
        self.last_checkpoint: tuple[str, str] | None = None
        self.handover = HandOver()
        self.offered = None   # CheckpointInfo of a checkpoint kept out, offered in the panel
        panel.start_requested.connect(self.start)
        panel.cancel_requested.connect(self.cancel)
        panel.use_offered.connect(self.use_offered)
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
        if config.get("weights") == IN_USE:
            in_use = self.model_in_use() if self.model_in_use is not None else None
            if not in_use or not _is_checkpoint(in_use.get("weights")):
                self._on_failed("no fine-tuned model is in use: choose its checkpoint in the Model panel, or "
                                "start from the default weights")
                return False
            from segstudio.ml.registry import get_card

            config.update(model=in_use["model"], weights=in_use["weights"])
            spec["task"] = get_card(in_use["model"]).task
        self.panel.clear_results()
        self.panel.hide_offer()
        self.last_error = None
        self.offered = None
        self.handover = HandOver("mIoU" if spec.get("task", "semantic") == "semantic" else "segm AP")
        incumbent = self.model_in_use() if self.model_in_use is not None else None
        if incumbent and incumbent.get("weights") == "none":
            incumbent = None  # untrained weights: any checkpoint beats them; do not spend time scoring
        worker = TrainWorker(config, spec, self, incumbent=incumbent, mode=self.mode)
        worker.phase.connect(self._on_phase)
        worker.progress.connect(self.panel.show_iteration)
        worker.epoch_done.connect(self.panel.show_epoch)
        worker.incumbent_scored.connect(self._on_incumbent)
        worker.checkpoint_ready.connect(self._on_checkpoint)
        worker.message.connect(self._on_message)
        worker.failed.connect(self._on_failed)
        worker.finished_with.connect(self._on_finished)
        self.worker = worker
        worker.start()
        self.panel.show_starting("starting the training process…")
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

    @Slot()
    def model_choice_changed(self, select: bool = False) -> None:
        """Offer "model in use" as the starting weights while it is a checkpoint file."""
        in_use = self.model_in_use() if self.model_in_use is not None else None
        self.panel.offer_model_in_use(bool(in_use) and _is_checkpoint(in_use.get("weights")), select)

    # -- worker events (GUI thread) -------------------------------------------------------
    def _on_incumbent(self, scored: dict) -> None:
        self.panel.show_status(self.handover.set_incumbent(scored))

    def _on_checkpoint(self, info) -> None:
        """A published checkpoint: in use only if it scores at least as well as the model in use."""
        self.last_checkpoint = (info.path, info.version)
        verdict = self.handover.consider(info.version, info.score)
        self.message.emit(verdict.text)
        if verdict.use:
            self.offered = None
            self.panel.hide_offer()
            self.checkpoint_published.emit(info.path, info.version)
            self.model_choice_changed(select=True)   # the next run continues from it
        else:
            self.offered = info
            self.panel.show_offer(verdict.text)

    @Slot()
    def use_offered(self) -> None:
        """The user takes the checkpoint that was kept out."""
        if self.offered is None:
            return
        info, self.offered = self.offered, None
        self.handover.take(info.version, info.score)
        self.panel.hide_offer()
        self.message.emit(f"{info.version} is now in use, as asked")
        self.checkpoint_published.emit(info.path, info.version)
        self.model_choice_changed(select=True)

    def _on_phase(self, info) -> None:
        self.panel.show_phase(dataclasses.replace(info, text=in_tab_words(info.text)))

    def _on_message(self, text: str) -> None:
        text = in_tab_words(text)
        self.panel.show_status(text)
        self.message.emit(text)

    def _on_failed(self, text: str) -> None:
        text = in_tab_words(text)
        self.last_error = text
        self.panel.show_status(f"error: {text.splitlines()[0]}")
        self.message.emit(f"error: {text}")
        self.error.emit(text)

    def _on_finished(self, state: str, result) -> None:
        if self.worker is not None:
            self.worker.wait()
        self.panel.show_finished(state)
        if state == "done" and result is not None:
            text = f"done: {result.counts()}"
            if self.offered is not None:
                text += f"; {self.offered.version} was kept out (it scored below the model in use)"
            self.panel.show_status(text)
        elif state == "cancelled":
            self.panel.show_status("cancelled; the run can be resumed from last.pt")
        self.panel.set_running(False)
        self.training_finished.emit(state)


def _is_checkpoint(weights) -> bool:
    from pathlib import Path

    return isinstance(weights, str) and weights not in ("default", "none") and Path(weights).is_file()
