"""The Model panel: settings come back at the next launch, progress goes by stages, messages stay with their folder."""

from __future__ import annotations

import pytest
import torch

from tests.app.conftest import make_images


@pytest.fixture
def predicting(window):
    torch.manual_seed(0)
    window.model.set_choice(model="lraspp_mobilenet_v3_large", weights="none")
    return window


def test_dense_crf_and_threshold_are_restored_at_the_next_launch(make_window, image_folder, qtbot):
    win = make_window(image_folder)
    win.model.weights_box.setEditText("none")  # as the user does
    win.model.crf_box.click()
    win.model.threshold.setValue(0.7)
    assert win.model.choice().crf
    win.close()
    again = make_window(image_folder)
    choice = again.model.choice()
    # restoring one setting used to save the others' defaults before they were restored
    assert choice.weights == "none" and choice.crf and abs(choice.score_threshold - 0.7) < 1e-9
    assert again.model.crf_iters.isEnabled()  # the CRF settings are editable when it is on


def test_progress_goes_by_stages_and_is_full_only_when_done(predicting, qtbot):
    win = predicting
    win.model.crf_box.setChecked(True)
    reports = []
    show = win.model.show_progress

    def spy(done, total, message):
        reports.append((done, total, message, win.document.doc.status))
        show(done, total, message)
    win.model.show_progress = spy
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        assert win.predictor.predict_this()
    stages = [r for r in reports if r[1] > 0]
    assert all(done < total for done, total, _, _ in stages)  # never 100 % while work is left
    text = " ".join(r[2] for r in stages)
    assert "predicting" in text and "refining" in text and "applying" in text
    assert [r[0] for r in stages] == sorted(r[0] for r in stages)  # forward only
    qtbot.waitUntil(lambda: win.model.this_btn.isEnabled(), timeout=10_000)
    assert not win.model.progress.isVisible()


def test_a_report_sent_as_another_folder_opened_does_not_come_back(predicting, qtbot, tmp_path, monkeypatch):
    """A job can finish in its thread while its reports still wait for the GUI, and the user opens
    another folder then (seen on a busy machine): its last report must not put the old image back
    in the panel after the folder change cleared it."""
    import os

    from segstudio.app import predict

    win = predicting

    def quick_job(path, choice, labels, ctx):
        ctx.progress(1, 3, f"predicting {os.path.basename(path)}…")
        return None   # never applied: the folder changes before it arrives

    monkeypatch.setattr(predict.predict_job, "predict_one", quick_job)
    states = []
    win.predictor.finished.connect(states.append)
    assert win.predictor.predict_this()
    assert win.predictor.runner.wait(30_000)     # done in its thread; its signals not delivered yet
    assert win.open_path(make_images(tmp_path / "other", n=1))
    qtbot.waitUntil(lambda: bool(states), timeout=30_000)
    qtbot.wait(50)
    assert win.predictor.dropped == 1
    assert "img0.png" not in win.model.message_text()


def test_a_new_folder_clears_the_message_and_cancels_the_previous_folders_prediction(predicting, qtbot, tmp_path):
    win = predicting
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        win.predictor.predict_this()  # also loads the model, so the next job is quick
    qtbot.waitUntil(lambda: not win.predictor.runner.running(), timeout=10_000)
    assert win.model.message_text().startswith("img0.png")
    states = []
    win.predictor.finished.connect(states.append)
    win.predictor.predict_this()  # still running when the other folder opens
    other = make_images(tmp_path / "other", n=1)  # its image is also called img0
    assert win.open_path(other)
    assert "img0.png" not in win.model.message_text()
    qtbot.waitUntil(lambda: bool(states), timeout=60_000)
    qtbot.wait(50)
    doc = win.document.doc
    assert win.document.project.root == other
    assert doc.status == "unlabelled" and not doc.class_map.any()  # the old folder's result was not applied
    assert "img0.png" not in win.model.message_text()


def test_a_model_without_published_classes_is_explained_with_the_panels_controls(window, qtbot):
    # U-Net's default weights are an ImageNet encoder: ml says so with command-line options
    window.model.set_choice(model="unet_resnet34", weights="default")
    with qtbot.waitSignal(window.predictor.error, timeout=60_000) as blocker:
        window.predictor.predict_this()
    message = blocker.args[0]
    assert "no published segmentation weights" in message
    assert "--" not in message and "segstudio finetune" not in message
    assert "Weights box" in message and "Train tab" in message and 'weights "none"' in message
    assert window.document.doc.status == "unlabelled"


def test_a_long_model_name_is_whole_in_the_list_and_in_its_tooltip(window, qtbot):
    from PySide6.QtCore import Qt

    box = window.model.model_box
    long_name = max((box.itemText(i) for i in range(box.count())), key=len)
    i = box.findText(long_name)
    # the panel is narrower than the longest name: the closed box clips it, the list and tooltip do not
    assert box.itemData(i, Qt.ToolTipRole) == long_name
    view = box.view()
    assert view.minimumWidth() > box.fontMetrics().horizontalAdvance(long_name) > box.width()
