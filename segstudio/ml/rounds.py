"""The loop in rounds (Cellpose 2.0-style): what one image costs a person, and which images come next.

``benchmarks/bench_rounds.py`` runs the loop on CamVid: a model predicts a
batch of images, a person corrects them, the corrections join the training
set, the model is fine-tuned, next round.  This module holds the parts of a
round that do not train:

* ``correction_effort``: the robot annotator (``segstudio.ml.robot``) corrects
  one prediction with a tool until the pixel accuracy reaches ``target`` (90 %)
  or ``max_clicks`` (20) clicks are spent; the error pixels left then are what
  the person paints by hand.  Void pixels of the ground truth never count.
* ``pick_uncertain``: the ``k`` images whose prediction the model was least
  sure of (mean normalised entropy, ``PredictionMemory.mean_uncertainty()``:
  MONAI Label's ranking), ties in key order; given the predictions themselves,
  one image per cluster of scenes among the ``10k`` most uncertain
  (``core.batch_pick.pick_clustered``);
  ``pick_random``: ``k`` at random.
* ``summarise``: a batch's efforts as the loop reports them (pixel-weighted
  accuracy and share wrong before any click, clicks and hand-painted pixels per image).

    from segstudio.ml.rounds import correction_effort, pick_uncertain
    effort = correction_effort(result.class_map, gt, image=rgb, memory=result.memory())
    effort.clicks, effort.left
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from segstudio.core.batch_pick import layout, pick_clustered
from segstudio.core.labels import VOID_ID

TARGET_PA = 0.90   # the robot clicks until this pixel accuracy ...
MAX_CLICKS = 20    # ... or this many clicks; the rest is painted by hand


@dataclass(frozen=True)
class Effort:
    """What correcting one image cost."""

    key: str
    pixels: int          # labelled (non-void) pixels of the ground truth
    wrong: int           # of them, wrong in the prediction (before any click)
    clicks: int          # robot clicks made
    left: int            # pixels still wrong after the clicks: painted by hand
    reached: bool        # the target accuracy was reached within the clicks

    @property
    def pixel_accuracy(self) -> float:
        return 1.0 - self.wrong / self.pixels if self.pixels else 1.0

    def to_json(self) -> dict:
        return asdict(self)


def correction_effort(prediction: np.ndarray, gt: np.ndarray, tool: Any = "correct", *, key: str = "",
                      image: np.ndarray | None = None, memory: Any = None, target: float = TARGET_PA,
                      max_clicks: int = MAX_CLICKS, num_classes: int | None = None, void: int = VOID_ID,
                      check: bool = False) -> Effort:
    """Correct ``prediction`` towards ``gt`` with the robot and ``tool`` (a ``ROBOT_TOOLS`` name or a
    ``RobotTool``) until ``target`` pixel accuracy or ``max_clicks``; count what is left."""
    from segstudio.core import edits
    from segstudio.core.annotation import Annotation
    from segstudio.ml.robot import run_robot

    gt = np.asarray(gt)
    prediction = np.asarray(prediction, np.uint8)
    valid = gt != void
    pixels = int(valid.sum())
    wrong = int(((prediction != gt) & valid).sum())
    doc = Annotation(np.zeros(gt.shape, np.uint8))
    edits.apply_prediction(doc, prediction, model="robot")
    result = run_robot(prediction, gt, tool, image=image, memory=memory, max_clicks=max_clicks, void=void,
                       num_classes=num_classes, doc=doc, check=check, stop_at=target)
    left = int(((doc.class_map != gt) & valid).sum())
    reached = pixels == 0 or 1.0 - left / pixels >= target - 1e-12
    return Effort(key, pixels, wrong, len(result.clicks), left, bool(reached))


def pick_uncertain(memories: Mapping[str, Any], k: int, exclude: Iterable[str] = ()) -> list[str]:
    """The ``k`` keys of ``memories`` (key -> ``PredictionMemory``, or a mean uncertainty as a float)
    whose prediction was least sure, most uncertain first; ties in key order; ``exclude`` left out.
    With every prediction given, one per cluster of scenes among the most uncertain (``pick_clustered``)."""
    skip = set(exclude)
    kept = {key: m for key, m in memories.items() if key not in skip}
    scores = {key: float(m) if isinstance(m, (int, float)) else m.mean_uncertainty() for key, m in kept.items()}
    if kept and not any(isinstance(m, (int, float)) for m in kept.values()):
        return pick_clustered(scores, lambda key: layout(kept[key]), k)
    return sorted(scores, key=lambda key: (-scores[key], key))[:max(0, int(k))]


def pick_random(keys: Sequence[str], k: int, rng: np.random.Generator, exclude: Iterable[str] = ()) -> list[str]:
    """``k`` of ``keys`` (less ``exclude``) drawn at random without replacement, in the order drawn."""
    skip = set(exclude)
    pool = [key for key in keys if key not in skip]
    order = rng.permutation(len(pool))[:max(0, int(k))]
    return [pool[i] for i in order]


def summarise(efforts: Sequence[Effort]) -> dict:
    """A batch as the loop reports it: pixel accuracy and share of pixels wrong before any click
    (over all the batch's labelled pixels), clicks and hand-painted pixels per image."""
    n = len(efforts)
    pixels = sum(e.pixels for e in efforts)
    wrong = sum(e.wrong for e in efforts)
    return {"images": n,
            "pixel_accuracy": 1.0 - wrong / pixels if pixels else None,
            "wrong_share": wrong / pixels if pixels else None,
            "clicks_per_image": sum(e.clicks for e in efforts) / n if n else None,
            "clicks": sum(e.clicks for e in efforts),
            "left_per_image": sum(e.left for e in efforts) / n if n else None,
            "left_share": sum(e.left for e in efforts) / pixels if pixels else None,
            "reached": sum(e.reached for e in efforts)}
