"""Blending the starting and trained weights at the end of a warm-started run (training/blend.py)."""

from __future__ import annotations

import json

import pytest
import torch

from segstudio.core.labels import LabelSet
from segstudio.ml.training import blend as B
from segstudio.ml.training.checkpoint import load_checkpoint
from segstudio.ml.training.hooks import Hook
from segstudio.ml.training.model_setup import build_train_model
from segstudio.ml.training.trainer import Trainer
from tests.ml.test_training import ARCH, _config, _data
from tests.ml.training_data import make_mask_folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return make_mask_folders(tmp_path_factory.mktemp("blend-data"), n=8, size=64)


@pytest.fixture(scope="module")
def first_run(folders, tmp_path_factory):
    """best.pt of a short run from random weights: the checkpoint the next run continues from."""
    out = tmp_path_factory.mktemp("first")
    torch.manual_seed(0)
    Trainer(_config(out, epochs=1, fit_crf=False), _data(folders)).fit()
    return out / "best.pt"


class Recorder(Hook):
    def __init__(self):
        self.checkpoints, self.messages, self.phases = [], [], []

    def on_checkpoint(self, trainer, info):
        self.checkpoints.append(info)

    def on_message(self, trainer, text):
        self.messages.append(text)

    def on_phase(self, trainer, info):
        self.phases.append((info.phase, info.done, info.total))


def test_start_state_only_for_a_checkpoint_of_the_same_classes(first_run):
    labels = LabelSet(["background", "square", "disc"])
    tm = build_train_model(ARCH, str(first_run), labels)
    card = tm.checkpoint_card
    assert card["architecture"] == ARCH
    state = B.start_state(tm)
    saved = load_checkpoint(first_run)["model"]
    weights = [k for k, v in saved.items() if v.is_floating_point()]   # (counters are not loaded)
    assert state is not None and state.keys() == saved.keys() and len(weights) > 100
    assert all(torch.equal(state[k], saved[k]) for k in weights)
    # a copy: training the model does not move it
    next(iter(tm.model.parameters())).data.add_(1.0)
    assert all(torch.equal(state[k], saved[k]) for k in weights)

    other = build_train_model(ARCH, str(first_run), LabelSet(["background", "square", "disc", "ring"]))
    assert B.start_state(other) is None                                # heads replaced: no blend
    fresh = build_train_model(ARCH, "none", labels)
    assert fresh.checkpoint_card is None and not fresh.replaced_heads
    assert B.start_state(fresh) is None


def test_blend_states_interpolates_floats_and_keeps_the_trained_counters():
    start = {"w": torch.zeros(3), "bn.num_batches_tracked": torch.tensor(5)}
    trained = {"w": torch.tensor([4.0, 8.0, -4.0]), "bn.num_batches_tracked": torch.tensor(9)}
    out = B.blend_states(start, trained, 0.25)
    assert torch.allclose(out["w"], torch.tensor([1.0, 2.0, -1.0]))
    assert out["bn.num_batches_tracked"].item() == 9
    assert torch.equal(B.blend_states(start, trained, 1.0)["w"], trained["w"])


def test_the_best_blend_replaces_the_trained_weights_and_its_score_is_the_cards(folders, first_run, tmp_path,
                                                                                monkeypatch):
    """Scores are forced so that 0.5 wins: best.pt must then hold exactly that blend, its card the
    blend's score, and the app hears of it as a new checkpoint."""
    real = B._validate
    scores = iter([0.40, 0.90, 0.60])               # the three blends, 0.25 / 0.5 / 0.75, in that order

    def forced(*args, **kw):                        # the real work (progress and all), a forced score
        return _with_miou(real(*args, **kw), next(scores))

    start = load_checkpoint(first_run)["model"]
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "run", weights=str(first_run), epochs=1, fit_crf=False),
                      _data(folders), [rec])
    monkeypatch.setattr(B, "_validate", forced)
    trainer.fit()
    trained_score = rec.checkpoints[0].score
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    card = ckpt["card"]
    assert card["blend"]["chosen"] == 0.5
    assert card["blend"]["alphas"] == {"0.25": 0.4, "0.5": 0.9, "0.75": 0.6, "1": pytest.approx(trained_score)}
    assert card["usage"]["validation"]["score"] == card["best_score"] == card["score"]["value"] == 0.9
    assert json.loads((tmp_path / "run" / "best.json").read_text("utf-8")) == card
    assert [c.score for c in rec.checkpoints] == [pytest.approx(trained_score), 0.9]
    assert any("blended 0.50" in m for m in rec.messages)
    blends = [p for p in rec.phases if p[0] == "blend"]     # 3 blends × 2 val images, counted from the start
    assert blends[0] == ("blend", 0, 6) and blends[-1] == ("blend", 6, 6)
    # the published weights are the blend of the start and what the run trained
    trainer_trained = load_checkpoint(tmp_path / "run" / "last.pt")["model"]   # one epoch: best = last
    assert all(torch.equal(v.cpu(), trainer_trained[k]) for k, v in trainer.model_plain.state_dict().items())
    for k, v in ckpt["model"].items():
        if v.is_floating_point():
            assert torch.allclose(v, torch.lerp(start[k], trainer_trained[k].cpu(), 0.5), atol=1e-6), k


def _with_miou(metrics, value):
    import dataclasses

    return dataclasses.replace(metrics, miou=value)


def test_no_blend_when_none_beats_the_trained_weights_or_when_switched_off(folders, first_run, tmp_path,
                                                                           monkeypatch):
    real = B._validate
    monkeypatch.setattr(B, "_validate", lambda *a, **k: _with_miou(real(*a, **k), -1.0))
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "a", weights=str(first_run), epochs=1, fit_crf=False),
                      _data(folders), [rec])
    trainer.fit()
    ckpt = load_checkpoint(tmp_path / "a" / "best.pt")
    assert ckpt["card"]["blend"]["chosen"] == 1.0 and len(rec.checkpoints) == 1
    assert all(torch.equal(v, trainer.model_plain.state_dict()[k].cpu()) for k, v in ckpt["model"].items())
    assert any("did not beat the trained weights" in m for m in rec.messages)

    rec = Recorder()
    Trainer(_config(tmp_path / "b", weights=str(first_run), epochs=1, fit_crf=False, blend=False),
            _data(folders), [rec]).fit()
    assert "blend" not in load_checkpoint(tmp_path / "b" / "best.pt")["card"]
    assert not any(p == "blend" for p, _, _ in rec.phases)
    rec = Recorder()                                # from random weights there is nothing to blend with
    Trainer(_config(tmp_path / "c", epochs=1, fit_crf=False), _data(folders), [rec]).fit()
    assert "blend" not in load_checkpoint(tmp_path / "c" / "best.pt")["card"]


def test_a_run_from_a_checkpoint_keeps_the_sizes_its_card_records(folders, first_run, tmp_path):
    """Auto sizes continue at the scale the starting model learned (its crop, batch, base and
    working size), so the blends and the hand-over compare models at one size; given sizes win."""
    from segstudio.ml.training.autofit import start_sizes

    card = load_checkpoint(first_run)["card"]
    assert start_sizes(card) == {"crop": 48, "batch_size": 2, "base_size": 52, "eval_size": 65}
    assert start_sizes({"training": {"crop": "x", "batch_size": True}, "usage": None}) == {}
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "a", weights=str(first_run), epochs=1, fit_crf=False, crop=None,
                              batch_size=None), _data(folders), [rec])
    trainer.fit()
    assert (trainer.config.crop, trainer.batch_size, trainer.base_size, trainer.working_size) == (48, 2, 52, 65)
    assert trainer.sizing.inherited == ("crop", "batch_size", "base_size", "eval_size")
    assert not trainer.sizing.chosen
    assert any(m.startswith("kept crop 48 px, batch 2, base size 52 px, working size 65 px from the starting "
                            "checkpoint") for m in rec.messages)
    given = Trainer(_config(tmp_path / "b", weights=str(first_run), epochs=1, fit_crf=False, crop=32,
                            batch_size=None), _data(folders))
    given.fit()
    assert (given.config.crop, given.batch_size, given.base_size) == (32, 2, 52)
    assert given.sizing.inherited == ("batch_size", "base_size", "eval_size")


def test_a_cancelled_run_is_not_blended(folders, first_run, tmp_path, monkeypatch):
    """Cancel after the first epoch's checkpoint: the run stops as the user asked, with no blend
    passes after it, and best.pt stays the trained weights it published."""
    calls = []
    real = B._validate
    monkeypatch.setattr(B, "_validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "run", weights=str(first_run), epochs=2, fit_crf=False),
                      _data(folders), [rec])
    rec.on_checkpoint = lambda t, info: (rec.checkpoints.append(info), t.cancel())
    result = trainer.fit()
    assert result.cancelled and len(rec.checkpoints) == 1
    assert calls == [] and not any(p == "blend" for p, _, _ in rec.phases)
    assert "blend" not in load_checkpoint(tmp_path / "run" / "best.pt")["card"]


def test_cancelling_during_the_blends_stops_them_and_keeps_the_trained_weights(folders, first_run, tmp_path):
    rec = Recorder()
    trainer = Trainer(_config(tmp_path / "run", weights=str(first_run), epochs=1, fit_crf=False),
                      _data(folders), [rec])

    def on_phase(t, info):
        rec.phases.append((info.phase, info.done, info.total))
        if info.phase == "blend" and info.done == info.total // 3:   # the first blend scored
            t.cancel()

    rec.on_phase = on_phase
    result = trainer.fit()
    assert result.cancelled
    assert max(done for p, done, _ in rec.phases if p == "blend") == 2    # 2 val images: one blend, no more
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert "blend" not in ckpt["card"] and len(rec.checkpoints) == 1
    trained = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert all(torch.equal(v, trained[k]) for k, v in ckpt["model"].items())
    assert all(torch.equal(v.cpu(), trained[k]) for k, v in trainer.model_plain.state_dict().items())
