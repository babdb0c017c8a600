"""A fine-tuned checkpoint's card says how to use it, and every consumer gets the score it records."""

from __future__ import annotations

import json

import pytest
import torch

from segstudio.ml.data import DataSpec, open_data
from segstudio.ml.model_cache import ModelCache
from segstudio.ml.pipeline import open_pipeline
from segstudio.ml.scoring import score_semantic
from segstudio.ml.training.hooks import CallbackHook
from segstudio.ml.training.trainer import TrainConfig, Trainer
from segstudio.ml.usage import keys_digest, usage_of
from tests.ml.training_data import make_mask_folders

ARCH = "lraspp_mobilenet_v3_large"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("usage")
    images, masks, labels = make_mask_folders(root / "data", n=8, size=64)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.5))
    torch.manual_seed(0)
    config = TrainConfig(ARCH, root / "run", weights="none", epochs=2, batch_size=2, crop=32, base_size=40,
                         lr=0.02, workers=0, seed=0, crf_fit_seconds=5)
    phases = []
    result = Trainer(config, data, [CallbackHook(phase=phases.append)]).fit()
    return data, result, root / "run" / "best.pt", phases


def test_the_card_records_working_size_and_validation_images(run):
    data, result, best, phases = run
    card = json.loads(best.with_suffix(".json").read_text("utf-8"))
    usage = usage_of(card)
    assert usage.working_size == 50  # 1.25 × the base size 40: the mean training scale
    assert card["training"]["base_size"] == 40 and card["training"]["eval_size"] == 50
    v = usage.validation
    assert v["metric"] == "mIoU" and v["images"] == len(data.val) == 4
    assert v["digest"] == keys_digest(data.val.keys) and v["score"] == pytest.approx(result.best_score)


def test_predicting_through_the_pipeline_gives_the_score_the_card_records(run):
    data, result, best, phases = run
    pipeline = open_pipeline(None, str(best), device="cpu", cache=ModelCache(), labels=data.labels)
    assert pipeline.working_size == 50
    metrics = score_semantic(pipeline, data.val)
    assert metrics.miou == pytest.approx(result.best_score, abs=1e-9)
    other = open_pipeline(None, str(best), device="cpu", cache=ModelCache(), labels=data.labels, resize=0)
    assert other.working_size is None  # --resize 0: the image's own size


def test_the_run_ends_with_a_crf_fit_recorded_in_the_card(run):
    data, result, best, phases = run
    usage = usage_of(json.loads(best.with_suffix(".json").read_text("utf-8")))
    crf = usage.crf
    assert usage.crf_status in ("fitted", "no_gain") and crf["fit_images"] == 2 and crf["check_images"] == 2
    assert set(crf["params"]) >= {"bilateral_compat", "bilateral_sxy", "iterations", "max_side"}
    assert crf["seconds"] <= 5 + 5  # the time box (plus the final check)
    names = [p.phase for p in phases]
    assert "first step" in names and "validating" in names and names[-1] == "crf"
    assert [p.done for p in phases if p.phase == "validating"][-4:] == [1, 2, 3, 4]
    pipeline = open_pipeline(None, str(best), device="cpu", cache=ModelCache(), crf=True)
    if usage.crf_status == "fitted":
        assert pipeline.crf.bilateral_compat == crf["params"]["bilateral_compat"] and not pipeline.notes
    else:
        assert pipeline.crf is None and "skipped" in pipeline.notes[0]
