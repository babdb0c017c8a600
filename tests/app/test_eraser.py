"""The eraser erases to background only where the label set has one; otherwise to void, and the UI says so."""

from __future__ import annotations

from PySide6.QtCore import QPoint

from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.formats.project import Project
from tests.app.conftest import make_images, set_view
from tests.app.test_window import drag

CAMVID = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
          "Bicyclist"]


def paint_then_erase(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 0, 0)
    window.select_class(3)
    window.state.radius = 3
    window.set_tool("brush")
    drag(qtbot, canvas, [QPoint(40, 40), QPoint(120, 40)])
    doc = window.document.doc
    painted = doc.class_map == 3
    qtbot.keyClick(canvas, "e")
    assert window.tool_name == "eraser"
    drag(qtbot, canvas, [QPoint(40, 40), QPoint(120, 40)])
    return doc, painted


def test_without_a_background_class_the_eraser_erases_to_void(make_window, tmp_path, qtbot):
    root = tmp_path / "camvid"
    make_images(root, n=2)
    Project.create(root, LabelSet(CAMVID))
    window = make_window(root)
    labels = window.document.project.labels
    assert not labels.has_background
    # a new annotation starts as "nothing labelled" = void, not Sky
    assert (window.document.doc.class_map == VOID_ID).all()
    doc, painted = paint_then_erase(window, qtbot)
    assert painted.sum() > 50
    assert (doc.class_map[painted] == VOID_ID).all()  # not 0: that is Sky
    assert not (doc.class_map == 0).any()
    # the UI says which
    assert "void" in window.status.currentMessage()
    assert "void" in window.actions_by_name["tool_eraser"].toolTip()
    assert "void" in window.labels.hint.text() and "Sky" in window.labels.hint.toolTip()
    assert window.actions_by_name["class_0"].text().replace("&", "") == "0 Sky"
    # Sky is a real class here: drawn in its colour, and offered for instances
    assert window.canvas.overlay.show_background
    assert window.instances.class_box.findData(0) >= 0
    # deleting an instance leaves void behind too
    window.select_class(8)
    window.set_tool("new_instance")
    drag(qtbot, window.canvas, [QPoint(30, 120), QPoint(60, 120)])
    car = doc.instance_map == 1
    assert car.any()
    window.instances.select(1)
    window.instances.delete_btn.click()
    assert (doc.class_map[car] == VOID_ID).all()


def test_with_a_background_class_the_eraser_erases_to_background(window, qtbot):
    assert window.document.project.labels.has_background  # Pascal VOC
    doc, painted = paint_then_erase(window, qtbot)
    assert (doc.class_map[painted] == 0).all()
    assert "background" in window.status.currentMessage()
    assert "background" in window.labels.hint.text()
    assert not window.canvas.overlay.show_background
