"""Never lose work: autosave, reopen, crash recovery, failed saves shown."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint

from segstudio.core.edits import create_instance, paint_segment
from segstudio.errors import ProjectError
from segstudio.formats.project import Project
from tests.app.conftest import set_view
from tests.app.test_window import drag


def paint_something(win, qtbot):
    set_view(win.canvas, 4.0, 0, 0)
    win.select_class(4)
    win.set_tool("brush")
    drag(qtbot, win.canvas, [QPoint(30, 30), QPoint(90, 60)])
    editor = win.document.editor
    patch, _ = create_instance(editor.doc, 12, np.ones((5, 6), bool), (30, 40))
    editor.push(patch, "instance")
    return editor.doc.copy()


def test_autosave_timer_writes_files_and_reopening_restores(make_window, image_folder, qtbot):
    win = make_window(image_folder)
    win.document.set_autosave_interval(0.05)  # seconds
    doc = paint_something(win, qtbot)
    assert win.isWindowModified()
    files = Project.open(image_folder).annotation_files("img0")
    qtbot.waitUntil(lambda: files["meta"].exists(), timeout=5000)
    qtbot.waitUntil(lambda: not win.isWindowModified(), timeout=5000)
    assert "edited" in win.images.list.item(0).toolTip()
    win.close()
    again = make_window(image_folder)
    assert again.document.key == "img0"
    assert again.document.doc.equals(doc)
    assert again.canvas.overlay._pixels.any()


def test_switching_image_saves_and_closing_saves(make_window, image_folder, qtbot):
    win = make_window(image_folder)
    doc = paint_something(win, qtbot)
    assert win.open_key("img1")
    assert Project.open(image_folder).load_annotation("img0").equals(doc)
    editor = win.document.editor
    editor.push(paint_segment(editor.doc, (5, 5), (9, 5), 2, class_id=255), "void")
    img1 = editor.doc.copy()
    win.close()
    assert Project.open(image_folder).load_annotation("img1").equals(img1)


def test_crash_recovery_is_offered_at_the_next_start(make_window, image_folder, qtbot, config_dir):
    win = make_window(image_folder)
    doc = paint_something(win, qtbot)
    win.document.write_recovery(wait=True)  # what the 3-second timer does
    assert list((config_dir / "recovery").glob("*.npz"))
    # "crash": nothing saved, the window is gone without closing
    win.document.autosave_timer.stop()
    win.document._close_document()
    win.document.project = None
    win.close()
    assert not Project.open(image_folder).has_annotation("img0")
    offered = []
    again = make_window(None)
    assert again.offer_recovery(ask=lambda entries: offered.extend(entries) or True)
    assert [e.key for e in offered] == ["img0"]
    assert again.document.doc.equals(doc)
    assert again.isWindowModified()  # recovered, not yet saved
    assert again.save()
    assert Project.open(image_folder).load_annotation("img0").equals(doc)
    assert not list((config_dir / "recovery").glob("*.npz"))


def test_declining_recovery_discards_it(make_window, image_folder, qtbot, config_dir):
    win = make_window(image_folder)
    paint_something(win, qtbot)
    win.document.write_recovery(wait=True)
    other = make_window(None)
    assert not other.offer_recovery(ask=lambda entries: False)
    assert not list((config_dir / "recovery").glob("*.npz"))


def test_a_failed_save_is_shown_and_keeps_the_image_open(window, qtbot, monkeypatch):
    paint_something(window, qtbot)

    def fail(key, ann):
        raise ProjectError(f"{key}: the annotation could not be saved (No space left on device)")
    monkeypatch.setattr(window.document.project, "save_annotation", fail)
    with qtbot.waitSignal(window.document.save_failed):
        assert not window.open_key("img1")
    assert window.document.key == "img0"
    assert "No space left" in window.last_error
    assert "No space left" in window.status.currentMessage()
    assert window.isWindowModified()
    monkeypatch.undo()
    assert window.open_key("img1")


def test_opening_an_image_file_selects_it(make_window, image_folder):
    win = make_window(image_folder / "img2.png")
    assert win.document.key == "img2"
    assert win.images.list.count() == 3


def test_a_failed_background_autosave_is_shown_and_stays_dirty(window, qtbot, monkeypatch):
    paint_something(window, qtbot)

    def fail(key, ann):
        raise ProjectError(f"{key}: the annotation could not be saved (Read-only file system)")
    monkeypatch.setattr(window.document.project, "save_annotation", fail)
    with qtbot.waitSignal(window.document.save_failed, timeout=5000):
        window.document.autosave()
    assert "Read-only" in window.last_error
    assert window.isWindowModified() and window.document.is_dirty
    monkeypatch.undo()
    assert window.save()
    assert not window.isWindowModified()


def test_edits_during_a_background_save_stay_unsaved(window, qtbot):
    doc = paint_something(window, qtbot)
    with qtbot.waitSignal(window.document.saved, timeout=5000):
        window.document.autosave()
        editor = window.document.editor
        editor.push(paint_segment(editor.doc, (2, 2), (4, 2), 1, class_id=9), "brush")
    assert window.document.is_dirty  # the later edit is not in the saved snapshot
    saved = Project.open(window.document.project.root).load_annotation("img0")
    assert saved.equals(doc)
