"""The model registry: one small JSON card per model in the ``models/`` folder.

The folder is the repository's top-level ``models/``; installed copies of
segstudio carry it as package data (``segstudio.assets``).  Every ``*.json``
in it is a card.

A card names the torchvision builder and weights, the task, which state-dict
keys form the class-dependent heads (replaced for a custom class count),
default thresholds, tiling and CRF settings.  Everything the published weights
already describe (classes, preprocessing, metrics, parameter count, URL) is
read from torchvision's weights metadata, never copied into the card.  Adding
a model is adding a card.

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
_REQUIRED = ("name", "task", "builder", "weights", "head_keys")


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
class ModelCard:
    """What one registered model is.  Torchvision-derived facts are lazy properties."""

    name: str
    task: str                       # "semantic" | "instance"
    builder: str                    # torchvision.models.get_model_builder name
    weights_name: str               # member of the builder's weights enum
    head_keys: tuple[str, ...]      # state-dict key prefixes of the class-dependent layers
    title: str = ""
    description: str = ""
    aux_head: bool = False          # the architecture has an auxiliary classifier
    frozen_bn: bool = False         # the published weights use FrozenBatchNorm2d in the backbone
    thresholds: dict[str, float] = field(default_factory=dict)
    tile: dict[str, int] = field(default_factory=dict)
    crf: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    # -- torchvision metadata (imports torchvision lazily) ---------------
    @property
    def weights_enum(self):
        """The torchvision weights enum member of the default weights."""
        return _weights_member(self.builder, self.weights_name)

    @property
    def builder_fn(self):
        from torchvision.models import get_model_builder

        return get_model_builder(self.builder)

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.weights_enum.meta)

    @property
    def categories(self) -> list[str]:
        return list(self.weights_enum.meta["categories"])

    @property
    def num_params(self) -> int | None:
        return self.weights_enum.meta.get("num_params")

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        return dict(self.weights_enum.meta.get("_metrics", {}))

    @property
    def url(self) -> str:
        return self.weights_enum.url

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def default_labels(self):
        """(LabelSet, output_ids) of the published weights' classes; see ``labels_from_categories``."""
        return labels_from_categories(self.categories, self.name)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "task": self.task, "builder": self.builder,
                "weights": self.weights_name, "aux_head": self.aux_head, "head_keys": list(self.head_keys),
                "frozen_bn": self.frozen_bn, "thresholds": dict(self.thresholds), "tile": dict(self.tile),
                "crf": dict(self.crf), "description": self.description}


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


def _card_from_json(data: Any, path: Path) -> ModelCard:
    if not isinstance(data, dict):
        raise ModelError(f"{path}: a model card is a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ModelError(f"{path}: the model card lacks {', '.join(missing)}")
    if data["task"] not in TASKS:
        raise ModelError(f"{path}: task must be one of {', '.join(TASKS)}, got {data['task']!r}")
    if data["name"] != path.stem:
        raise ModelError(f"{path}: the card's name {data['name']!r} must match its file name")
    try:
        return ModelCard(
            name=str(data["name"]), task=data["task"], builder=str(data["builder"]),
            weights_name=str(data["weights"]), head_keys=tuple(str(k) for k in data["head_keys"]),
            title=str(data.get("title", "")), description=str(data.get("description", "")),
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
