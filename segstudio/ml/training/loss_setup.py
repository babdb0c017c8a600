"""Choose the training loss from the run's settings: ``setup_loss(config, data, train_model, message)``.

``config.loss`` (ce | dice | ce+dice), ``config.class_weights`` (none |
median-frequency | a file) and ``config.border_weight`` (U-Net's w0; None or
0: off) with ``config.border_sigma`` become a ``Criterion`` and the training
dataset to use (with border weights where asked).  Median-frequency weights
are computed from the training masks and reported through ``message``; the
choices and the weights go into the checkpoint card's training section.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from segstudio.errors import TrainingError
from segstudio.ml.training.losses import LOSSES, Criterion


@dataclass
class LossSetup:
    criterion: Criterion | None           # None: the model computes its own losses (Mask R-CNN)
    train_data: object                    # the training dataset to transform and load
    card: dict = field(default_factory=dict)   # goes into the checkpoint card's "training" section


def setup_loss(config, data, tm, message=lambda text: None) -> LossSetup:
    kind = getattr(config, "loss", "ce") or "ce"
    weights_choice = getattr(config, "class_weights", "none") or "none"
    w0 = getattr(config, "border_weight", None) or 0.0
    sigma = float(getattr(config, "border_sigma", 5.0))
    if kind not in LOSSES:
        raise TrainingError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")
    if tm.task != "semantic":
        if kind != "ce" or weights_choice != "none" or w0:
            raise TrainingError(f"{tm.architecture} trains with its own detection and mask losses; "
                                "--loss, --class-weights and --border-weight apply to semantic models")
        return LossSetup(None, data.train, {})
    if w0 and kind == "dice":
        raise TrainingError("--border-weight weights the cross-entropy of each pixel; use --loss ce or ce+dice")

    from segstudio.ml.training.class_weights import format_weights, resolve_class_weights

    names = tm.labels.names
    weights, weights_kind = resolve_class_weights(weights_choice, data.train, len(names))
    card: dict = {"loss": kind, "class_weights": {"kind": weights_kind}}
    out_weights = None
    if weights is not None:
        card["class_weights"]["values"] = {n: round(float(w), 6) for n, w in zip(names, weights)}
        message(f"class weights ({weights_kind}): {format_weights(weights, names)}")
        out_weights = torch.as_tensor(_per_output(weights, tm.output_to_label), dtype=torch.float32)
    train = data.train
    if w0:
        from segstudio.ml.training.border_weights import border_weighted, count_separated

        train = border_weighted(data.train, w0, sigma, str(data.summary.get("path", "the data")))
        near, total = count_separated(train)
        card["border_weight"] = {"w0": float(w0), "sigma": sigma, "images_with_two_or_more_instances": near}
        if near == 0:
            message(f"border weights (w0 {w0:g}, sigma {sigma:g} px) change nothing: none of the {total} "
                    "training images has two or more instances")
        else:
            message(f"border weights (w0 {w0:g}, sigma {sigma:g} px) from the instance maps of {near} of "
                    f"{total} training images")
    criterion = Criterion(kind, out_weights, getattr(config, "aux_weight", 0.5))
    return LossSetup(criterion, train, card)


def _per_output(weights: np.ndarray, output_to_label: np.ndarray | None) -> np.ndarray:
    """Weights indexed by model output: an output without a label of the set gets 0."""
    if output_to_label is None:
        return np.asarray(weights, np.float64)
    o2l = np.asarray(output_to_label)
    return np.where(o2l < len(weights), np.asarray(weights)[np.minimum(o2l, len(weights) - 1)], 0.0)
