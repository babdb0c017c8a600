"""The adapter between the app's workers and ``segstudio.ml`` (runs in a worker thread).

Nothing here imports torch at module level: ``segstudio.ml`` is imported
inside the functions, i.e. in the worker thread, the first time a
prediction runs.  Loaded models are cached per (model, weights, device) so
the next prediction starts at once; a new checkpoint file (another path or
a newer modification time) is a new cache entry.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import numpy as np

from segstudio.core.annotation import Instance
from segstudio.core.labels import LabelSet

DOWNLOAD = "download:"  # progress messages starting with this feed the download dialog

_lock = threading.Lock()
_models: dict[tuple, object] = {}


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
    import json

    card = os.path.splitext(path)[0] + ".json"
    try:
        with open(card, encoding="utf-8") as f:
            value = json.load(f).get("architecture")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _cache_key(choice, device: str) -> tuple:
    w = choice.weights
    if w not in ("default", "none"):
        w = os.path.expanduser(w)  # as load() reads it, so a rewritten file is seen as new
    if w not in ("default", "none") and os.path.exists(w):
        w = (os.path.abspath(w), os.path.getmtime(w))
    return (choice.model, w, device)


def load(choice, ctx):
    """The loaded model for ``choice`` (downloading default weights with progress)."""
    from segstudio.ml.devices import pick_device
    from segstudio.ml.weights import load_model

    device = pick_device("auto")
    key = _cache_key(choice, str(device))
    with _lock:
        loaded = _models.get(key)
    if loaded is not None:
        return loaded, device

    def progress(done, total):
        ctx.progress(int(done), int(total or 0), DOWNLOAD + choice.model)

    ctx.progress(0, 0, f"loading {choice.model} ({choice.weights})…")
    weights = choice.weights if choice.weights in ("default", "none") else os.path.expanduser(choice.weights)
    loaded = load_model(choice.model, weights=weights, progress=progress)
    with _lock:
        _models.clear()  # keep one model in memory
        _models[key] = loaded
    return loaded, device


def run_model(loaded, image: np.ndarray, choice, labels: LabelSet, device, ctx, on_crf=None) -> Prediction:
    """One image through the ml predictor (and the CRF when asked), in project class ids.

    ``on_crf()`` reports the CRF stage (default: an open-ended progress message)."""
    from segstudio.ml.predictor import Predictor

    predictor = Predictor(loaded, device=device, labels=labels, score_threshold=choice.score_threshold)
    result = predictor.predict(image)
    ctx.check()
    notes: list[str] = []
    if choice.crf:
        from segstudio.ml.crf import CRFParams, refine_result
        (on_crf or (lambda: ctx.progress(0, 0, "refining boundaries with the dense CRF…")))()
        refined = refine_result(image, result, CRFParams.from_dict(choice.crf_params))
        ctx.check()
        if isinstance(refined, np.ndarray):
            result.class_map = refined.astype(np.uint8)
        else:
            result = refined
    model_id = f"{loaded.card.name}@{loaded.version}"
    if loaded.task == "instance":
        ann = result.to_annotation()
        notes.append(f"{len(ann.instances)} instances")
        if result.unmapped:
            notes.append("classes not in the project's labels were left out: " + ", ".join(result.unmapped[:6]))
        instances = {k: Instance(v.class_id, v.score, "model") for k, v in ann.instances.items()}
        return Prediction(ann.class_map, ann.instance_map, instances, model_id, str(device), notes)
    memory = result.memory()  # the model's own probabilities, before any CRF
    class_map = np.asarray(result.class_map, np.uint8)
    unknown = int((class_map == 255).sum())
    if unknown:
        notes.append(f"{unknown} pixels of classes the project does not have were marked void")
    notes.insert(0, summary(class_map, labels))
    return Prediction(class_map, None, {}, model_id, str(device), notes, memory)


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
    loaded, device = load(choice, ctx)
    ctx.check()
    ctx.progress(1, stages, f"predicting {os.path.basename(image_path)}…")
    image = read_image(image_path)
    pred = run_model(loaded, image, choice, labels, device, ctx,
                     on_crf=lambda: ctx.progress(2, stages, "refining boundaries with the dense CRF…"))
    ctx.progress(stages - 1, stages, "applying the prediction…")
    return pred


def predict_many(items: list[tuple[str, str]], choice, labels: LabelSet, ctx) -> int:
    """Predict (key, path) pairs one after another; each result goes out through ``ctx.partial``."""
    loaded, device = load(choice, ctx)
    for i, (key, path) in enumerate(items):
        name = f"{os.path.basename(path)} ({i + 1}/{len(items)})"
        ctx.progress(i, len(items), f"predicting {name}…")
        image = read_image(path)
        ctx.partial(key, run_model(loaded, image, choice, labels, device, ctx,
                                   on_crf=lambda: ctx.progress(i, len(items), f"refining {name} with the CRF…")))
    ctx.progress(len(items), len(items), "")
    return len(items)
