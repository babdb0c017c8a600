"""The smart tools: the thin tool classes without Qt, then end to end through the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from segstudio.app.editor import Editor
from segstudio.app.help_dialog import shortcut_rows
from segstudio.app.tools import TOOL_CLASSES, SmartContext, ToolState
from segstudio.core import edits
from segstudio.core.prediction_memory import PredictionMemory
from tests.app.conftest import set_view
from tests.smart_cases import memory_of, predicted_doc, scene

LEFT = Qt.MouseButton.LeftButton


# -- the tool classes, with the synchronous context -------------------------------------------

@pytest.fixture
def tools():
    rgb, gt, pred, probs = scene()
    editor = Editor(predicted_doc(pred))
    ctx = SmartContext(rgb, memory_of(probs))
    state = ToolState(class_id=3, radius=0.5, smart=ctx)
    return editor, ctx, state, {n: c(editor, state) for n, c in TOOL_CLASSES.items()}, gt


def test_correct_tool_is_one_step_and_says_when_it_needs_a_prediction(tools):
    editor, ctx, state, t, gt = tools
    t["correct"].press((110.0, 55.0))
    t["correct"].release((110.0, 55.0))
    # the square the model doubted takes the class (its network's edge cut by colour, within a few
    # pixels of the truth), nothing else changes
    assert (editor.doc.class_map[gt == 3] == 3).mean() > 0.97
    np.testing.assert_array_equal(editor.doc.class_map[gt != 3], gt[gt != 3])
    assert len(editor.history) == 1 and t["correct"].anchors == [(110.0, 55.0, 3)]
    editor.undo()
    assert (editor.doc.class_map[gt == 3] == 2).all()
    ctx.memory = None
    t["correct"].press((110.0, 55.0))
    assert "predict this image first" in ctx.messages[-1] and len(editor.history) == 0


def test_superpixel_tool_paints_superpixels_and_previews_them(tools):
    editor, ctx, state, t, gt = tools
    sp = t["superpixel"]
    sp.hover((20.0, 20.0))
    assert ctx.preview is not None and ctx.preview.pixels > 0 and len(editor.history) == 0
    sp.press((20.0, 20.0))
    sp.move((30.0, 20.0))
    sp.release((30.0, 20.0))
    assert len(editor.history) == 1
    labels = ctx.brush_superpixels().labels_in((0, 0) + gt.shape)
    np.testing.assert_array_equal(editor.doc.class_map == 3, np.isin(labels, np.unique(labels[20, 20:31])))
    assert ctx.preview is None  # painting hides the hover preview


def test_scribble_previews_then_enter_accepts_and_escape_drops(tools):
    editor, ctx, state, t, gt = tools
    s = t["scribble"]
    s.press((100.0, 50.0))
    s.move((110.0, 55.0))
    s.release((115.0, 58.0))
    assert ctx.preview is not None and len(editor.history) == 0 and s.preview_strokes()
    assert s.key_enter() and len(editor.history) == 1
    assert (editor.doc.class_map[gt == 3] == 3).mean() > 0.8 and ctx.preview is None and not s.strokes
    editor.undo()
    s.press((100.0, 50.0))
    s.release((110.0, 50.0))
    assert s.key_escape() and ctx.preview is None and len(editor.history) == 0
    assert not s.key_escape()
    ctx.memory = None  # no prediction: the stroke is not started, the message says why
    s.press((100.0, 50.0))
    assert "predict this image first" in ctx.messages[-1] and not s.strokes


# -- through the canvas ------------------------------------------------------------------------

def widget_pos(x: float, y: float, scale: float = 4.0, offset: float = 10.0) -> QPoint:
    return QPoint(int(offset + (x + 0.5) * scale), int(offset + (y + 0.5) * scale))


def predict_rectangle(window):
    """A prediction of the sample image where the rectangle (x 40..60, y 10..40) is class 2 but the
    model thought it might be 3; its memory as the app would keep it."""
    doc = window.document.doc
    h, w = doc.shape
    pred = np.zeros((h, w), np.uint8)
    pred[10:41, 40:61] = 2
    probs = np.full((4, h, w), 0.01, np.float32)
    probs[0][pred == 0] = 0.95
    probs[2][pred == 2] = 0.62
    probs[3][pred == 2] = 0.35
    probs /= probs.sum(0, keepdims=True)
    window.document.editor.push(edits.apply_prediction(doc, pred, model="test"), "prediction")
    memory = PredictionMemory.from_probabilities(probs, np.arange(4), (h, w))
    window.document.set_memory(window.document.key, memory)
    return pred


def test_click_to_correct_through_the_canvas(window, qtbot):
    canvas = window.canvas
    pred = predict_rectangle(window)
    set_view(canvas, 4.0, 10, 10)
    window.select_class(3)
    qtbot.keyClick(canvas, Qt.Key.Key_C)
    assert window.tool_name == "correct"
    doc = window.document.doc
    names = window.document.project.labels
    canvas.hovered.emit(50, 25)                      # the pointer rests on the clicked pixel
    assert window.status.under.text() == names.name_of(2)
    qtbot.mouseClick(canvas, LEFT, pos=widget_pos(50, 25))
    qtbot.waitUntil(lambda: doc.class_map[25, 50] == 3, timeout=10_000)
    assert window.status.under.text() == names.name_of(3)   # the readout follows the edit
    # the region the model doubted (here most of the image: one click takes the part near it)
    assert (doc.class_map[pred == 2] == 3).mean() > 0.5 and (doc.class_map[pred == 0] == 0).all()
    assert len(window.document.editor.history) == 2  # the prediction, then one step
    window.actions_by_name["undo"].trigger()
    np.testing.assert_array_equal(doc.class_map, pred)
    assert window.status.under.text() == names.name_of(2)   # ... and the undo
    # the tolerance keys move the panel's slider
    before = window.smart.params.tolerance
    qtbot.keyClick(canvas, ".")
    assert window.smart.params.tolerance == pytest.approx(min(1.0, before + 0.1))
    assert window.smart_panel.tolerance_value() == pytest.approx(window.smart.params.tolerance)


def test_click_to_correct_without_a_prediction_says_so(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 10, 10)
    window.set_tool("correct")
    qtbot.mouseClick(canvas, LEFT, pos=widget_pos(50, 25))
    assert "predict this image first" in window.smart_panel.message.text()
    assert not window.document.doc.class_map.any() and len(window.document.editor.history) == 0


def test_superpixel_brush_through_the_canvas(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 10, 10)
    qtbot.keyClick(canvas, Qt.Key.Key_X)
    assert window.tool_name == "superpixel"
    window.state.radius = 0.5
    window.select_class(5)
    qtbot.waitUntil(lambda: window.smart.brush_superpixels() is not None, timeout=10_000)
    qtbot.mouseMove(canvas, widget_pos(10, 40))
    assert canvas.tool.preview_mask() is not None  # the superpixel under the pointer is outlined
    qtbot.mouseClick(canvas, LEFT, pos=widget_pos(10, 40))
    sp = window.smart.brush_superpixels()
    labels = sp.labels_in((0, 0) + window.document.doc.shape)
    np.testing.assert_array_equal(window.document.doc.class_map == 5, labels == labels[40, 10])
    assert len(window.document.editor.history) == 1


def test_scribble_through_the_canvas_enter_accepts_escape_drops(window, qtbot):
    canvas = window.canvas
    pred = predict_rectangle(window)
    set_view(canvas, 4.0, 10, 10)
    window.select_class(3)
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    assert window.tool_name == "scribble"
    doc = window.document.doc
    qtbot.mousePress(canvas, LEFT, pos=widget_pos(45, 20))
    qtbot.mouseMove(canvas, widget_pos(50, 25))
    qtbot.mouseRelease(canvas, LEFT, pos=widget_pos(55, 32))
    qtbot.waitUntil(lambda: canvas.tool.preview_mask() is not None, timeout=10_000)
    np.testing.assert_array_equal(doc.class_map, pred)  # only a preview so far
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert canvas.tool.preview_mask() is None
    assert (doc.class_map[pred == 2] == 3).mean() > 0.8 and (doc.class_map[pred == 0] == 0).mean() > 0.98
    assert len(window.document.editor.history) == 2
    window.actions_by_name["undo"].trigger()
    np.testing.assert_array_equal(doc.class_map, pred)
    qtbot.mousePress(canvas, LEFT, pos=widget_pos(45, 20))
    qtbot.mouseRelease(canvas, LEFT, pos=widget_pos(55, 32))
    qtbot.waitUntil(lambda: canvas.tool.preview_mask() is not None, timeout=10_000)
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.tool.preview_mask() is None
    np.testing.assert_array_equal(doc.class_map, pred)


def test_help_lists_the_smart_tools():
    rows = {(command, keys) for _, command, keys in shortcut_rows()}
    for command, key in (("Click to correct", "C"), ("Superpixel brush", "X"), ("Scribble", "R"),
                         ("Narrower smart corrections", ","), ("Wider smart corrections", ".")):
        assert (command, key) in rows
