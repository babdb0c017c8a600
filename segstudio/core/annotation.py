"""The raster document edited by every tool and every model.

``Annotation`` holds, for one image:

* ``class_map``    uint8 H×W: class ids of the project's label set (0 background, 255 void);
* ``instance_map`` int32 H×W: 0 = no instance, k = instance id;
* ``instances``    {k: Instance(class_id, score, source)};
* ``user_mask``    bool H×W: pixels a person painted; predictions keep them.

Invariant: where ``instance_map == k``, ``class_map == instances[k].class_id``,
and every non-zero id in ``instance_map`` is in ``instances``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from segstudio.errors import EditError

Source = Literal["model", "user"]
STATUSES = ("unlabelled", "predicted", "edited", "reviewed")


@dataclass(frozen=True)
class Instance:
    class_id: int
    score: float | None = None
    source: Source = "user"

    def to_json(self, instance_id: int) -> dict:
        return {"id": instance_id, "class_id": self.class_id, "score": self.score, "source": self.source}


class Annotation:
    def __init__(self, class_map: np.ndarray, instance_map: np.ndarray | None = None,
                 instances: dict[int, Instance] | None = None, user_mask: np.ndarray | None = None,
                 status: str = "unlabelled", model: str | None = None):
        class_map = np.asarray(class_map)
        if class_map.ndim != 2 or class_map.dtype != np.uint8:
            raise EditError(f"class_map must be a 2-D uint8 array, got {class_map.dtype} {class_map.shape}")
        shape = class_map.shape
        if instance_map is None:
            instance_map = np.zeros(shape, np.int32)
        instance_map = np.asarray(instance_map)
        if instance_map.shape != shape:
            raise EditError(f"instance_map is {instance_map.shape[::-1]} but class_map is {shape[::-1]} (W×H)")
        if instance_map.dtype != np.int32:
            if instance_map.min(initial=0) < 0 or instance_map.max(initial=0) > np.iinfo(np.int32).max:
                raise EditError("instance ids must be in 0..2^31-1")
            instance_map = instance_map.astype(np.int32)
        if user_mask is None:
            user_mask = np.zeros(shape, bool)
        user_mask = np.asarray(user_mask, dtype=bool)
        if user_mask.shape != shape:
            raise EditError(f"user_mask is {user_mask.shape[::-1]} but class_map is {shape[::-1]} (W×H)")
        if status not in STATUSES:
            raise EditError(f"status must be one of {', '.join(STATUSES)}, got '{status}'")
        self.class_map = np.ascontiguousarray(class_map)
        self.instance_map = np.ascontiguousarray(instance_map)
        self.user_mask = np.ascontiguousarray(user_mask)
        self.instances: dict[int, Instance] = dict(instances or {})
        self.status = status
        self.model = model

    @classmethod
    def blank(cls, height: int, width: int, fill: int = 0) -> "Annotation":
        """Nothing labelled yet: every pixel ``fill`` (the label set's ``empty_id``: 0 or void)."""
        return cls(np.full((height, width), fill, np.uint8))

    @property
    def shape(self) -> tuple[int, int]:
        return self.class_map.shape  # type: ignore[return-value]

    @property
    def height(self) -> int:
        return self.class_map.shape[0]

    @property
    def width(self) -> int:
        return self.class_map.shape[1]

    def copy(self) -> "Annotation":
        return Annotation(self.class_map.copy(), self.instance_map.copy(), dict(self.instances),
                          self.user_mask.copy(), self.status, self.model)

    def equals(self, other: "Annotation") -> bool:
        """Same pixels, instances and user mask (status and model are metadata)."""
        return (self.shape == other.shape
                and np.array_equal(self.class_map, other.class_map)
                and np.array_equal(self.instance_map, other.instance_map)
                and np.array_equal(self.user_mask, other.user_mask)
                and self.instances == other.instances)

    def next_instance_id(self) -> int:
        return max(self.instances, default=0) + 1

    def is_empty(self) -> bool:
        return not self.instances and not self.class_map.any() and not self.user_mask.any()

    def instance_box(self, instance_id: int) -> tuple[int, int, int, int] | None:
        """(y0, x0, y1, x1) of the pixels of an instance, or None if it has none."""
        return mask_box(self.instance_map == instance_id)

    def invariant_errors(self) -> list[str]:
        """What breaks the document invariant; empty when it holds."""
        errors: list[str] = []
        ids = present_ids(self.instance_map)
        ids = ids[ids != 0]
        unknown = [int(i) for i in ids if int(i) not in self.instances]
        if unknown:
            errors.append(f"instance ids {unknown[:10]} are in instance_map but not in the table")
        for k, inst in self.instances.items():
            if k <= 0:
                errors.append(f"instance id {k} must be positive")
            if not 0 <= inst.class_id <= 254:
                errors.append(f"instance {k} has class {inst.class_id}; instances need a class 0..254")
        if ids.size and not unknown:
            lut = class_lut(self.instances, int(ids.max()))
            mask = self.instance_map > 0
            bad = lut[self.instance_map[mask]] != self.class_map[mask]
            if bad.any():
                errors.append(f"{int(bad.sum())} instance pixels disagree with class_map")
        return errors

    def check(self) -> None:
        errs = self.invariant_errors()
        if errs:
            raise EditError("annotation invariant broken: " + "; ".join(errs))


def class_lut(instances: dict[int, "Instance"], max_id: int) -> np.ndarray:
    """An array mapping instance id -> class id (-1 for ids not in the table)."""
    lut = np.full(max(max_id, max(instances, default=0)) + 1, -1, np.int32)
    for k, inst in instances.items():
        if k > 0:
            lut[k] = inst.class_id
    return lut


def present_ids(a: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Sorted distinct values of a non-negative integer array, in O(n) and bounded memory."""
    flat = a.reshape(-1)
    if flat.size == 0:
        return np.zeros(0, np.int64)
    if int(flat.min()) < 0:
        raise EditError("instance ids must not be negative")
    counts = np.zeros(int(flat.max()) + 1, np.int64)
    for i in range(0, flat.size, chunk):
        part = np.bincount(flat[i:i + chunk], minlength=counts.size)
        counts += part
    return np.flatnonzero(counts)


Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (half-open)


def mask_box(mask: np.ndarray) -> Box | None:
    """(y0, x0, y1, x1) of the set pixels of a 2-D mask, or None if none is set."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def apply_table(doc: Annotation, table: dict[int, Instance | None]) -> None:
    """Set instance-table entries (``None`` removes one)."""
    for k, v in table.items():
        if v is None:
            doc.instances.pop(k, None)
        else:
            doc.instances[k] = v


@dataclass
class Patch:
    """A reversible change: old and new values inside a box, plus instance-table changes.

    Only the layers an edit touched are stored (``None`` = unchanged).  A new
    value is either an array of the box's shape or, for a paint, a scalar that
    goes where ``mask`` is set (the mask may be a shared, read-only brush
    footprint); old values are always whole-box arrays.  In the instance table
    changes, ``None`` means "absent".
    """

    box: Box
    old_class: np.ndarray | None = None
    new_class: np.ndarray | None = None
    old_inst: np.ndarray | None = None
    new_inst: np.ndarray | None = None
    old_user: np.ndarray | None = None
    new_user: np.ndarray | None = None
    old_instances: dict[int, Instance | None] | None = None
    new_instances: dict[int, Instance | None] | None = None
    old_meta: dict[str, object] | None = None  # document metadata: "status", "model"
    new_meta: dict[str, object] | None = None
    mask: np.ndarray | None = None  # where scalar new values go

    @property
    def slices(self) -> tuple[slice, slice]:
        y0, x0, y1, x1 = self.box
        return slice(y0, y1), slice(x0, x1)

    @property
    def nbytes(self) -> int:
        n = 200
        for a in (self.old_class, self.new_class, self.old_inst, self.new_inst, self.old_user, self.new_user):
            if a is not None:
                n += a.nbytes
        if self.mask is not None and self.mask.flags.writeable:  # cached brush footprints are shared
            n += self.mask.nbytes
        n += 64 * (len(self.old_instances or {}) + len(self.new_instances or {}))
        return n

    def is_empty(self) -> bool:
        return (self.new_class is None and self.new_inst is None and self.new_user is None
                and not self.new_instances and not self.new_meta)

    def note_instances(self, doc: Annotation, table: dict[int, Instance | None]) -> None:
        """Record the entries of ``table`` that differ from ``doc.instances`` (not applied yet)."""
        changed = {k: v for k, v in table.items() if doc.instances.get(k) != v}
        if changed:
            self.old_instances = {k: doc.instances.get(k) for k in changed}
            self.new_instances = changed

    def _put(self, doc: Annotation, cls, inst, user, table, meta) -> None:
        sl = self.slices
        if table:
            apply_table(doc, table)
        for layer, value in ((doc.class_map, cls), (doc.instance_map, inst), (doc.user_mask, user)):
            if value is None:
                continue
            if value.ndim == 0:
                np.putmask(layer[sl], self.mask, value)
            else:
                layer[sl] = value
        if meta:
            for k, v in meta.items():
                setattr(doc, k, v)

    def apply(self, doc: Annotation) -> None:
        self._put(doc, self.new_class, self.new_inst, self.new_user, self.new_instances, self.new_meta)

    def revert(self, doc: Annotation) -> None:
        self._put(doc, self.old_class, self.old_inst, self.old_user, self.old_instances, self.old_meta)


def record(doc: Annotation, box: Box, class_map: np.ndarray | None = None,
           instance_map: np.ndarray | None = None, user_mask: np.ndarray | None = None,
           instances: dict[int, Instance | None] | None = None,
           meta: dict[str, object] | None = None, take: bool = False) -> Patch | None:
    """Make a Patch that sets the given new values inside ``box``, apply it, return it.

    Layers whose new values equal the old ones are not stored.  Returns None
    when nothing would change.  With ``take`` the patch keeps the given arrays
    instead of copying them (the caller must not modify them afterwards).
    """
    y0, x0, y1, x1 = box
    y0, x0 = max(0, y0), max(0, x0)
    y1, x1 = min(doc.height, y1), min(doc.width, x1)
    if class_map is not None or instance_map is not None or user_mask is not None:
        if y1 <= y0 or x1 <= x0:
            class_map = instance_map = user_mask = None
    box = (y0, x0, y1, x1)
    sl = (slice(y0, y1), slice(x0, x1))
    patch = Patch(box)
    for name, new, layer in (("class", class_map, doc.class_map), ("inst", instance_map, doc.instance_map),
                             ("user", user_mask, doc.user_mask)):
        if new is None:
            continue
        old = layer[sl]
        if new.shape != old.shape:
            raise EditError(f"patch values are {new.shape}, box is {old.shape}")
        if np.array_equal(old, new):
            continue
        setattr(patch, "old_" + name, old.copy())
        setattr(patch, "new_" + name, np.array(new, dtype=layer.dtype, copy=not take))
    if instances:
        patch.note_instances(doc, instances)
    if meta:
        for k in meta:
            if k not in ("status", "model"):
                raise EditError(f"unknown document metadata '{k}'")
        changed_meta = {k: v for k, v in meta.items() if getattr(doc, k) != v}
        if changed_meta:
            patch.old_meta = {k: getattr(doc, k) for k in changed_meta}
            patch.new_meta = changed_meta
    if patch.is_empty():
        return None
    patch.apply(doc)
    return patch
