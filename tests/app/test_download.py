"""First use of default weights: the real download code against a local HTTP server, with the dialog."""

from __future__ import annotations

import hashlib

import pytest
import torch

from segstudio.ml import model_cache
from tests.local_server import serving


@pytest.fixture
def weights_server(tmp_path, monkeypatch):
    """Serve a real lraspp state dict under a torchvision-style name (name-<sha256 prefix>.pth)."""
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    from segstudio.ml.registry import ModelCard
    torch.manual_seed(0)
    serve = tmp_path / "serve"
    serve.mkdir()
    raw = serve / "raw.pth"
    torch.save(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).state_dict(), raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    name = f"lraspp_test-{digest[:8]}.pth"
    raw.rename(serve / name)
    with serving(serve, slow=True) as base:  # slow, so Cancel lands mid-download
        url = f"{base}/{name}"
        monkeypatch.setattr(ModelCard, "url", property(lambda self: url))
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
        monkeypatch.setattr(model_cache, "MODEL_CACHE", model_cache.ModelCache())
        yield tmp_path / "torch-home" / "hub" / "checkpoints" / name


def test_first_prediction_downloads_the_weights_with_a_progress_dialog(window, qtbot, weights_server, monkeypatch):
    panel, p = window.model, window.predictor
    panel.model_box.setCurrentIndex(panel.model_box.findData("lraspp_mobilenet_v3_large"))
    panel.weights_box.setEditText("default")
    seen = []
    original = p.download.show_progress

    def spy(done, total, what):
        original(done, total, what)
        seen.append((done, total, p.download.dialog.isVisible()))
    monkeypatch.setattr(p.download, "show_progress", spy)
    with qtbot.waitSignal(p.applied, timeout=120_000):
        p.predict_this()
    assert weights_server.is_file()  # in the cache, verified against the hash in its name
    total = weights_server.stat().st_size
    assert seen and seen[-1][:2] == (total, total) and all(v for _, _, v in seen)
    assert p.download.dialog is None  # closed once the model runs
    assert window.document.doc.model == "lraspp_mobilenet_v3_large@default"


def test_offline_default_weights_say_what_to_do(window, qtbot, monkeypatch, tmp_path):
    from segstudio.ml.registry import ModelCard
    monkeypatch.setattr(ModelCard, "url", property(lambda self: "http://127.0.0.1:9/nothing-0123abcd.pth"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(model_cache, "MODEL_CACHE", model_cache.ModelCache())
    panel = window.model
    panel.model_box.setCurrentIndex(panel.model_box.findData("lraspp_mobilenet_v3_large"))
    panel.weights_box.setEditText("default")
    with qtbot.waitSignal(window.predictor.error, timeout=60_000) as blocker:
        window.predictor.predict_this()
    message = blocker.args[0]
    assert "offline" in message and "copy it to" in message and 'weights "none"' in message
    assert window.document.doc.status == "unlabelled"
    assert window.predictor.download.dialog is None


def test_cancel_in_the_download_dialog_leaves_no_partial_file(window, qtbot, weights_server, monkeypatch):
    panel, p = window.model, window.predictor
    panel.model_box.setCurrentIndex(panel.model_box.findData("lraspp_mobilenet_v3_large"))
    panel.weights_box.setEditText("default")
    original = p.download.show_progress

    def click_cancel(done, total, what):
        original(done, total, what)
        if done > 0 and p.download.dialog is not None:
            from PySide6.QtWidgets import QPushButton
            p.download.dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    monkeypatch.setattr(p.download, "show_progress", click_cancel)
    states = []
    p.finished.connect(states.append)
    p.predict_this()
    qtbot.waitUntil(lambda: bool(states), timeout=60_000)
    assert states == ["cancelled"]
    assert not weights_server.exists()
    assert not list(weights_server.parent.glob("*.part"))
    assert window.document.doc.status == "unlabelled"


def test_cancel_handled_inside_the_progress_update_is_not_an_error(window):
    # A modal QProgressDialog processes events in setValue: a queued Cancel can close it there.
    p = window.predictor
    p.download.show_progress(0, 100, "lraspp")
    dlg = p.download.dialog
    real = dlg.setValue
    dlg.setValue = lambda v: (real(v), p.download.close())
    p.download.show_progress(50, 100, "lraspp")          # must not touch the closed dialog
    assert p.download.dialog is None
