"""What a prediction returns: numpy arrays in the target label set's ids.

Semantic: ``class_map`` (uint8 H×W, 255 where the model's class has no
counterpart in the label set) is computed eagerly; ``confidence`` and the
pruned class probabilities for the CRF are derived lazily from the logits kept
at the working resolution, so callers that only want the class map do not pay
for them.  Instance: a list of instances, each with its mask cropped to its box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from segstudio.core.annotation import Annotation
from segstudio.core.labels import LabelSet


@dataclass
class SemanticResult:
    class_map: np.ndarray          # uint8 (H, W), ids of ``labels``
    labels: LabelSet
    logits: Any                    # torch float32 (C, h, w) on the CPU, model output order
    lut: np.ndarray                # uint8 (256,): model output index -> label id
    model: str = ""
    version: str = ""

    @property
    def size(self) -> tuple[int, int]:
        return self.class_map.shape  # type: ignore[return-value]

    @cached_property
    def confidence(self) -> np.ndarray:
        """float32 (H, W): the winning class's softmax probability."""
        from segstudio.ml.postprocess import resize_plane

        peak = self.logits.softmax(0).amax(0)
        return resize_plane(peak, self.size).clamp_(0, 1).numpy().astype(np.float32, copy=False)

    def probabilities(self, min_prob: float = 0.01, top_k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probs, class_ids): softmax at the working resolution restricted to the classes
        reaching ``min_prob`` somewhere (at most ``top_k`` of them, the most probable;
        renormalised), float32 (K, h, w), and their label ids."""
        from segstudio.ml.postprocess import kept_classes

        probs = self.logits.softmax(0)
        keep = kept_classes(probs, min_prob)
        if top_k is not None and len(keep) > top_k:
            peak = probs[keep].flatten(1).amax(1).numpy()
            keep = np.sort(keep[np.argsort(-peak, kind="stable")[:top_k]])
        sub = probs[keep]
        sub = sub / sub.sum(0, keepdim=True).clamp_(min=1e-12)
        return np.ascontiguousarray(sub.numpy(), dtype=np.float32), self.lut[keep].astype(np.int64)

    def memory(self, k: int | None = None, max_side: int | None = None):
        """What smart tools and the uncertainty ranking keep of this prediction: a
        ``PredictionMemory`` (top-k label ids and probabilities, entropy) on a reduced grid."""
        import torch.nn.functional as F

        from segstudio.core.prediction_memory import MAX_SIDE, TOP_K, PredictionMemory, grid_size

        logits = self.logits.float()
        if logits.numel() > (1 << 24):  # large tiled logits: average them down before the softmax
            gh, gw = grid_size(self.size, max_side or MAX_SIDE)
            logits = F.adaptive_avg_pool2d(logits[None], (min(gh, logits.shape[1]), min(gw, logits.shape[2])))[0]
        probs = logits.softmax(0).numpy()
        n = probs.shape[0]
        lut = self.lut if n <= 256 else np.concatenate([self.lut, np.full(n - 256, 255, np.uint8)])
        return PredictionMemory.from_probabilities(probs, lut[:n], self.size, f"{self.model}@{self.version}",
                                                   k=k or TOP_K, max_side=max_side or MAX_SIDE)

    def to_annotation(self) -> Annotation:
        return Annotation(self.class_map.copy(), status="predicted", model=self.model)


@dataclass
class PredictedInstance:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (half-open pixel box of ``mask``)
    score: float
    class_id: int                   # id in the target label set
    class_name: str                 # the model's class name
    mask: np.ndarray                # bool (y1 - y0, x1 - x0)
    prob: np.ndarray | None = None  # float32 soft mask, same shape

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass
class InstanceResult:
    instances: list[PredictedInstance]  # best score first
    labels: LabelSet
    size: tuple[int, int]               # (H, W)
    unmapped: list[str] = field(default_factory=list)  # model classes found but not in ``labels``
    model: str = ""
    version: str = ""

    def things(self):
        from segstudio.core.panoptic import Thing

        return [Thing(i.mask, (i.box[1], i.box[0]), i.class_id, i.score) for i in self.instances]

    def to_annotation(self, overlap: float = 0.5, semantic: np.ndarray | None = None,
                      stuff_ids=None, min_stuff_area: int = 0) -> Annotation:
        """The instances (and optionally semantic stuff) merged into one Annotation."""
        from segstudio.core.panoptic import merge

        return merge(self.size, self.things(), semantic=semantic, stuff_ids=stuff_ids,
                     overlap=overlap, min_stuff_area=min_stuff_area, model=self.model)
