"""Map a model's classes into a project's label set by class name.

Names are compared case-insensitively, ignoring spaces, underscores and
hyphens ("dining table" = "diningtable"); a few well-known spelling
differences between the Pascal VOC and COCO vocabularies are aliases.  This
maps names, it holds no class list.
"""

from __future__ import annotations

import re

import numpy as np

from segstudio.core.labels import VOID_ID, LabelSet

# Pascal VOC spelling -> COCO spelling of the same class.
ALIASES = {"aeroplane": "airplane", "motorbike": "motorcycle", "sofa": "couch", "tvmonitor": "tv"}


def normalise(name: str) -> str:
    key = re.sub(r"[\s_\-]+", "", name.strip().lower())
    return ALIASES.get(key, key)


def class_lut(source: LabelSet, target: LabelSet, missing: int = VOID_ID) -> np.ndarray:
    """uint8 lookup table (256,): source id -> target id; unknown names -> ``missing``.

    Void (255) maps to void.
    """
    index = {normalise(n): i for i, n in enumerate(target.names)}
    lut = np.full(256, missing, np.uint8)
    for i, n in enumerate(source.names):
        j = index.get(normalise(n))
        if j is not None:
            lut[i] = j
    lut[VOID_ID] = VOID_ID
    return lut


def unmapped(source: LabelSet, target: LabelSet) -> list[str]:
    """Source class names with no counterpart in ``target``."""
    index = {normalise(n) for n in target.names}
    return [n for n in source.names if normalise(n) not in index]
