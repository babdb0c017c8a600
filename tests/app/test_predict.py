"""Prediction from the app with a real torchvision model (weights=None, tiny images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer

from segstudio.app import predict_job


@pytest.fixture
def predicting_window(window):
    torch.manual_seed(0)
    panel = window.model
    panel.model_box.setCurrentIndex(panel.model_box.findData("lraspp_mobilenet_v3_large"))
    panel.weights_box.setEditText("none")
    return window


def test_prediction_runs_in_a_worker_and_is_one_undo_step(predicting_window, qtbot):
    win = predicting_window
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(win.predictor.runner.running("predict") != []))
    timer.start(10)
    doc = win.document.doc
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000) as blocker:
        assert win.predictor.predict_this()
        assert not win.model.this_btn.isEnabled()  # busy while it runs
    timer.stop()
    assert blocker.args == ["img0"]
    # the GUI thread kept running its event loop while the job was busy
    assert sum(ticks) >= 3
    assert doc.status == "predicted"
    assert doc.model == "lraspp_mobilenet_v3_large@none"
    assert doc.class_map.any() or doc.class_map.max() == 0  # the model's own answer, whatever it is
    assert len(win.document.editor.history) == 1
    assert win.model.device_label.text() == "cpu"
    said = win.model.message_text()
    assert said.startswith("img0") and said.endswith("— Ctrl+Z undoes it")
    qtbot.waitUntil(lambda: win.model.this_btn.isEnabled(), timeout=10_000)
    predicted = doc.class_map.copy()
    win.undo()
    assert not doc.class_map.any() and doc.status == "unlabelled"
    assert win.model.message_text() == said.removesuffix(" — Ctrl+Z undoes it")  # the undo took it back
    win.redo()
    np.testing.assert_array_equal(doc.class_map, predicted)


def test_predict_again_keeps_painted_pixels(predicting_window, qtbot):
    from segstudio.core.edits import paint_segment
    win = predicting_window
    editor = win.document.editor
    editor.push(paint_segment(editor.doc, (10, 10), (20, 10), 3, class_id=200 % 21), "brush")
    painted = editor.doc.user_mask.copy()
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        win.predictor.predict_this()
    assert (editor.doc.class_map[painted] == 200 % 21).all()
    assert editor.doc.status == "edited"


def test_cancel_and_stale_results_are_dropped(predicting_window, qtbot):
    win = predicting_window
    states = []
    # warm the model cache so the next jobs are quick
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        win.predictor.predict_this()
    qtbot.waitUntil(lambda: not win.predictor.runner.running(), timeout=10_000)
    # 1. a result for an image that is no longer open is dropped
    win.predictor.finished.connect(states.append)
    win.predictor.predict_this()
    assert win.open_key("img1")
    qtbot.waitUntil(lambda: bool(states), timeout=60_000)
    assert win.predictor.dropped >= 1 or states == ["cancelled"]
    assert win.document.doc.status == "unlabelled"
    # 2. Cancel during "predict all" stops it: the images after the cancel stay unlabelled
    states.clear()
    win.predictor.predict_all()
    win.predictor.cancel()
    qtbot.waitUntil(lambda: bool(states), timeout=60_000)
    assert states == ["cancelled"]
    win.document.wait_for_saves()
    qtbot.wait(50)
    project = win.document.project
    assert project.status("img2") == "unlabelled"
    assert win.model.this_btn.isEnabled() and not win.model.cancel_btn.isEnabled()
    assert win.model.message.text() == "cancelled"


def test_predict_all_writes_every_image(predicting_window, qtbot):
    win = predicting_window
    done = []
    win.predictor.finished.connect(done.append)
    win.predictor.predict_all()
    qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    assert done == ["done"]
    win.document.wait_for_saves()
    qtbot.wait(50)  # the "saved" reports reach the image list
    project = win.document.project
    assert win.document.doc.status == "predicted"  # the open image: an undo step, saved later
    assert project.status("img1") == "predicted" and project.status("img2") == "predicted"
    assert project.load_annotation("img2").model == "lraspp_mobilenet_v3_large@none"
    assert "predicted" in win.images.list.item(2).toolTip()


def test_download_progress_dialog_and_errors(predicting_window, qtbot):
    win = predicting_window
    p = win.predictor
    p._on_progress(5_000_000, 20_000_000, predict_job.DOWNLOAD + "fcn_resnet50")
    assert p.download.dialog is not None and p.download.dialog.isVisible()
    assert p.download.dialog.value() == 250
    assert "5.0 of 20.0 MB" in p.download.dialog.labelText()
    errors = []
    p.error.connect(errors.append)
    p._on_error("fcn_resnet50: cannot download https://x/y.pth (offline); copy the file to /c/y.pth")
    assert p.download.dialog is None
    assert errors and "copy the file" in errors[0] and 'weights "none"' in errors[0]


def test_a_missing_checkpoint_is_reported(predicting_window, qtbot, tmp_path):
    win = predicting_window
    win.model.weights_box.setEditText(str(tmp_path / "missing.pt"))
    with qtbot.waitSignal(win.predictor.error, timeout=60_000) as blocker:
        win.predictor.predict_this()
    assert "missing.pt" in blocker.args[0]
    assert win.document.doc.status == "unlabelled"


def test_prediction_memory_is_kept_for_the_open_image_and_saved(predicting_window, qtbot):
    win = predicting_window
    assert win.document.memory is None
    with qtbot.waitSignal(win.document.memory_changed, timeout=120_000):
        win.predictor.predict_this()
    memory = win.document.memory
    assert memory is not None and memory.size == win.document.doc.shape
    win.document.wait_for_saves()
    key = win.document.key
    saved = win.document.project.load_prediction_memory(key)
    np.testing.assert_array_equal(saved.classes, memory.classes)
    # switching away and back reads it again
    assert win.open_key(win.images.neighbour(key, 1))
    assert win.document.memory is None
    assert win.open_key(key)
    np.testing.assert_array_equal(win.document.memory.probs, memory.probs)
