"""Predicting over labels a person made: say what will happen first; a prediction that changes
nothing changes nothing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from segstudio.app.predict_plan import CANCEL, SKIP_LABELLED
from segstudio.core.labels import LabelSet
from tests.app.conftest import make_images


@pytest.fixture
def imported(make_window, tmp_path):
    """A project imported from images + masks (ground truth: reviewed, every pixel set), one image without a mask."""
    from segstudio.formats.imports import import_masks
    images = make_images(tmp_path / "src", n=2)
    masks = tmp_path / "masks"
    masks.mkdir()
    m = np.zeros((48, 64), np.uint8)
    m[10:30, 5:40] = 7
    cv2.imwrite(str(masks / "img0.png"), m)
    import_masks(images, tmp_path / "proj", masks, LabelSet.voc())
    torch.manual_seed(0)
    win = make_window(tmp_path / "proj")
    panel = win.model
    panel.set_choice(model="lraspp_mobilenet_v3_large", weights="none")
    return win


def asked(win, answer):
    questions = []

    def ask(question):
        questions.append(question)
        return answer
    win.predictor.ask = ask
    return questions


def test_an_imported_image_is_not_predicted_over_without_asking(imported, qtbot):
    win = imported
    doc = win.document.doc
    assert win.document.key == "img0" and doc.status == "reviewed" and doc.user_mask.all()
    before = doc.class_map.copy()
    questions = asked(win, CANCEL)
    assert not win.predictor.predict_this()  # "keep pixels I painted" is on: nothing would change
    assert len(questions) == 1 and "change nothing" in questions[0].text
    assert not win.predictor.runner.running()
    np.testing.assert_array_equal(doc.class_map, before)
    assert doc.status == "reviewed" and not win.isWindowModified()
    # unticked: replacing ground truth is asked too
    win.model.keep_user.setChecked(False)
    questions = asked(win, CANCEL)
    assert not win.predictor.predict_this()
    assert "replaces them" in questions[0].text and "100%" in questions[0].text
    # the user chooses to replace: one undo step puts the ground truth back
    questions = asked(win, False)
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        assert win.predictor.predict_this()
    assert doc.status == "predicted" and not doc.user_mask.any()
    win.undo()
    np.testing.assert_array_equal(doc.class_map, before)
    assert doc.status == "reviewed" and doc.user_mask.all()


def test_an_unlabelled_image_is_predicted_without_a_question(imported, qtbot):
    win = imported
    assert win.open_key("img1")
    questions = asked(win, CANCEL)
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        assert win.predictor.predict_this()
    assert questions == [] and win.document.doc.status == "predicted"


def test_predict_all_asks_once_and_a_prediction_that_changes_nothing_leaves_the_image_alone(imported, qtbot):
    win = imported
    doc = win.document.doc
    done = []
    win.predictor.finished.connect(done.append)
    questions = asked(win, SKIP_LABELLED)
    assert win.predictor.predict_all()
    qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    assert len(questions) == 1 and "1 of 2 images already have labels" in questions[0].text
    win.document.wait_for_saves()
    qtbot.wait(50)
    assert win.document.project.status("img1") == "predicted" and doc.status == "reviewed"
    # "all images", keeping painted pixels: the imported image keeps every pixel, so nothing changes
    done.clear()
    questions = asked(win, True)
    messages = []
    show = win.model.show_message
    win.model.show_message = lambda text: (messages.append(text), show(text))
    assert win.predictor.predict_all()
    qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    assert doc.status == "reviewed" and not win.isWindowModified()
    assert len(win.document.editor.history) == 0
    about_img0 = [m for m in messages if m.startswith("img0.png")]
    assert about_img0 and all("changed nothing" in m and "%" not in m for m in about_img0)
