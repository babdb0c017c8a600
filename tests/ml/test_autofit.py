"""Training sizes chosen from the device and the budget; explicit options win."""

from __future__ import annotations

import json

import torch

from segstudio.ml.training.autofit import (CROPS, MIN_EPOCHS, MIN_STEPS, STEP_OVERHEAD, Probe, choose_sizes,
                                           probe_step)

CAMVID = [(360, 480)] * 4


def _cpu(seconds_at_128x8: float) -> Probe:
    return Probe(seconds_at_128x8 / (8 * 128 * 128))


def test_a_short_cpu_budget_gets_the_largest_crop_that_still_gives_enough_steps():
    probe = _cpu(0.1)
    c = choose_sizes(probe, "cpu", budget_minutes=4, epochs=None, train_images=367, image_sizes=CAMVID)
    steps = lambda crop: 240 / (STEP_OVERHEAD * probe.seconds_per_pixel * 8 * crop * crop)  # noqa: E731
    wanted = max(MIN_STEPS, MIN_EPOCHS * -(-367 // 8))   # 12 epochs of 46 steps
    assert c.batch_size == 8 and steps(c.crop) >= wanted and c.crop > 128
    assert steps(CROPS[CROPS.index(c.crop) + 1]) < wanted
    assert c.base_size == round(c.crop * 520 / 480) and c.eval_size == round(c.base_size * 1.25)
    assert set(c.chosen) == {"crop", "batch_size", "base_size", "eval_size"}
    text = c.summary()
    assert f"crop {c.crop} px" in text and "measured" in text and "--crop" in text
    # a slower machine (or a shorter budget) gets a smaller crop; a longer budget a larger one
    assert choose_sizes(_cpu(0.6), "cpu", budget_minutes=4, epochs=None, train_images=367,
                        image_sizes=CAMVID).crop == 128 < c.crop
    assert choose_sizes(probe, "cpu", budget_minutes=60, epochs=None, train_images=367,
                        image_sizes=CAMVID).crop > c.crop


def test_explicit_options_win_and_the_rest_is_chosen_around_them():
    c = choose_sizes(_cpu(0.6), "cpu", budget_minutes=4, epochs=None, train_images=367, image_sizes=CAMVID,
                     crop=256, eval_size=300)
    assert c.crop == 256 and c.eval_size == 300 and c.base_size == round(256 * 520 / 480)
    assert set(c.chosen) == {"batch_size", "base_size"}
    c = choose_sizes(_cpu(0.6), "cpu", budget_minutes=4, epochs=None, train_images=367, crop=128, batch_size=4,
                     base_size=128, eval_size=160)
    assert c.chosen == () and c.summary() == ""


def test_a_gpu_gets_large_crops_and_a_batch_that_fits_its_memory():
    gib = 2 ** 30
    probe = Probe(1e-9, bytes_per_pixel=200.0, free_bytes=2 * gib)  # fast; 8×480² needs 0.34 GiB
    c = choose_sizes(probe, "cuda", budget_minutes=None, epochs=10, train_images=1000,
                     image_sizes=[(375, 500)] * 3)
    assert c.crop == 480 and c.batch_size == 16  # 16×480² ≈ 0.69 GiB ≤ 60 % of 2 GiB
    c = choose_sizes(Probe(1e-9, 200.0, gib // 2), "cuda", budget_minutes=None, epochs=10, train_images=1000,
                     image_sizes=[(375, 500)] * 3)
    assert c.batch_size == 4 and "GiB" in c.summary()
    # small images cap the crop
    assert choose_sizes(probe, "cuda", budget_minutes=None, epochs=1, train_images=10,
                        image_sizes=[(100, 170)]).crop == 160


def test_without_a_budget_the_planned_epochs_should_fit_an_hour():
    c = choose_sizes(_cpu(0.6), "cpu", budget_minutes=None, epochs=10, train_images=367, image_sizes=CAMVID)
    run_min = 10 * -(-367 // 8) * 0.6 * STEP_OVERHEAD * (c.crop / 128) ** 2 / 60
    assert run_min <= 60 and c.crop >= 128


def test_the_probe_times_a_real_training_step_and_leaves_the_model_as_it_was():
    from segstudio.ml.weights import load_model

    torch.manual_seed(0)
    model = load_model("lraspp_mobilenet_v3_large", "none", num_classes=3).model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    rng = torch.random.get_rng_state()
    p = probe_step(model, torch.device("cpu"), 3, crop=32, batch=2, repeats=1)
    assert torch.equal(torch.random.get_rng_state(), rng)  # a run with chosen sizes = the same run with given ones
    assert p.seconds_per_pixel > 0 and p.bytes_per_pixel is None
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(q.grad is None for q in model.parameters())


def test_finetune_without_size_options_chooses_and_records_them(tmp_path):
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.hooks import CallbackHook
    from segstudio.ml.training.trainer import TrainConfig, Trainer
    from tests.ml.training_data import make_mask_folders

    images, masks, labels = make_mask_folders(tmp_path / "data", n=6, size=64)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.34))
    messages = []
    cfg = TrainConfig("lraspp_mobilenet_v3_large", tmp_path / "run", weights="none", epochs=1, workers=0,
                      crf_fit_seconds=0)
    trainer = Trainer(cfg, data, [CallbackHook(message=messages.append)])
    trainer.fit()
    assert cfg.crop == 128 and cfg.batch_size == 8  # 64-px images cap the crop at the smallest candidate
    assert any(m.startswith("chose crop 128 px, batch 8") for m in messages)
    card = json.loads((tmp_path / "run" / "best.json").read_text("utf-8"))
    assert card["training"]["crop"] == 128 and set(card["training"]["auto_sized"]) == {
        "crop", "batch_size", "base_size", "eval_size"}
    assert card["usage"]["working_size"] == round(round(128 * 520 / 480) * 1.25)


def test_explicit_sizes_skip_the_probe(tmp_path, monkeypatch):
    import segstudio.ml.training.autofit as autofit
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.trainer import TrainConfig, Trainer
    from tests.ml.training_data import make_mask_folders

    def no_probe(*a, **k):
        raise AssertionError("probed although every size was given")
    monkeypatch.setattr(autofit, "probe_step", no_probe)
    images, masks, labels = make_mask_folders(tmp_path / "data", n=4, size=48)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.5))
    trainer = Trainer(TrainConfig("lraspp_mobilenet_v3_large", tmp_path / "run", weights="none", epochs=1,
                                  workers=0, crop=48, batch_size=2), data)
    trainer.setup()
    assert trainer.sizing is None and trainer.working_size == round(round(48 * 520 / 480) * 1.25)


class _SteadyClock:
    """``time`` for the trainer, with a ``perf_counter`` that moves ``tick`` seconds per reading."""

    def __init__(self, tick: float):
        self.now, self.tick = 0.0, tick

    def perf_counter(self) -> float:
        self.now += self.tick
        return self.now

    def __getattr__(self, name):
        import time
        return getattr(time, name)


def test_a_crop_chosen_on_a_fast_probe_is_changed_after_the_first_real_steps(tmp_path, monkeypatch):
    import segstudio.ml.training.autofit as autofit
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.hooks import CallbackHook
    from segstudio.ml.training.trainer import TrainConfig, Trainer
    from tests.ml.training_data import make_mask_folders

    import segstudio.ml.training.trainer as trainer_module

    # the machine looked idle at the start: the probe says steps are almost free
    monkeypatch.setattr(autofit, "probe_step", lambda *a, **k: Probe(1e-12))
    # ... and then every real step takes about half a second, whatever the load on the machine running the test
    monkeypatch.setattr(trainer_module, "time", _SteadyClock(0.25))
    images, masks, labels = make_mask_folders(tmp_path / "data", n=20, size=160)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.1))
    messages, iterations = [], []
    cfg = TrainConfig("lraspp_mobilenet_v3_large", tmp_path / "run", weights="none", max_minutes=0.1,
                      batch_size=2, workers=0, crf_fit_seconds=0, precise_bn=0)
    trainer = Trainer(cfg, data, [CallbackHook(message=messages.append, iteration=iterations.append)])
    trainer.setup()
    assert cfg.crop == 160                       # the largest crop the 160-px images allow
    result = trainer.fit()
    # 6 s cannot give 250 real steps of 2×160² at 0.5 s: after the first steps the run went on at 128
    assert cfg.crop == 128 and trainer.working_size == round(round(128 * 520 / 480) * 1.25)
    assert any("crop 160 → 128 px" in m for m in messages)
    assert [i.iteration for i in iterations] == list(range(1, result.iterations + 1))  # no step lost or repeated
    card = json.loads((tmp_path / "run" / "best.json").read_text("utf-8"))
    assert card["training"]["crop"] == 128 and card["usage"]["working_size"] == trainer.working_size
