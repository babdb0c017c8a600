"""Help → About: version, torch and the compute device, and where segstudio keeps its files.

The device needs torch, which the window never imports at start-up, so the
dialog opens at once with "checking…" and a background job fills in torch,
its CUDA build, the device ``auto`` picks and the weights cache.  "Copy"
puts the whole text on the clipboard for bug reports.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QThreadPool, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from segstudio import __version__
from segstudio.app import logs
from segstudio.app.workers import Job

CHECKING = "checking…"


def _runtime(_job) -> dict[str, str]:
    from segstudio.ml.runtime_info import describe

    return describe()


class AboutDialog(QDialog):
    """``describe`` runs in a worker thread; tests pass their own."""

    def __init__(self, settings_folder: str | Path, parent=None, describe=_runtime):
        super().__init__(parent)
        self.setWindowTitle("About segstudio")
        folder = Path(settings_folder)
        frozen = getattr(sys, "frozen", False)
        self.rows: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label, value in [
            ("version", "Version", f"segstudio {__version__}" + (" (bundle)" if frozen else "")),
            ("python", "Python / Qt", f"Python {platform.python_version()}, PySide6 {pyside_version}"),
            ("torch", "torch", CHECKING),
            ("device", "Device", CHECKING),
            ("settings", "Settings", str(folder / "segstudio.ini")),
            ("recovery", "Recovery copies", str(folder / "recovery")),
            ("logs", "Log", str(logs.log_dir(folder) / logs.LOG_NAME)),
            ("hub_cache", "Weights cache", CHECKING),
        ]:
            w = QLabel(value)
            w.setTextInteractionFlags(w.textInteractionFlags() | w.textInteractionFlags().TextSelectableByMouse)
            form.addRow(label + ":", w)
            self.rows[key] = w
        title = QLabel(f"<b>segstudio {__version__}</b><br>Predict, correct and fine-tune segmentation masks.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.job = Job("about", None, 0, describe)
        self.job.signals.result.connect(self._show_runtime)
        self.job.signals.error.connect(self._show_error)
        QThreadPool.globalInstance().start(self.job)

    def text(self) -> str:
        form = self.layout().itemAt(1).layout()
        lines = []
        for r in range(form.rowCount()):
            label = form.itemAt(r, QFormLayout.ItemRole.LabelRole).widget().text()
            value = form.itemAt(r, QFormLayout.ItemRole.FieldRole).widget().text()
            lines.append(f"{label} {value}")
        return "\n".join(lines)

    @Slot()
    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.text())

    @Slot(object)
    def _show_runtime(self, result) -> None:
        info = result.value
        self.rows["torch"].setText(f"{info['torch']} ({info['cuda']})")
        self.rows["device"].setText(info["device"])
        self.rows["hub_cache"].setText(info["hub_cache"])

    @Slot(str)
    def _show_error(self, message: str) -> None:
        for key in ("torch", "device", "hub_cache"):
            self.rows[key].setText(f"unavailable ({message})")
