"""The fine-tuning loop on tiny generated data (LR-ASPP, random init, 48 px crops)."""

from __future__ import annotations

import json

import pytest
import torch

from segstudio.errors import TrainingError
from segstudio.ml.data import DataSpec, open_data
from segstudio.ml.training.checkpoint import load_checkpoint
from segstudio.ml.training.hooks import CallbackHook, Hook
from segstudio.ml.training.trainer import TrainConfig, Trainer
from tests.ml.training_data import make_mask_folders

ARCH = "lraspp_mobilenet_v3_large"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return make_mask_folders(tmp_path_factory.mktemp("train-data"), n=8, size=64)


def _data(folders, **kw):
    images, masks, labels = folders
    return open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.25, **kw))


def _config(out, **kw):
    base = dict(weights="none", epochs=2, batch_size=2, crop=48, lr=0.02, workers=0, seed=0)
    base.update(kw)
    return TrainConfig(ARCH, out, **base)


class Recorder(Hook):
    def __init__(self):
        self.iterations, self.epochs, self.checkpoints, self.messages = [], [], [], []

    def on_iteration(self, trainer, info):
        self.iterations.append(info)

    def on_epoch(self, trainer, info):
        self.epochs.append(info)

    def on_checkpoint(self, trainer, info):
        self.checkpoints.append(info)

    def on_message(self, trainer, text):
        self.messages.append(text)


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_loss_falls_and_checkpoints_reload_to_identical_predictions(folders, tmp_path):
    from segstudio.ml.weights import load_model

    torch.manual_seed(0)
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "run", epochs=4), _data(folders), [rec])
    result = trainer.fit()
    losses = [i.loss for i in rec.iterations]
    assert len(losses) == result.iterations == 12            # 6 train images / batch 2 × 4 epochs
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3
    info = rec.iterations[-1]
    assert info.images_per_s > 0 and info.eta_s == 0 and info.lr == pytest.approx(0.0, abs=1e-12)
    assert len(rec.epochs) == 4 and all("miou" in e.metrics and len(e.metrics["per_class"]) == 3
                                        for e in rec.epochs)
    assert rec.checkpoints and rec.checkpoints[0].path.endswith("best.pt")

    best = tmp_path / "run" / "best.pt"
    card = json.loads(best.with_suffix(".json").read_text("utf-8"))
    ckpt = load_checkpoint(best)
    assert card == ckpt["card"]
    assert card["architecture"] == ARCH and card["task"] == "semantic" and card["base_weights"] == "none"
    assert [c["name"] for c in card["labels"]] == ["background", "square", "disc"]
    assert card["metrics"]["miou"] == pytest.approx(result.best_score)
    assert card["data"]["train_images"] == 6 and card["date"]

    # the resume checkpoint holds the final weights; the registry reloads them exactly
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert {"optimizer", "scheduler", "scaler", "epoch", "iteration"} <= set(last)
    assert last["iteration"] == 12 and last["epoch"] == 4
    loaded = load_model(None, weights=tmp_path / "run" / "last.pt")
    assert loaded.labels.names == ["background", "square", "disc"]
    x = torch.randn(2, 3, 64, 64)
    trainer.model.eval()
    with torch.no_grad():
        assert torch.equal(trainer.model(x)["out"], loaded.model(x)["out"])


def test_resume_continues_from_the_saved_iteration(folders, tmp_path):
    out = tmp_path / "run"
    first = Trainer(_config(out, epochs=3), _data(folders),
                    [CallbackHook(iteration=lambda i: first.cancel() if i.iteration == 4 else None)])
    r1 = first.fit()
    assert r1.cancelled and r1.iterations == 4
    saved = load_checkpoint(out / "last.pt")
    assert saved["iteration"] == 4 and saved["epoch"] == 1
    momentum = saved["optimizer"]["state"]

    rec = Recorder()
    second = Trainer(_config(out, epochs=3, resume=True), _data(folders), [rec])
    second.setup()
    restored = second.optimizer.state_dict()["state"]
    assert all(torch.equal(momentum[k]["momentum_buffer"], restored[k]["momentum_buffer"]) for k in momentum)
    assert second.scheduler.last_epoch == 4
    r2 = second.fit()
    assert [i.iteration for i in rec.iterations] == list(range(5, 10))
    assert [i.epoch for i in rec.iterations] == [1, 1, 2, 2, 2]
    assert r2.iterations == 9 and r2.epochs_done == 3 and not r2.cancelled
    # the schedule continued: lr at iteration 5 is the poly value for step 4 of 9
    assert rec.iterations[0].lr == pytest.approx(0.02 * (1 - 5 / 9) ** 0.9, rel=1e-6)
    assert any("resumed" in m for m in rec.messages)


def test_cancel_stops_within_one_batch(folders, tmp_path):
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "run", epochs=5), _data(folders), [rec])
    rec.on_iteration = lambda t, info: (rec.iterations.append(info), t.cancel() if info.iteration == 2 else None)
    result = trainer.fit()
    assert result.cancelled and result.iterations == 2 and len(rec.iterations) == 2
    assert load_checkpoint(tmp_path / "run" / "last.pt")["iteration"] == 2
    assert not (tmp_path / "run" / "best.pt").exists()   # cancelled before any validation


def test_an_all_void_batch_changes_no_weights(folders, tmp_path):
    trainer = Trainer(_config(tmp_path / "run"), _data(folders), [])
    trainer.setup()
    images, masks = next(iter(trainer.loader))
    loss, skipped, _ = trainer.steps.run((images, masks))      # a real step: momentum buffers are set
    assert not skipped and loss > 0
    before = _state(trainer.model)
    opt_before = {k: v["momentum_buffer"].clone() for k, v in trainer.optimizer.state_dict()["state"].items()}
    loss, skipped, _ = trainer.steps.run((images, torch.full_like(masks, 255)))
    assert skipped and loss == 0.0
    assert _same_state(before, _state(trainer.model))          # weights and BatchNorm statistics
    after = trainer.optimizer.state_dict()["state"]
    assert all(torch.equal(opt_before[k], after[k]["momentum_buffer"]) for k in opt_before)
    # a normal step does move them (the check above could not pass by accident)
    trainer.steps.run((images, masks))
    assert not _same_state(before, _state(trainer.model))


def test_non_finite_loss_stops_with_a_clear_error(folders, tmp_path):
    trainer = Trainer(_config(tmp_path / "run"), _data(folders), [])
    trainer.setup()
    trainer.model.classifier.register_forward_hook(lambda m, i, o: o * float("nan"))
    with pytest.raises(TrainingError, match="loss became nan.*lower the learning rate"):
        trainer.fit()


def test_out_of_memory_halves_the_batch_or_says_what_to_lower(folders, tmp_path, monkeypatch):
    trainer = Trainer(_config(tmp_path / "a", auto_batch=True, max_iterations=2), _data(folders), [Recorder()])
    trainer.setup()
    forward = trainer.model.forward

    def forward_oom_on_pairs(x):
        if x.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return forward(x)

    monkeypatch.setattr(trainer.model, "forward", forward_oom_on_pairs)
    result = trainer.fit()
    assert result.iterations == 2 and trainer.steps.micro == 1
    assert any("out of memory" in m for m in trainer.hooks[0].messages)

    strict = Trainer(_config(tmp_path / "b", max_iterations=2), _data(folders), [])
    strict.setup()
    monkeypatch.setattr(strict.model, "forward", forward_oom_on_pairs)
    with pytest.raises(TrainingError, match="out of memory.*--batch-size or --crop"):
        strict.fit()


def test_frozen_backbone_keeps_backbone_and_its_batchnorm(folders, tmp_path):
    trainer = Trainer(_config(tmp_path / "run", freeze_backbone=True, max_iterations=2), _data(folders), [])
    trainer.setup()
    before = {k: v.clone() for k, v in trainer.model.backbone.state_dict().items()}
    head_before = _state(trainer.model.classifier)
    trainer.fit()
    after = trainer.model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)       # running stats included
    assert not _same_state(head_before, _state(trainer.model.classifier))


def test_time_budget_and_schedule(folders, tmp_path):
    from segstudio.ml.training.schedule import WarmupPolyLR, param_groups, weight_decay_for

    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "run", epochs=None, max_minutes=0.02), _data(folders), [rec])
    result = trainer.fit()
    assert result.iterations >= 1 and (tmp_path / "run" / "best.pt").exists()
    assert rec.iterations[-1].epochs is None

    assert weight_decay_for("lraspp_mobilenet_v3_large") == 1e-6 and weight_decay_for("fcn_resnet50") == 1e-4
    from torchvision.models.segmentation import fcn_resnet50

    model = fcn_resnet50(weights=None, weights_backbone=None, num_classes=3, aux_loss=True)
    groups = param_groups(model, 0.01)
    assert [g["lr"] for g in groups] == [0.01, 0.1]
    assert len(groups[1]["params"]) == len(list(model.aux_classifier.parameters()))
    opt = torch.optim.SGD(groups, lr=0.01)
    sched = WarmupPolyLR(opt, total_iters=10, warmup_iters=2, warmup_factor=0.1)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.001) and lrs[1] == pytest.approx(0.01 * 0.55 * 0.9 ** 0.9)
    assert lrs[2] == pytest.approx(0.01 * 0.8 ** 0.9) and lrs == sorted(lrs[:2]) + sorted(lrs[2:], reverse=True)


def _tiny_mask_rcnn():
    """A real torchvision MaskRCNN with a toy backbone, so the instance path runs in a second."""
    from torch import nn
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())
    backbone.out_channels = 8
    return MaskRCNN(backbone, num_classes=None, min_size=64, max_size=64,
                    rpn_anchor_generator=AnchorGenerator(((8, 16, 32),), ((0.5, 1.0, 2.0),)),
                    rpn_batch_size_per_image=32, box_batch_size_per_image=32, rpn_pre_nms_top_n_train=100,
                    rpn_post_nms_top_n_train=50, rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=50,
                    box_head=TwoMLPHead(8 * 7 * 7, 32), box_predictor=FastRCNNPredictor(32, 3),
                    mask_head=MaskRCNNHeads(8, (16, 16), 1), mask_predictor=MaskRCNNPredictor(16, 16, 3))


def test_instance_training_steps_and_scores_with_cocoeval(tmp_path):
    from segstudio.ml.training.model_setup import TrainModel
    from tests.ml.test_data_training import _coco_file

    torch.manual_seed(0)
    (tmp_path / "coco").mkdir()
    data = open_data(DataSpec(_coco_file(tmp_path / "coco"), task="instance", val_fraction=0.34))
    tm = TrainModel(_tiny_mask_rcnn(), "maskrcnn_resnet50_fpn", "instance", data.labels, "none", "none", None, None)
    rec = Recorder()
    cfg = TrainConfig("maskrcnn_resnet50_fpn", tmp_path / "run", weights="none", epochs=2, batch_size=2,
                      workers=0, lr=0.01)
    trainer = Trainer(cfg, data, [rec], train_model=tm)
    result = trainer.fit()
    assert result.iterations == 2 and all(i.loss > 0 for i in rec.iterations)
    assert trainer.scheduler.policy == "step"
    metrics = rec.epochs[-1].metrics
    assert {"segm_ap", "segm_ap50", "detections"} <= set(metrics) and 0.0 <= metrics["segm_ap"] <= 1.0
    card = load_checkpoint(tmp_path / "run" / "best.pt")["card"]
    assert card["task"] == "instance" and card["score"]["name"] == "segm AP"


def test_checkpoint_publishing_is_atomic_and_loading_checks_the_format(tmp_path, monkeypatch):
    from segstudio.core.labels import LabelSet
    from segstudio.errors import ModelError
    from segstudio.ml.training import checkpoint as ck

    labels = LabelSet(["background", "thing"])
    card = ck.make_card(ARCH, "semantic", labels, "v1", metrics={"miou": 0.5}, run_id="r")
    ckpt = ck.checkpoint_dict({"w": torch.ones(2)}, card, epoch=1, iteration=3)
    path = ck.publish_checkpoint(tmp_path / "best.pt", ckpt)
    assert json.loads((tmp_path / "best.json").read_text("utf-8")) == card
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.json", "best.pt"]    # no temporaries left
    # a failing write leaves the published file as it was
    monkeypatch.setattr(torch, "save", lambda obj, f: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        ck.save_checkpoint(path, ck.checkpoint_dict({"w": torch.zeros(2)}, card))
    monkeypatch.undo()
    assert torch.equal(ck.load_checkpoint(path)["model"]["w"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.json", "best.pt"]
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.pt"):
        ck.load_checkpoint(tmp_path / "junk.pt")
    torch.save({"w": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(ModelError, match="not a segstudio checkpoint"):
        ck.load_checkpoint(tmp_path / "plain.pt")


def test_precise_bn_averages_batch_statistics_and_skips_frozen_layers():
    from torch import nn

    from segstudio.ml.training.precise_bn import recompute_bn_stats

    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm2d(3, momentum=0.01), nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))
    model.train()
    model[2].eval()                                  # a frozen layer keeps its statistics
    frozen = model[2].running_mean.clone()
    batches = [(torch.randn(4, 3, 8, 8) * 3 + k, None) for k in range(3)]
    used = recompute_bn_stats(model, batches, 2, torch.device("cpu"), micro_batch=2)
    assert used == 2 and model.training and model[0].momentum == 0.01
    expected = torch.stack([b[0].mean(dim=(0, 2, 3)) for b in batches[:2]]).mean(0)
    assert torch.allclose(model[0].running_mean, expected, atol=1e-5)
    assert torch.equal(model[2].running_mean, frozen)


def test_the_work_after_the_last_step_is_announced_before_it_starts(folders, tmp_path):
    """After the last training step the bar must not sit at 100 % while BatchNorm statistics are
    recomputed and the first validation image is scored: both phases show before their work."""
    class Phases(Hook):
        def __init__(self):
            self.seen = []

        def on_phase(self, trainer, info):
            self.seen.append((info.phase, info.done, info.total))
            self.text = info.text

    rec = Phases()
    Trainer(_config(tmp_path / "run", epochs=1, precise_bn=1, fit_crf=False), _data(folders), [rec]).fit()
    names = [p for p, _, _ in rec.seen]
    first_val = names.index("validating")
    assert "statistics" in names[:first_val]
    assert rec.seen[first_val] == ("validating", 0, 2)       # 2 val images, announced before the first
    assert rec.seen[-1] == ("validating", 2, 2) and rec.text.startswith("validating on 2 images at ")
