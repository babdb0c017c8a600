"""File → Export / Import progress: the dialog may close while a progress report is being shown."""

from __future__ import annotations

import threading


def test_finishing_while_a_progress_report_is_shown_is_not_an_error(window, qtbot):
    io = window.io
    release = threading.Event()

    def job(ctx):
        release.wait(10)
        return "exported"

    states = []
    io.finished.connect(states.append)
    io.start("export", job)
    dlg = io.dialog
    assert dlg is not None
    # what a modal QProgressDialog does in setValue: it runs the event loop, and the
    # job's "finished" is delivered in there
    dlg.setValue = lambda value: io._finished("done")
    io._progress(3, 3, "writing VOCdevkit")  # raised AttributeError: 'NoneType' has no 'setLabelText'
    assert io.dialog is None
    release.set()
    io.runner.wait(10_000)
    qtbot.waitUntil(lambda: len(states) >= 2, timeout=10_000)
    io._progress(1, 2, "a late report")  # after the dialog is gone: ignored

