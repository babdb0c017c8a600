"""Start the app: ``segstudio [PATH]`` ends up in ``launch``."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from segstudio.app.resources import icon, samples_dir
from segstudio.app.settings import Settings
from segstudio.app.window import MainWindow


def start_path(path: str | None, settings: Settings) -> str | None:
    """What to open: the argument, else the last project, else the bundled samples."""
    if path:
        return path
    last = settings.get("last_path")
    if last and Path(last).exists():
        return last
    return str(samples_dir()) if samples_dir().is_dir() else None


def launch(path: str | None = None, argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("segstudio")
    app.setOrganizationName("segstudio")
    app.setWindowIcon(icon("segstudio"))
    settings = Settings()
    window = MainWindow(settings)
    window.show()
    target = start_path(path, settings)

    def after_show():
        if not window.offer_recovery() and target:
            window.open_path(target)
    QTimer.singleShot(0, after_show)
    return app.exec()
