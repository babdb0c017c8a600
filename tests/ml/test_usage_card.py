"""A fine-tuned checkpoint's card says how to use it, and every consumer gets the score it records."""

from __future__ import annotations

import json

import pytest
import torch

from segstudio.ml.data import DataSpec, open_data
from segstudio.ml.model_cache import ModelCache
from segstudio.ml.pipeline import open_pipeline
from segstudio.ml.scoring import score_semantic
from segstudio.ml.training.trainer import TrainConfig, Trainer
from segstudio.ml.usage import keys_digest, usage_of
from tests.ml.training_data import make_mask_folders

ARCH = "lraspp_mobilenet_v3_large"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("usage")
    images, masks, labels = make_mask_folders(root / "data", n=8, size=64)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.25))
    torch.manual_seed(0)
    config = TrainConfig(ARCH, root / "run", weights="none", epochs=2, batch_size=2, crop=32, base_size=40,
                         lr=0.02, workers=0, seed=0)
    result = Trainer(config, data).fit()
    return data, result, root / "run" / "best.pt"


def test_the_card_records_working_size_and_validation_images(run):
    data, result, best = run
    card = json.loads(best.with_suffix(".json").read_text("utf-8"))
    usage = usage_of(card)
    assert usage.working_size == 50  # 1.25 × the base size 40: the mean training scale
    assert card["training"]["base_size"] == 40 and card["training"]["eval_size"] == 50
    v = usage.validation
    assert v["metric"] == "mIoU" and v["images"] == len(data.val) == 2
    assert v["digest"] == keys_digest(data.val.keys) and v["score"] == pytest.approx(result.best_score)


def test_predicting_through_the_pipeline_gives_the_score_the_card_records(run):
    data, result, best = run
    pipeline = open_pipeline(None, str(best), device="cpu", cache=ModelCache(), labels=data.labels)
    assert pipeline.working_size == 50
    metrics = score_semantic(pipeline, data.val)
    assert metrics.miou == pytest.approx(result.best_score, abs=1e-9)
    other = open_pipeline(None, str(best), device="cpu", cache=ModelCache(), labels=data.labels, resize=0)
    assert other.working_size is None  # --resize 0: the image's own size
