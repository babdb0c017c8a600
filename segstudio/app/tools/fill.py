"""Flood fill: the contiguous region of one class under the click gets the current class."""

from __future__ import annotations

from segstudio.app.tools.base import Point, Tool
from segstudio.core.edits import flood_fill


class FillTool(Tool):
    name = "fill"
    label = "Fill"

    def press(self, p: Point) -> None:
        self.editor.push(flood_fill(self.doc, p, class_id=self.state.class_id), "fill")
