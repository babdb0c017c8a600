"""Edits: functions over an ``Annotation`` that apply a change and return its ``Patch``.

Every edit keeps the document invariant: painting a class removes the pixels
from any instance; painting an instance gives the pixels its class.  Edits by a
person mark ``user_mask`` and set the status to "edited".  Each returns the
applied ``Patch`` (``None`` if nothing changed) for the undo ``History``.

Coordinates are image pixels as (x, y) floats where integer values are pixel
centres: pixel (row i, column j) is at (j, i).
"""

from __future__ import annotations

import functools
import math
from typing import Iterable, Sequence

import cv2
import numpy as np

from segstudio.core.annotation import (Annotation, Instance, Patch, apply_table, class_lut, mask_box,
                                       present_ids, record)
from segstudio.core.labels import VOID_ID
from segstudio.errors import EditError

Point = tuple[float, float]


def _check_class(class_id: int, allow_void: bool = True) -> int:
    class_id = int(class_id)
    if not 0 <= class_id <= 255 or (class_id == VOID_ID and not allow_void):
        what = "0..255" if allow_void else "0..254 (void cannot be an instance class)"
        raise EditError(f"class id {class_id} is out of range; use {what}")
    return class_id


def _instance(doc: Annotation, instance_id: int) -> Instance:
    try:
        return doc.instances[instance_id]
    except KeyError:
        raise EditError(f"instance {instance_id} does not exist in this annotation") from None


def paint_mask(doc: Annotation, mask: np.ndarray, offset: tuple[int, int] = (0, 0),
               class_id: int | None = None, instance_id: int = 0,
               table: dict[int, Instance | None] | None = None, tight: bool = False) -> Patch | None:
    """Set the pixels of ``mask`` (placed with its top-left at ``offset`` = (y, x)).

    ``instance_id == 0``: the pixels get ``class_id`` and leave any instance.
    ``instance_id > 0``: they join that instance and take its class.
    ``table``: instance-table changes recorded in the same patch.
    ``tight``: the mask's box is already its pixels' extent (skips shrinking it).
    """
    table = dict(table or {})
    if instance_id:
        inst = table.get(instance_id) or _instance(doc, instance_id)
        class_id = inst.class_id
    elif class_id is None:
        raise EditError("painting needs a class id or an instance id")
    class_id = _check_class(class_id)
    oy, ox = int(offset[0]), int(offset[1])
    mh, mw = mask.shape
    y0, x0, y1, x1 = max(0, oy), max(0, ox), min(doc.height, oy + mh), min(doc.width, ox + mw)
    if y1 <= y0 or x1 <= x0:
        return record(doc, (0, 0, 0, 0), instances=table, meta={"status": "edited"}) if table else None
    if mask.dtype != np.bool_:
        mask = mask.astype(bool)
    if (y0, x0, y1, x1) != (oy, ox, oy + mh, ox + mw):
        mask = mask[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        tight = False
    if not tight:
        box = mask_box(mask)
        if box is None:
            return record(doc, (0, 0, 0, 0), instances=table, meta={"status": "edited"}) if table else None
        # a copy: the patch keeps the mask, and a view would pin the caller's whole array
        mask = mask[box[0]:box[2], box[1]:box[3]].copy()
        y0, x0 = y0 + box[0], x0 + box[1]
    return _paint_box(doc, y0, x0, mask, class_id, instance_id, table)


def _paint_box(doc: Annotation, y0: int, x0: int, mask: np.ndarray, class_id: int, instance_id: int,
               table: dict[int, Instance | None]) -> Patch | None:
    """The hot path of every paint: paint ``mask`` at (y0, x0) in place and return its patch.

    The patch keeps the old box of each layer that changed, the mask and the
    new scalar value, so one brush move allocates little and redo is a putmask.
    """
    y1, x1 = y0 + mask.shape[0], x0 + mask.shape[1]
    sl = (slice(y0, y1), slice(x0, x1))
    patch = Patch((y0, x0, y1, x1), mask=mask)
    for name, layer, value in (("class", doc.class_map, class_id), ("inst", doc.instance_map, instance_id),
                               ("user", doc.user_mask, True)):
        view = layer[sl]
        if name == "inst" and not instance_id and not view.any():
            continue  # no instance pixels to take out
        old = view.copy()
        np.putmask(view, mask, value)
        if view.tobytes() != old.tobytes():
            setattr(patch, "old_" + name, old)
            setattr(patch, "new_" + name, np.array(value, dtype=layer.dtype))
    if table:
        patch.note_instances(doc, table)
        if patch.new_instances:
            apply_table(doc, patch.new_instances)
    if patch.new_class is None and patch.new_inst is None and patch.new_user is None and not patch.new_instances:
        return None
    if doc.status != "edited":
        patch.old_meta, patch.new_meta = {"status": doc.status}, {"status": "edited"}
        doc.status = "edited"
    return patch


def disc_segment_mask(p0: Point, p1: Point, radius: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Pixels within ``radius`` of the segment p0–p1 (a round brush dragged along it).

    Returns the mask of its bounding box and the box's (y, x) offset.  The box
    is the capsule's extent; a border row may be empty where a disc's top
    chord falls between pixel centres.
    """
    r = max(float(radius), 0.5)
    ax, ay, bx, by = float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1])
    x0, x1 = math.ceil(min(ax, bx) - r), math.floor(max(ax, bx) + r) + 1
    y0, y1 = math.ceil(min(ay, by) - r), math.floor(max(ay, by) + r) + 1
    wx = np.arange(x0, x1, dtype=np.float64)
    wx -= ax
    wy = np.arange(y0, y1, dtype=np.float64)[:, None]
    wy -= ay
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    if len2 == 0.0:
        d2 = wy * wy + wx * wx
    else:
        t = wx * dx + wy * dy
        t /= len2
        np.maximum(t, 0.0, out=t)
        np.minimum(t, 1.0, out=t)
        d2 = t * dx
        np.subtract(wx, d2, out=d2)
        d2 *= d2
        t *= dy
        np.subtract(wy, t, out=t)
        t *= t
        d2 += t
    return d2 <= r * r, (y0, x0)


@functools.lru_cache(maxsize=4096)
def _capsule(dx: int, dy: int, radius: float) -> tuple[np.ndarray, int, int]:
    mask, (oy, ox) = disc_segment_mask((0.0, 0.0), (float(dx), float(dy)), radius)
    mask.flags.writeable = False
    return mask, oy, ox


def snap(p: Point) -> tuple[int, int]:
    """The pixel whose centre is nearest to ``p`` (x, y)."""
    return math.floor(p[0] + 0.5), math.floor(p[1] + 0.5)


def brush_segment_mask(p0: Point, p1: Point, radius: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The brush footprint of one mouse move: as ``disc_segment_mask`` with both ends
    snapped to pixel centres (as napari's label brush does).

    The footprint then depends only on the move (dx, dy) and the radius, which
    repeat all the time during a drag, so it is computed once and cached.  The
    returned mask is read-only.
    """
    ax, ay = snap(p0)
    bx, by = snap(p1)
    mask, oy, ox = _capsule(bx - ax, by - ay, float(radius))
    return mask, (ay + oy, ax + ox)


def paint_segment(doc: Annotation, p0: Point, p1: Point, radius: float,
                  class_id: int | None = None, instance_id: int = 0) -> Patch | None:
    """One segment of a round-brush stroke: a class, void (255), or an instance.

    Both ends snap to the nearest pixel centre; the pixels within ``radius`` of
    the segment between them are painted.
    """
    mask, offset = brush_segment_mask(p0, p1, radius)
    return paint_mask(doc, mask, offset, class_id=class_id, instance_id=instance_id, tight=True)


def erase_segment(doc: Annotation, p0: Point, p1: Point, radius: float, to_void: bool = False) -> Patch | None:
    """Erase under a brush segment: to background (0) or to void (255)."""
    return paint_segment(doc, p0, p1, radius, class_id=VOID_ID if to_void else 0)


def fill_region_mask(doc: Annotation, point: Point, by: str = "class", connectivity: int = 4):
    """The contiguous region around ``point`` with the same class (or instance) id.

    Returns (mask, (y, x) offset) cropped to the region, or None if the point is outside.
    """
    x, y = int(round(point[0])), int(round(point[1]))
    if not (0 <= x < doc.width and 0 <= y < doc.height):
        return None
    if connectivity not in (4, 8):
        raise EditError("connectivity must be 4 or 8")
    if by == "class":
        src = doc.class_map
    elif by == "instance":
        src = (doc.instance_map == doc.instance_map[y, x]).view(np.uint8)
    else:
        raise EditError(f"fill works on 'class' or 'instance', not '{by}'")
    ff_mask = np.zeros((doc.height + 2, doc.width + 2), np.uint8)
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(np.ascontiguousarray(src), ff_mask, (x, y), 0, 0, 0, flags)
    region = ff_mask[1 + ry:1 + ry + rh, 1 + rx:1 + rx + rw].astype(bool)
    return region, (ry, rx)


def flood_fill(doc: Annotation, point: Point, class_id: int | None = None, instance_id: int = 0,
               by: str = "class", connectivity: int = 4) -> Patch | None:
    """Fill the contiguous region (same class, or same instance id) under ``point``."""
    found = fill_region_mask(doc, point, by, connectivity)
    if found is None:
        return None
    mask, offset = found
    return paint_mask(doc, mask, offset, class_id=class_id, instance_id=instance_id)


def polygon_mask(points: Sequence[Point]) -> tuple[np.ndarray, tuple[int, int]]:
    """Rasterise a closed polygon (vertices at pixel centres), boundary included."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        raise EditError("a polygon needs at least 3 vertices")
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # sub-pixel precision for vertices
    local = np.round((pts - [x0, y0]) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(mask, [local], 1, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool), (int(y0), int(x0))


def fill_polygon(doc: Annotation, points: Sequence[Point], class_id: int | None = None,
                 instance_id: int = 0) -> Patch | None:
    mask, offset = polygon_mask(points)
    return paint_mask(doc, mask, offset, class_id=class_id, instance_id=instance_id)


# -- instances -------------------------------------------------------------

def create_instance(doc: Annotation, class_id: int, mask: np.ndarray | None = None,
                    offset: tuple[int, int] = (0, 0), score: float | None = None,
                    source: str = "user") -> tuple[Patch | None, int]:
    """Add a new instance of ``class_id`` (optionally with pixels); returns (patch, its id)."""
    class_id = _check_class(class_id, allow_void=False)
    new_id = doc.next_instance_id()
    entry = {new_id: Instance(class_id, score, source)}  # type: ignore[arg-type]
    if mask is None:
        return record(doc, (0, 0, 0, 0), instances=entry, meta={"status": "edited"}), new_id
    return paint_mask(doc, mask, offset, instance_id=new_id, table=entry), new_id


def add_to_instance(doc: Annotation, instance_id: int, mask: np.ndarray,
                    offset: tuple[int, int] = (0, 0)) -> Patch | None:
    _instance(doc, instance_id)
    return paint_mask(doc, mask, offset, instance_id=instance_id)


def _instance_pixels(doc: Annotation, ids: Iterable[int]):
    """(box, mask in box) of the pixels of the given instances, or (None, None)."""
    ids = list(ids)
    mask = np.isin(doc.instance_map, ids) if len(ids) > 1 else doc.instance_map == ids[0]
    box = mask_box(mask)
    if box is None:
        return None, None
    return box, mask[box[0]:box[2], box[1]:box[3]].copy()  # not a view of the whole-image mask


def relabel_instance(doc: Annotation, instance_id: int, class_id: int) -> Patch | None:
    """Give an instance (and all its pixels) another class."""
    inst = _instance(doc, instance_id)
    class_id = _check_class(class_id, allow_void=False)
    table = {instance_id: Instance(class_id, inst.score, "user")}
    box, mask = _instance_pixels(doc, [instance_id])
    if box is None:
        return record(doc, (0, 0, 0, 0), instances=table, meta={"status": "edited"})
    return paint_mask(doc, mask, box[:2], instance_id=instance_id, table=table)


def delete_instance(doc: Annotation, instance_id: int, to_class: int = 0) -> Patch | None:
    """Remove an instance; its pixels become ``to_class`` (background by default)."""
    _instance(doc, instance_id)
    box, mask = _instance_pixels(doc, [instance_id])
    table = {instance_id: None}
    if box is None:
        return record(doc, (0, 0, 0, 0), instances=table, meta={"status": "edited"})
    return paint_mask(doc, mask, box[:2], class_id=to_class, table=table)


def merge_instances(doc: Annotation, keep_id: int, other_ids: Iterable[int]) -> Patch | None:
    """Move the pixels of ``other_ids`` into ``keep_id`` (taking its class) and drop the others."""
    _instance(doc, keep_id)
    others = [int(k) for k in other_ids if int(k) != keep_id]
    for k in others:
        _instance(doc, k)
    if not others:
        return None
    table: dict[int, Instance | None] = {k: None for k in others}
    box, mask = _instance_pixels(doc, others)
    if box is None:
        return record(doc, (0, 0, 0, 0), instances=table, meta={"status": "edited"})
    return paint_mask(doc, mask, box[:2], instance_id=keep_id, table=table)


# -- predictions -----------------------------------------------------------

def apply_prediction(doc: Annotation, class_map: np.ndarray, instance_map: np.ndarray | None = None,
                     instances: dict[int, Instance] | None = None, keep_user: bool = True,
                     model: str | None = None) -> Patch | None:
    """Accept a model's prediction as one undoable patch.

    With ``keep_user`` the pixels a person painted (``user_mask``) keep their
    class and instance; predicted instance ids are renumbered so they never
    clash with the instances kept.  Instances left without pixels are dropped.
    Returns None, changing nothing (not the status either), when the prediction
    would change no pixel and no instance, e.g. every pixel is kept.
    """
    class_map = np.asarray(class_map)
    if class_map.shape != doc.shape:
        raise EditError(f"the prediction is {class_map.shape[1]}×{class_map.shape[0]} but the image is "
                        f"{doc.width}×{doc.height}")
    new_cls = class_map.astype(np.uint8, copy=True)
    pred_inst = np.zeros(doc.shape, np.int32) if instance_map is None else np.asarray(instance_map)
    if pred_inst.shape != doc.shape:
        raise EditError("the predicted instance map does not have the image's size")
    instances = dict(instances or {})
    user = doc.user_mask if keep_user else np.zeros(doc.shape, bool)
    has_user = bool(user.any())
    kept_ids = set(present_ids(doc.instance_map[user]).tolist()) - {0} if has_user else set()
    # renumber predicted ids after the kept ones
    base = max(kept_ids, default=0)
    pred_ids = sorted(k for k in instances if k > 0)
    present = present_ids(pred_inst)
    lut = np.zeros(max(int(max(pred_ids, default=0)), int(present.max(initial=0))) + 1, np.int32)
    new_table: dict[int, Instance] = {}
    for n, k in enumerate(pred_ids, start=base + 1):
        lut[k] = n
        new_table[n] = instances[k]
    unknown = [int(k) for k in present if k and lut[k] == 0]
    if unknown:
        raise EditError(f"predicted instance ids {unknown[:5]} have no entry in the instance table")
    new_inst = lut[pred_inst]
    if new_table:
        cls_of = class_lut(new_table, 0)
        in_inst = new_inst > 0
        new_cls[in_inst] = cls_of[new_inst[in_inst]]
    if has_user:
        new_cls[user] = doc.class_map[user]
        new_inst[user] = doc.instance_map[user]
    remaining = set(present_ids(new_inst).tolist()) - {0}
    table: dict[int, Instance | None] = {k: None for k in doc.instances if k not in remaining}
    for k in remaining:
        table[k] = new_table[k] if k in new_table else doc.instances[k]
    status = "edited" if has_user else "predicted"
    changed = (new_cls != doc.class_map) | (new_inst != doc.instance_map)
    if not keep_user:
        changed |= doc.user_mask
    box = mask_box(changed)
    if box is not None:
        y0, x0, y1, x1 = box
        sl = (slice(y0, y1), slice(x0, x1))
        new_user = None if keep_user else np.zeros((y1 - y0, x1 - x0), bool)
        return record(doc, (y0, x0, y1, x1), new_cls[sl], new_inst[sl], new_user, instances=table,
                      meta={"status": status, "model": model},
                      take=(y1 - y0, x1 - x0) == doc.shape)  # a view of a part would pin the whole array
    if not any(doc.instances.get(k) != v for k, v in table.items()):
        return None  # the prediction changes nothing: status and model stay as they were
    return record(doc, (0, 0, 0, 0), instances=table, meta={"status": status, "model": model})


def set_status(doc: Annotation, status: str) -> Patch | None:
    """Mark the image unlabelled / predicted / edited / reviewed (undoable)."""
    from segstudio.core.annotation import STATUSES
    if status not in STATUSES:
        raise EditError(f"status must be one of {', '.join(STATUSES)}")
    return record(doc, (0, 0, 0, 0), meta={"status": status})
