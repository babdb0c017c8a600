"""The smart tools: thin classes from pointer events to the smart-tool functions.

* ``CorrectTool`` (C): a click relabels the area the model would give the
  current class there (``core.click_correct``); the tolerance widens it.
* ``SuperpixelTool`` (X): a click or a drag paints whole superpixels under
  the brush (``core.superpixels``); their size follows the zoom.
* ``ScribbleTool`` (R): strokes of one or more classes; after each stroke a
  dense CRF spreads them (``ml.scribble``) into a preview; Enter accepts,
  Esc drops.

The work needing the model's probabilities, superpixels or the CRF goes
through ``state.smart`` (a ``SmartContext``); every accepted result is one
undo step.  A tool that needs the prediction memory when there is none says
so instead of doing nothing.
"""

from __future__ import annotations

from segstudio.app.tools.base import Point, Tool
from segstudio.app.tools.brush import StrokeTool
from segstudio.core.smart import NeedsPrediction, Proposal, apply_proposal
from segstudio.errors import SegStudioError


class SmartTool(Tool):
    """What the smart tools share: the preview of their context's proposal."""

    def preview_mask(self):
        proposal = self.state.smart.preview if self.state.smart is not None else None
        return (proposal.mask, proposal.offset) if proposal is not None and proposal.pixels else None

    def _context_with_prediction(self, what: str):
        """The smart context when it holds the model's probabilities; otherwise None (and, when
        only the prediction is missing, the message saying ``what`` needs one)."""
        ctx = self.state.smart
        if ctx is not None and ctx.memory is None:
            ctx.message(str(NeedsPrediction(what)))
            return None
        return ctx


def _push(tool: Tool, patches, label: str) -> bool:
    if not patches:
        return False
    tool.editor.begin(label)
    for p in patches:
        tool.editor.apply(p)
    tool.editor.end()
    return True


class CorrectTool(SmartTool):
    name = "correct"
    label = "Click to correct"

    def __init__(self, editor, state):
        super().__init__(editor, state)
        self.anchors: list[tuple[float, float, int]] = []  # earlier clicks keep their class

    def press(self, p: Point) -> None:
        from segstudio.core.click_correct import correct_proposal

        ctx = self._context_with_prediction("click to correct")
        if ctx is None:
            return
        doc, memory, params, class_id = self.doc, ctx.memory, ctx.params, self.state.class_id
        anchors = list(self.anchors)

        def compute() -> Proposal | None:
            image = ctx.image
            if image is None:
                raise SegStudioError("open an image first")
            # the network reads the image; the superpixel scoring's superpixels are not needed
            return correct_proposal(doc, memory, p, class_id, None, params, anchors, image, method="net")

        def done(proposal: Proposal | None) -> None:
            if proposal is not None and doc is self.doc:
                if _push(self, apply_proposal(doc, proposal), "correct"):
                    self.anchors.append((p[0], p[1], class_id))
        ctx.run(compute, done)


class SuperpixelTool(StrokeTool, SmartTool):
    name = "superpixel"
    label = "Superpixel brush"
    step_label = "superpixels"

    def _superpixels(self):
        ctx = self.state.smart
        return None if ctx is None or ctx.image is None else ctx.brush_superpixels()

    def start(self, p: Point) -> bool:
        if self._superpixels() is None:
            if self.state.smart is not None:
                self.state.smart.message("the superpixels of this image are still being computed; "
                                         "try again in a moment")
            return False
        self.state.smart.set_preview(None)
        return True

    def _proposal(self, p0: Point, p1: Point):
        from segstudio.core.superpixels import superpixel_proposal

        sp = self._superpixels()
        if sp is None:
            return None
        return superpixel_proposal(self.doc, sp, p0, p1, self.state.radius, self.state.class_id,
                                   self.state.smart.params)

    def paint(self, p0, p1):
        patches = apply_proposal(self.doc, self._proposal(p0, p1))
        return patches[0] if patches else None

    def hover(self, p: Point) -> None:
        """Outline the superpixels the brush would paint."""
        if self.state.smart is not None and self._last is None:
            self.state.smart.set_preview(self._proposal(p, p))

    def cancel(self) -> None:
        super().cancel()
        if self.state.smart is not None:
            self.state.smart.set_preview(None)


class ScribbleTool(SmartTool):
    name = "scribble"
    label = "Scribble"

    def __init__(self, editor, state):
        super().__init__(editor, state)
        self.strokes: list = []
        self._drawing = None
        self._serial = 0          # bumped by every change of the strokes
        self._shown = 0           # the serial the preview belongs to
        self._accept_when_ready = False

    def press(self, p: Point) -> None:
        from segstudio.ml.scribble import Stroke

        ctx = self._context_with_prediction("scribble")
        if ctx is None:
            return
        self._drawing = Stroke([p], self.state.class_id)
        self.strokes.append(self._drawing)

    def move(self, p: Point) -> None:
        if self._drawing is not None and self._drawing.points[-1] != p:
            self._drawing.points.append(p)

    def release(self, p: Point) -> None:
        if self._drawing is None:
            return
        self.move(p)
        self._drawing = None
        self._propose()

    def _propose(self) -> None:
        from segstudio.ml.scribble import scribble_proposal

        ctx = self.state.smart
        doc, memory, image, params = self.doc, ctx.memory, ctx.image, ctx.params
        strokes = list(self.strokes)
        self._serial += 1
        serial = self._serial

        def compute():
            return scribble_proposal(doc, memory, image, strokes, params)

        def done(proposal) -> None:
            if serial != self._serial or doc is not self.doc:
                return  # strokes changed since: a newer proposal is coming
            self._shown = serial
            ctx.set_preview(proposal)
            if self._accept_when_ready:
                self._accept_when_ready = False
                self.key_enter()
        ctx.run(compute, done)

    def key_enter(self) -> bool:
        ctx = self.state.smart
        if ctx is None or not self.strokes:
            return False
        if self._shown != self._serial or self._drawing is not None:
            self._accept_when_ready = True  # the CRF is still working: accept its answer
            return True
        proposal = ctx.preview
        self._clear()
        _push(self, apply_proposal(self.doc, proposal), "scribble")
        return True

    def key_escape(self) -> bool:
        had = bool(self.strokes)
        self._clear()
        return had

    def _clear(self) -> None:
        self.strokes = []
        self._drawing = None
        self._serial += 1
        self._accept_when_ready = False
        if self.state.smart is not None:
            self.state.smart.set_preview(None)

    def cancel(self) -> None:
        self._clear()

    def preview_strokes(self) -> list[tuple[list[Point], int]]:
        return [(list(s.points), s.class_id) for s in self.strokes]
