"""The open document and its undo history, without Qt.

An ``Editor`` holds one ``Annotation`` and its ``History``.  Tools call
``begin``/``apply``/``end`` (one drag = one step); every applied patch is
reported to the listeners as the box that changed, so the canvas recolours
and repaints only that box.  Tests drive it without a window.
"""

from __future__ import annotations

from typing import Callable

from segstudio.core.annotation import Annotation, Box, Patch
from segstudio.core.history import History

# listener(boxes, table_changed): boxes are (y0, x0, y1, x1) in image pixels
Listener = Callable[[list[Box], bool], None]


def patch_boxes(patches: list[Patch]) -> tuple[list[Box], bool]:
    boxes: list[Box] = []
    table = False
    for p in patches:
        y0, x0, y1, x1 = p.box
        if y1 > y0 and x1 > x0 and (p.new_class is not None or p.new_inst is not None):
            boxes.append(p.box)
        if p.new_instances or p.old_instances or p.new_meta:
            table = True
    return boxes, table


class Editor:
    def __init__(self, doc: Annotation, history: History | None = None):
        self.doc = doc
        self.history = history or History()
        self._listeners: list[Listener] = []
        self.in_step = False  # True during a drag: saving now would split the undo step

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, patches: list[Patch]) -> None:
        boxes, table = patch_boxes(patches)
        if boxes or table:
            for cb in list(self._listeners):
                cb(boxes, table)

    # -- recording -----------------------------------------------------
    def begin(self, label: str) -> None:
        self.history.begin_step(label)
        self.in_step = True

    def apply(self, patch: Patch | None) -> Patch | None:
        """Record an already applied patch in the open step and report its box."""
        if patch is not None:
            self.history.add(patch)
            self._notify([patch])
        return patch

    def end(self) -> None:
        self.history.end_step()
        self.in_step = False

    def push(self, patch: Patch | None, label: str) -> Patch | None:
        """One patch as one undo step (fill, polygon, instance change, prediction)."""
        if patch is not None:
            self.history.push([patch], label)
            self._notify([patch])
        return patch

    # -- undo ------------------------------------------------------------
    def undo(self) -> bool:
        step = self.history.undo(self.doc)
        if step is not None:
            self._notify(step.patches)
        return step is not None

    def redo(self) -> bool:
        step = self.history.redo(self.doc)
        if step is not None:
            self._notify(step.patches)
        return step is not None
