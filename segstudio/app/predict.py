"""Prediction from the app: requests go to a worker, results come back as undo steps.

``PredictController`` sends "predict this image" / "predict all" to a
``JobRunner``.  A result is applied only if it is still current (same image,
newest request); an accepted prediction is one undo step and keeps the pixels
the user painted unless the panel says otherwise.  Results of "predict all"
for images other than the open one go straight into the project files.

Before predicting over labels a person made (painted, imported, reviewed) the
controller asks what to do (``predict_plan``; ``ask`` is replaceable for
tests), and a prediction that changes nothing leaves the image as it was.
Opening another folder cancels what is running for the previous one.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from segstudio.app import predict_job
from segstudio.app.download_dialog import DownloadDialog
from segstudio.app.predict_plan import CANCEL, SKIP_LABELLED, Question, predict_all_question, predict_question
from segstudio.app.workers import JobResult, JobRunner
from segstudio.app.wording import in_model_panel_words
from segstudio.core import edits
from segstudio.errors import SegStudioError

KIND = "predict"


def ask_dialog(parent, question: Question):
    """Show ``question`` with its buttons; the chosen answer (CANCEL when closed)."""
    box = QMessageBox(QMessageBox.Icon.Question, question.title, question.text, QMessageBox.StandardButton.NoButton,
                      parent)
    buttons = [box.addButton(text, QMessageBox.ButtonRole.RejectRole if answer == CANCEL
                             else QMessageBox.ButtonRole.AcceptRole) for text, answer in question.choices]
    box.setDefaultButton(buttons[question.default])
    box.exec()
    clicked = box.clickedButton()
    return next((answer for b, (_, answer) in zip(buttons, question.choices) if b is clicked), CANCEL)


class PredictController(QObject):
    error = Signal(str)
    applied = Signal(str)     # key of the image a prediction was applied to
    finished = Signal(str)    # "done" | "cancelled" | "failed", for every request

    def __init__(self, document, panel, settings, parent=None):
        super().__init__(parent)
        self.document, self.panel, self.settings = document, panel, settings
        self.runner = JobRunner(max_threads=1, parent=self)
        self.dropped = 0  # stale results thrown away (for tests and the status line)
        self.download = DownloadDialog(lambda: self.panel.window(), self.cancel)
        self._choice = None
        self.job = None                       # the latest request's job
        self._message_key: str | None = None  # the image the panel's message is about
        self._undo_hint: str | None = None    # that message without its "Ctrl+Z undoes it"
        self.ask = lambda question: ask_dialog(self.panel.window(), question)
        panel.predict_this.connect(self.predict_this)
        panel.predict_all.connect(self.predict_all)
        panel.cancel.connect(self.cancel)
        panel.choice_changed.connect(self._remember_choice)
        document.project_opened.connect(self._on_project_opened)
        document.image_opened.connect(self._on_image_opened)
        document.edited.connect(self._on_later_edit)
        self._load_models()

    # -- model list ---------------------------------------------------------------------
    def _load_models(self) -> None:
        """The registry reads small JSON cards; torch is not imported for this."""
        try:
            entries = predict_job.model_entries()
        except (SegStudioError, ImportError) as e:
            self.panel.show_message(f"no models available: {e}")
            entries = []
        s = self.settings
        self.panel.set_models(entries, s.get("model"))
        self.panel.set_choice(weights=s.get("weights"), crf=s.get("crf"), score_threshold=s.get("score_threshold"))
        self._show_crf_settings()

    @Slot()
    def _remember_choice(self) -> None:
        c = self.panel.choice()
        if c is not None:
            self.settings.set("model", c.model)
            self.settings.set("weights", c.weights)
            self.settings.set("crf", c.crf)
            self.settings.set("score_threshold", c.score_threshold)
        self._show_crf_settings()

    def _show_crf_settings(self) -> None:
        """The CRF box shows what the chosen weights come with: a checkpoint card's fitted settings
        (or that the CRF did not help it), else the model card's."""
        from segstudio.ml.usage import checkpoint_card, crf_display, usage_of

        c = self.panel.choice()
        if c is not None:
            card = checkpoint_card(c.weights)  # read once for both lines
            params, note, _ = crf_display(c.model, card)
            self.panel.show_crf_settings(params, note)
            self.panel.show_card_summary(usage_of(card).summary)

    # -- requests -------------------------------------------------------------------------
    def _start(self, keys: list[str], single: bool, keep_user: bool | None = None) -> bool:
        doc = self.document
        choice = self.panel.choice()
        if choice is not None and keep_user is not None:
            choice = dataclasses.replace(choice, keep_user=keep_user)
        if doc.project is None or not keys:
            self.error.emit("open an image or a folder first")
            return False
        if choice is None:
            self.error.emit("no model available; check that the models/ folder of segstudio is present")
            return False
        self._choice = choice
        labels = doc.project.labels
        paths = [(k, str(doc.project.image_path(k))) for k in keys]
        fn = (lambda ctx: predict_job.predict_one(paths[0][1], choice, labels, ctx)) if single else \
            (lambda ctx: predict_job.predict_many(paths, choice, labels, ctx))

        def connect(job):
            job.signals.progress.connect(self._on_job_progress)
            job.signals.partial.connect(self._on_batch_item)
            job.signals.result.connect(self._on_single if single else self._on_batch_done)
            job.signals.error.connect(self._on_error)
            job.signals.finished.connect(self._on_finished)
        self.job = self.runner.submit(KIND, keys[0] if single else None, fn, connect)
        self._message_key = None
        self.panel.set_busy(True, f"predicting {len(keys)} image{'s' if len(keys) > 1 else ''} with {choice.model}…")
        return True

    @Slot()
    def predict_this(self) -> bool:
        d, choice = self.document, self.panel.choice()
        keep = None
        if d.doc is not None and choice is not None:
            question = predict_question(d.doc, choice.keep_user, d.project.entry(d.key).name)
            if question is not None:
                keep = self.ask(question)
                if keep == CANCEL:
                    return False
        return self._start([d.key] if d.key else [], single=True, keep_user=keep)

    @Slot()
    def predict_all(self) -> bool:
        d, choice = self.document, self.panel.choice()
        keys = [e.key for e in d.project.images] if d.project else []
        keep = None
        if keys and choice is not None:
            statuses = {k: d.doc.status if k == d.key and d.doc is not None else d.project.status(k) for k in keys}
            question = predict_all_question(statuses, choice.keep_user)
            if question is not None:
                answer = self.ask(question)
                if answer == CANCEL:
                    return False
                if answer == SKIP_LABELLED:
                    keys = [k for k in keys if statuses[k] not in ("edited", "reviewed")]
                    if not keys:
                        self._show_message("every image already has labels: nothing to predict")
                        return False
                else:
                    keep = answer
        return self._start(keys, single=False, keep_user=keep)

    def _on_project_opened(self, _project) -> None:
        """Another folder: what runs or was said for the previous one no longer applies."""
        self.runner.cancel(KIND)
        self.download.close()
        self._show_message("")

    def _on_image_opened(self, key: str) -> None:
        if self._message_key is not None and self._message_key != key:
            self._show_message("")  # it was about another image

    def _on_later_edit(self, _boxes, _table_changed) -> None:
        """An edit, undo or redo after the prediction: Ctrl+Z no longer undoes the prediction."""
        if self._undo_hint is not None and self._message_key == self.document.key:
            self._show_message(self._undo_hint, self._message_key)

    def _show_message(self, text: str, key: str | None = None, undo_hint: bool = False) -> None:
        self._message_key = key
        self._undo_hint = text if undo_hint else None
        self.panel.show_message(text + (" — Ctrl+Z undoes it" if undo_hint else ""))

    @Slot()
    def cancel(self) -> None:
        if self.runner.running(KIND):
            self._show_message("cancelling…")
        self.runner.cancel(KIND)
        self.download.close()

    def shutdown(self) -> None:
        self.runner.cancel(KIND)
        self.runner.wait(5000)

    # -- results (GUI thread) ----------------------------------------------------------------
    @Slot(int, int, str)
    def _on_job_progress(self, done: int, total: int, message: str) -> None:
        job = self.job
        if job is None or self.sender() is not job.signals or job.cancelled():
            return  # sent just before its job was cancelled or replaced (another folder opened): stale
        self._on_progress(done, total, message)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if message.startswith(predict_job.DOWNLOAD):
            self.download.show_progress(done, total, message[len(predict_job.DOWNLOAD):])
            return
        self.download.close()
        self.panel.show_progress(done, total, message)

    def _on_single(self, result: JobResult) -> None:
        # dropped if a newer request was made or another image is open now
        if not self.runner.is_current(result, self.document.key):
            self.dropped += 1
            return
        self._accept(result)

    def _on_batch_item(self, result: JobResult) -> None:
        if not self.runner.is_current(result):
            self.dropped += 1
            return
        self._accept(result)

    def _on_batch_done(self, result: JobResult) -> None:
        if self.runner.is_current(result):
            self._show_message(f"predicted {result.value} images")

    def _accept(self, result: JobResult) -> None:
        pred = result.value
        self.panel.show_device(pred.device)
        key = result.key
        keep = self._choice.keep_user if self._choice else True
        changed = True
        try:
            if key == self.document.key and self.document.editor is not None:
                patch = edits.apply_prediction(self.document.doc, pred.class_map, pred.instance_map,
                                               pred.instances, keep_user=keep, model=pred.model_id)
                changed = patch is not None
                self.document.editor.push(patch, "prediction")
            else:
                self._apply_to_file(key, pred, keep)
        except SegStudioError as e:
            self.error.emit(f"{key}: {e}")
            return
        if pred.memory is not None:
            self.document.set_memory(key, pred.memory)
        name = self.document.project.entry(key).name if self.document.project else key
        if not changed:
            self._show_message(f"{name}: the prediction changed nothing"
                               + (" (every pixel is painted or imported, and kept)" if keep else ""), key)
            return
        self._show_message(f"{name}: " + "; ".join(pred.notes), key, undo_hint=key == self.document.key)
        self.applied.emit(key)

    def _apply_to_file(self, key: str, pred, keep: bool) -> None:
        """Another image of "predict all": load, apply and save it in the background."""
        project = self.document.project
        if project is None or key not in {e.key for e in project.images}:
            self.dropped += 1
            return

        def change(ann):
            edits.apply_prediction(ann, pred.class_map, pred.instance_map, pred.instances, keep_user=keep,
                                   model=pred.model_id)
        self.document.update_saved(key, change)

    def _on_error(self, message: str) -> None:
        self.download.close()
        message = in_model_panel_words(message)
        if "download" in message.lower() and 'weights "none"' not in message:
            message += ("\n\nTo work without these weights, choose weights \"none\" (untrained) or a "
                        "checkpoint file in the Model panel.")
        self.error.emit(message)

    def _on_finished(self, state: str) -> None:
        self.finished.emit(state)
        if self.runner.running(KIND):
            return  # a newer request is still going
        self.download.close()
        if state == "done":
            self.panel.set_busy(False)
        else:
            self._message_key = None
            self.panel.set_busy(False, state)
