"""Panoptic merge: instances ("things") and a semantic map ("stuff") into one Annotation.

Things are placed best score first.  A thing whose mask is covered by
already placed things for more than ``overlap`` of its area is dropped;
otherwise it gets the pixels still free.  Then the remaining pixels take the
semantic map's class where that class is stuff; semantic pixels of a thing
class that no instance claimed, and stuff classes covering fewer than
``min_stuff_area`` pixels, become ``fill`` (void by default: "don't know").
The result keeps the document invariant: every instance pixel has its
instance's class.  numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import BACKGROUND_ID, VOID_ID
from segstudio.errors import EditError


@dataclass(frozen=True)
class Thing:
    mask: np.ndarray                 # bool (h, w): the instance inside its box
    offset: tuple[int, int] = (0, 0)  # (y, x) of the mask's top-left pixel in the image
    class_id: int = 0
    score: float | None = None


def _clip(thing: Thing, shape: tuple[int, int]):
    """(mask, (y0, x0, y1, x1)) of the part of a thing that lies inside the image."""
    m = np.asarray(thing.mask, dtype=bool)
    if m.ndim != 2:
        raise EditError(f"an instance mask must be 2-D, got shape {m.shape}")
    y, x = int(thing.offset[0]), int(thing.offset[1])
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + m.shape[0], shape[0]), min(x + m.shape[1], shape[1])
    if y1 <= y0 or x1 <= x0:
        return None, None
    return m[y0 - y:y1 - y, x0 - x:x1 - x], (y0, x0, y1, x1)


def place_things(shape: tuple[int, int], things: Sequence[Thing], overlap: float = 0.5,
                 min_area: int = 1) -> tuple[np.ndarray, np.ndarray, dict[int, Instance]]:
    """(class_map with things only, instance_map, table); class 0 outside the things."""
    class_map = np.zeros(shape, np.uint8)
    instance_map = np.zeros(shape, np.int32)
    table: dict[int, Instance] = {}
    order = sorted(range(len(things)), key=lambda i: -(things[i].score if things[i].score is not None else 0.0))
    for i in order:
        t = things[i]
        if not 0 <= t.class_id <= 254:
            raise EditError(f"instance class {t.class_id} is not a class id (0..254)")
        mask, box = _clip(t, shape)
        if mask is None:
            continue
        area = int(mask.sum())
        if area < max(min_area, 1):
            continue
        y0, x0, y1, x1 = box
        region = instance_map[y0:y1, x0:x1]
        taken = mask & (region != 0)
        if taken.sum() > overlap * area:
            continue
        free = mask & ~taken
        if int(free.sum()) < max(min_area, 1):
            continue
        k = len(table) + 1
        region[free] = k
        class_map[y0:y1, x0:x1][free] = t.class_id
        table[k] = Instance(int(t.class_id), None if t.score is None else float(t.score), "model")
    return class_map, instance_map, table


def merge(shape: tuple[int, int], things: Sequence[Thing], semantic: np.ndarray | None = None,
          stuff_ids: Iterable[int] | None = None, thing_ids: Iterable[int] | None = None,
          overlap: float = 0.5, min_area: int = 1, min_stuff_area: int = 0, fill: int = VOID_ID,
          model: str | None = None) -> Annotation:
    """The panoptic Annotation of ``things`` over ``semantic`` (uint8 H×W class ids or None).

    ``stuff_ids``: semantic classes kept as stuff (default: all but ``thing_ids``).
    ``thing_ids``: classes only instances may claim; their leftover semantic pixels become ``fill``.
    """
    shape = (int(shape[0]), int(shape[1]))
    class_map, instance_map, table = place_things(shape, things, overlap, min_area)
    if semantic is not None:
        semantic = np.asarray(semantic)
        if semantic.shape != shape or semantic.dtype != np.uint8:
            raise EditError(f"the semantic map must be uint8 {shape[1]}×{shape[0]}, "
                            f"got {semantic.dtype} {semantic.shape[::-1]}")
        free = instance_map == 0
        is_stuff = np.ones(256, bool)
        if stuff_ids is not None:
            is_stuff[:] = False
            is_stuff[list(stuff_ids)] = True
        if thing_ids is not None:
            is_stuff[list(thing_ids)] = False
        is_stuff[VOID_ID] = True  # void stays void
        values = semantic[free]
        stuff = is_stuff[values]
        if min_stuff_area > 0:
            areas = np.bincount(values[stuff], minlength=256)
            tiny = (areas > 0) & (areas < min_stuff_area)
            tiny[[BACKGROUND_ID, VOID_ID]] = False
            stuff &= ~tiny[values]
        class_map[free] = np.where(stuff, values, np.uint8(fill))
    doc = Annotation(class_map, instance_map, table, status="predicted", model=model)
    doc.check()
    return doc
