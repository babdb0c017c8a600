"""Undo history stays with each image for the session; the Undo/Redo buttons follow what can be done."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint

from segstudio.app.histories import SessionHistories
from segstudio.core.annotation import Annotation
from segstudio.core.edits import paint_segment
from segstudio.core.history import History
from tests.app.conftest import set_view
from tests.app.test_window import drag


def buttons(window):
    return window.actions_by_name["undo"].isEnabled(), window.actions_by_name["redo"].isEnabled()


def test_switching_back_restores_undo_and_redo(window, qtbot):
    assert buttons(window) == (False, False)  # a fresh image: nothing to undo
    set_view(window.canvas, 4.0, 0, 0)
    window.select_class(4)
    window.set_tool("brush")
    drag(qtbot, window.canvas, [QPoint(30, 30), QPoint(90, 30)])
    drag(qtbot, window.canvas, [QPoint(30, 90), QPoint(90, 90)])
    doc = window.document.doc
    both, first = doc.class_map.copy(), None
    assert buttons(window) == (True, False)
    assert window.actions_by_name["undo"].text().replace("&", "") == "Undo brush"
    window.undo()
    first = doc.class_map.copy()
    assert buttons(window) == (True, True)
    assert window.open_key("img1")  # saves img0 as it is now (one stroke)
    assert buttons(window) == (False, False)  # img1 has no history of its own
    assert window.open_key("img0")
    doc = window.document.doc
    np.testing.assert_array_equal(doc.class_map, first)
    assert buttons(window) == (True, True) and not window.isWindowModified()
    window.actions_by_name["redo"].trigger()
    np.testing.assert_array_equal(doc.class_map, both)
    assert buttons(window) == (True, False) and window.isWindowModified()
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert not doc.class_map.any() and buttons(window) == (False, True)


def test_a_history_is_dropped_when_the_saved_files_changed_elsewhere(window, qtbot):
    editor = window.document.editor
    editor.push(paint_segment(editor.doc, (10, 10), (20, 10), 3, class_id=5), "brush")
    assert window.open_key("img1")
    # "predict all" (or another program) rewrites img0: its old steps no longer apply
    window.document.update_saved("img0", lambda ann: ann.class_map.fill(7))
    window.document.wait_for_saves()
    assert window.open_key("img0")
    assert buttons(window) == (False, False)
    assert (window.document.doc.class_map == 7).all()


def test_histories_stay_within_the_byte_budget():
    doc = Annotation.blank(100, 100)
    store = SessionHistories(max_bytes=60_000)
    for key in ("a", "b", "c"):
        h = History()
        h.push([paint_segment(doc, (0, 0), (99, 99), 20, class_id=1 + len(store))], "brush")
        store.keep(key, h, token=key)
    assert 0 < store.nbytes <= 60_000 and "a" not in store and "c" in store  # oldest dropped first
    assert store.take("c", token="other") is None  # files changed: stale
    store.trim(open_bytes=10**9)  # a huge open history pushes the kept ones out
    assert len(store) == 0
