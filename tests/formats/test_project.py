import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core import edits
from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.errors import ProjectError
from segstudio.formats.project import PROJECT_FILE, Project
from tests import child



def make_folder(root: Path, names=("a.jpg", "b.png", "sub/c.png"), size=(24, 32)):
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((size[0], size[1], 3), 90, np.uint8)).save(p)
    return root


def sample_annotation(h=24, w=32, value=3) -> Annotation:
    ann = Annotation.blank(h, w)
    edits.paint_segment(ann, (4, 4), (20, 10), 3, class_id=value)
    edits.paint_segment(ann, (25, 20), (25, 20), 2, class_id=255)
    edits.create_instance(ann, 15, np.ones((5, 6), bool), (15, 2))
    ann.instances[1] = Instance(15, 0.75, "model")
    return ann


def other_annotation() -> Annotation:
    """Differs from ``sample_annotation()`` in every saved file: class, instance, user mask, table."""
    ann = sample_annotation(value=9)
    edits.paint_segment(ann, (28, 2), (28, 2), 1, class_id=9)
    edits.create_instance(ann, 4, np.ones((2, 2), bool), (0, 28))
    ann.instances[1] = Instance(15, 0.25, "model")
    return ann


def test_open_folder_lists_images_and_statuses(tmp_path):
    make_folder(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    make_folder(tmp_path / ".hidden", ["x.png"])
    p = Project.open(tmp_path)
    assert [e.key for e in p.images] == ["a", "b", "sub/c"]
    assert p.statuses() == {"a": "unlabelled", "b": "unlabelled", "sub/c": "unlabelled"}
    assert not (tmp_path / PROJECT_FILE).exists()  # nothing written by opening
    assert p.new_annotation("sub/c").shape == (24, 32)
    assert p.key_for_path(tmp_path / "sub" / "c.png") == "sub/c"


def test_same_stem_different_extension_get_distinct_keys(tmp_path):
    make_folder(tmp_path, ["x.jpg", "x.png", "y.png"])
    assert [e.key for e in Project.open(tmp_path).images] == ["x.jpg", "x.png", "y"]


def test_save_load_round_trip_is_lossless(tmp_path):
    make_folder(tmp_path)
    p = Project.open(tmp_path)
    ann = sample_annotation()
    ann.model = "fcn_resnet50@default"
    p.save_annotation("sub/c", ann)
    q = Project.open(tmp_path)
    back = q.load_annotation("sub/c")
    assert back.equals(ann) and back.status == "edited" and back.model == "fcn_resnet50@default"
    assert back.instances[1] == Instance(15, 0.75, "model")
    assert q.status("sub/c") == "edited" and q.load_annotation("a") is None
    files = q.annotation_files("sub/c")
    assert Image.open(files["class"]).mode == "P"
    assert json.loads(files["meta"].read_text())["image"] == "sub/c.png"
    assert q.labelled_keys() == ["sub/c"]


def test_project_json_keeps_labels_and_settings(tmp_path):
    make_folder(tmp_path)
    labels = LabelSet.from_text("background\nroad #804080\ncar\n")
    p = Project.create(tmp_path, labels, {"model": "lraspp_mobilenet_v3_large"})
    p.settings["crf"] = True
    p.save()
    q = Project.open(tmp_path / PROJECT_FILE)
    assert q.labels == labels and q.settings == {"model": "lraspp_mobilenet_v3_large", "crf": True}
    with pytest.raises(ProjectError, match="already holds"):
        Project.create(tmp_path)


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a segstudio project"),
    ('{"format": "segstudio-project", "version": 99, "labels": []}', "newer segstudio"),
    ('{"format": "segstudio-project", "version": 1, "labels": [{"id": 3, "name": "x"}]}', "label set"),
])
def test_bad_project_files_are_reported(tmp_path, content, fragment):
    make_folder(tmp_path)
    (tmp_path / PROJECT_FILE).write_text(content)
    with pytest.raises(ProjectError, match=fragment) as e:
        Project.open(tmp_path)
    assert PROJECT_FILE in str(e.value)


def test_damaged_annotation_files_are_reported_not_crashing(tmp_path):
    make_folder(tmp_path)
    p = Project.open(tmp_path)
    p.save_annotation("a", sample_annotation())
    files = p.annotation_files("a")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(files["class"])  # wrong size
    with pytest.raises(ProjectError, match="5×5"):
        p.load_annotation("a")
    files["meta"].write_text("{")
    with pytest.raises(ProjectError, match="unreadable"):
        p.load_annotation("a")
    with pytest.raises(ProjectError, match="no image"):
        p.load_annotation("nope")


def test_inconsistent_annotation_is_not_saved(tmp_path):
    make_folder(tmp_path)
    p = Project.open(tmp_path)
    ann = Annotation.blank(24, 32)
    ann.instance_map[0, 0] = 4  # not in the table
    with pytest.raises(ProjectError, match="inconsistent"):
        p.save_annotation("a", ann)
    assert not p.has_annotation("a")


def test_failed_save_keeps_previous_files(tmp_path, monkeypatch):
    make_folder(tmp_path)
    p = Project.open(tmp_path)
    first = sample_annotation(value=3)
    p.save_annotation("a", first)
    from segstudio.formats import atomic

    real = atomic._write_temp
    calls = {"n": 0}

    def failing(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(atomic, "_write_temp", failing)
    with pytest.raises(ProjectError, match="No space left"):
        p.save_annotation("a", sample_annotation(value=9))
    monkeypatch.undo()
    assert Project.open(tmp_path).load_annotation("a").equals(first)
    leftovers = [f for f in (tmp_path / "annotations").rglob("*") if f.name.startswith(".")]
    assert leftovers == []


CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {repo!r})
    import numpy as np
    from segstudio.formats import atomic
    from segstudio.formats.project import Project
    from segstudio.core.annotation import Annotation, Instance
    root, mode = sys.argv[1], sys.argv[2]
    p = Project.open(root)
    def version(v):
        a = Annotation.blank(24, 32)
        a.class_map[:] = v
        a.instance_map[v:v + 4, v:v + 4] = v
        a.class_map[v:v + 4, v:v + 4] = 7
        a.instances[v] = Instance(7, None, "user")
        a.status = "edited"
        return a
    if mode == "loop":
        print("READY", flush=True)
        v = 1
        while True:
            p.save_annotation("a", version(v))
            v = 1 + v % 9
    pause_at = {{"before-commit": ("write", 3), "during-renames": ("replace", 3)}}[mode]
    counts = {{"write": 0, "replace": 0}}
    real_write, real_replace = atomic._write_temp, os.replace
    def pause(kind):
        counts[kind] += 1
        if counts[kind] == pause_at[1] and kind == pause_at[0]:
            print("PAUSED", flush=True)
            time.sleep(60)
    def write(path, data):
        pause("write")
        return real_write(path, data)
    def replace(a, b):
        if ".segstudio-journal-" not in str(b):
            pause("replace")
        return real_replace(a, b)
    atomic._write_temp = write
    os.replace = replace
    p.save_annotation("a", version(2))
""")


def _spawn(root, mode):
    return subprocess.Popen([sys.executable, "-c", CHILD.format(repo=str(child.PKG_ROOT)), str(root), mode],
                            stdout=subprocess.PIPE, text=True)


def _old(root):
    from segstudio.core.annotation import Annotation as A
    a = A.blank(24, 32)
    a.class_map[:] = 1
    a.instance_map[1:5, 1:5] = 1
    a.class_map[1:5, 1:5] = 7
    a.instances[1] = Instance(7, None, "user")
    a.status = "edited"
    Project.open(root).save_annotation("a", a)
    return a


@pytest.mark.parametrize("mode, expect", [("before-commit", "old"), ("during-renames", "new")])
def test_process_killed_mid_save_leaves_a_consistent_annotation(tmp_path, mode, expect):
    make_folder(tmp_path, ["a.png"])
    old = _old(tmp_path)
    child = _spawn(tmp_path, mode)
    assert child.stdout.readline().strip() == "PAUSED"
    child.send_signal(signal.SIGKILL)
    child.wait()
    files = list((tmp_path / "annotations").rglob("*"))
    assert any(".segstudio-tmp" in f.name for f in files)  # the save really was cut off mid-way
    back = Project.open(tmp_path).load_annotation("a")
    assert back.invariant_errors() == []
    if expect == "old":
        assert back.equals(old)
    else:
        assert back.class_map[0, 0] == 2 and back.instance_map[2, 2] == 2 and list(back.instances) == [2]
    assert not [f for f in (tmp_path / "annotations").rglob("*") if f.name.startswith(".")]


def test_random_kills_during_repeated_saves_never_corrupt(tmp_path):
    make_folder(tmp_path, ["a.png"])
    _old(tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(4):
        child = _spawn(tmp_path, "loop")
        assert child.stdout.readline().strip() == "READY"
        time.sleep(float(rng.uniform(0.05, 0.4)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        back = Project.open(tmp_path).load_annotation("a")
        v = int(back.class_map[0, 0])
        assert 1 <= v <= 9 and list(back.instances) == [v] and back.instance_map[v, v] == v
        assert back.invariant_errors() == []


def test_a_stem_equal_to_another_image_name_does_not_share_its_key(tmp_path):
    make_folder(tmp_path, ["a.jpg", "a.png", "a.png.jpg"])
    p = Project.open(tmp_path)
    keys = [e.key for e in p.images]
    assert len(set(keys)) == 3
    for e in p.images:
        assert p.image_path(e.key).name == e.relpath


def fail_rename(monkeypatch, nth: int, error: OSError) -> None:
    """Make the nth rename of an annotation file (after the journal is written) raise ``error``."""
    from segstudio.formats import atomic

    real = os.replace
    calls = {"n": 0}

    def flaky(a, b):
        if atomic.JOURNAL_PREFIX not in str(b):
            calls["n"] += 1
            if calls["n"] == nth:
                raise error
        return real(a, b)

    monkeypatch.setattr(atomic.os, "replace", flaky)


def test_a_rename_failing_after_the_commit_point_is_finished_not_mixed(tmp_path, monkeypatch):
    make_folder(tmp_path, ["a.png"])
    p = Project.open(tmp_path)
    p.save_annotation("a", sample_annotation(value=3))
    fail_rename(monkeypatch, 3, OSError(28, "No space left on device"))
    new = other_annotation()
    with pytest.raises(ProjectError, match="No space left"):
        p.save_annotation("a", new)
    monkeypatch.undo()
    # the journal was written, so the save completes on the next open: all new, never a mix
    assert Project.open(tmp_path).load_annotation("a").equals(new)


def test_an_unfinished_commit_is_finished_before_the_next_save_not_after(tmp_path, monkeypatch):
    make_folder(tmp_path, ["a.png"])
    p = Project.open(tmp_path)
    fail_rename(monkeypatch, 2, OSError(5, "I/O error"))
    with pytest.raises(ProjectError):
        p.save_annotation("a", sample_annotation(value=3))
    monkeypatch.undo()
    latest = other_annotation()
    p.save_annotation("a", latest)  # same session, no reopen in between
    assert Project.open(tmp_path).load_annotation("a").equals(latest)


def test_file_names_that_are_not_utf8_save_and_load(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.png"
    with open(raw, "wb") as f:
        Image.fromarray(np.full((24, 32, 3), 90, np.uint8)).save(f, format="PNG")
    p = Project.open(tmp_path)
    (entry,) = p.images
    ann = sample_annotation()
    p.save_annotation(entry.key, ann)
    assert Project.open(tmp_path).load_annotation(entry.key).equals(ann)


def test_prediction_memory_is_kept_beside_the_annotation(tmp_path):
    from segstudio.core.prediction_memory import PredictionMemory

    project = Project.open(make_folder(tmp_path / "p"))
    assert project.load_prediction_memory("a") is None
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=(12, 16)).transpose(2, 0, 1).astype(np.float32)
    memory = PredictionMemory.from_probabilities(probs, np.array([0, 1, 2, 255]), (24, 32), model="m@1")
    project.save_prediction_memory("a", memory)
    path = project.memory_path("a")
    assert path == tmp_path / "p" / "annotations" / "prediction" / "a.npz"
    back = project.load_prediction_memory("a")
    np.testing.assert_array_equal(back.classes, memory.classes)
    np.testing.assert_array_equal(back.probs, memory.probs)
    assert back.size == (24, 32) and back.model == "m@1"
    assert path.stat().st_size < memory.nbytes + 2048  # compressed npz
    path.write_bytes(b"not an npz")
    with pytest.raises(ProjectError, match="a.npz.*predict the image again"):
        project.load_prediction_memory("a")
