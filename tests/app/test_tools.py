"""Tools without Qt: pointer events in image coordinates -> edits and undo steps."""

from __future__ import annotations


from segstudio.app.editor import Editor
from segstudio.app.tools import TOOL_CLASSES, ToolState
from segstudio.core.annotation import Annotation
from segstudio.core.labels import VOID_ID


def setup(h=40, w=50):
    editor = Editor(Annotation.blank(h, w))
    state = ToolState(class_id=2, radius=2)
    boxes = []
    editor.subscribe(lambda b, t: boxes.extend(b))
    return editor, state, {n: c(editor, state) for n, c in TOOL_CLASSES.items()}, boxes


def test_a_drag_is_one_step_and_reports_only_small_boxes():
    editor, state, tools, boxes = setup()
    b = tools["brush"]
    b.press((5, 5))
    for x in range(6, 30):
        b.move((x, 5))
    b.release((30, 5))
    assert len(editor.history) == 1
    assert (editor.doc.class_map[5, 5:31] == 2).all()
    assert len(boxes) >= 20 and all((y1 - y0) * (x1 - x0) <= 100 for y0, x0, y1, x1 in boxes)


def test_eraser_and_void():
    editor, state, tools, _ = setup()
    tools["fill"].press((0, 0))
    assert (editor.doc.class_map == 2).all()
    tools["eraser"].press((10, 10))
    tools["eraser"].release((10, 10))
    assert editor.doc.class_map[10, 10] == 0
    tools["void"].press((20, 20))
    tools["void"].release((20, 20))
    assert editor.doc.class_map[20, 20] == VOID_ID
    assert len(editor.history) == 3


def test_polygon_needs_three_points_and_escape_cancels():
    editor, state, tools, _ = setup()
    poly = tools["polygon"]
    poly.press((2, 2))
    poly.press((20, 2))
    assert poly.key_enter() and len(editor.history) == 0  # two points: nothing filled
    poly.press((2, 2))
    poly.press((20, 2))
    assert poly.key_escape() and poly.preview() == []
    for p in ((2, 2), (20, 2), (20, 20)):
        poly.press(p)
    poly.double_click((20, 20))
    assert len(editor.history) == 1 and editor.doc.class_map[5, 15] == 2


def test_instance_tools_and_pickers():
    editor, state, tools, _ = setup()
    picked = []
    state.on_pick.append(lambda k, v: picked.append((k, v)))
    t = tools["new_instance"]
    t.press((10, 10))
    t.move((14, 10))
    t.release((14, 10))
    assert list(editor.doc.instances) == [1] and state.selected_instance == 1
    assert len(editor.history) == 1  # creating and painting it is one step
    state.selected_instance = 0
    tools["pick_instance"].press((12, 10))
    assert state.selected_instance == 1
    a = tools["add_instance"]
    a.press((30, 30))
    a.release((30, 30))
    assert editor.doc.instance_map[30, 30] == 1
    state.class_id = 5
    tools["eyedropper"].press((12, 10))
    assert state.class_id == 2 and ("class", 2) in picked
    state.class_id = VOID_ID  # void cannot be an instance class: the tool refuses
    t.press((40, 30))
    t.release((40, 30))
    assert list(editor.doc.instances) == [1]
    assert not editor.doc.invariant_errors()
    # undo everything
    while editor.undo():
        pass
    assert editor.doc.equals(Annotation.blank(40, 50))
