"""`segstudio finetune` under torchrun: two CPU processes (gloo) on tiny data."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from segstudio.ml.training.checkpoint import load_checkpoint
from tests import child
from tests.ml.training_data import make_mask_folders



def test_torchrun_two_processes_on_cpu_writes_a_normal_checkpoint(tmp_path):
    images, masks, labels = make_mask_folders(tmp_path / "data", n=10, size=64)
    out = tmp_path / "run"
    env = child.env(OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "segstudio", "finetune", str(images), "--masks", str(masks), "--labels", str(labels),
           "--void", "3", "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--epochs", "2",
           "--batch-size", "2", "--crop", "48", "--workers", "0", "--device", "cpu", "--val-fraction", "0.2",
           "--out", str(out)]
    proc = subprocess.run(cmd, cwd=child.CWD, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    # rank 0 alone logs: one summary line, one line per epoch
    assert proc.stdout.count("fine-tuning lraspp_mobilenet_v3_large") == 1
    assert "2 processes" in proc.stdout
    assert proc.stdout.count("epoch 2:") == 1

    ckpt = load_checkpoint(out / "best.pt")
    card = json.loads((out / "best.json").read_text("utf-8"))
    assert card == ckpt["card"] and card["training"]["world_size"] == 2
    assert not any(k.startswith("module.") for k in ckpt["model"])     # saved without the DDP wrapper
    last = load_checkpoint(out / "last.pt")
    # 8 training images over 2 processes × batch 2 = 2 steps per epoch
    assert last["iteration"] == 4 and last["epoch"] == 2
    lines = (out / "metrics.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[-1])["metrics"]["miou"] is not None

    from segstudio.ml.weights import load_model

    loaded = load_model(None, weights=out / "last.pt")
    with torch.no_grad():
        assert loaded.model(torch.randn(1, 3, 48, 48))["out"].shape == (1, 3, 48, 48)
