"""How to use a checkpoint, as its card says (ARCHITECTURE §11).

A fine-tuned checkpoint's card (``best.json`` beside ``best.pt``, and the same
dict inside the checkpoint) holds a ``"usage"`` block written by the trainer::

    "usage": {
      "working_size": 139,                 # short side (px) it was trained around and validated at
      "validation": {"metric": "mIoU", "score": 0.356, "images": 101,
                     "digest": "3f2a…", "source": "/data/camvid/val"},
      "crf": {"status": "fitted",         # | "no_gain" | "not_fitted"
              "params": {...},             # CRFParams fields (the best setting found, also for no_gain)
              "baseline": 0.351, "score": 0.362, "gain": 0.011,       # on the held-out check images
              "fit_images": 50, "check_images": 51, "tried": 14, "seconds": 41.0,
              "note": "…"}
    }

``usage_of(card)`` reads it (and makes the best of older cards, which only name
their training crop); every consumer — ``predict``, ``evaluate --model``, the
app, the trainer's hand-over — reads working size and CRF settings through it.
Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

CRF_FITTED, CRF_NO_GAIN, CRF_NOT_FITTED = "fitted", "no_gain", "not_fitted"


@dataclass(frozen=True)
class CardUsage:
    working_size: int | None = None        # None: the weights' own preprocessing size
    working_size_source: str = ""          # where it came from, for messages
    validation: dict = field(default_factory=dict)
    crf_status: str = CRF_NOT_FITTED
    crf_params: dict | None = None
    crf: dict = field(default_factory=dict)  # the whole "crf" block

    @property
    def crf_note(self) -> str:
        """One line on what the card says about the dense CRF."""
        c = self.crf
        if self.crf_status == CRF_FITTED:
            return (f"CRF fitted to the validation images: mIoU {100 * c.get('baseline', 0):.1f} → "
                    f"{100 * c.get('score', 0):.1f} on {c.get('check_images', '?')} held-out images")
        if self.crf_status == CRF_NO_GAIN:
            return (f"no CRF setting beat no CRF on this model's {c.get('fit_images', 0) + c.get('check_images', 0)} "
                    f"validation images (best {100 * c.get('gain', 0):+.1f} mIoU points); the CRF would "
                    "likely lower its accuracy")
        return "CRF not fitted to this model; the model card's default settings are used"


    @property
    def summary(self) -> str:
        """One line on how the checkpoint is used and how it scored ("" when the card says neither)."""
        parts = []
        if self.working_size:
            parts.append(f"predicts at {self.working_size} px")
        v = self.validation
        if isinstance(v.get("score"), (int, float)):
            where = f" on {v['images']} validation images" if v.get("images") else ""
            parts.append(f"{v.get('metric') or 'score'} {100 * v['score']:.1f}{where}")
        return "; ".join(parts)


def checkpoint_card(weights: str | None) -> dict | None:
    """The card beside the checkpoint a model choice names as its weights; None for "default",
    "none" or a checkpoint without a card.  No torch."""
    if not weights or str(weights) in ("default", "none"):
        return None
    return read_card_beside(weights)


def _positive_int(v) -> int | None:
    try:
        v = int(v)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def usage_of(card: dict | None) -> CardUsage:
    """The usage block of a checkpoint card (``LoadedModel.checkpoint_card``); empty for none."""
    if not isinstance(card, dict):
        return CardUsage()
    usage = card.get("usage") if isinstance(card.get("usage"), dict) else {}
    size = _positive_int(usage.get("working_size"))
    source = "the checkpoint's card"
    if size is None:  # cards written before the usage block: the trainer's defaults for its crop
        training = card.get("training") if isinstance(card.get("training"), dict) else {}
        size = _positive_int(training.get("eval_size"))
        base = _positive_int(training.get("base_size"))
        crop = _positive_int(training.get("crop"))
        if size is None and card.get("task", "semantic") == "semantic" and (base or crop):
            base = base or round(crop * 520 / 480)  # the trainer's default base size for its crop
            size = round(base * 1.25)               # and its default working size (mean training scale)
        source = "the checkpoint's training crop" if size is not None else ""
    crf = usage.get("crf") if isinstance(usage.get("crf"), dict) else {}
    status = crf.get("status") if crf.get("status") in (CRF_FITTED, CRF_NO_GAIN) else CRF_NOT_FITTED
    params = crf.get("params") if isinstance(crf.get("params"), dict) else None
    if status == CRF_FITTED and params is None:
        status = CRF_NOT_FITTED
    validation = usage.get("validation") if isinstance(usage.get("validation"), dict) else {}
    return CardUsage(size, source, dict(validation), status, params, dict(crf))


def read_card_beside(weights: str | Path) -> dict | None:
    """The card JSON beside a checkpoint (``X.json`` for ``X.pt``), or None; no torch."""
    path = Path(str(weights)).expanduser()
    card = path.with_suffix(".json")
    try:
        data = json.loads(card.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def keys_digest(keys: Iterable[str]) -> str:
    """A short digest naming a set of images (order-independent)."""
    h = hashlib.sha1()
    for k in sorted(keys):
        h.update(k.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()[:16]


def validation_entry(metric: str, score: float | None, keys: list[str], source: str = "") -> dict:
    return {"metric": metric, "score": score, "images": len(keys), "digest": keys_digest(keys),
            "source": str(source)}


def with_usage(card: dict, **changes) -> dict:
    """A copy of ``card`` whose usage block has ``changes`` (``working_size``, ``validation``, ``crf``)."""
    out = dict(card)
    usage = dict(out.get("usage") or {})
    usage.update({k: v for k, v in changes.items() if v is not None})
    out["usage"] = usage
    return out


def crf_display(model: str | None, card: dict | None) -> tuple[dict, str, str]:
    """(CRF settings, a line on where they come from, status) for a model choice whose weights
    have ``card`` (``checkpoint_card``), without torch: the card's fitted settings, else the
    model card's defaults."""
    from segstudio.ml.registry import get_card

    usage = usage_of(card)
    if usage.crf_status == CRF_FITTED:
        return dict(usage.crf_params or {}), usage.crf_note, usage.crf_status
    arch = (card or {}).get("architecture") or model
    try:
        defaults = dict(get_card(arch).crf) if arch else {}
    except Exception:  # an unknown model is reported when it is loaded
        defaults = {}
    if usage.crf_status == CRF_NO_GAIN:
        return dict(usage.crf_params or defaults), usage.crf_note, usage.crf_status
    note = "the model card's CRF settings (not fitted to your labels)" if card is not None else ""
    return defaults, note, usage.crf_status
