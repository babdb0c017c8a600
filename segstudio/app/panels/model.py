"""The model panel: model, weights, device, CRF, score threshold, predict, progress, cancel.

A plain widget: it emits ``predict_this``, ``predict_all``, ``cancel`` and
``choice_changed`` and its owner (``PredictController``) talks to it through
small methods: ``set_models``, ``set_choice``, ``choice``, ``use_checkpoint``,
``set_busy``, ``show_progress``, ``show_message``, ``show_device``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from segstudio.app.panels.common import show_whole_items


@dataclass
class ModelChoice:
    """What the panel asks the predictor to do."""

    model: str
    weights: str = "default"            # "default" | "none" | a checkpoint path
    crf: bool = False
    crf_params: dict = field(default_factory=dict)
    score_threshold: float = 0.5
    keep_user: bool = True


class ModelPanel(QWidget):
    predict_this = Signal()
    predict_all = Signal()
    cancel = Signal()
    choice_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model_box = QComboBox()
        self.model_box.setToolTip("the architecture (semantic or instance); U-Net, SegNet, PSPNet and DeepLabV3+ "
                                  "have no published classes: predict with a fine-tuned checkpoint")
        self.weights_box = QComboBox()
        self.weights_box.setEditable(True)
        self.weights_box.addItems(["default", "none"])
        self.weights_box.setToolTip("default: the published weights (downloaded once); none: untrained; "
                                    "or a segstudio checkpoint file")
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.setToolTip("Choose a checkpoint file")
        browse.clicked.connect(self._browse)
        wrow = QHBoxLayout()
        wrow.addWidget(self.weights_box, 1)
        wrow.addWidget(browse)
        self.device_label = QLabel("not loaded yet")
        self.crf_box = QCheckBox("dense CRF")
        self.crf_iters = QSpinBox(minimum=1, maximum=20, value=5)
        self.crf_sxy = QDoubleSpinBox(minimum=1, maximum=300, value=80, decimals=0)
        self.crf_srgb = QDoubleSpinBox(minimum=1, maximum=100, value=13, decimals=0)
        self.crf_compat = QDoubleSpinBox(minimum=0, maximum=50, value=10, decimals=1)
        for w, tip in ((self.crf_iters, "mean-field iterations"), (self.crf_sxy, "bilateral spatial scale (px)"),
                       (self.crf_srgb, "bilateral colour scale"), (self.crf_compat, "bilateral weight")):
            w.setToolTip(tip)
        crf_row = QHBoxLayout()
        for w in (self.crf_iters, self.crf_sxy, self.crf_srgb, self.crf_compat):
            crf_row.addWidget(w)
        self.card_note = QLabel("")       # what the checkpoint's card says: working size, score
        self.card_note.setWordWrap(True)
        self.card_note.setVisible(False)
        self.crf_note = QLabel("")
        self.crf_note.setWordWrap(True)
        self.crf_note.setVisible(False)
        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, value=0.5, singleStep=0.05, decimals=2)
        self.threshold.setToolTip("instance models: detections below this score are dropped")
        self.keep_user = QCheckBox("keep pixels I painted")
        self.keep_user.setChecked(True)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Weights", wrow)
        form.addRow(self.card_note)
        form.addRow("Device", self.device_label)
        form.addRow(self.crf_box)
        form.addRow("CRF it/sxy/srgb/w", crf_row)
        form.addRow(self.crf_note)
        form.addRow("Score ≥", self.threshold)
        form.addRow(self.keep_user)
        self.this_btn = QPushButton("Predict this image")
        self.all_btn = QPushButton("Predict all")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        brow = QHBoxLayout()
        for b in (self.this_btn, self.all_btn, self.cancel_btn):
            brow.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addLayout(brow)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.this_btn.clicked.connect(self.predict_this)
        self.all_btn.clicked.connect(self.predict_all)
        self.cancel_btn.clicked.connect(self.cancel)
        self.crf_box.toggled.connect(self._crf_enabled)
        self._crf_enabled(False)
        for sig in (self.model_box.currentIndexChanged, self.weights_box.currentTextChanged,
                    self.crf_box.toggled, self.threshold.valueChanged):
            sig.connect(self.choice_changed)

    def set_models(self, entries: list[tuple[str, str]], current: str | None = None) -> None:
        """entries: (name, description) pairs."""
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for name, text in entries:
            self.model_box.addItem(text, name)
        i = self.model_box.findData(current) if current else -1
        self.model_box.setCurrentIndex(max(0, i))
        show_whole_items(self.model_box)
        self.model_box.blockSignals(False)

    def set_choice(self, *, model: str | None = None, weights: str | None = None, crf: bool | None = None,
                   score_threshold: float | None = None) -> None:
        """Show a saved choice (what is given); ``choice_changed`` is not emitted for it."""
        widgets = (self.model_box, self.weights_box, self.crf_box, self.threshold)
        for w in widgets:
            w.blockSignals(True)
        try:
            if model is not None:
                i = self.model_box.findData(model)
                if i >= 0:
                    self.model_box.setCurrentIndex(i)
            if weights is not None:
                self.weights_box.setEditText(weights)
            if crf is not None:
                self.crf_box.setChecked(bool(crf))
                self._crf_enabled(bool(crf))
            if score_threshold is not None:
                self.threshold.setValue(float(score_threshold))
        finally:
            for w in widgets:
                w.blockSignals(False)

    def use_checkpoint(self, path: str, architecture: str | None = None) -> None:
        """Predict with a checkpoint from now on (a fine-tuned model that was just published)."""
        if architecture:
            i = self.model_box.findData(architecture)
            if i >= 0:
                self.model_box.setCurrentIndex(i)
        if self.weights_box.findText(path) < 0:
            self.weights_box.addItem(path)
        self.weights_box.setEditText(path)
        self.choice_changed.emit()  # the same path may hold a new card (e.g. its CRF was just fitted)

    def show_crf_settings(self, params: dict, note: str = "") -> None:
        """The CRF values the chosen weights come with (a checkpoint card's fitted ones, or the
        model card's) and a line on where they come from; ``choice_changed`` is not emitted."""
        for w, key in ((self.crf_iters, "iterations"), (self.crf_sxy, "bilateral_sxy"),
                       (self.crf_srgb, "bilateral_srgb"), (self.crf_compat, "bilateral_compat")):
            if key in params:
                w.blockSignals(True)
                w.setValue(int(params[key]) if isinstance(w, QSpinBox) else float(params[key]))
                w.blockSignals(False)
        self.crf_note.setText(note)
        self.crf_note.setVisible(bool(note))

    def crf_note_text(self) -> str:
        return self.crf_note.text()

    def show_card_summary(self, text: str) -> None:
        """What the chosen checkpoint's card says about its use (empty: hidden)."""
        self.card_note.setText(text)
        self.card_note.setVisible(bool(text))

    def card_summary_text(self) -> str:
        return self.card_note.text() if not self.card_note.isHidden() else ""

    def choice(self) -> ModelChoice | None:
        name = self.model_box.currentData()
        if not name:
            return None
        return ModelChoice(
            model=name, weights=self.weights_box.currentText().strip() or "default", crf=self.crf_box.isChecked(),
            crf_params={"iterations": self.crf_iters.value(), "bilateral_sxy": self.crf_sxy.value(),
                        "bilateral_srgb": self.crf_srgb.value(), "bilateral_compat": self.crf_compat.value()},
            score_threshold=self.threshold.value(), keep_user=self.keep_user.isChecked())

    def set_busy(self, busy: bool, message: str | None = None) -> None:
        """Buttons and progress bar for a running (or finished) job; ``message`` None keeps the message."""
        self.this_btn.setEnabled(not busy)
        self.all_btn.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)  # busy indicator until the first progress report
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        if message is not None:
            self.message.setText(message)

    def show_progress(self, done: int, total: int, message: str) -> None:
        """``done`` of ``total`` stages or images; ``total`` 0: a stage of unknown length (busy bar)."""
        if total <= 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        if message:
            self.message.setText(message)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def message_text(self) -> str:
        return self.message.text()

    def show_device(self, text: str) -> None:
        """The device the model runs on ("cuda:0", "cpu"), once it is known."""
        self.device_label.setText(text)

    @Slot()
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", "", "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.weights_box.setEditText(path)

    @Slot(bool)
    def _crf_enabled(self, on: bool) -> None:
        for w in (self.crf_iters, self.crf_sxy, self.crf_srgb, self.crf_compat):
            w.setEnabled(on)
