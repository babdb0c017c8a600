"""The Train tab's loss settings: loss, class weights and U-Net's border weights.

A small widget the Train panel puts in one form row.  ``config()`` gives the
``TrainConfig`` keyword arguments (``loss``, ``class_weights``,
``border_weight``, ``border_sigma``), as ``segstudio finetune --loss
--class-weights --border-weight --border-sigma`` take them.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QToolButton,
                               QVBoxLayout, QWidget)

LOSSES = (("ce", "cross-entropy"), ("dice", "Dice"), ("ce+dice", "cross-entropy + Dice"))
WEIGHTS = ("none", "median-frequency")


class LossOptions(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss = QComboBox()
        for value, text in LOSSES:
            self.loss.addItem(text, value)
        self.loss.setToolTip("the training loss; void (255) pixels never count")
        self.weights = QComboBox()
        self.weights.setEditable(True)
        self.weights.addItems(WEIGHTS)
        self.weights.setToolTip("class weights: none, median-frequency (computed from the training masks, "
                                "as SegNet on CamVid), or a text file with one weight per class")
        browse = QToolButton(text="…")
        browse.setToolTip("Choose a class weights file")
        browse.clicked.connect(self._browse)
        self.border = QDoubleSpinBox(minimum=0.0, maximum=100.0, value=0.0, decimals=1, singleStep=1.0)
        self.border.setSpecialValueText("off")
        self.border.setToolTip("U-Net's border weight w0 between touching instances (from the project's "
                               "instance maps; U-Net used 10); off: 0")
        self.sigma = QDoubleSpinBox(minimum=0.5, maximum=100.0, value=5.0, decimals=1)
        self.sigma.setToolTip("σ of the border weights, in pixels")
        self.sigma.setSuffix(" px")
        middle = QHBoxLayout()  # on a line of its own so the Train dock stays narrow
        middle.setContentsMargins(0, 0, 0, 0)
        middle.addWidget(QLabel("weights"))
        middle.addWidget(self.weights, 1)
        middle.addWidget(browse)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(QLabel("border w0"))
        bottom.addWidget(self.border)
        bottom.addWidget(QLabel("σ"))
        bottom.addWidget(self.sigma)
        bottom.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.loss)
        lay.addLayout(middle)
        lay.addLayout(bottom)
        self.loss.currentIndexChanged.connect(self._update)
        self.border.valueChanged.connect(self._update)
        self._update()

    def config(self) -> dict:
        """TrainConfig keyword arguments; raises ValueError with a message for a bad combination."""
        loss = self.loss.currentData()
        weights = self.weights.currentText().strip() or "none"
        border = self.border.value() or None
        if border and loss == "dice":
            raise ValueError("the border weight weighs the cross-entropy: choose cross-entropy or "
                             "cross-entropy + Dice, or set the border weight off")
        return {"loss": loss, "class_weights": weights, "border_weight": border,
                "border_sigma": self.sigma.value()}

    def set_loss(self, loss: str) -> None:
        self.loss.setCurrentIndex(max(0, self.loss.findData(loss)))

    @Slot()
    def _update(self) -> None:
        self.sigma.setEnabled(self.border.value() > 0)   # a disabled panel still disables it

    @Slot()
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Class weights", "", "Text files (*.txt);;All files (*)")
        if path:
            self.weights.setEditText(path)
