"""The model registry: one small JSON card per model in the ``models/`` folder.

The folder is the repository's top-level ``models/``; installed copies of
segstudio carry it as package data (``segstudio.assets``).  Every ``*.json``
in it is a card.

A card names where the network comes from (``source``: a torchvision builder,
a segmentation-models-pytorch class, or one of segstudio's own architectures;
see ``segstudio.ml.architectures``), the builder's options, its default
weights, the task, which state-dict keys form the class-dependent heads
(replaced for a custom class count), default thresholds, tiling and CRF
settings.  Default weights are either a torchvision segmentation model's
published weights (``"weights"``: a member of the builder's weights enum) or,
for architectures nobody publishes trained weights for, a torchvision ImageNet
classifier whose layers fill the encoder (``"encoder_weights"``: which
classifier, and how its state-dict keys map onto the model's).  Everything the
published weights already describe (classes, preprocessing, metrics, parameter
count, URL and hash) is read from torchvision's weights metadata, never copied
into the card.  Adding a model is adding a card.

``segstudio.ml.weights.load_model`` builds a model from a card (weights depends
on the registry, never the other way round).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from segstudio.errors import ModelError

TASKS = ("semantic", "instance")
SOURCES = ("torchvision", "smp", "segstudio")
_REQUIRED = ("name", "task", "builder", "head_keys")


def models_dir() -> Path:
    """The folder of model cards: packaged with segstudio, or ``models/`` in a source checkout."""
    from segstudio.assets import asset_dir, searched

    folder = asset_dir("models")
    if folder is None:
        raise ModelError(
            f"the model cards folder is missing from this segstudio installation (looked in "
            f"{searched('models')}); reinstall segstudio (pip install segstudio, or pip install . "
            f"from a full checkout)")
    return folder


@dataclass(frozen=True)
class EncoderWeights:
    """ImageNet weights of a torchvision classifier that fill a model's encoder.

    ``rename`` maps key prefixes of the classifier's state dict to the model's
    (``{"": "net.encoder."}`` puts every key under ``net.encoder.``); keys
    starting with a ``skip`` prefix (the classification layer) are dropped.
    """

    builder: str                    # torchvision classifier, e.g. "resnet34"
    weights_name: str               # member of its weights enum, e.g. "IMAGENET1K_V1"
    rename: dict[str, str]
    skip: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        """The model's key prefixes these weights fill (all of them must be filled)."""
        return tuple(dict.fromkeys(self.rename.values()))

    def model_state(self, state: dict, source: str, model_name: str) -> dict:
        """The classifier's state dict with the model's key names; unplaceable keys are an error."""
        order = sorted(self.rename.items(), key=lambda kv: -len(kv[0]))
        out, unplaced = {}, []
        for k, v in state.items():
            if any(k.startswith(p) for p in self.skip):
                continue
            for src, dst in order:
                if k.startswith(src):
                    out[dst + k[len(src):]] = v
                    break
            else:
                unplaced.append(k)
        if unplaced:
            raise ModelError(f"{source}: {len(unplaced)} keys of the {self.builder} weights have no place in "
                             f"{model_name} (e.g. {unplaced[0]}); check encoder_weights in its model card")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"builder": self.builder, "weights": self.weights_name, "rename": dict(self.rename),
                "skip": list(self.skip)}


@dataclass(frozen=True)
class ModelCard:
    """What one registered model is.  Torchvision-derived facts are lazy properties."""

    name: str
    task: str                       # "semantic" | "instance"
    builder: str                    # builder of the source (torchvision builder name, smp class, ...)
    weights_name: str | None        # member of the torchvision builder's weights enum (None: none published)
    head_keys: tuple[str, ...]      # state-dict key prefixes of the class-dependent layers
    title: str = ""
    description: str = ""
    source: str = "torchvision"     # see segstudio.ml.architectures
    options: dict[str, Any] = field(default_factory=dict)   # builder keyword arguments
    encoder_weights: EncoderWeights | None = None
    resize_size: int | None = None  # working size (shorter side) when the weights do not give one
    aux_head: bool = False          # the architecture has an auxiliary classifier
    frozen_bn: bool = False         # the published weights use FrozenBatchNorm2d in the backbone
    thresholds: dict[str, float] = field(default_factory=dict)
    tile: dict[str, int] = field(default_factory=dict)
    crf: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    # -- what the default weights are ----------------------------------------------
    @property
    def weights_kind(self) -> str | None:
        """"model" (a whole trained model), "encoder" (ImageNet encoder only) or None (no default weights)."""
        if self.weights_name:
            return "model"
        return "encoder" if self.encoder_weights is not None else None

    @property
    def has_classes(self) -> bool:
        """The default weights predict classes of their own (a whole trained segmentation model)."""
        return self.weights_kind == "model"

    # -- torchvision metadata (imports torchvision lazily) ---------------
    @property
    def weights_enum(self):
        """The torchvision weights enum member of the default weights file (model or encoder)."""
        if self.weights_name:
            return _weights_member(self.builder, self.weights_name)
        if self.encoder_weights is not None:
            return _weights_member(self.encoder_weights.builder, self.encoder_weights.weights_name)
        raise ModelError(f"{self.name} has no default weights; use --weights none or a checkpoint")

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.weights_enum.meta) if self.weights_kind else {}

    @property
    def categories(self) -> list[str]:
        """The published weights' classes ([] when the default weights are not a segmentation model)."""
        return list(self.weights_enum.meta["categories"]) if self.has_classes else []

    @property
    def num_params(self) -> int | None:
        return self.weights_enum.meta.get("num_params") if self.has_classes else None

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        return dict(self.weights_enum.meta.get("_metrics", {})) if self.has_classes else {}

    @property
    def url(self) -> str | None:
        return self.weights_enum.url if self.weights_kind else None

    @property
    def file_name(self) -> str | None:
        url = self.url
        return url.rsplit("/", 1)[-1] if url else None

    def default_labels(self):
        """(LabelSet, output_ids) of the published weights' classes; see ``labels_from_categories``."""
        if not self.has_classes:
            raise ModelError(f"{self.name} has no published classes: its default weights are "
                             f"{'an ImageNet encoder' if self.weights_kind else 'none'}; fine-tune it on your "
                             f"labels first (segstudio finetune DATA --model {self.name})")
        return labels_from_categories(self.categories, self.name)

    def to_json(self) -> dict[str, Any]:
        d = {"name": self.name, "title": self.title, "task": self.task, "source": self.source,
             "builder": self.builder, "options": dict(self.options), "weights": self.weights_name,
             "aux_head": self.aux_head, "head_keys": list(self.head_keys), "frozen_bn": self.frozen_bn,
             "thresholds": dict(self.thresholds), "tile": dict(self.tile), "crf": dict(self.crf),
             "description": self.description}
        if self.encoder_weights is not None:
            d["encoder_weights"] = self.encoder_weights.to_json()
        if self.resize_size is not None:
            d["resize_size"] = self.resize_size
        return d


def labels_from_categories(categories: list[str], source: str = "model"):
    """A LabelSet for a weights' category list plus the map from model output index to label id.

    torchvision names the background ``__background__`` and pads COCO's
    category ids with ``N/A`` entries; the label set keeps only real classes
    (``background`` first) and ``output_ids[i]`` is the label id of output
    ``i`` (-1 for an unused output).
    """
    import numpy as np

    from segstudio.core.labels import LabelSet

    names: list[str] = []
    output_ids = np.full(len(categories), -1, np.int64)
    for i, c in enumerate(categories):
        if c == "N/A":
            continue
        if i == 0 and c == "__background__":
            c = "background"
        output_ids[i] = len(names)
        names.append(c)
    return LabelSet(names, name=source), output_ids


@lru_cache(maxsize=None)
def _weights_member(builder: str, member: str):
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(builder)
    except (ValueError, KeyError) as e:
        raise ModelError(f"torchvision has no model '{builder}' ({e}); check the model card") from None
    try:
        return enum[member]
    except KeyError:
        raise ModelError(f"torchvision's {enum.__name__} has no weights '{member}' "
                         f"(it has {', '.join(enum.__members__)}); check the model card") from None


def _encoder_weights(data: Any, path: Path) -> EncoderWeights | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not {"builder", "weights", "rename"} <= set(data) \
            or not isinstance(data["rename"], dict):
        raise ModelError(f"{path}: encoder_weights must be an object with builder, weights and rename "
                         "(a map of key prefixes)")
    return EncoderWeights(str(data["builder"]), str(data["weights"]),
                          {str(k): str(v) for k, v in data["rename"].items()},
                          tuple(str(k) for k in data.get("skip", ())))


def _card_from_json(data: Any, path: Path) -> ModelCard:
    if not isinstance(data, dict):
        raise ModelError(f"{path}: a model card is a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    source = data.get("source", "torchvision") if isinstance(data, dict) else None
    if source == "torchvision" and "weights" not in data:
        missing.append("weights")
    if missing:
        raise ModelError(f"{path}: the model card lacks {', '.join(missing)}")
    if data["task"] not in TASKS:
        raise ModelError(f"{path}: task must be one of {', '.join(TASKS)}, got {data['task']!r}")
    if source not in SOURCES:
        raise ModelError(f"{path}: source must be one of {', '.join(SOURCES)}, got {source!r}")
    if data["name"] != path.stem:
        raise ModelError(f"{path}: the card's name {data['name']!r} must match its file name")
    if data.get("weights") and data.get("encoder_weights"):
        raise ModelError(f"{path}: give either weights (a whole model) or encoder_weights, not both")
    if data.get("weights") and source != "torchvision":
        raise ModelError(f"{path}: weights names a torchvision weights enum member; a {source} model's "
                         "default weights are encoder_weights")
    try:
        return ModelCard(
            name=str(data["name"]), task=data["task"], builder=str(data["builder"]),
            weights_name=str(data["weights"]) if data.get("weights") else None,
            head_keys=tuple(str(k) for k in data["head_keys"]),
            title=str(data.get("title", "")), description=str(data.get("description", "")),
            source=source, options=dict(data.get("options", {})),
            encoder_weights=_encoder_weights(data.get("encoder_weights"), path),
            resize_size=int(data["resize_size"]) if data.get("resize_size") else None,
            aux_head=bool(data.get("aux_head", False)), frozen_bn=bool(data.get("frozen_bn", False)),
            thresholds={k: float(v) for k, v in dict(data.get("thresholds", {})).items()},
            tile={k: int(v) for k, v in dict(data.get("tile", {})).items()},
            crf={k: float(v) for k, v in dict(data.get("crf", {})).items()},
            path=path)
    except (TypeError, ValueError) as e:
        raise ModelError(f"{path}: malformed model card ({e})") from None


@lru_cache(maxsize=None)
def _cards(folder: Path) -> dict[str, ModelCard]:
    cards: dict[str, ModelCard] = {}
    for f in sorted(folder.glob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"{f}: cannot read the model card ({e})") from None
        card = _card_from_json(data, f)
        cards[card.name] = card
    return cards


def list_cards() -> list[ModelCard]:
    """All registered models, semantic first, in file-name order."""
    cards = list(_cards(models_dir()).values())
    return sorted(cards, key=lambda c: (TASKS.index(c.task), c.name))


def model_names() -> list[str]:
    return [c.name for c in list_cards()]


def get_card(name: str) -> ModelCard:
    cards = _cards(models_dir())
    try:
        return cards[name]
    except KeyError:
        raise ModelError(f"unknown model '{name}'; known models: {', '.join(sorted(cards))} "
                         f"(`segstudio models` lists them)") from None
