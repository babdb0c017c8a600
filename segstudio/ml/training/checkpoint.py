"""segstudio checkpoints (see the shared checkpoint / model-card contract).

A checkpoint is ``torch.save`` of a plain dict ``{"format": "segstudio-checkpoint",
"version": 1, "model": state_dict, "card": card, ...}``; training adds
"optimizer", "scheduler", "scaler", "epoch", "iteration".  Files are written
atomically (temporary file in the same folder, flush + fsync, ``os.replace``),
and a published checkpoint ``X.pt`` gets its card as ``X.json`` beside it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from segstudio.errors import ModelError
from segstudio.formats.atomic import atomic_write_json

FORMAT = "segstudio-checkpoint"
VERSION = 1


def make_card(architecture: str, task: str, labels, version: str, metrics: dict | None = None,
              data: dict | None = None, base_weights: str = "none", **extra) -> dict:
    """The registry's model card (``segstudio.ml.weights.make_card``) plus training details."""
    from segstudio.ml.weights import make_card as registry_card

    card = registry_card(architecture, labels, version, metrics=metrics, data=data, base_weights=base_weights,
                         task=task)
    card.update(extra)
    return card


def _plain_state(state_dict: dict) -> dict:
    """Tensors detached onto the CPU, so the file loads anywhere."""
    return {k: (v.detach().cpu() if torch.is_tensor(v) else v) for k, v in state_dict.items()}


def checkpoint_dict(model_state: dict, card: dict, optimizer=None, scheduler=None, scaler=None,
                    epoch: int = 0, iteration: int = 0) -> dict:
    ckpt = {"format": FORMAT, "version": VERSION, "model": _plain_state(model_state), "card": card,
            "epoch": int(epoch), "iteration": int(iteration)}
    if optimizer is not None:
        ckpt["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        ckpt["scheduler"] = scheduler.state_dict()
    if scaler is not None:
        ckpt["scaler"] = scaler.state_dict()
    return ckpt


def save_checkpoint(path: str | os.PathLike, ckpt: dict) -> Path:
    """Write ``ckpt`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(ckpt, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def publish_checkpoint(path: str | os.PathLike, ckpt: dict) -> Path:
    """Atomically write the checkpoint and its model card ``<stem>.json`` beside it.

    The card is written first: a reader that sees the new ``.pt`` always has a
    card at least as new as the checkpoint's (both hold the same card).
    """
    path = Path(path)
    atomic_write_json(path.with_suffix(".json"), ckpt["card"])
    return save_checkpoint(path, ckpt)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """The whole checkpoint dict (for resume); ``torch.load(weights_only=True)`` only."""
    from segstudio.ml.weights import read_weights_file

    path = Path(path)
    ckpt = read_weights_file(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ModelError(f"{path}: not a segstudio checkpoint (no \"format\": \"{FORMAT}\")")
    if int(ckpt.get("version", 0)) > VERSION:
        raise ModelError(f"{path}: written by a newer segstudio (checkpoint version {ckpt.get('version')})")
    for key in ("model", "card"):
        if key not in ckpt:
            raise ModelError(f"{path}: the checkpoint has no \"{key}\" entry")
    return ckpt
