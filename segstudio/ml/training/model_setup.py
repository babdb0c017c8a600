"""The model to fine-tune: built through the registry (``load_model``) with the
training label set (heads replaced when the classes differ, backbone kept),
the aux head kept for FCN/DeepLabV3, and optionally a frozen backbone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from segstudio.core.labels import LabelSet
from segstudio.errors import ModelError


@dataclass
class TrainModel:
    model: torch.nn.Module
    architecture: str
    task: str                  # "semantic" | "instance"
    labels: LabelSet
    base_weights: str          # "default" | "none" | path
    base_version: str
    label_to_output: np.ndarray | None   # None: output index == label id
    output_to_label: np.ndarray | None
    mean: tuple | None = None
    std: tuple | None = None
    checkpoint_card: dict | None = None   # the card of the segstudio checkpoint it was built from
    replaced_heads: bool = False          # the weights' heads were replaced (other classes)


def build_train_model(architecture: str | None, weights: str, labels: LabelSet | None,
                      freeze_backbone: bool = False, progress=None) -> TrainModel:
    from segstudio.ml.weights import load_model

    loaded = load_model(architecture, weights=weights, labels=labels, progress=progress,
                        aux_loss=True)
    model = loaded.model
    out_ids = np.asarray(loaded.output_ids, np.int64)
    n = len(loaded.labels)
    identity = len(out_ids) == n and bool((out_ids == np.arange(n)).all())
    l2o = o2l = None
    if not identity:
        o2l = np.where(out_ids >= 0, out_ids, 255).astype(np.int64)
        l2o = np.full(256, 255, np.int64)
        for out_idx, lab in enumerate(out_ids):
            if lab >= 0 and l2o[lab] == 255:
                l2o[lab] = out_idx
    if freeze_backbone:
        freeze(model)
    prep = loaded.preprocessing
    return TrainModel(model, loaded.card.name, loaded.card.task, loaded.labels, str(weights), loaded.version,
                      l2o, o2l, prep.mean, prep.std, loaded.checkpoint_card, loaded.replaced_heads)


def freeze(model: torch.nn.Module) -> None:
    """Freeze the backbone: no gradients, and its BatchNorm statistics stay as they are."""
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise ModelError("this model has no backbone to freeze")
    for p in backbone.parameters():
        p.requires_grad_(False)
    model._segstudio_frozen_backbone = True


def set_train_mode(model: torch.nn.Module) -> None:
    """model.train(), keeping a frozen backbone (BatchNorm included) in eval mode."""
    model.train()
    if getattr(model, "_segstudio_frozen_backbone", False):
        model.backbone.eval()
