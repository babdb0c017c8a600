"""Brush-like tools: a drag paints round segments, one drag = one undo step."""

from __future__ import annotations

from segstudio.app.tools.base import Point, Tool
from segstudio.core.edits import erase_segment, paint_segment
from segstudio.core.labels import VOID_ID


class StrokeTool(Tool):
    """Paints segments from the last point to the new one while the button is held."""

    uses_radius = True
    step_label = "brush"

    def __init__(self, editor, state):
        super().__init__(editor, state)
        self._last: Point | None = None

    def paint(self, p0: Point, p1: Point):
        raise NotImplementedError

    def start(self, p: Point) -> bool:
        """Called on press before the first segment; False refuses the stroke."""
        return True

    def press(self, p: Point) -> None:
        self.editor.begin(self.step_label)
        if not self.start(p):
            self.editor.end()
            return
        self._last = p
        self.editor.apply(self.paint(p, p))

    def move(self, p: Point) -> None:
        if self._last is None:
            return
        self.editor.apply(self.paint(self._last, p))
        self._last = p

    def release(self, p: Point) -> None:
        if self._last is None:
            return
        if p != self._last:
            self.editor.apply(self.paint(self._last, p))
        self._last = None
        self.editor.end()

    def cancel(self) -> None:
        if self._last is not None:
            self._last = None
            self.editor.end()


class BrushTool(StrokeTool):
    name = "brush"
    label = "Brush"

    def paint(self, p0, p1):
        return paint_segment(self.doc, p0, p1, self.state.radius, class_id=self.state.class_id)


class EraserTool(StrokeTool):
    """Erases to what "nothing here" is: background (0), or void where 0 is a real class."""

    name = "eraser"
    label = "Eraser"
    step_label = "erase"

    def paint(self, p0, p1):
        return erase_segment(self.doc, p0, p1, self.state.radius, to_void=self.state.erase_id == VOID_ID)


class VoidTool(StrokeTool):
    """Paints void (255): "don't know / don't train on this"; also the eraser to void."""

    name = "void"
    label = "Paint void"
    step_label = "void"

    def paint(self, p0, p1):
        return paint_segment(self.doc, p0, p1, self.state.radius, class_id=VOID_ID)
