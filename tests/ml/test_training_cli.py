"""`segstudio finetune` and `segstudio evaluate --model` end to end (in-process)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from segstudio.cli import main
from tests import child
from tests.ml.training_data import make_mask_folders

ARGS = ["--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--batch-size", "2", "--crop", "48",
        "--workers", "0", "--device", "cpu"]


def test_finetune_then_evaluate_the_checkpoint(tmp_path, capsys):
    images, masks, labels = make_mask_folders(tmp_path / "data", n=6)
    out = tmp_path / "run"
    rc = main(["finetune", str(images), "--masks", str(masks), "--labels", str(labels), "--void", "3",
               "--epochs", "1", "--val-fraction", "0.34", "--out", str(out)] + ARGS)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "fine-tuning lraspp_mobilenet_v3_large on 4 images (2 for validation), 3 classes" in text
    assert "epoch 1: train loss" in text and "best checkpoint" in text
    assert (out / "best.pt").exists() and (out / "best.json").exists() and (out / "last.pt").exists()
    card = json.loads((out / "best.json").read_text("utf-8"))

    rc = main(["evaluate", "--weights", str(out / "best.pt"), "--gt", str(masks), "--images", str(images),
               "--void", "3", "--device", "cpu", "--resize", "0", "--json", str(tmp_path / "m.json")])
    table = capsys.readouterr().out
    assert rc == 0 and "mIoU" in table and "square" in table
    result = json.loads((tmp_path / "m.json").read_text("utf-8"))
    assert result["model"]["version"] == card["version"]
    assert [row["name"] for row in result["per_class"]] == ["background", "square", "disc"]
    # the same numbers as scoring its written predictions with --pred
    from segstudio.ml.weights import load_model
    from segstudio.ml.training.transforms import SegmentationEvalTransform
    import torch

    model = load_model(None, weights=out / "best.pt").model
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    for f in sorted(images.iterdir()):
        img = np.array(Image.open(f).convert("RGB"))
        gt = np.array(Image.open(masks / f.name))
        gt[gt == 3] = 255
        x, _ = SegmentationEvalTransform()(img, gt)
        with torch.no_grad():
            pred = model(x[None])["out"].argmax(1)[0].numpy().astype(np.uint8)
        Image.fromarray(pred).save(tmp_path / "pred" / f.name)
        Image.fromarray(gt).save(tmp_path / "gt" / f.name)
    rc = main(["evaluate", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--num-classes", "3",
               "--json", str(tmp_path / "p.json")])
    assert rc == 0
    by_pred = json.loads((tmp_path / "p.json").read_text("utf-8"))
    assert abs(by_pred["miou"] - result["miou"]) < 1e-9
    assert abs(by_pred["pixel_accuracy"] - result["pixel_accuracy"]) < 1e-9


def test_finetune_input_errors_exit_with_2(tmp_path, capsys):
    images, masks, labels = make_mask_folders(tmp_path / "data", n=4)
    assert main(["finetune", str(images), "--masks", str(masks), "--out", str(tmp_path / "o")] + ARGS) == 2
    assert "--labels FILE" in capsys.readouterr().err
    assert main(["finetune", str(images), "--masks", str(masks), "--labels", str(labels), "--void", "3",
                 "--resume", "--out", str(tmp_path / "o")] + ARGS) == 2
    assert "last.pt does not exist" in capsys.readouterr().err
    assert main(["finetune", str(images), "--out", str(tmp_path / "o")]) == 2
    assert "--model NAME" in capsys.readouterr().err
    assert main(["evaluate", "--gt", str(masks), "--model", "lraspp_mobilenet_v3_large", "--weights", "none"]) == 2
    assert "--images DIR" in capsys.readouterr().err


def test_ctrl_c_cancels_at_a_batch_boundary_and_saves_last(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from segstudio.ml.training.checkpoint import load_checkpoint

    images, masks, labels = make_mask_folders(tmp_path / "data", n=6)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "segstudio", "finetune", str(images), "--masks", str(masks),
                             "--labels", str(labels), "--void", "3", "--epochs", "500", "--out", str(out)] + ARGS,
                            cwd=child.CWD, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child.env())
    try:
        deadline = time.monotonic() + 120
        while not (out / "metrics.jsonl").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr  # cancelled is not finished: the status says so
    assert "cancelled:" in stdout and "cancelling at the end of this batch" in stderr
    last = load_checkpoint(out / "last.pt")
    assert 2 <= last["iteration"] < 1000 and "optimizer" in last


def test_finetune_from_a_checkpoint_keeps_its_sizes_and_blends_unless_told_not_to(tmp_path, capsys):
    images, masks, labels = make_mask_folders(tmp_path / "data", n=6)
    data = [str(images), "--masks", str(masks), "--labels", str(labels), "--void", "3", "--epochs", "1",
            "--val-fraction", "0.34", "--workers", "0", "--device", "cpu"]
    assert main(["finetune", *data, "--out", str(tmp_path / "a")] + ARGS) == 0
    first = str(tmp_path / "a" / "best.pt")
    capsys.readouterr()
    assert main(["finetune", *data, "--weights", first, "--out", str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert "kept crop 48 px, batch 2" in text and "from the starting checkpoint" in text
    card = json.loads((tmp_path / "b" / "best.json").read_text("utf-8"))
    assert card["blend"]["start"] == first and card["training"]["crop"] == 48
    assert ("blended" in text) == (card["blend"]["chosen"] != 1.0)
    assert main(["finetune", *data, "--weights", first, "--no-blend", "--out", str(tmp_path / "c")]) == 0
    assert "blend" not in json.loads((tmp_path / "c" / "best.json").read_text("utf-8"))
