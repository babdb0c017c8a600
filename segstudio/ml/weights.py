"""Build a registered model with its weights: ``load_model``.

``weights`` is ``"default"`` (torchvision's published weights, downloaded
into the torch hub cache on demand), ``"none"`` (random initialisation) or a
path to a segstudio checkpoint (its card gives architecture and labels) or a
plain state dict.  Files are read with ``torch.load(weights_only=True)``
only.  When the wanted classes (``num_classes``/``labels``) differ from the
weights' classes, the class-dependent heads (the card's ``head_keys``) are
re-initialised and everything else (backbone, ASPP/FPN, RoI heads) is kept.

Models nobody publishes trained weights for (U-Net, SegNet, PSPNet,
DeepLabV3+) have ImageNet *encoder* weights as their default: the same
hash-checked download of a torchvision classifier, whose layers fill the
encoder while the decoder and classifier start random.  Such weights are for
fine-tuning, so they need the classes to train (``labels``/``num_classes``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core.labels import LabelSet
from segstudio.errors import ModelError
from segstudio.ml.download import Progress, download
from segstudio.ml.registry import ModelCard, get_card

CHECKPOINT_FORMAT = "segstudio-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Preprocessing:
    """How images are prepared for the model (from the weights' ``transforms()``).

    ``resize_size`` None: the model resizes internally (Mask R-CNN), and the
    model normalises itself when ``mean`` is None.
    """

    resize_size: int | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None


@dataclass
class LoadedModel:
    model: Any                      # torch.nn.Module, eval mode
    card: ModelCard
    labels: LabelSet                # the classes the model predicts
    output_ids: np.ndarray          # model output index -> label id (-1 = unused output)
    transforms: Any                 # the weights' torchvision transforms() object
    preprocessing: Preprocessing
    version: str                    # identifies the weights ("default", "none", checkpoint version/hash)
    weights: str = "default"        # what was asked for
    checkpoint_card: dict | None = None
    replaced_heads: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.card.task

    @property
    def num_outputs(self) -> int:
        return len(self.output_ids)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocessing_of(card: ModelCard) -> tuple[Any, Preprocessing]:
    """The default weights' transforms and preprocessing.

    A segmentation model's weights give the working size and normalisation;
    an ImageNet encoder gives only the normalisation (its resize is for
    classification crops), the working size is the card's ``resize_size``
    (None: the image's own size).
    """
    if card.weights_kind is None:
        return None, Preprocessing(card.resize_size, IMAGENET_MEAN, IMAGENET_STD)
    t = card.weights_enum.transforms()
    size = getattr(t, "resize_size", None) if card.has_classes else card.resize_size
    if isinstance(size, (list, tuple)):
        size = size[0] if size else None
    mean = getattr(t, "mean", None)
    std = getattr(t, "std", None)
    return t, Preprocessing(int(size) if size else None,
                            tuple(float(v) for v in mean) if mean else None,
                            tuple(float(v) for v in std) if std else None)


# -- reading files ---------------------------------------------------------
def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _load_failure(path: Path, e: Exception) -> str:
    """What torch.load's error means, in whole sentences (never cut off mid-way)."""
    text = _ANSI.sub("", str(e))
    refused = re.search(r"WeightsUnpickler error: (.*?\.)(\s|$)", text)
    if refused:  # weights_only=True refused a Python object: say so, and that nothing was run
        return (f"{path} holds Python objects, not only weights ({refused.group(1)}). segstudio loads "
                "checkpoints with torch.load(weights_only=True) and never runs code from them; if you trust the "
                "file, load it yourself and save its state dict with torch.save(model.state_dict(), FILE)")
    first = text.strip().split("\n\n")[0].replace("\n", " ").strip()
    if len(first) > 300:  # keep whole sentences
        cut = first.rfind(". ", 0, 300)
        first = first[:cut + 1] if cut > 0 else first[:300] + " ..."
    return (f"{path} is not a loadable weights file ({type(e).__name__}: {first}); only state dicts and "
            "segstudio checkpoints saved with torch.save are accepted")


def read_weights_file(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with user-facing errors."""
    import torch

    from segstudio.formats.fileaccess import file_problem, os_error_text

    path = Path(path)
    problem = file_problem(path, "weights file")
    if problem is not None:
        raise ModelError(f"{path}: {problem}; give a .pt/.pth state dict or segstudio checkpoint, or "
                         f"--weights default / none")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except OSError as e:
        if e.errno is not None:
            raise ModelError(f"{path}: cannot be read ({os_error_text(e)})") from None
        raise ModelError(_load_failure(path, e)) from None
    except Exception as e:  # unpickling errors, truncated zip, not a torch file
        raise ModelError(_load_failure(path, e)) from None


def _is_state_dict(obj: Any) -> bool:
    import torch

    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> tuple[dict, dict | None]:
    """(state_dict, card dict or None) of a segstudio checkpoint or a plain state dict."""
    obj = read_weights_file(path, map_location)
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        version = obj.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ModelError(f"{path}: the checkpoint's format version {version!r} is not a whole number; the "
                             "file is damaged or was not written by segstudio")
        if version > CHECKPOINT_VERSION:
            raise ModelError(f"{path} is a segstudio checkpoint of a newer version ({obj.get('version')}); "
                             f"update segstudio to read it")
        card = obj.get("card")
        if not isinstance(card, dict) or "architecture" not in card or "labels" not in card:
            raise ModelError(f"{path}: the checkpoint's card lacks 'architecture' or 'labels'")
        if not _is_state_dict(obj.get("model")):
            raise ModelError(f"{path}: the checkpoint holds no model state dict")
        return obj["model"], card
    if _is_state_dict(obj):
        return obj, None
    if isinstance(obj, dict) and _is_state_dict(obj.get("model")):  # torchvision references checkpoints
        return obj["model"], None
    raise ModelError(f"{path} holds neither a state dict nor a segstudio checkpoint")


def make_card(architecture: str, labels: LabelSet, version: str, metrics: dict | None = None,
              data: dict | None = None, base_weights: str = "default", task: str | None = None) -> dict:
    """The card dict stored in a segstudio checkpoint and beside it as JSON."""
    return {"architecture": architecture, "task": task or get_card(architecture).task,
            "labels": labels.to_json(), "version": str(version), "metrics": dict(metrics or {}),
            "data": dict(data or {}), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "base_weights": str(base_weights)}


def save_checkpoint(path: str | os.PathLike, model: Any, card: dict, **extra: Any) -> None:
    """Write ``{"format", "version", "model", "card", **extra}`` atomically, plus ``<stem>.json`` = card."""
    import torch

    from segstudio.formats.atomic import atomic_write_bytes, atomic_write_json

    state = model.state_dict() if hasattr(model, "state_dict") else model
    buf = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model": state,
                "card": card, **extra}, buf)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_json(path.with_suffix(".json"), card)


# -- building --------------------------------------------------------------
def _freeze_batchnorm(module: Any) -> Any:
    """Replace BatchNorm2d by FrozenBatchNorm2d (as torchvision does for pretrained Mask R-CNN)."""
    import torch.nn as nn
    from torchvision.ops.misc import FrozenBatchNorm2d

    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            setattr(module, name, frozen)
        else:
            _freeze_batchnorm(child)
    return module


def build_model(card: ModelCard, num_outputs: int, aux_loss: bool = False, frozen_bn: bool = False):
    """The architecture with random weights (never downloads anything)."""
    from segstudio.ml.architectures import build_network

    model = build_network(card, num_outputs, aux_loss)
    if frozen_bn and card.task == "instance":
        _freeze_batchnorm(model.backbone.body)
    return model


def _is_head(key: str, card: ModelCard) -> bool:
    return any(key.startswith(p) for p in card.head_keys)


def _count_classes(state: dict, card: ModelCard) -> int | None:
    sizes = [v.shape[0] for k, v in state.items()
             if _is_head(k, card) and k.endswith("weight") and v.ndim >= 1]
    return min(sizes) if sizes else None


def _load_state(model: Any, state: dict, card: ModelCard, source: str, drop_heads: bool,
                expected_classes: int, only: tuple[str, ...] | None = None) -> None:
    """Load ``state`` into ``model`` after checking it fits; ``only``: the key prefixes
    the state must fill (encoder weights), the rest keeps its initialisation."""
    own = model.state_dict()
    has_aux = any(k.startswith("aux_classifier.") for k in own)
    state = {k: v for k, v in state.items()
             if not (k.startswith("aux_classifier.") and not has_aux)
             and not (drop_heads and _is_head(k, card))
             and not k.endswith("num_batches_tracked")}
    unexpected = [k for k in state if k not in own]
    if unexpected:
        raise ModelError(f"{source} is not a {card.name} state dict: it has {len(unexpected)} unknown keys "
                         f"(e.g. {unexpected[0]}); pick the matching --model")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            if _is_head(k, card):
                got = _count_classes(state, card)
                raise ModelError(f"{source} was trained for {got} classes but {expected_classes} are expected "
                                 f"({k}: {tuple(v.shape)} vs {tuple(own[k].shape)}); pass the matching "
                                 f"--labels / num_classes or use the checkpoint's own card")
            raise ModelError(f"{source} is not a {card.name} state dict ({k} has shape {tuple(v.shape)}, "
                             f"expected {tuple(own[k].shape)}); pick the matching --model")
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")
               and not (drop_heads and _is_head(k, card)) and not k.startswith("aux_classifier.")
               and (only is None or k.startswith(only))]
    if missing:
        what = f"{card.name} state dict" if only is None else f"encoder for {card.name}"
        raise ModelError(f"{source} is not a complete {what}: {len(missing)} keys are missing "
                         f"(e.g. {missing[0]}); pick the matching --model")
    model.load_state_dict(state, strict=False)


def _check_finite(state: dict, source: str) -> None:
    """Refuse weights holding NaN or infinity: such a model predicts garbage without a word."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(v.isfinite().all())]
    if bad:
        raise ModelError(f"{source}: {len(bad)} of its tensors hold NaN or infinite values (e.g. {bad[0]}); the "
                         "weights are damaged or come from a run that diverged - use an earlier checkpoint or "
                         "train again with a lower learning rate")


def _generic_labels(n: int) -> LabelSet:
    return LabelSet(["background"] + [f"class {i}" for i in range(1, n)], name=f"{n} classes")


def _is_path(weights: Any) -> bool:
    return isinstance(weights, os.PathLike) or (isinstance(weights, str) and weights not in ("default", "none"))


def load_model(name: str | None = None, weights: str | os.PathLike = "default", num_classes: int | None = None,
               labels: LabelSet | None = None, progress: Progress | None = None, *,
               aux_loss: bool = False, replace_heads: bool = True,
               cache: str | os.PathLike | None = None) -> LoadedModel:
    """Build model ``name`` (or the checkpoint's architecture) with ``weights``; eval mode.

    ``num_classes``/``labels`` ask for other classes than the weights have:
    the heads are replaced, the rest is kept (fine-tuning).  To predict into a
    project's label set with the weights' own classes, pass the project's
    labels to ``Predictor`` instead (it maps classes by name).  ``aux_loss`` keeps the
    auxiliary classifier of FCN/DeepLabV3 (for fine-tuning).  With
    ``replace_heads=False`` a class mismatch is an error instead.  ``progress``
    receives ``(done_bytes, total_bytes)`` while default weights download.
    """
    if weights is None:
        weights = "none"
    if labels is not None and num_classes is not None and num_classes != len(labels):
        raise ModelError(f"num_classes={num_classes} but the label set has {len(labels)} classes")
    state: dict | None = None
    ckpt_card: dict | None = None
    encoder_only: tuple[str, ...] | None = None
    if _is_path(weights):
        path = Path(weights)
        state, ckpt_card = read_checkpoint(path)
        if ckpt_card is not None:
            arch = ckpt_card["architecture"]
            if name is not None and name != arch:
                raise ModelError(f"{path} is a checkpoint of {arch}, not of {name}; use --model {arch}")
            card = get_card(arch)
            src_labels = LabelSet.from_json(ckpt_card["labels"], name=path.stem)
            src_ids = np.arange(len(src_labels))
            version = str(ckpt_card.get("version") or _file_hash(path)[:12])
        else:
            if name is None:
                raise ModelError(f"{path} is a plain state dict; say which model it belongs to (--model NAME)")
            card = get_card(name)
            n = _count_classes(state, card)
            if n is None:
                raise ModelError(f"{path} is not a {card.name} state dict (it has no {card.head_keys[0]}* keys); "
                                 f"pick the matching --model")
            if card.has_classes and n == len(card.categories):
                src_labels, src_ids = card.default_labels()
            elif labels is not None and len(labels) == n:
                src_labels, src_ids = labels, np.arange(n)
            else:
                src_labels, src_ids = _generic_labels(n), np.arange(n)
            version = "file:" + _file_hash(path)[:12]
        source = str(path)
    else:
        if name is None:
            raise ModelError("no model given; pick one of `segstudio models`")
        card = get_card(name)
        if card.has_classes:
            src_labels, src_ids = card.default_labels()
        else:  # no classes of its own: the wanted ones, else Pascal VOC's (segstudio's default label set)
            src_labels = labels or (_generic_labels(num_classes) if num_classes else LabelSet.voc())
            src_ids = np.arange(len(src_labels))
        if weights == "default" and card.weights_kind == "encoder":
            if labels is None and num_classes is None:
                raise ModelError(
                    f"{card.name} has no published segmentation weights: --weights default gives only its "
                    f"ImageNet encoder, for fine-tuning (segstudio finetune DATA --model {card.name}). "
                    f"To predict, use a fine-tuned checkpoint (--weights RUN/best.pt), or --weights none")
            file = download(card.url, cache, progress=progress)
            raw, _ = read_checkpoint(file)
            source = f"{file} (ImageNet {card.encoder_weights.builder} weights for the {card.name} encoder)"
            state = card.encoder_weights.model_state(raw, source, card.name)
            encoder_only = card.encoder_weights.targets
            version = "default"
        elif weights == "default":
            if card.weights_kind is None:
                raise ModelError(f"{card.name} has no default weights; use --weights none or a checkpoint")
            file = download(card.url, cache, progress=progress)
            state, _ = read_checkpoint(file)
            version = "default"
            source = f"{file} (the published {card.name} weights)"
        else:
            version = "none"
            source = "random initialisation"
    # the classes wanted
    if labels is not None:
        target = labels
    elif num_classes is not None and num_classes != len(src_labels):
        target = _generic_labels(num_classes)
    else:
        target = src_labels
    replace = target.names != src_labels.names
    if replace and not replace_heads and state is not None:
        raise ModelError(f"{source} predicts {len(src_labels)} classes ({', '.join(src_labels.names[:4])}, ...) "
                         f"but {len(target)} were asked for ({', '.join(target.names[:4])}, ...)")
    if replace:
        out_ids = np.arange(len(target))
    else:
        target, out_ids = src_labels if labels is None else labels, src_ids
    model = build_model(card, len(out_ids), aux_loss=aux_loss, frozen_bn=card.frozen_bn and state is not None)
    if state is not None:
        _check_finite(state, source)
        _load_state(model, state, card, source, drop_heads=replace, expected_classes=len(out_ids),
                    only=encoder_only)
    model.eval()
    transforms, prep = preprocessing_of(card)
    return LoadedModel(model=model, card=card, labels=target, output_ids=np.asarray(out_ids, np.int64),
                       transforms=transforms, preprocessing=prep, version=version, weights=str(weights),
                       checkpoint_card=ckpt_card, replaced_heads=replace and state is not None)
