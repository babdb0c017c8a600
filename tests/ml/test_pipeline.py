"""The one prediction pipeline: model cache, the card's working size and CRF settings, results of one type."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from segstudio.cli import main
from segstudio.core.labels import LabelSet
from segstudio.ml.model_cache import ModelCache, weights_key
from segstudio.ml.pipeline import Pipeline, open_pipeline
from segstudio.ml.results import SemanticResult
from segstudio.ml.usage import usage_of, with_usage
from segstudio.ml.weights import load_model, make_card, save_checkpoint

ARCH = "lraspp_mobilenet_v3_large"
LABELS = LabelSet(["background", "square", "disc"])
FITTED = {"gaussian_sxy": 3.0, "gaussian_compat": 1.0, "bilateral_sxy": 30.0, "bilateral_srgb": 5.0,
          "bilateral_compat": 2.0, "iterations": 3, "max_side": 64, "min_prob": 0.01}


def checkpoint(tmp_path, name="ck", **usage):
    torch.manual_seed(0)
    loaded = load_model(ARCH, "none", labels=LABELS)
    card = make_card(ARCH, LABELS, "v1")
    if usage:
        card = with_usage(card, **usage)
    path = tmp_path / f"{name}.pt"
    save_checkpoint(path, loaded.model, card)
    return path


def image(seed=0, h=40, w=56):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_the_cache_reloads_a_rewritten_checkpoint_and_keeps_one_model(tmp_path):
    path = checkpoint(tmp_path)
    cache = ModelCache(capacity=1)
    first = cache.get(None, str(path))
    assert cache.get(None, str(path)) is first
    key = weights_key(str(path))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))  # a fine-tuning run rewrote it
    assert weights_key(str(path)) != key
    second = cache.get(None, str(path))
    assert second is not first
    cache.get(ARCH, "none")
    assert len(cache) == 1 and cache.cached(None, str(path)) is None


def test_the_working_size_comes_from_the_card_unless_resize_says_otherwise(tmp_path):
    path = checkpoint(tmp_path, working_size=40)
    cache = ModelCache()
    p = open_pipeline(None, str(path), device="cpu", cache=cache)
    assert p.working_size == 40 and p.usage.working_size_source == "the checkpoint's card"
    assert p.predictor.working_size(80, 120) == (40, 60)
    assert open_pipeline(None, str(path), device="cpu", cache=cache, resize=0).working_size is None
    assert open_pipeline(None, str(path), device="cpu", cache=cache, resize=32).working_size == 32
    # published weights keep their own preprocessing size
    assert open_pipeline(ARCH, "none", device="cpu", cache=cache).working_size == 520


def test_older_cards_use_the_trainers_default_base_size_of_their_crop():
    assert usage_of({"task": "semantic", "training": {"crop": 128}}).working_size == 174  # 1.25 × 139
    assert usage_of({"training": {"crop": 128, "base_size": 160}}).working_size == 200
    assert usage_of({"training": {"crop": 128, "eval_size": 192}}).working_size == 192
    assert usage_of(None).working_size is None


def test_crf_settings_come_from_the_card(tmp_path):
    cache = ModelCache(capacity=4)
    fitted = checkpoint(tmp_path, "fitted", crf={"status": "fitted", "params": FITTED, "gain": 0.01,
                                                 "baseline": 0.5, "score": 0.51, "check_images": 3})
    p = open_pipeline(None, str(fitted), device="cpu", cache=cache, resize=0, crf=True)
    assert p.crf.bilateral_compat == 2.0 and p.crf.iterations == 3 and p.notes == []
    p = open_pipeline(None, str(fitted), device="cpu", cache=cache, resize=0, crf=True,
                      crf_overrides={"iterations": 7, "max_side": None})
    assert p.crf.iterations == 7 and p.crf.max_side == 64

    no_gain = checkpoint(tmp_path, "nogain", crf={"status": "no_gain", "params": FITTED, "gain": -0.004,
                                                  "fit_images": 2, "check_images": 2})
    p = open_pipeline(None, str(no_gain), device="cpu", cache=cache, resize=0, crf=True)
    assert p.crf is None and len(p.notes) == 1 and "dense CRF skipped" in p.notes[0]
    rgb = image()
    plain = open_pipeline(None, str(no_gain), device="cpu", cache=cache, resize=0)
    assert np.array_equal(p.predict(rgb).class_map, plain.predict(rgb).class_map)
    forced = open_pipeline(None, str(no_gain), device="cpu", cache=cache, resize=0, crf=True, crf_force=True)
    assert forced.crf.bilateral_sxy == 30.0 and "anyway" in forced.notes[0]

    unfitted = open_pipeline(ARCH, "none", device="cpu", cache=cache, crf=True)
    assert unfitted.crf.bilateral_compat == 10 and unfitted.crf.iterations == 10  # the model card's defaults


def test_crf_results_have_the_type_of_the_prediction(tmp_path):
    path = checkpoint(tmp_path, crf={"status": "fitted", "params": FITTED})
    p = open_pipeline(None, str(path), device="cpu", cache=ModelCache(), resize=0, crf=True)
    rgb = image(1)
    raw = p.without_crf().predict(rgb)
    refined = p.predict(rgb)
    assert isinstance(raw, SemanticResult) and isinstance(refined, SemanticResult)
    assert refined.class_map.shape == raw.class_map.shape == (40, 56)
    assert refined.logits is raw.logits or torch.equal(refined.logits, raw.logits)
    from segstudio.ml.crf import refine
    probs, ids = raw.probabilities(p.crf.min_prob)
    assert np.array_equal(refined.class_map, refine(rgb, probs, ids, p.crf))  # with the card's settings
    calls = []
    p.predict(rgb, check=lambda: calls.append(1))
    assert calls == [1]


def test_predict_cli_warns_when_the_card_says_the_crf_did_not_help(tmp_path, capsys):
    from PIL import Image

    path = checkpoint(tmp_path, working_size=32, crf={"status": "no_gain", "params": FITTED, "gain": -0.01,
                                                      "fit_images": 2, "check_images": 2})
    (tmp_path / "in").mkdir()
    Image.fromarray(image(2)).save(tmp_path / "in" / "a.png")
    code = main(["predict", "--model", ARCH, "--weights", str(path), "--device", "cpu", "--workers", "0", "--crf",
                 "--out", str(tmp_path / "out"), str(tmp_path / "in")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning: dense CRF skipped" in err and "working size 32 px" in err


def test_pipeline_build_checks_the_crf_library(tmp_path, monkeypatch):
    import segstudio.ml.crf as crf
    from segstudio.errors import ModelError

    def missing():
        raise ModelError("the dense CRF needs pydensecrf")
    monkeypatch.setattr(crf, "require_pydensecrf", missing)
    loaded = load_model(ARCH, "none")
    with pytest.raises(ModelError):
        Pipeline.build(loaded, "cpu", crf=True)
    assert Pipeline.build(loaded, "cpu").crf is None


def test_evaluate_crf_uses_the_fitted_settings_and_the_working_size(tmp_path, capsys):
    import json

    from tests.ml.training_data import make_mask_folders

    images, masks, _ = make_mask_folders(tmp_path / "data", n=2, size=32)
    path = checkpoint(tmp_path, working_size=24, crf={"status": "fitted", "params": FITTED})
    out = tmp_path / "m.json"
    code = main(["evaluate", "--weights", str(path), "--gt", str(masks), "--images", str(images), "--void", "3",
                 "--device", "cpu", "--crf", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    model = json.loads(out.read_text("utf-8"))["model"]
    assert model["working_size"] == 24
    assert model["crf"]["bilateral_sxy"] == 30.0 and model["crf"]["iterations"] == 3
    code = main(["evaluate", "--weights", str(path), "--gt", str(masks), "--images", str(images), "--void", "3",
                 "--device", "cpu", "--resize", "0", "--json", str(out)])
    model = json.loads(out.read_text("utf-8"))["model"]
    assert code == 0 and model["working_size"] is None and model["crf"] is None
