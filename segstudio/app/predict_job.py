"""The adapter between the app's workers and ``segstudio.ml`` (runs in a worker thread).

Nothing here imports torch at module level: ``segstudio.ml`` is imported
inside the functions, i.e. in the worker thread, the first time a
prediction runs.  Models are loaded through the ml model cache
(``segstudio.ml.model_cache.MODEL_CACHE``) and predicted through the one
prediction pipeline (``segstudio.ml.pipeline``), the same as ``segstudio
predict``: the checkpoint card's working size and fitted CRF settings apply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from segstudio.core.annotation import Instance
from segstudio.core.labels import LabelSet

DOWNLOAD = "download:"  # progress messages starting with this feed the download dialog


@dataclass
class Prediction:
    """A prediction in the project's class ids, ready for ``edits.apply_prediction``."""

    class_map: np.ndarray                      # uint8 H×W, project class ids, 255 void
    instance_map: np.ndarray | None = None     # int32 H×W or None (semantic models)
    instances: dict[int, Instance] = field(default_factory=dict)
    model_id: str = ""                         # "name@version", stored in the annotation
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)
    memory: object = None                      # PredictionMemory (semantic models) for smart tools


def model_entries() -> list[tuple[str, str]]:
    """(name, text for the model menu) of every registered model; reads JSON cards only."""
    from segstudio.ml.registry import list_cards
    return [(c.name, f"{c.title or c.name} ({c.task})") for c in list_cards()]


def checkpoint_architecture(path: str) -> str | None:
    """The architecture named by the model card beside a checkpoint (X.json for X.pt), if any."""
    from segstudio.ml.usage import read_card_beside

    value = (read_card_beside(path) or {}).get("architecture")
    return value if isinstance(value, str) else None


def pipeline_for(choice, labels: LabelSet, ctx):
    """The prediction pipeline for ``choice`` (downloading default weights with progress)."""
    from segstudio.ml.model_cache import MODEL_CACHE
    from segstudio.ml.pipeline import Pipeline

    def progress(done, total):
        ctx.progress(int(done), int(total or 0), DOWNLOAD + choice.model)

    if MODEL_CACHE.cached(choice.model, choice.weights) is None:
        ctx.progress(0, 0, f"loading {choice.model} ({choice.weights})…")
    loaded = MODEL_CACHE.get(choice.model, choice.weights, progress=progress)
    return Pipeline.build(loaded, "auto", labels, crf=choice.crf, crf_overrides=choice.crf_params,
                          crf_force=getattr(choice, "crf_force", False), score_threshold=choice.score_threshold)


def run_model(pipeline, image: np.ndarray, labels: LabelSet, ctx, on_crf=None) -> Prediction:
    """One image through the prediction pipeline (model, then the CRF when asked), in project class ids.

    ``on_crf()`` reports the CRF stage (default: an open-ended progress message)."""
    def before_crf():
        ctx.check()
        (on_crf or (lambda: ctx.progress(0, 0, "refining boundaries with the dense CRF…")))()

    result = pipeline.predict(image, check=before_crf)
    ctx.check()
    notes: list[str] = list(pipeline.notes)
    device = str(pipeline.device)
    if pipeline.task == "instance":
        ann = result.to_annotation()
        notes.insert(0, f"{len(ann.instances)} instances")
        if result.unmapped:
            notes.append("classes not in the project's labels were left out: " + ", ".join(result.unmapped[:6]))
        instances = {k: Instance(v.class_id, v.score, "model") for k, v in ann.instances.items()}
        return Prediction(ann.class_map, ann.instance_map, instances, pipeline.model_id, device, notes)
    memory = result.memory()  # the model's own probabilities, before any CRF
    class_map = np.asarray(result.class_map, np.uint8)
    unknown = int((class_map == 255).sum())
    if unknown:
        notes.append(f"{unknown} pixels of classes the project does not have were marked void")
    notes.insert(0, summary(class_map, labels))
    return Prediction(class_map, None, {}, pipeline.model_id, device, notes, memory)


def summary(class_map: np.ndarray, labels: LabelSet, top: int = 3) -> str:
    """The largest predicted classes with their share of the image, e.g. "car 40%, road 35%"."""
    counts = np.bincount(class_map.ravel(), minlength=256)
    order = [int(i) for i in np.argsort(counts)[::-1][:top] if counts[i]]
    total = class_map.size
    return ", ".join(f"{labels.name_of(i)} {100 * counts[i] / total:.0f}%" for i in order)


def read_image(path: str) -> np.ndarray:
    from segstudio.formats.images import load_image
    image = load_image(path)
    return image if image.flags.writeable else image.copy()  # torch wants writable arrays


def predict_one(image_path: str, choice, labels: LabelSet, ctx) -> Prediction:
    """One image; progress goes by stages (model, prediction, CRF, hand-over) and stops short
    of the end: the job is done once the result has been applied."""
    stages = 4 if choice.crf else 3
    pipeline = pipeline_for(choice, labels, ctx)
    ctx.check()
    ctx.progress(1, stages, f"predicting {os.path.basename(image_path)}…")
    image = read_image(image_path)
    pred = run_model(pipeline, image, labels, ctx,
                     on_crf=lambda: ctx.progress(2, stages, "refining boundaries with the dense CRF…"))
    ctx.progress(stages - 1, stages, "applying the prediction…")
    return pred


def predict_many(items: list[tuple[str, str]], choice, labels: LabelSet, ctx) -> int:
    """Predict (key, path) pairs one after another; each result goes out through ``ctx.partial``."""
    pipeline = pipeline_for(choice, labels, ctx)
    for i, (key, path) in enumerate(items):
        name = f"{os.path.basename(path)} ({i + 1}/{len(items)})"
        ctx.progress(i, len(items), f"predicting {name}…")
        image = read_image(path)
        ctx.partial(key, run_model(pipeline, image, labels, ctx,
                                   on_crf=lambda: ctx.progress(i, len(items), f"refining {name} with the CRF…")))
    ctx.progress(len(items), len(items), "")
    return len(items)
