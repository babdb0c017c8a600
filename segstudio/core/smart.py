"""What every smart correction tool shares (numpy only).

A smart tool turns a click, a brush stroke or scribbles into a ``Proposal``:
the pixels to relabel (a mask inside a box) and the class each one gets.
Computing a proposal only reads the document, so the app can compute it in a
worker (and show it as a preview); ``apply_proposal`` then paints it through
``edits.paint_mask`` -- the same edit every brush uses -- so the pixels are
marked as painted by a person, leave any instance, and the whole proposal is
one undo step.

Hand-painted pixels (``Annotation.user_mask``) follow the rule for accepting
a prediction: they stay unless the user says so.  A smart tool spreads a
decision beyond the pixels the user pointed at, and that spread never
relabels a hand-painted pixel -- except the hand-painted patch the user
points at: the connected pixels of one class, all painted by hand, under the
click, the brushed pixels or a scribble.  Clicking into an earlier correction
is how a person says that correction was wrong, so it may be redone; a
correction elsewhere is left alone.  ``SmartParams.keep_user = False`` lifts
the protection altogether.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from segstudio.core.annotation import Annotation, Box, Patch
from segstudio.core.edits import paint_mask
from segstudio.errors import EditError

Point = tuple[float, float]


class NeedsPrediction(EditError):
    """A smart tool that needs the model's probabilities was used on an image without them."""

    def __init__(self, tool: str):
        super().__init__(f"{tool} uses the model's class probabilities, and this image has none yet: "
                         "predict this image first (Ctrl+P), then click again")


@dataclass(frozen=True)
class SmartParams:
    """Settings shared by the smart tools (the app's panel and keys change them)."""

    tolerance: float = 0.6      # how far click-to-correct and scribbles spread (0 narrow .. 1 wide)
    keep_user: bool = True      # hand-painted pixels stay (see the module's rule)
    crf_iterations: int = 5     # mean-field iterations of the edge refinement / scribble CRF
    crf_max_side: int = 320     # working-size cap of those CRFs (work bounded per click)
    scribble_reach: float = 0.13  # how far a scribble may spread beyond its strokes, × the short side

    def with_tolerance(self, value: float) -> "SmartParams":
        return replace(self, tolerance=min(1.0, max(0.0, float(value))))


@dataclass
class Proposal:
    """Pixels to relabel: ``mask`` (bool h×w) placed at ``offset`` (y, x); each gets ``classes``
    (one class id, or a uint8 h×w array of them)."""

    offset: tuple[int, int]
    mask: np.ndarray
    classes: int | np.ndarray

    @property
    def box(self) -> Box:
        y, x = self.offset
        return y, x, y + self.mask.shape[0], x + self.mask.shape[1]

    @property
    def pixels(self) -> int:
        return int(np.count_nonzero(self.mask))

    def class_ids(self) -> list[int]:
        if np.ndim(self.classes) == 0:
            return [int(self.classes)] if self.pixels else []
        return [int(c) for c in np.unique(self.classes[self.mask])]



def apply_proposal(doc: Annotation, proposal: Proposal | None) -> list[Patch]:
    """Paint a proposal (one ``paint_mask`` per class); the patches make one undo step."""
    if proposal is None or not proposal.pixels:
        return []
    patches = []
    for c in proposal.class_ids():
        mask = proposal.mask if np.ndim(proposal.classes) == 0 else proposal.mask & (proposal.classes == c)
        patch = paint_mask(doc, mask, proposal.offset, class_id=c)
        if patch is not None:
            patches.append(patch)
    return patches


# -- boxes and points -------------------------------------------------------------

def pixel_of(doc: Annotation, point: Point) -> tuple[int, int] | None:
    """(row, column) of the pixel whose centre is nearest to ``point`` (x, y), or None outside."""
    x, y = math.floor(point[0] + 0.5), math.floor(point[1] + 0.5)
    if 0 <= x < doc.width and 0 <= y < doc.height:
        return y, x
    return None


def grow_box(box: Box, margin: int, shape: tuple[int, int]) -> Box:
    y0, x0, y1, x1 = box
    return max(0, y0 - margin), max(0, x0 - margin), min(shape[0], y1 + margin), min(shape[1], x1 + margin)


def component_at(mask: np.ndarray, seeds: np.ndarray | tuple[int, int], connectivity: int = 4) -> np.ndarray:
    """The pixels of ``mask`` connected to ``seeds`` (a bool mask of the same shape, or one (row, col))."""
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if not m.any():
        return np.zeros(mask.shape, bool)
    n, labels = cv2.connectedComponents(m, connectivity=connectivity)
    if isinstance(seeds, tuple):
        k = labels[seeds]
        return labels == k if k else np.zeros(mask.shape, bool)
    ids = np.unique(labels[seeds & mask.astype(bool)])
    ids = ids[ids > 0]
    if ids.size == 0:
        return np.zeros(mask.shape, bool)
    if ids.size == 1:
        return labels == ids[0]
    return np.isin(labels, ids)


def locked_pixels(doc: Annotation, box: Box, seeds: np.ndarray, keep_user: bool = True) -> np.ndarray:
    """bool mask of ``box``: hand-painted pixels a smart tool's spread must not relabel.

    ``seeds`` (bool, the box's shape) are the pixels the user pointed at; the
    hand-painted patches of one class they touch are unlocked (see the module).
    """
    y0, x0, y1, x1 = box
    if not keep_user:
        return np.zeros((y1 - y0, x1 - x0), bool)
    user = doc.user_mask[y0:y1, x0:x1]
    if not user.any():
        return np.zeros(user.shape, bool)
    locked = user.copy()
    touched = seeds & user
    if touched.any():
        cls = doc.class_map[y0:y1, x0:x1]
        for c in np.unique(cls[touched]):
            locked &= ~component_at(user & (cls == c), touched & (cls == c))
    return locked
