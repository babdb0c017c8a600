"""The smart-tools panel: the tolerance of click-to-correct and whether hand-painted pixels stay."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget


class SmartPanel(QWidget):
    tolerance_changed = Signal(float)   # 0..1
    keep_user_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tolerance = QSlider(Qt.Orientation.Horizontal)
        self.tolerance.setRange(0, 100)
        self.tolerance.setSingleStep(5)
        self.tolerance.setPageStep(10)
        self.tolerance.setToolTip("How far click-to-correct and scribbles spread: wider takes in pixels "
                                  "the model was less sure of (keys , and .)")
        self.tolerance_label = QLabel()
        self.keep_user = QCheckBox("keep pixels I painted")
        self.keep_user.setChecked(True)
        self.keep_user.setToolTip("Smart tools never spread over pixels painted by hand, except the "
                                  "painted patch you click on")
        self.hint = QLabel("C click to correct · X superpixels · R scribble (Enter accepts, Esc drops)")
        self.hint.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Tolerance"))
        row.addWidget(self.tolerance, 1)
        row.addWidget(self.tolerance_label)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.keep_user)
        lay.addWidget(self.hint)
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.tolerance.valueChanged.connect(self._on_tolerance)
        self.keep_user.toggled.connect(self.keep_user_changed)
        self._on_tolerance(self.tolerance.value())

    def set_tolerance(self, value: float) -> None:
        self.tolerance.setValue(int(round(min(1.0, max(0.0, value)) * 100)))

    def tolerance_value(self) -> float:
        return self.tolerance.value() / 100.0

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def _on_tolerance(self, v: int) -> None:
        self.tolerance_label.setText(f"{v}%")
        self.tolerance_changed.emit(v / 100.0)
