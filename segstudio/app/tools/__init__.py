"""Canvas tools: small classes that turn pointer events (image coordinates)
into core edit calls and undo steps.  They know nothing about Qt, so tests
drive them directly; the canvas translates Qt events into these calls."""

from segstudio.app.tools.base import Tool, ToolState
from segstudio.app.tools.brush import BrushTool, EraserTool, VoidTool
from segstudio.app.tools.fill import FillTool
from segstudio.app.tools.instance import AddToInstanceTool, NewInstanceTool, PickInstanceTool
from segstudio.app.tools.pickers import EyedropperTool
from segstudio.app.tools.polygon import PolygonTool
from segstudio.app.tools.sam import SamTool
from segstudio.app.tools.smart import CorrectTool, ScribbleTool, SuperpixelTool
from segstudio.app.tools.smart_context import SmartContext

TOOL_CLASSES = {cls.name: cls for cls in (
    BrushTool, EraserTool, VoidTool, FillTool, PolygonTool,
    NewInstanceTool, AddToInstanceTool, PickInstanceTool, EyedropperTool, SamTool,
    CorrectTool, SuperpixelTool, ScribbleTool)}

__all__ = ["Tool", "ToolState", "TOOL_CLASSES", "SmartContext"] + [c.__name__ for c in TOOL_CLASSES.values()]
