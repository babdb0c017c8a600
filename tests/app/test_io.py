"""File → Export / Import run the formats layer in a worker and open the result."""

from __future__ import annotations

import numpy as np

from segstudio.core.edits import create_instance, paint_segment


def test_export_voc_then_import_it_back(window, qtbot, tmp_path):
    editor = window.document.editor
    editor.push(paint_segment(editor.doc, (10, 10), (30, 10), 4, class_id=7), "brush")
    patch, _ = create_instance(editor.doc, 15, np.ones((6, 6), bool), (30, 30))
    editor.push(patch, "instance")
    expected = editor.doc.class_map.copy()
    out = tmp_path / "export"
    states = []
    window.io.finished.connect(states.append)
    window.io.run_export({"outputs": {"voc": str(out)}, "val_fraction": 0.0, "seed": 0, "overwrite": False})
    qtbot.waitUntil(lambda: bool(states), timeout=60_000)
    assert states == ["done"], window.__dict__.get("last_error")
    voc = out / "VOCdevkit" / "VOC2012"
    assert (voc / "SegmentationClass" / "img0.png").exists()
    assert not window.isWindowModified()  # saved before exporting
    # import it back as a new project: the window opens it
    states.clear()
    window.io.run_import({"format": "voc", "source": str(out), "images": None, "masks": None, "labels": None,
                       "project": str(tmp_path / "reimported")})
    qtbot.waitUntil(lambda: bool(states), timeout=60_000)
    assert states == ["done"], window.__dict__.get("last_error")
    qtbot.waitUntil(lambda: window.document.project is not None
                    and window.document.project.root == tmp_path / "reimported", timeout=5000)
    window.open_key("img0")
    np.testing.assert_array_equal(window.document.doc.class_map, expected)


def test_export_errors_are_shown(window, qtbot, tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    failed = []
    window.io.failed.connect(failed.append)
    window.document.editor.push(paint_segment(window.document.doc, (5, 5), (6, 5), 2, class_id=3), "b")
    window.io.run_export({"outputs": {"coco": str(out)}, "val_fraction": 0.2, "seed": 0, "overwrite": False})
    qtbot.waitUntil(lambda: bool(failed), timeout=60_000)
    assert "exists" in failed[0] or "overwrite" in failed[0]
    assert (out / "keep.txt").exists()
