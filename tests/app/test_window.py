"""The window end to end with pytest-qt: open, paint with the mouse, undo, tools."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from segstudio.core.edits import disc_segment_mask, polygon_mask, snap
from segstudio.core.labels import VOID_ID
from tests.app.conftest import set_view

LEFT = Qt.MouseButton.LeftButton


def drag(qtbot, widget, points):
    qtbot.mousePress(widget, LEFT, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, LEFT, pos=points[-1])


def expected_stroke(canvas, points, radius, shape):
    mask = np.zeros(shape, bool)
    # the brush centre snaps to the pixel under the mouse; pixels within the
    # radius of the segments between those centres are painted
    img_pts = [snap(canvas.to_image(QPointF(p))) for p in points]
    segs = [(img_pts[0], img_pts[0])] + list(zip(img_pts, img_pts[1:]))
    for a, b in segs:
        m, (oy, ox) = disc_segment_mask(a, b, radius)
        ys, xs = np.nonzero(m)
        ys, xs = ys + oy, xs + ox
        ok = (ys >= 0) & (ys < shape[0]) & (xs >= 0) & (xs < shape[1])
        mask[ys[ok], xs[ok]] = True
    return mask


def test_open_folder_lists_images_with_status(window, image_folder, qtbot):
    assert window.images.list.count() == 3
    assert window.document.key == "img0"
    assert window.canvas.image_size() == (64, 48)
    assert "img0.png" in window.windowTitle()
    assert "unlabelled" in window.images.list.item(0).toolTip()
    with qtbot.waitSignal(window.document.image_opened, timeout=10_000):
        window.step_image(1)  # read in the background
        assert not window.canvas.isEnabled()
    assert window.document.key == "img1"
    assert window.canvas.isEnabled()
    assert window.images.list.currentRow() == 1
    # clicking in the list: a newer request wins over an older one
    window.images.image_activated.emit("img2")
    window.images.image_activated.emit("img0")
    qtbot.waitUntil(lambda: window.document.key == "img0" and window.canvas.isEnabled(), timeout=10_000)
    qtbot.wait(100)
    assert window.document.key == "img0"


def test_brush_drag_changes_exactly_the_pixels_under_the_stroke(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 10, 10)
    window.select_class(3)
    window.state.radius = 3
    window.set_tool("brush")
    points = [QPoint(50, 50), QPoint(90, 62), QPoint(140, 70), QPoint(150, 120)]
    drag(qtbot, canvas, points)
    doc = window.document.doc
    want = expected_stroke(canvas, points, 3, doc.shape)
    assert want.sum() > 50
    np.testing.assert_array_equal(doc.class_map == 3, want)
    assert not (doc.class_map[~want]).any()
    np.testing.assert_array_equal(doc.user_mask, want)
    # one drag = one undo step; undo and redo restore it exactly
    assert len(window.document.editor.history) == 1
    assert window.isWindowModified()
    window.actions_by_name["undo"].trigger()
    assert not doc.class_map.any()
    window.actions_by_name["redo"].trigger()
    np.testing.assert_array_equal(doc.class_map == 3, want)


def test_overlay_follows_edits_and_undo(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 0, 0)
    window.select_class(1)
    drag(qtbot, canvas, [QPoint(40, 40), QPoint(80, 40)])
    doc, ov = window.document.doc, canvas.overlay
    np.testing.assert_array_equal(ov._pixels != 0, doc.class_map != 0)
    window.undo()
    assert not ov._pixels.any()


def test_fill_and_polygon_and_void(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 0, 0)
    doc = window.document.doc
    # fill the whole (all background) image with class 2
    window.select_class(2)
    window.set_tool("fill")
    qtbot.mouseClick(canvas, LEFT, pos=QPoint(10, 10))
    assert (doc.class_map == 2).all()
    # polygon: three clicks, Enter closes
    window.select_class(5)
    window.set_tool("polygon")
    clicks = [QPoint(22, 22), QPoint(122, 22), QPoint(62, 102)]
    for p in clicks:
        qtbot.mouseClick(canvas, LEFT, pos=p)
    assert len(window.tools["polygon"].preview()) == 3
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    mask, (oy, ox) = polygon_mask([canvas.to_image(QPointF(p)) for p in clicks])
    want = np.zeros(doc.shape, bool)
    want[oy:oy + mask.shape[0], ox:ox + mask.shape[1]] = mask
    np.testing.assert_array_equal(doc.class_map == 5, want)
    # Esc cancels an unfinished polygon
    qtbot.mouseClick(canvas, LEFT, pos=QPoint(150, 150))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert window.tools["polygon"].preview() == []
    # void tool (V key picks it)
    qtbot.keyClick(canvas, Qt.Key.Key_V)
    assert window.tool_name == "void"
    window.state.radius = 2
    drag(qtbot, canvas, [QPoint(200, 150), QPoint(220, 150)])
    assert (doc.class_map == VOID_ID).sum() > 10
    # three undo steps back to the fill
    assert len(window.document.editor.history) == 3
    window.undo()
    window.undo()
    assert (doc.class_map == 2).all()


def test_number_keys_and_eyedropper_pick_classes(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 0, 0)
    qtbot.keyClick(canvas, Qt.Key.Key_7)
    assert window.state.class_id == 7
    assert window.labels.current_class() == 7
    window.set_tool("brush")
    drag(qtbot, canvas, [QPoint(40, 40), QPoint(42, 40)])
    qtbot.keyClick(canvas, Qt.Key.Key_2)
    window.set_tool("eyedropper")
    qtbot.mouseClick(canvas, LEFT, pos=QPoint(41, 41))
    assert window.state.class_id == 7


def test_instances_new_relabel_merge_delete(window, qtbot):
    canvas = window.canvas
    set_view(canvas, 4.0, 0, 0)
    doc = window.document.doc
    window.select_class(15)
    window.state.radius = 3
    window.set_tool("new_instance")
    drag(qtbot, canvas, [QPoint(30, 30), QPoint(60, 30)])
    drag(qtbot, canvas, [QPoint(30, 120), QPoint(60, 120)])
    assert sorted(doc.instances) == [1, 2]
    assert window.instances.tree.topLevelItemCount() == 2
    assert window.state.selected_instance == 2
    # add to the selected instance
    window.set_tool("add_instance")
    before = (doc.instance_map == 2).sum()
    drag(qtbot, canvas, [QPoint(150, 120), QPoint(160, 120)])
    assert (doc.instance_map == 2).sum() > before
    # relabel instance 1 through the panel
    window.instances.select(1)
    window.instances.class_box.setCurrentIndex(window.instances.class_box.findData(8))
    window.instances.relabel_btn.click()
    assert doc.instances[1].class_id == 8
    assert (doc.class_map[doc.instance_map == 1] == 8).all()
    # merge both into instance 1
    for i in range(2):
        window.instances.tree.topLevelItem(i).setSelected(True)
    window.instances.merge_btn.click()
    assert sorted(doc.instances) == [1]
    assert (doc.class_map[doc.instance_map == 1] == 8).all()
    assert not doc.invariant_errors()
    # pick tool selects; delete removes
    window.set_tool("pick_instance")
    ys, xs = np.nonzero(doc.instance_map == 1)
    qtbot.mouseClick(canvas, LEFT, pos=QPoint(int(xs[0]) * 4 + 2, int(ys[0]) * 4 + 2))
    assert window.state.selected_instance == 1
    window.instances.delete_btn.click()
    assert doc.instances == {}
    window.undo()
    assert sorted(doc.instances) == [1]


def test_zoom_fit_and_status_bar(window, qtbot):
    canvas = window.canvas
    window.canvas.fit()
    fitted = canvas.scale
    window.canvas.zoom_by(1.25)
    assert abs(canvas.scale - fitted * 1.25) < 1e-9
    window.canvas.actual_size()
    assert canvas.scale == 1.0
    set_view(canvas, 4.0, 0, 0)
    qtbot.mouseMove(canvas, QPoint(41, 21))
    assert window.status.position.text() == "x 10  y 5"
    assert window.status.under.text() == "background"


def test_brush_size_keys_and_settings_persist(make_window, image_folder, qtbot):
    win = make_window(image_folder)
    r0 = win.state.radius
    qtbot.keyClick(win.canvas, "]")
    assert win.state.radius > r0
    win.opacity_slider.setValue(30)
    win.close()
    win2 = make_window(None)
    assert abs(win2.state.radius - r0 * 1.25) < 1e-6
    assert abs(win2.canvas.opacity - 0.30) < 1e-6
    assert win2.settings.get("last_path") == str(image_folder)


def test_shortcuts_are_unique_and_listed_in_help():
    from segstudio.app.actions import ACTIONS
    from segstudio.app.help_dialog import shortcut_rows
    keys = [k for a in ACTIONS for k in a.shortcuts]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"
    listed = {row[2] for row in shortcut_rows()}
    for a in ACTIONS:
        if a.shortcuts:
            assert ", ".join(a.shortcuts) in listed


def test_opening_a_bad_path_shows_an_error(window, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    assert not window.open_path(bad)
    assert "not an image" in window.last_error
    assert window.document.key == "img0"  # still open


def test_dropping_a_folder_opens_it(window, tmp_path, qtbot):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent
    from tests.app.conftest import make_images
    other = make_images(tmp_path / "other", n=2, w=40, h=30)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.document.project.root == other
    assert window.images.list.count() == 2
    assert window.canvas.image_size() == (40, 30)


def test_help_dialog_lists_every_shortcut(window, qtbot):
    from segstudio.app.help_dialog import HelpDialog, shortcut_rows
    dlg = HelpDialog(window)
    qtbot.addWidget(dlg)
    rows = shortcut_rows()
    assert dlg.table.rowCount() == len(rows)
    texts = {dlg.table.item(r, 2).text() for r in range(dlg.table.rowCount())}
    assert {"Ctrl+Z", "Ctrl+Shift+Z, Ctrl+Y", "B", "[", "]", "V", "F1"} <= texts
