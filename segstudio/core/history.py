"""Undo/redo of patches, bounded by memory.

A *step* is what one Ctrl+Z undoes: one drag, one fill, one accepted
prediction.  Tools open a step when the mouse goes down, add a patch per
mouse move, and close it on release::

    with history.step("brush"):
        history.add(paint_segment(doc, p0, p1, r, class_id=3))

The history keeps the newest steps whose patches fit in ``max_bytes`` (the
newest step is kept even if it alone is larger).
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field

from segstudio.core.annotation import Annotation, Patch

DEFAULT_MAX_BYTES = 512 * 1024 * 1024


@dataclass
class Step:
    label: str
    patches: list[Patch] = field(default_factory=list)
    serial: int = 0

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches)

    def undo(self, doc: Annotation) -> None:
        for p in reversed(self.patches):
            p.revert(doc)

    def redo(self, doc: Annotation) -> None:
        for p in self.patches:
            p.apply(doc)


class History:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = int(max_bytes)
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._open: Step | None = None
        self._serial = itertools.count(1)
        self._nbytes = 0
        self._saved_serial = 0  # serial of the top undo step when last saved (0 = the opened document)
        self._floor = 0  # serial of the newest step dropped for memory: what an empty undo stack means

    # -- recording -------------------------------------------------------
    def begin_step(self, label: str = "") -> None:
        self.end_step()
        self._open = Step(label, serial=next(self._serial))

    def add(self, patch: Patch | None) -> None:
        """Add an applied patch to the open step (or as a step of its own)."""
        if patch is None:
            return
        if self._open is None:
            self.push([patch])
            return
        self._open.patches.append(patch)

    def end_step(self) -> Step | None:
        step, self._open = self._open, None
        if step is None or not step.patches:
            return None
        self._commit(step)
        return step

    @contextlib.contextmanager
    def step(self, label: str = ""):
        self.begin_step(label)
        try:
            yield self
        finally:
            self.end_step()

    def push(self, patches: list[Patch | None] | Patch | None, label: str = "") -> Step | None:
        """Record already-applied patches as one step."""
        if isinstance(patches, Patch) or patches is None:
            patches = [patches]
        step = Step(label, [p for p in patches if p is not None], serial=next(self._serial))
        if not step.patches:
            return None
        self.end_step()
        self._commit(step)
        return step

    def _commit(self, step: Step) -> None:
        self._undo.append(step)
        self._nbytes += step.nbytes
        self._redo.clear()
        self._recount()
        while self._nbytes > self.max_bytes and len(self._undo) > 1:
            dropped = self._undo.pop(0)
            self._nbytes -= dropped.nbytes
            self._floor = dropped.serial

    def _recount(self) -> None:
        self._nbytes = sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)

    # -- undo/redo -------------------------------------------------------
    def undo(self, doc: Annotation) -> Step | None:
        self.end_step()
        if not self._undo:
            return None
        step = self._undo.pop()
        step.undo(doc)
        self._redo.append(step)
        return step

    def redo(self, doc: Annotation) -> Step | None:
        self.end_step()
        if not self._redo:
            return None
        step = self._redo.pop()
        step.redo(doc)
        self._undo.append(step)
        return step

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or bool(self._open and self._open.patches)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def __len__(self) -> int:
        return len(self._undo)

    @property
    def nbytes(self) -> int:
        """Bytes held by the recorded steps (undo and redo)."""
        open_bytes = self._open.nbytes if self._open else 0
        return self._nbytes + open_bytes

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._open = None
        self._nbytes = 0
        self._saved_serial = 0
        self._floor = 0

    # -- saved state -------------------------------------------------------
    def _top(self) -> int:
        # with dropped steps, an empty undo stack is the state after the newest dropped one
        return self._undo[-1].serial if self._undo else self._floor

    def mark_saved(self) -> None:
        self._saved_serial = self._top()

    @property
    def is_dirty(self) -> bool:
        """True when the document differs from what was last saved."""
        if self._open and self._open.patches:
            return True
        return self._top() != self._saved_serial
