"""The Train panel: the form and the live view of a fine-tuning run.

A plain widget (dock it anywhere); ``TrainController`` (``segstudio.app.train``)
owns the background ``TrainWorker`` and drives the panel.  The user picks the
data (this project or a folder / VOC root / COCO json, with a mask folder and
label file for image + mask folders), the base model and its weights, epochs
or a time budget, and presses Start; the panel shows a live loss curve, the
progress (loss, learning rate, images/s, ETA) and the validation metrics table.

Signals: ``start_requested()``, ``cancel_requested()``, ``use_offered()`` (take the
checkpoint that was kept out).
Methods: ``set_project(root)``, ``set_models(names)``, ``form_kwargs()``,
``set_running(bool)``, ``show_status(text)``, ``status_text()``, ``clear_results()``,
``show_starting(text)``, ``show_phase(info)``, ``show_iteration(info)``, ``show_epoch(info)``,
``show_finished(state)``, ``show_offer(text)``, ``hide_offer()``.

The progress bar moves from the first second: busy while the job starts, then
the current phase's own count (opening data, scoring the model in use,
validating, fitting the CRF), the training steps, and 100 % when done.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QRadioButton, QSpinBox, QTableWidget, QTableWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from segstudio.app.panels.loss_curve import LossCurve
from segstudio.app.panels.loss_options import LossOptions

PROJECT = "This project"
FOLDER = "Folder or file…"


def _fmt_time(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


IN_USE = "model in use"   # the weights choice that continues from the fine-tuned model the app predicts with

PHASE_NAMES = {"incumbent": "scoring the model in use", "validating": "validating", "crf": "fitting the CRF",
               "statistics": "BatchNorm statistics", "blend": "blending weights"}


class TrainPanel(QWidget):
    start_requested = Signal()
    cancel_requested = Signal()
    use_offered = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project_root: str | None = None
        self._browse_buttons: dict[QLineEdit, QToolButton] = {}   # path field -> its "…" button
        self._running = False
        self._build()
        self._update_enabled()

    # -- building ------------------------------------------------------------------------
    def _build(self) -> None:
        form = QFormLayout()
        self.source = QComboBox()
        self.source.addItems([PROJECT, FOLDER])
        self.source.currentTextChanged.connect(self._update_enabled)
        form.addRow("Data", self.source)
        self.data_path, row = self._path_row("project folder, VOC root, image folder or COCO json", "data")
        form.addRow("", row)
        self.masks_path, row = self._path_row("mask folder (image + mask folders only)", "masks")
        form.addRow("Masks", row)
        self.labels_path, row = self._path_row("label file (image + mask folders)", "labels")
        form.addRow("Labels", row)
        self.void_ids = QLineEdit()
        self.void_ids.setPlaceholderText("mask ids to ignore, e.g. 11 (255 always is)")
        form.addRow("Void ids", self.void_ids)
        self.model = QComboBox()
        form.addRow("Base model", self.model)
        self.weights = QComboBox()
        self.weights.setEditable(True)
        self.weights.addItems(["default", "none"])
        wrow = QHBoxLayout()
        wrow.addWidget(self.weights, 1)
        self.weights_browse = QToolButton(text="…")
        self.weights_browse.clicked.connect(self._browse_weights)
        wrow.addWidget(self.weights_browse)
        form.addRow("Weights", wrow)

        self.by_epochs = QRadioButton("Epochs")
        self.by_minutes = QRadioButton("Minutes")
        self.by_epochs.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.by_epochs)
        group.addButton(self.by_minutes)
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=10)
        self.minutes = QDoubleSpinBox(minimum=0.1, maximum=10000, value=30, decimals=1)
        lrow = QHBoxLayout()
        for w in (self.by_epochs, self.epochs, self.by_minutes, self.minutes):
            lrow.addWidget(w)
        form.addRow("Length", lrow)
        self.batch = QSpinBox(minimum=1, maximum=256, value=8)
        self.crop = QSpinBox(minimum=16, maximum=4096, value=128, singleStep=16)
        self.auto_size = QCheckBox("auto")
        self.auto_size.setToolTip("choose crop and batch from this computer's speed and memory and the time "
                                  "budget (the choice is shown when the run starts)")
        self.auto_size.setChecked(True)
        self.auto_size.toggled.connect(self._update_enabled)
        srow = QHBoxLayout()
        srow.addWidget(self.auto_size)
        srow.addWidget(QLabel("batch"))
        srow.addWidget(self.batch)
        srow.addWidget(QLabel("crop"))
        srow.addWidget(self.crop)
        form.addRow("Size", srow)
        self.freeze = QCheckBox("Freeze the backbone (few images or classes)")
        form.addRow("", self.freeze)
        self.loss_options = LossOptions()
        form.addRow("Loss", self.loss_options)
        self.out_path, row = self._path_row("output folder (default: beside the data)", "out")
        form.addRow("Output", row)

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.status = QLabel("idle")
        self.status.setWordWrap(True)
        self.sizes_label = QLabel("")
        self.sizes_label.setWordWrap(True)
        self.sizes_label.setVisible(False)
        self.offer_label = QLabel("")
        self.offer_label.setWordWrap(True)
        self.offer_button = QPushButton("Use it anyway")
        self.offer_button.setToolTip("predict with this checkpoint although it scored below the model in use")
        self.offer_button.clicked.connect(self.use_offered)
        self.offer_box = QWidget()
        orow = QHBoxLayout(self.offer_box)
        orow.setContentsMargins(0, 0, 0, 0)
        orow.addWidget(self.offer_label, 1)
        orow.addWidget(self.offer_button)
        self.offer_box.setVisible(False)
        self.curve = LossCurve()
        self.score_label = QLabel("")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["class", "IoU", "accuracy"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.sizes_label)
        layout.addWidget(self.offer_box)
        layout.addWidget(self.curve, 2)
        layout.addWidget(self.score_label)
        layout.addWidget(self.table, 1)

    def _path_row(self, placeholder: str, kind: str):
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        b = QToolButton(text="…")
        b.clicked.connect(lambda: self._browse(edit, kind))
        row.addWidget(b)
        self._browse_buttons[edit] = b
        return edit, row

    # -- public API ---------------------------------------------------------------------------
    def set_project(self, root: str | None) -> None:
        self.project_root = str(root) if root else None
        self.source.setCurrentText(PROJECT if root else FOLDER)
        self._update_enabled()

    def set_models(self, names: list[str]) -> None:
        """The base models offered (the registry's names)."""
        current = self.model.currentText()
        self.model.clear()
        self.model.addItems(list(names))
        if current in names:
            self.model.setCurrentText(current)
        elif "lraspp_mobilenet_v3_large" in names:
            self.model.setCurrentText("lraspp_mobilenet_v3_large")

    def form_kwargs(self) -> tuple[dict, dict]:
        """(TrainConfig kwargs, DataSpec kwargs) from the form; raises ValueError with a message."""
        from segstudio.ml.registry import get_card

        if self.source.currentText() == PROJECT:
            if not self.project_root:
                raise ValueError("no project is open: choose \"Folder or file…\" and a data folder")
            data = self.project_root
        else:
            data = self.data_path.text().strip()
            if not data:
                raise ValueError("choose the data: a project folder, a VOC root, an image folder or a COCO json")
        model = self.model.currentText()
        if not model:
            raise ValueError("choose a base model")
        task = get_card(model).task
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = self.out_path.text().strip()
        if not out:
            base = Path(data) if Path(data).is_dir() else Path(data).parent
            out = str(base / "segstudio-runs" / f"{model}-{stamp}")
        try:
            void = tuple(int(v) for v in self.void_ids.text().replace(",", " ").split())
        except ValueError:
            raise ValueError("void ids must be whole numbers separated by commas or spaces") from None
        if any(not 0 <= v <= 255 for v in void):
            raise ValueError("void ids must be in 0..255")
        spec = {"path": data, "task": task, "masks": self.masks_path.text().strip() or None,
                "labels": self.labels_path.text().strip() or None, "void_ids": void}
        config = {"model": model, "out": out, "weights": self.weights_choice(),
                  "epochs": self.epochs.value() if self.by_epochs.isChecked() else None,
                  "max_minutes": self.minutes.value() if self.by_minutes.isChecked() else None,
                  "batch_size": None if self.auto_size.isChecked() else self.batch.value(),
                  "crop": None if self.auto_size.isChecked() else self.crop.value(),
                  "freeze_backbone": self.freeze.isChecked(), "workers": 0}
        if task == "semantic":
            config.update(self.loss_options.config())
        return config, spec

    def set_running(self, running: bool) -> None:
        """Lock the form while a run goes on; Start / Cancel follow."""
        self._running = bool(running)
        self._update_enabled()

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def status_text(self) -> str:
        return self.status.text()

    def clear_results(self) -> None:
        """Empty curve, table and score before a new run."""
        self.curve.clear()
        self.table.setRowCount(0)
        self.score_label.setText("")
        self.sizes_label.setText("")
        self.sizes_label.setVisible(False)

    def show_starting(self, text: str) -> None:
        """A run was asked for: the bar is busy at once."""
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setRange(0, 0)
        self.show_status(text)

    def show_phase(self, info) -> None:
        """Work outside the training steps (a ``PhaseInfo``): its own count, or busy when unknown.
        The "sizes" phase says which training sizes were chosen and why: it stays on show."""
        if info.phase == "sizes":
            self.sizes_label.setText(info.text)
            self.sizes_label.setVisible(bool(info.text))
            return
        if info.total:
            self.progress_bar.setRange(0, info.total)
            self.progress_bar.setValue(min(info.done, info.total))
            self.progress_bar.setFormat(f"{PHASE_NAMES.get(info.phase, info.phase)} %v/%m")
        else:
            self.progress_bar.setFormat("%p%")
            self.progress_bar.setRange(0, 0)
        if info.text:
            self.show_status(info.text)

    def show_finished(self, state: str) -> None:
        """The run ended: 100 % when it is done."""
        if state == "done":
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
            self.progress_bar.setFormat("done — %p%")
        else:
            if self.progress_bar.maximum() == 0:
                self.progress_bar.setRange(0, 1)
                self.progress_bar.setValue(0)
            self.progress_bar.setFormat(f"{state} — %p%")

    def show_offer(self, text: str) -> None:
        """A checkpoint kept out of use: say why and offer it."""
        self.offer_label.setText(text)
        self.offer_box.setVisible(True)

    def hide_offer(self) -> None:
        self.offer_box.setVisible(False)
        self.offer_label.setText("")

    def offer_text(self) -> str:
        return self.offer_label.text() if not self.offer_box.isHidden() else ""

    def show_iteration(self, info) -> None:
        """One training step (an ``IterationInfo``): curve, progress bar, status line."""
        self.progress_bar.setFormat("%p%")
        self.curve.add(info.iteration, info.loss)
        if info.epochs:
            total = info.total_iterations
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(info.iteration, total))
        else:
            self.progress_bar.setRange(0, 1000)
            done = info.iteration / max(1, info.total_iterations)
            self.progress_bar.setValue(int(1000 * min(1.0, done)))
        epoch = f"epoch {info.epoch + 1}" + (f"/{info.epochs}" if info.epochs else "")
        self.show_status(f"{epoch}, iteration {info.iteration}: loss {info.loss:.4f}, lr {info.lr:.2g}, "
                         f"{info.images_per_s:.1f} img/s, {_fmt_time(info.eta_s)} left")

    def show_epoch(self, info) -> None:
        """The end of an epoch (an ``EpochInfo``): validation table and score."""
        self.curve.mark_epoch(info.iteration)
        m = info.metrics or {}
        if "per_class" in m:
            rows = [r for r in m["per_class"] if r["iou"] is not None or r["accuracy"] is not None]
            self.table.setRowCount(len(rows))
            # rows are named by class id (Sky is 0), not numbered from 1
            self.table.setVerticalHeaderLabels([str(r["id"]) if "id" in r else "" for r in rows])
            for i, r in enumerate(rows):
                for j, v in enumerate((r["name"], r["iou"], r["accuracy"])):
                    text = v if isinstance(v, str) else ("–" if v is None else f"{100 * v:.1f}")
                    item = QTableWidgetItem(text)
                    if j:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(i, j, item)
            summary = (f"mIoU {100 * (m.get('miou') or 0):.1f}, pixel accuracy "
                       f"{100 * (m.get('pixel_accuracy') or 0):.1f}")
        elif "segm_ap" in m:
            self.table.setRowCount(0)
            summary = f"segm AP {100 * m['segm_ap']:.1f}, AP50 {100 * m['segm_ap50']:.1f}"
        else:
            summary = "no validation images"
        self.score_label.setText(f"epoch {info.epoch + 1}: {summary}{' — best so far' if info.best else ''}")

    # -- helpers --------------------------------------------------------------------------------
    @Slot()
    def _update_enabled(self) -> None:
        running = self._running
        folder = self.source.currentText() == FOLDER
        for w in (self.data_path, self.masks_path, self.labels_path, self.void_ids):
            w.setEnabled(folder and not running)
        for w in (self.source, self.model, self.weights, self.weights_browse, self.epochs, self.minutes, self.auto_size,
                  self.freeze, self.by_epochs, self.by_minutes, self.out_path, self.loss_options):
            w.setEnabled(not running)
        for edit, button in self._browse_buttons.items():  # a browse button follows its field
            button.setEnabled(edit.isEnabled())
        for w in (self.batch, self.crop):
            w.setEnabled(not running and not self.auto_size.isChecked())
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _browse(self, edit: QLineEdit, kind: str) -> None:
        if kind == "labels":
            path, _ = QFileDialog.getOpenFileName(self, "Label file", edit.text(), "Label files (*.txt);;All (*)")
        elif kind == "data":
            path = QFileDialog.getExistingDirectory(self, "Training data", edit.text())
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder", edit.text())
        if path:
            edit.setText(path)

    def offer_model_in_use(self, available: bool, select: bool = False) -> None:
        """Offer (or withdraw) "model in use" among the weights; ``select`` chooses it.  Withdrawn
        while chosen, the choice falls back to "default"."""
        i = self.weights.findText(IN_USE)
        if available and i < 0:
            self.weights.insertItem(2, IN_USE)
        elif not available and i >= 0:
            chosen = self.weights.currentText() == IN_USE
            self.weights.removeItem(i)
            if chosen:
                self.weights.setCurrentText("default")
        if available and select:
            self.weights.setCurrentText(IN_USE)

    def weights_choice(self) -> str:
        return self.weights.currentText().strip() or "default"

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", "", "Checkpoints (*.pt *.pth);;All (*)")
        if path:
            self.weights.setCurrentText(path)
