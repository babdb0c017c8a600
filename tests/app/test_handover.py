"""Honest hand-over: a new checkpoint replaces the model in use only when it scores at least as well."""

from __future__ import annotations

import json

import pytest
import torch

from segstudio.app.handover import HandOver
from segstudio.app.panels.train_panel import TrainPanel
from segstudio.app.train import TrainController
from segstudio.app.wording import in_tab_words
from segstudio.ml.training.hooks import CheckpointInfo
from tests.ml.training_data import make_mask_folders

ARCH = "lraspp_mobilenet_v3_large"


def test_a_checkpoint_below_the_model_in_use_is_kept_out():
    h = HandOver()
    assert "mIoU 50.0 on the 4 validation images" in h.set_incumbent({"model": "m (w)", "images": 4, "digest": "x", "score": 0.5})
    low = h.consider("e1", 0.4)
    assert not low.use and "below the model in use (m (w)) (50.0)" in low.text
    same = h.consider("e2", 0.5)
    assert same.use and "at least as well" in same.text
    assert not h.consider("e3", 0.45).use  # e2 is in use now
    assert h.consider("e4", 0.6).use


def test_without_a_score_for_the_model_in_use_the_checkpoint_is_used():
    h = HandOver()
    h.set_incumbent({"model": "fcn (default)", "images": 4, "digest": "x", "error": "offline"})
    v = h.consider("e1", 0.1)
    assert v.use and "could not be scored (offline)" in v.text
    assert HandOver().consider("e1", 0.2).use  # no model in use to compare with
    assert HandOver().consider("e1", None).use


def test_the_panel_offers_the_kept_out_checkpoint(qtbot):
    panel = TrainPanel()
    qtbot.addWidget(panel)
    panel.show()
    ctl = TrainController(panel, mode="thread")
    used = []
    ctl.checkpoint_published.connect(lambda path, version: used.append((path, version)))
    ctl._on_incumbent({"model": "best (ckpt)", "images": 10, "digest": "d", "score": 0.7})
    assert "scores at least as well" in panel.status_text()
    ctl._on_checkpoint(CheckpointInfo("/run/best.pt", "ft-e1", 0, 10, 0.6))
    assert used == [] and "below the model in use" in panel.offer_text()
    assert panel.offer_button.isVisible()
    panel.offer_button.click()
    assert used == [("/run/best.pt", "ft-e1")] and panel.offer_text() == ""
    ctl._on_checkpoint(CheckpointInfo("/run/best.pt", "ft-e2", 1, 20, 0.65))
    assert used[-1] == ("/run/best.pt", "ft-e2")  # the one taken is in use now: e2 beats it


def test_the_offline_message_speaks_of_the_tabs_controls():
    text = ("cannot download the weights from http://x/y.pth (timed out); this machine seems to be offline. "
            "Download the file elsewhere and copy it to /c/y.pth, or use --weights FILE / --weights none")
    out = in_tab_words(text)
    assert "--" not in out and 'Weights box of this tab' in out and '"none"' in out



def test_the_tab_words_whole_options_and_the_size_choice(qtbot):
    from segstudio.ml.training.autofit import SizeChoice
    from segstudio.ml.training.hooks import PhaseInfo

    out = in_tab_words("maskrcnn_resnet50_fpn trains with its own losses; --loss, --class-weights and "
                       "--border-weight apply to semantic models")
    assert "--" not in out and "the class weights box" in out and "Weights box" not in out
    panel = TrainPanel()
    qtbot.addWidget(panel)
    ctl = TrainController(panel)
    choice = SizeChoice(128, 8, 139, 174, ("crop", "batch_size"), ["the budget gives about 250 steps"])
    ctl._on_phase(PhaseInfo("sizes", 0, 0, choice.summary()))
    assert panel.sizes_label.text().startswith("chose crop 128 px, batch 8")
    assert "--" not in panel.sizes_label.text() and '"auto"' in panel.sizes_label.text()
    ctl._on_message(choice.summary())
    assert "--" not in panel.status_text()

@pytest.fixture(scope="module")
def incumbent(tmp_path_factory):
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    root = tmp_path_factory.mktemp("handover")
    images, masks, labels = make_mask_folders(root / "data", n=6, size=48)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.34))
    torch.manual_seed(0)
    Trainer(TrainConfig(ARCH, root / "first", weights="none", epochs=2, batch_size=2, crop=32, workers=0,
                        crf_fit_seconds=0), data).fit()
    return root, data, root / "first" / "best.pt"


def _fill_form(panel, data, out) -> None:
    """A one-epoch run on the image + mask folders in ``data``, into ``out``."""
    panel.set_project(None)
    panel.data_path.setText(str(data / "images"))
    panel.masks_path.setText(str(data / "masks"))
    panel.labels_path.setText(str(data / "labels.txt"))
    panel.void_ids.setText("3")
    panel.epochs.setValue(1)
    panel.auto_size.setChecked(False)
    panel.batch.setValue(2)
    panel.crop.setValue(32)
    panel.out_path.setText(str(out))


def test_a_run_scores_the_model_in_use_shows_progress_from_the_start_and_logs_metrics(qtbot, incumbent):
    from segstudio.ml.model_cache import ModelCache
    from segstudio.ml.pipeline import open_pipeline
    from segstudio.ml.scoring import score_semantic

    root, data, ckpt = incumbent
    panel = TrainPanel()
    qtbot.addWidget(panel)
    ctl = TrainController(panel, model_in_use=lambda: {"model": ARCH, "weights": str(ckpt)}, mode="thread")
    _fill_form(panel, root / "data", root / "second")
    panel.weights.setCurrentText("none")
    phases, scored = [], []
    with qtbot.waitSignal(ctl.training_finished, timeout=120_000) as finished:
        assert ctl.start({"device": "cpu", "seed": 1, "crf_fit_seconds": 0})
        assert panel.progress_bar.maximum() == 0 and "starting" in panel.status_text()  # busy at once
        ctl.worker.phase.connect(lambda info: phases.append(info.phase))
        ctl.worker.incumbent_scored.connect(scored.append)
    assert finished.args == ["done"], ctl.last_error
    assert phases[0] == "data" and "incumbent" in phases and "first step" in phases
    from segstudio.ml.data import DataSpec, open_data

    d = root / "data"
    run_data = open_data(DataSpec(d / "images", masks=d / "masks", labels=d / "labels.txt", void_ids=(3,)))
    expected = score_semantic(open_pipeline(None, str(ckpt), device="cpu", cache=ModelCache(),
                                            labels=run_data.labels), run_data.val).miou
    assert scored and scored[0]["score"] == pytest.approx(expected, abs=1e-9)
    assert scored[0]["images"] == len(run_data.val)
    assert panel.progress_bar.value() == panel.progress_bar.maximum() == 1  # 100 % when done
    log = [json.loads(line) for line in (root / "second" / "metrics.jsonl").read_text("utf-8").splitlines()]
    assert len(log) == 1 and log[0]["epoch"] == 0 and "miou" in log[0]["metrics"]
    # the new run's checkpoint went through the hand-over: used or offered, and said which
    assert ctl.handover.in_use_score is not None
    if panel.offer_text():
        assert "below the model in use" in panel.offer_text()


def test_the_progress_bar_follows_the_phases_and_ends_at_100(qtbot):
    from segstudio.ml.training.hooks import IterationInfo, PhaseInfo

    panel = TrainPanel()
    qtbot.addWidget(panel)
    panel.show_starting("starting the training process…")
    assert panel.progress_bar.maximum() == 0  # busy from the first second
    panel.show_phase(PhaseInfo("sizes", 0, 0, "chose crop 96 px, batch 8: …"))
    assert panel.sizes_label.text().startswith("chose crop 96 px") and panel.progress_bar.maximum() == 0
    panel.show_phase(PhaseInfo("incumbent", 3, 10, "scoring the model in use: 3/10 validation images"))
    assert (panel.progress_bar.value(), panel.progress_bar.maximum()) == (3, 10)
    assert panel.progress_bar.format().startswith("scoring the model in use")
    panel.show_iteration(IterationInfo(0, 2, 5, 10, 0.9, 0.01, 4.0, 30.0, 8))
    assert panel.progress_bar.format() == "%p%" and panel.progress_bar.value() == 5
    panel.show_phase(PhaseInfo("crf", 2, 7, "fitting the CRF: setting 2"))
    assert panel.progress_bar.format().startswith("fitting the CRF")
    panel.show_finished("done")
    assert panel.progress_bar.value() == panel.progress_bar.maximum() and "100%" in panel.progress_bar.text()
    assert panel.sizes_label.text()  # the choice stays on show after the run


def test_a_project_with_nothing_reviewed_is_explained_with_the_apps_own_action(tmp_path):
    """The data layer's message names a command-line option; the Train tab names the menu action."""
    import numpy as np
    from PIL import Image

    from segstudio.core.labels import LabelSet
    from segstudio.errors import SegStudioError
    from segstudio.formats.project import Project
    from segstudio.ml.data import DataSpec, open_data

    Project.create(tmp_path / "proj", LabelSet(["background", "thing"]))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "proj" / "a.png")
    with pytest.raises(SegStudioError) as err:
        open_data(DataSpec(tmp_path / "proj"))
    out = in_tab_words(str(err.value))
    assert "--" not in out and "Mark reviewed" in out and "no image is edited or reviewed" in out


def test_the_next_run_continues_from_the_model_in_use_and_blends_with_it(qtbot, incumbent, tmp_path):
    """The loop in the app: once a fine-tuned checkpoint is in use, the Train tab offers it as the
    starting weights, chooses it after a run's checkpoint is put in use, and the run that starts
    from it ends by scoring blends of it and the trained weights."""
    from segstudio.app.panels.train_panel import IN_USE
    from segstudio.ml.training.checkpoint import load_checkpoint

    root, data, ckpt = incumbent
    in_use = {"model": ARCH, "weights": "default"}
    panel = TrainPanel()
    qtbot.addWidget(panel)
    ctl = TrainController(panel, model_in_use=lambda: dict(in_use), mode="thread")
    items = lambda: [panel.weights.itemText(i) for i in range(panel.weights.count())]  # noqa: E731
    ctl.model_choice_changed()
    assert IN_USE not in items()                     # the published weights are not a fine-tuned model
    panel.weights.setCurrentText(IN_USE)             # typed anyway: refused with what to do
    _fill_form(panel, root / "data", tmp_path / "next")
    assert not ctl.start() and "no fine-tuned model is in use" in ctl.last_error

    in_use["weights"] = str(ckpt)
    ctl._on_checkpoint(CheckpointInfo(str(ckpt), "ft-e2", 1, 4, 0.5))   # a run's checkpoint goes in use
    assert IN_USE in items() and panel.weights_choice() == IN_USE
    _fill_form(panel, root / "data", tmp_path / "next")
    with qtbot.waitSignal(ctl.training_finished, timeout=120_000) as finished:
        assert ctl.start({"device": "cpu", "seed": 1, "crf_fit_seconds": 0})
    assert finished.args == ["done"], ctl.last_error
    assert panel.status_text().startswith("done: 1 epoch, 2 iterations")   # not "1 epochs"
    card = load_checkpoint(tmp_path / "next" / "best.pt")["card"]
    assert card["blend"]["start"] == str(ckpt) and set(card["blend"]["alphas"]) == {"0.25", "0.5", "0.75", "1"}
    assert card["base_weights"] == str(ckpt)

    in_use["weights"] = "none"                       # the Model panel moved away from the checkpoint
    ctl.model_choice_changed()
    assert IN_USE not in items() and panel.weights_choice() == "default"
