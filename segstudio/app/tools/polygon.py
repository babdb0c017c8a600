"""Polygon: click vertices; Enter or double-click closes and fills, Esc cancels."""

from __future__ import annotations

from segstudio.app.tools.base import Point, Tool
from segstudio.core.edits import fill_polygon


class PolygonTool(Tool):
    name = "polygon"
    label = "Polygon"

    def __init__(self, editor, state):
        super().__init__(editor, state)
        self.points: list[Point] = []

    def press(self, p: Point) -> None:
        if not self.points or self.points[-1] != p:
            self.points.append(p)

    def double_click(self, p: Point) -> None:
        # the press of the double click already added the vertex
        self.close()

    def key_enter(self) -> bool:
        return self.close() or True

    def key_escape(self) -> bool:
        had = bool(self.points)
        self.points = []
        return had

    def close(self) -> bool:
        pts, self.points = self.points, []
        if len(pts) < 3:
            return False
        self.editor.push(fill_polygon(self.doc, pts, class_id=self.state.class_id), "polygon")
        return True

    def cancel(self) -> None:
        self.points = []

    def preview(self) -> list[Point]:
        return list(self.points)
