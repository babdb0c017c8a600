"""What every tool shares: the tool state (class, brush radius, selection)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from segstudio.app.editor import Editor

Point = tuple[float, float]


@dataclass
class ToolState:
    """Choices shared by the tools; the panels change them."""

    class_id: int = 1
    radius: float = 8.0
    erase_id: int = 0  # what the eraser writes: background (0), or void (255) when the labels have none
    selected_instance: int = 0
    smart: object = None  # SmartContext: image, prediction memory, superpixels for the smart tools
    # called when a tool picks something: ("class", id) or ("instance", id)
    on_pick: list[Callable[[str, int], None]] = field(default_factory=list)

    def pick(self, kind: str, value: int) -> None:
        if kind == "class":
            self.class_id = value
        elif kind == "instance":
            self.selected_instance = value
        for cb in list(self.on_pick):
            cb(kind, value)


class Tool:
    """Base class: pointer events in image coordinates (x, y), integer = pixel centre."""

    name = "tool"
    label = "Tool"
    uses_radius = False  # the canvas shows a brush circle when True

    def __init__(self, editor: Editor, state: ToolState):
        self.editor = editor
        self.state = state

    @property
    def doc(self):
        return self.editor.doc

    def press(self, p: Point) -> None:
        pass

    def move(self, p: Point) -> None:
        """Pointer moved with the button held."""

    def release(self, p: Point) -> None:
        pass

    def double_click(self, p: Point) -> None:
        pass

    def secondary_press(self, p: Point) -> None:
        """Right button pressed (e.g. a background point)."""

    def hover(self, p: Point) -> None:
        """Pointer moved without a button held (tools that preview what a click would do)."""

    def key_enter(self) -> bool:
        return False

    def key_escape(self) -> bool:
        return False

    def cancel(self) -> None:
        """Called when the tool is switched away or the document changes."""

    def preview(self) -> list[Point]:
        """Points the canvas draws as an unfinished shape (polygon vertices)."""
        return []

    def preview_mask(self):
        """A tentative result the canvas tints: (bool mask, (y, x) offset), or None."""
        return None

    def preview_marks(self) -> list[tuple[str, tuple]]:
        """Prompts the canvas marks: ("positive"|"negative", (x, y)) or ("box", (x0, y0, x1, y1))."""
        return []

    def preview_strokes(self) -> list[tuple[list[Point], int]]:
        """Unfinished strokes the canvas draws in their class colour: (points, class id)."""
        return []
