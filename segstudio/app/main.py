"""Start the app: ``segstudio [PATH]`` ends up in ``launch``.

With ``SEGSTUDIO_EXIT_AFTER_SHOW=1`` the app prints one line once the
window is shown and the path opened (seconds since start, open image, whether
torch was loaded) and quits: the launch smoke test and the start-up benchmark
use it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from segstudio import __version__
from segstudio.app import logs
from segstudio.app.resources import icon, samples_dir
from segstudio.app.settings import Settings
from segstudio.app.window import MainWindow


def start_path(path: str | None, settings: Settings) -> str | None:
    """What to open: the argument, else the last project, else a copy of the bundled samples."""
    if path:
        return path
    last = settings.get("last_path")
    if last and Path(last).exists():
        return last
    return sample_project(settings)


def sample_project(settings: Settings) -> str | None:
    """The sample images copied into the settings folder (annotations never go into resources/)."""
    src = samples_dir()
    if src is None or not src.is_dir():
        return None
    dest = settings.folder / "samples"
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and not (dest / f.name).exists():
            shutil.copy2(f, dest / f.name)
    return str(dest)


def launch(path: str | None = None, argv: list[str] | None = None, t0: float | None = None) -> int:
    t0 = time.perf_counter() if t0 is None else t0
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("segstudio")
    app.setOrganizationName("segstudio")
    app.setWindowIcon(icon("segstudio"))
    settings = Settings()
    logs.setup(settings.folder)
    logs.log.info("segstudio %s starting%s", __version__, " (bundle)" if getattr(sys, "frozen", False) else "")
    window = MainWindow(settings)
    window.show()
    target = start_path(path, settings)

    def after_show():
        if not window.offer_recovery() and target:
            window.open_path(target)
        if os.environ.get("SEGSTUDIO_EXIT_AFTER_SHOW"):
            print(f"shown {time.perf_counter() - t0:.3f} s; image {window.document.key}; "
                  f"torch loaded {'torch' in sys.modules}", flush=True)
            window.close()
            app.quit()
    QTimer.singleShot(0, after_show)
    return app.exec()
