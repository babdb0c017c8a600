"""Validation of the model being trained, through the one prediction pipeline.

``module_pipeline`` wraps the in-training model as a ``Pipeline`` that predicts
at the run's working size exactly as ``predict``, ``evaluate --model`` and the
app will use the published checkpoint (the card records that size), so the
score in the card is the score a user gets.  ``working_sizes`` says which
sizes a run trains around and validates at.
"""

from __future__ import annotations

import numpy as np

BASE_PER_CROP = 520 / 480  # torchvision's references: crop 480 around a base size of 520
MEAN_TRAIN_SCALE = 1.25    # the mean of the random resize factors (uniform 0.5–2.0) around the base size


def default_base_size(crop: int) -> int:
    return max(1, round(int(crop) * BASE_PER_CROP))


def default_working_size(base_size: int) -> int:
    """The short side a model trained around ``base_size`` sees objects at on average."""
    return max(1, round(int(base_size) * MEAN_TRAIN_SCALE))


def working_sizes(crop: int, base_size: int | None, eval_size: int | None) -> tuple[int, int]:
    """(base size, validation / working size) of a semantic run: the base size defaults to
    crop × 520/480, and validation happens at the mean training scale, 1.25 × the base size
    (measured on CamVid with a crop-128 model: 36.8 mIoU at the base size, 38.4 at 1.25×,
    21.8 at the weights' 520), unless ``eval_size`` is given."""
    base = int(base_size) if base_size else default_base_size(crop)
    return base, int(eval_size) if eval_size else default_working_size(base)


def module_pipeline(model, tm, device, working_size: int | None, amp: bool = True):
    """A ``Pipeline`` (no CRF) over an in-memory model of a ``TrainModel``'s architecture and labels."""
    from segstudio.ml.pipeline import Pipeline
    from segstudio.ml.predictor import Predictor
    from segstudio.ml.registry import get_card
    from segstudio.ml.training.transforms import IMAGENET_MEAN, IMAGENET_STD
    from segstudio.ml.weights import LoadedModel, Preprocessing

    o2l = tm.output_to_label
    out_ids = np.arange(len(tm.labels)) if o2l is None else np.where(np.asarray(o2l) == 255, -1, o2l)
    prep = Preprocessing(working_size, tuple(tm.mean or IMAGENET_MEAN), tuple(tm.std or IMAGENET_STD))
    loaded = LoadedModel(model=model, card=get_card(tm.architecture), labels=tm.labels,
                         output_ids=np.asarray(out_ids, np.int64), transforms=None, preprocessing=prep,
                         version="training")
    was_training = model.training
    try:
        predictor = Predictor(loaded, device, resize=working_size or 0, amp=amp, channels_last=False)
    finally:
        model.train(was_training)
    return Pipeline(predictor)


def validate_semantic(model, tm, dataset, device, working_size: int | None, amp: bool = True, rank: int = 0,
                      world: int = 1, progress=None, should_stop=None):
    """Core ``Metrics`` of the in-training ``model`` on the untransformed validation ``dataset``."""
    from segstudio.ml.scoring import score_semantic

    pipeline = module_pipeline(model, tm, device, working_size, amp)
    return score_semantic(pipeline, dataset, len(tm.labels), progress=progress, should_stop=should_stop,
                          rank=rank, world=world)
