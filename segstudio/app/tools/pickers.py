"""Eyedropper: a click makes the class under the pointer the current class."""

from __future__ import annotations

from segstudio.app.tools.base import Point, Tool


class EyedropperTool(Tool):
    name = "eyedropper"
    label = "Eyedropper"

    def press(self, p: Point) -> None:
        x, y = int(round(p[0])), int(round(p[1]))
        if 0 <= x < self.doc.width and 0 <= y < self.doc.height:
            self.state.pick("class", int(self.doc.class_map[y, x]))
