"""Semantic segmentation samples and the dataset over them.

A ``SemanticSample`` knows where its image is and how to read its class map
(already in the label set's ids, 255 void) and, where the data has them, its
instance map (0 = no instance; used for U-Net's border weights).  ``SemanticDataset`` reads one
sample as ``(image RGB uint8 H×W×3, mask uint8 H×W)`` and applies an optional
``transform(image, mask)``.  It is a plain map-style dataset that torch's
DataLoader accepts; it imports no torch itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from segstudio.core.labels import VOID_ID
from segstudio.ml.data.base import SampleDataset
from segstudio.errors import FormatError
from segstudio.formats.images import load_image


@dataclass(frozen=True)
class SemanticSample:
    key: str
    image_path: Path
    read_mask: Callable[[], np.ndarray]
    read_instances: Callable[[], np.ndarray] | None = None   # None: the data has no instance maps


def remap_mask(mask: np.ndarray, num_classes: int, void_ids: Sequence[int] = (), source: str = "mask",
               id_map: np.ndarray | None = None) -> np.ndarray:
    """Map void ids to 255 and check every other id is a class of the label set."""
    if id_map is not None:
        mask = id_map[mask]
    if void_ids:
        mask = np.where(np.isin(mask, np.asarray(list(void_ids))), VOID_ID, mask).astype(np.uint8)
    bad = (mask != VOID_ID) & (mask >= num_classes)
    if bad.any():
        v = int(mask[bad][0])
        raise FormatError(f"{source}: holds class id {v} but the label set has ids 0..{num_classes - 1}; "
                          f"give a label file with more classes, or mark id {v} as void (--void {v})")
    return mask


class SemanticDataset(SampleDataset):
    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The untransformed (image, mask) pair."""
        s = self.samples[index]
        image = load_image(s.image_path)
        mask = s.read_mask()
        if mask.shape != image.shape[:2]:
            raise FormatError(f"{s.key}: the mask is {mask.shape[1]}×{mask.shape[0]} but the image "
                              f"{s.image_path} is {image.shape[1]}×{image.shape[0]}; masks must match their images")
        return image, mask
