"""Dropping files on the window: a bad drop changes nothing; an image never pulls in its folder's subfolders."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from segstudio.core.edits import paint_segment
from tests.app.conftest import make_images


def drop(window, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def listed(window) -> list[str]:
    return [window.images.list.item(i).text() for i in range(window.images.list.count())]


def snapshot(window):
    d = window.document
    return (d.project.root, d.key, listed(window), window.canvas.image_size(), d.doc.class_map.copy())


def assert_unchanged(window, before):
    root, key, names, size, class_map = before
    d = window.document
    assert d.project.root == root and d.key == key
    assert listed(window) == names
    assert window.canvas.image_size() == size and window.canvas.isEnabled()
    np.testing.assert_array_equal(d.doc.class_map, class_map)


def busy_folder(tmp_path):
    """A folder like ~/Downloads: a few images, plus subfolders with another project's masks and an export."""
    top = make_images(tmp_path / "downloads", n=2, w=40, h=30)
    make_images(top / "old-project" / "annotations" / "class", n=3)
    make_images(top / "export" / "JPEGImages", n=4)
    return top


def test_a_bad_drop_leaves_the_list_and_the_open_image_as_they_were(window, tmp_path, qtbot):
    editor = window.document.editor
    editor.push(paint_segment(editor.doc, (10, 10), (20, 10), 3, class_id=5), "brush")
    before = snapshot(window)
    top = busy_folder(tmp_path)
    broken = top / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    for bad in (broken, top / "notes.txt", top / "old-project" / "annotations" / "class" / "img0.png"):
        if bad.suffix == ".txt":
            bad.write_text("hello")
        if bad.parent.name == "class":
            (top / "old-project" / "segstudio.json").write_text(
                '{"format": "segstudio-project", "version": 1, "labels": [{"id": 0, "name": "background"}]}')
        window.last_error = None
        drop(window, bad)
        assert window.last_error, bad
        assert_unchanged(window, before)
    assert "broken.png" in window.last_error or "saved annotation" in window.last_error


def test_dropping_an_image_lists_its_own_folder_only(window, tmp_path, qtbot):
    top = busy_folder(tmp_path)
    drop(window, top / "img1.png")
    assert window.document.project.root == top and window.document.key == "img1"
    assert listed(window) == ["img0.png", "img1.png"]  # not old-project/ nor export/
    assert window.canvas.image_size() == (40, 30)
    # saved, the project remembers to stay out of the subfolders
    editor = window.document.editor
    editor.push(paint_segment(editor.doc, (5, 5), (9, 5), 2, class_id=3), "brush")
    assert window.save()
    from segstudio.formats.project import Project
    assert [e.relpath for e in Project.open(top).images] == ["img0.png", "img1.png"]


def test_dropping_an_image_of_a_project_subfolder_opens_the_project(window, tmp_path, qtbot):
    from segstudio.formats.project import Project
    root = tmp_path / "proj"
    make_images(root / "street", n=2)
    make_images(root / "park", n=1)
    Project.create(root)
    image = root / "street" / "img1.png"
    drop(window, image)
    assert window.document.project.root == root and window.document.key == "street/img1"
    assert listed(window) == ["park/img0.png", "street/img0.png", "street/img1.png"]
    assert window.canvas.image_size() == tuple(cv2.imread(str(image)).shape[1::-1])
