"""Help → About: version, device (found off the GUI thread), settings, log and cache folders."""

from __future__ import annotations

import threading

from segstudio import __version__


def test_about_shows_version_device_and_folders(qtbot, config_dir):
    from segstudio.app.about import AboutDialog

    threads = []

    def describe(job):
        threads.append(threading.current_thread() is threading.main_thread())
        from segstudio.ml.runtime_info import describe as real
        return real()

    dlg = AboutDialog(config_dir, describe=describe)
    qtbot.addWidget(dlg)
    assert dlg.rows["version"].text() == f"segstudio {__version__}"
    assert dlg.rows["settings"].text() == str(config_dir / "segstudio.ini")
    assert dlg.rows["logs"].text() == str(config_dir / "logs" / "segstudio.log")
    qtbot.waitUntil(lambda: dlg.rows["device"].text() != "checking…", timeout=60000)
    assert threads == [False]                      # torch was asked from a worker thread
    import torch
    assert dlg.rows["device"].text().split(" ")[0] in ("cpu", "cuda", "mps")
    assert dlg.rows["torch"].text().startswith(torch.__version__)
    assert dlg.rows["hub_cache"].text().endswith("checkpoints")
    dlg.copy_to_clipboard()
    from PySide6.QtGui import QGuiApplication
    copied = QGuiApplication.clipboard().text()
    assert f"segstudio {__version__}" in copied and str(config_dir / "logs") in copied


def test_about_reports_a_failed_device_query(qtbot, config_dir):
    from segstudio.app.about import AboutDialog
    from segstudio.errors import ModelError

    def broken(job):
        raise ModelError("torch cannot load its libraries")

    dlg = AboutDialog(config_dir, describe=broken)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: "unavailable" in dlg.rows["device"].text(), timeout=10000)
    assert "torch cannot load" in dlg.rows["torch"].text()


def test_help_about_action_opens_the_dialog(make_window, qtbot, monkeypatch):
    from segstudio.app import about

    shown = []
    monkeypatch.setattr(about.AboutDialog, "exec", lambda self: shown.append(self.rows["version"].text()))
    from PySide6.QtGui import QAction

    w = make_window()
    w.findChild(QAction, "about").trigger()
    assert shown == [f"segstudio {__version__}"]


def test_log_file_gets_uncaught_errors(tmp_path):
    import logging
    import sys

    from segstudio.app import logs

    old_hook, old_thread_hook = sys.excepthook, threading.excepthook
    try:
        path = logs.setup(tmp_path)
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        for h in logs.log.handlers:
            h.flush()
        assert path == tmp_path / "logs" / "segstudio.log"
        assert "boom in a slot" in path.read_text("utf-8")
    finally:
        sys.excepthook, threading.excepthook = old_hook, old_thread_hook
        for h in list(logs.log.handlers):
            logs.log.removeHandler(h)
            h.close()
        logging.captureWarnings(False)
        logs.log.propagate = True
