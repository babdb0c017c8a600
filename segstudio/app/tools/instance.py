"""Instance tools: paint a new instance, add to the selected one, pick one."""

from __future__ import annotations

from segstudio.app.tools.base import Point, Tool
from segstudio.app.tools.brush import StrokeTool
from segstudio.core.edits import brush_segment_mask, create_instance, paint_segment
from segstudio.core.labels import VOID_ID


class NewInstanceTool(StrokeTool):
    """A drag creates a new instance of the current class and paints it."""

    name = "new_instance"
    label = "New instance"
    step_label = "new instance"

    def start(self, p: Point) -> bool:
        class_id = self.state.class_id
        if class_id == VOID_ID:
            return False  # void cannot be an instance's class
        mask, offset = brush_segment_mask(p, p, self.state.radius)
        patch, new_id = create_instance(self.doc, class_id, mask, offset)
        self.editor.apply(patch)
        self.state.pick("instance", new_id)
        return True

    def paint(self, p0, p1):
        return paint_segment(self.doc, p0, p1, self.state.radius, instance_id=self.state.selected_instance)


class AddToInstanceTool(StrokeTool):
    """Paints pixels into the selected instance (they take its class)."""

    name = "add_instance"
    label = "Add to instance"
    step_label = "add to instance"

    def start(self, p: Point) -> bool:
        return self.state.selected_instance in self.doc.instances

    def paint(self, p0, p1):
        return paint_segment(self.doc, p0, p1, self.state.radius, instance_id=self.state.selected_instance)


class PickInstanceTool(Tool):
    """A click selects the instance under the pointer (0 = none)."""

    name = "pick_instance"
    label = "Pick instance"

    def press(self, p: Point) -> None:
        x, y = int(round(p[0])), int(round(p[1]))
        if 0 <= x < self.doc.width and 0 <= y < self.doc.height:
            self.state.pick("instance", int(self.doc.instance_map[y, x]))
