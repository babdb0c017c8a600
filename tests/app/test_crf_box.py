"""The Model panel's dense-CRF box shows (and predicts with) the settings the checkpoint's card gives."""

from __future__ import annotations

import json

FITTED = {"gaussian_sxy": 3.0, "gaussian_compat": 1.0, "bilateral_sxy": 30.0, "bilateral_srgb": 5.0,
          "bilateral_compat": 2.0, "iterations": 4, "max_side": 256, "min_prob": 0.01}


def _card(path, crf):
    path.with_suffix(".json").write_text(json.dumps({
        "architecture": "lraspp_mobilenet_v3_large", "task": "semantic", "labels": [], "version": "v",
        "usage": {"working_size": 174, "crf": crf}}), "utf-8")
    path.write_bytes(b"")


def test_the_crf_box_follows_the_checkpoint_card(window, tmp_path):
    panel = window.model
    assert panel.crf_iters.value() == 10 and panel.crf_compat.value() == 10  # the model card's defaults
    fitted = tmp_path / "fitted.pt"
    _card(fitted, {"status": "fitted", "params": FITTED, "baseline": 0.35, "score": 0.37, "check_images": 16})
    panel.weights_box.setEditText(str(fitted))
    assert (panel.crf_iters.value(), panel.crf_sxy.value(), panel.crf_srgb.value(), panel.crf_compat.value()) == \
        (4, 30.0, 5.0, 2.0)
    assert "fitted to the validation images" in panel.crf_note_text() and "35.0 → 37.0" in panel.crf_note_text()
    assert panel.choice().crf_params == {"iterations": 4, "bilateral_sxy": 30.0, "bilateral_srgb": 5.0,
                                         "bilateral_compat": 2.0}
    # the run republishes the same file with a new card (its CRF fitted): the box follows
    _card(fitted, {"status": "fitted", "params": dict(FITTED, bilateral_sxy=40.0), "baseline": 0.35,
                   "score": 0.37, "check_images": 16})
    window.model.use_checkpoint(str(fitted), "lraspp_mobilenet_v3_large")
    assert panel.crf_sxy.value() == 40.0
    nogain = tmp_path / "nogain.pt"
    _card(nogain, {"status": "no_gain", "params": FITTED, "gain": -0.01, "fit_images": 8, "check_images": 8})
    panel.weights_box.setEditText(str(nogain))
    assert "no CRF setting beat no CRF" in panel.crf_note_text()
    panel.weights_box.setEditText("default")
    assert panel.crf_iters.value() == 10 and panel.crf_note_text() == ""


def test_the_panel_says_what_the_checkpoint_card_says_of_its_use(window, tmp_path):
    panel = window.model
    assert panel.card_summary_text() == ""                 # torchvision's weights have no such card
    ckpt = tmp_path / "run" / "best.pt"
    ckpt.parent.mkdir()
    ckpt.with_suffix(".json").write_text(json.dumps({
        "architecture": "lraspp_mobilenet_v3_large", "task": "semantic", "labels": [], "version": "v",
        "usage": {"working_size": 174, "validation": {"metric": "mIoU", "score": 0.3607, "images": 101}}}),
        "utf-8")
    ckpt.write_bytes(b"")
    window.model.use_checkpoint(str(ckpt), "lraspp_mobilenet_v3_large")
    assert panel.card_summary_text() == "predicts at 174 px; mIoU 36.1 on 101 validation images"
    panel.weights_box.setEditText("none")
    assert panel.card_summary_text() == ""
