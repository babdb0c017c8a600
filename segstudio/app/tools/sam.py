"""Segment Anything: clicks and a box give a mask; Enter accepts it (one undo step), Esc drops it.

A click adds an object point, a right click a background point, a drag sets
the box.  The tool only keeps the prompts and the latest mask; decoding is
done by a ``backend`` (the app's ``SamController``, which runs the model in
workers) that calls ``set_result`` when a mask is ready.  Accepting writes
the mask with ``segstudio.ml.sam_edit.apply_mask`` (numpy only): a region of
the current class, or a new instance of it.
"""

from __future__ import annotations

import math

from segstudio.app.tools.base import Point, Tool
from segstudio.core.edits import snap
from segstudio.errors import SegStudioError
from segstudio.ml.sam_edit import apply_mask, writable_mask


class SamTool(Tool):
    name = "sam"
    label = "Segment Anything"

    def __init__(self, editor, state):
        super().__init__(editor, state)
        self.backend = None            # has request(tool), forget(tool), report(text)
        self.new_instance = False      # accept as a new instance instead of a class region
        self.keep_user = True          # pixels painted by hand earlier keep their labels
        self.slop = 3.0                # a press that moves less than this (image px) is a click
        self.positive: list[Point] = []
        self.negative: list[Point] = []
        self.box: tuple[float, float, float, float] | None = None
        self.prompt_id = 0
        self.result = None             # SamMask for ``result_id`` (None: empty or not yet)
        self.result_id = -1
        self._visible = None           # (mask, offset) the accept would write
        self._press: Point | None = None
        self._drag: Point | None = None
        self._accept_when_ready = False

    # -- prompts --------------------------------------------------------------------------
    @property
    def has_prompt(self) -> bool:
        return bool(self.positive or self.negative or self.box is not None)

    def _inside(self, p: Point) -> bool:
        x, y = snap(p)
        return 0 <= x < self.doc.width and 0 <= y < self.doc.height

    def press(self, p: Point) -> None:
        self._press, self._drag = p, None

    def move(self, p: Point) -> None:
        if self._press is not None and math.dist(p, self._press) > self.slop:
            self._drag = p

    def release(self, p: Point) -> None:
        start, self._press = self._press, None
        if start is None:
            return
        if self._drag is not None:
            self._drag = None
            x0, x1 = sorted((start[0], p[0]))
            y0, y1 = sorted((start[1], p[1]))
            w, h = self.doc.width - 1, self.doc.height - 1
            self.box = (max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1))
            self._changed()
        elif self._inside(start):
            self.positive.append(tuple(map(float, snap(start))))
            self._changed()

    def secondary_press(self, p: Point) -> None:
        if self._inside(p):
            self.negative.append(tuple(map(float, snap(p))))
            self._changed()

    def _changed(self) -> None:
        self.prompt_id += 1
        if self.backend is not None:
            self.backend.request(self)

    def clear(self) -> None:
        self.positive, self.negative, self.box = [], [], None
        self.result, self._visible, self._accept_when_ready = None, None, False
        self._press = self._drag = None
        self.prompt_id += 1
        if self.backend is not None:
            self.backend.forget(self)

    # -- results ----------------------------------------------------------------------------
    def set_result(self, mask, prompt_id: int) -> bool:
        """A decoded mask (``SamMask`` or None) for ``prompt_id``; False if it is stale."""
        if prompt_id != self.prompt_id:
            return False
        self.result, self.result_id = mask, prompt_id
        self._update_visible()
        if self._accept_when_ready:
            self._accept_when_ready = False
            self.accept()
        return True

    def set_keep_user(self, keep: bool) -> None:
        self.keep_user = bool(keep)
        self._update_visible()

    def _update_visible(self) -> None:
        r = self.result
        if r is None or self.result_id != self.prompt_id:
            self._visible = None
            return
        self._visible = (writable_mask(self.doc, r.mask, r.offset, self.keep_user), r.offset)

    @property
    def pending(self) -> bool:
        """Prompts whose mask has not come back yet."""
        return self.has_prompt and self.result_id != self.prompt_id

    def accept(self) -> bool:
        """Write the mask of the current prompts (one undo step); True if something was written."""
        if not self.has_prompt or self.pending:
            return False
        r = self.result
        if r is None:
            self._report("Segment Anything found no object for these clicks; add clicks or press Esc")
            return False
        try:
            patch = apply_mask(self.doc, r.mask, r.offset, self.state.class_id, self.new_instance, self.keep_user)
        except SegStudioError as e:
            self._report(str(e))
            return False
        self.clear()
        if patch is None:
            self._report("nothing changed: every pixel of the mask was painted by hand earlier")
            return False
        self.editor.push(patch, "segment anything")
        if self.new_instance and patch.new_instances:
            self.state.pick("instance", max(patch.new_instances))
        self._report("Segment Anything mask accepted — Ctrl+Z undoes it")
        return True

    def _report(self, text: str) -> None:
        if self.backend is not None:
            self.backend.report(text)

    # -- keys and tool switching ---------------------------------------------------------------
    def key_enter(self) -> bool:
        if self.pending:
            self._accept_when_ready = True  # accepted as soon as the mask arrives
            return True
        return self.accept()

    def key_escape(self) -> bool:
        had = self.has_prompt
        self.clear()
        return had

    def cancel(self) -> None:
        if self.has_prompt or self._press is not None:
            self.clear()

    # -- what the canvas draws -----------------------------------------------------------------
    def preview(self) -> list[Point]:
        """The box being dragged, as a closed outline ending at the pointer."""
        if self._press is None or self._drag is None:
            return []
        (ax, ay), (bx, by) = self._press, self._drag
        return [(bx, by), (bx, ay), (ax, ay), (ax, by), (bx, by)]

    def preview_mask(self):
        return self._visible

    def preview_marks(self) -> list[tuple[str, tuple]]:
        marks = [("box", self.box)] if self.box is not None else []
        marks += [("positive", p) for p in self.positive] + [("negative", p) for p in self.negative]
        return marks
