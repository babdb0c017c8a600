"""The loop in the window: a published fine-tuned checkpoint is used by the next prediction."""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from segstudio.core.edits import paint_segment
from segstudio.ml.weights import load_model, make_card, save_checkpoint

ARCH = "lraspp_mobilenet_v3_large"


def _publish(path, labels, version, seed):
    torch.manual_seed(seed)
    loaded = load_model(ARCH, "none", labels=labels)
    save_checkpoint(path, loaded.model, make_card(ARCH, labels, version))
    return loaded


def test_published_checkpoint_is_used_by_the_next_prediction_without_restart(window, qtbot, tmp_path):
    win = window
    labels = win.document.project.labels
    assert win.train.project_root == str(win.document.project.root)
    # the user had picked another model; publishing switches to the fine-tuned one
    win.model.model_box.setCurrentIndex(win.model.model_box.findData("fcn_resnet50"))
    ckpt = tmp_path / "run" / "best.pt"
    ckpt.parent.mkdir()
    _publish(ckpt, labels, "ft-1", seed=1)
    win.training.checkpoint_published.emit(str(ckpt), "ft-1")
    choice = win.model.choice()
    assert choice.model == ARCH and choice.weights == str(ckpt)
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        assert win.predictor.predict_this()
    doc = win.document.doc
    assert doc.model == f"{ARCH}@ft-1"
    first = doc.class_map.copy()
    qtbot.waitUntil(lambda: win.model.this_btn.isEnabled(), timeout=10_000)

    # a better checkpoint replaces the file (same path, newer file): no restart needed
    time.sleep(0.01)
    _publish(ckpt, labels, "ft-2", seed=2)
    os.utime(ckpt, None)
    win.training.checkpoint_published.emit(str(ckpt), "ft-2")
    with qtbot.waitSignal(win.predictor.applied, timeout=120_000):
        assert win.predictor.predict_this()
    assert doc.model == f"{ARCH}@ft-2"
    assert doc.class_map.shape == first.shape
    # each image records which model version predicted it, in its saved file too
    assert win.document.save()
    assert win.document.project.load_annotation(win.document.key).model == f"{ARCH}@ft-2"


def test_training_starts_from_the_saved_state_of_the_open_image(window):
    win = window
    editor = win.document.editor
    editor.push(paint_segment(editor.doc, (10, 10), (20, 10), 3, class_id=5), "brush")
    assert win.document.is_dirty
    assert win.training.before_start()
    assert not win.document.is_dirty
    saved = win.document.project.load_annotation(win.document.key)
    assert saved.status == "edited" and (saved.class_map == 5).any()
    assert np.array_equal(saved.class_map, editor.doc.class_map)


def test_a_checkpoint_typed_with_a_tilde_is_reloaded_when_rewritten(tmp_path, monkeypatch):
    from segstudio.ml.model_cache import weights_key

    monkeypatch.setenv("HOME", str(tmp_path))
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"x")
    first = weights_key("~/best.pt")
    assert first[0] == str(ckpt)
    os.utime(ckpt, (1, 1))
    assert weights_key("~/best.pt") != first
