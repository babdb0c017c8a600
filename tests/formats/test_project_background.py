"""The project file keeps whether class 0 is background; new annotations start as "nothing here"."""

from __future__ import annotations

import json

import cv2
import numpy as np

from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.formats.project import PROJECT_FILE, Project


def _folder(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    cv2.imwrite(str(root / "a.png"), np.zeros((12, 16, 3), np.uint8))
    return root


def test_the_background_flag_is_kept_in_the_project_file(tmp_path):
    root = _folder(tmp_path)
    Project.create(root, LabelSet(["Sky", "Road"]))
    data = json.loads((root / PROJECT_FILE).read_text())
    assert data["background_class"] is False
    p = Project.open(root)
    assert not p.labels.has_background
    blank = p.new_annotation("a")
    assert (blank.class_map == VOID_ID).all()  # not Sky
    # the file decides, also against the first class's name
    data["background_class"] = True
    (root / PROJECT_FILE).write_text(json.dumps(data))
    p = Project.open(root)
    assert p.labels.has_background and (p.new_annotation("a").class_map == 0).all()
    # files written before the flag existed: decided by class 0's name
    del data["background_class"]
    (root / PROJECT_FILE).write_text(json.dumps(data))
    assert not Project.open(root).labels.has_background


def test_a_voc_project_starts_with_background(tmp_path):
    root = _folder(tmp_path)
    p = Project.create(root)
    assert json.loads((root / PROJECT_FILE).read_text())["background_class"] is True
    assert (p.new_annotation("a").class_map == 0).all()
