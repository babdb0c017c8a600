"""Uncertainty first: Predict all ranks the images, the list orders by it, U goes to the most
uncertain one, and the canvas shows where the model was unsure as a layer of its own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.formats.test_prediction_index import memory


@pytest.fixture
def predicted(window, qtbot):
    torch.manual_seed(0)
    panel = window.model
    panel.model_box.setCurrentIndex(panel.model_box.findData("lraspp_mobilenet_v3_large"))
    panel.weights_box.setEditText("none")
    done = []
    window.predictor.finished.connect(done.append)
    window.predictor.predict_all()
    qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    assert done == ["done"]
    window.document.wait_for_saves()
    qtbot.wait(50)
    return window


def test_predict_all_fills_the_ranking_and_it_is_saved(predicted):
    win = predicted
    project = win.document.project
    keys = [e.key for e in project.images]
    saved = {k: project.load_prediction_memory(k).mean_uncertainty() for k in keys}
    shown = {k: win.images.uncertainty(k) for k in keys}
    assert shown == pytest.approx(saved, abs=1e-9)
    assert project.uncertainties() == pytest.approx(saved, abs=1e-4)  # read back from the small index


def test_the_list_orders_by_uncertainty_and_u_goes_to_the_most_uncertain(window, qtbot):
    win = window
    d = win.document
    peaks = {"img0": 0.95, "img1": 0.4, "img2": 0.7}   # img1 the least sure, then img2
    for key, peak in peaks.items():
        d.set_memory(key, memory(peak, size=d.doc.shape))
    assert win.images.keys() == ["img0", "img1", "img2"]
    win.images.set_order("uncertainty")
    assert win.images.keys() == ["img1", "img2", "img0"]
    assert "0." in win.images.list.item(0).text()
    assert win.settings.get("image_order") == "uncertainty"
    # only predictions nobody has edited or reviewed yet are waiting: mark them predicted on disk
    d.wait_for_saves()
    for key in peaks:
        win.images.set_status(key, "predicted")
    win.images.set_status("img1", "reviewed")
    assert win.document.key == "img0"
    with qtbot.waitSignal(d.image_opened, timeout=10_000):
        win.actions_by_name["next_uncertain"].trigger()
    assert d.key == "img2"                               # img1 is reviewed: img2 is next
    win.images.set_status("img2", "edited")
    win.actions_by_name["next_uncertain"].trigger()
    assert d.key == "img2" and "no predicted image" in win.status.currentMessage()
    # a new prediction re-ranks the list (coalesced)
    d.set_memory("img0", memory(0.26, size=d.doc.shape))
    qtbot.waitUntil(lambda: win.images.keys()[0] == "img0", timeout=5_000)


def test_the_heat_map_is_a_layer_of_its_own(window, qtbot):
    from PySide6.QtWidgets import QApplication

    win = window
    d = win.document

    def settled():   # the canvas as drawn once pending layout requests (the legend's) are done
        QApplication.processEvents()
        return win.canvas.grab().toImage()

    settled()
    win.canvas.fit()
    plain = settled()
    assert win.status.heat_text() == ""                  # no legend while the heat map is off
    win.actions_by_name["show_uncertainty"].setChecked(True)
    assert "predict it to see" in win.status.currentMessage()
    assert win.status.heat_text() == "· no prediction yet"
    assert settled() == plain                            # nothing to show before a prediction
    overlay_before = win.canvas.overlay.buffer.copy()
    unsure = memory(0.3, size=d.doc.shape)               # nearly uniform: entropy ≈ 1, drawn red
    d.set_memory(d.key, unsure)
    assert win.canvas.has_heat()
    assert win.status.heat_text() == f"· this image {unsure.mean_uncertainty():.3f}"  # the legend's figure
    hot = settled()
    c = win.canvas
    x, y = int(c.offset.x() + 5 * c.scale), int(c.offset.y() + 5 * c.scale)
    before, after = plain.pixelColor(x, y), hot.pixelColor(x, y)
    assert after.red() > before.red() + 50 and after.blue() <= before.blue()
    win.actions_by_name["show_uncertainty"].setChecked(False)
    assert settled() == plain                            # off again: the classes layer alone
    assert win.status.heat_text() == ""
    assert np.array_equal(c.overlay.buffer, overlay_before)  # the heat map never touched the class overlay
