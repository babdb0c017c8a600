import json
import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core.labels import voc_palette
from segstudio.errors import FormatError
from segstudio.formats import atomic
from segstudio.formats.masks import (encode_instance_png, read_instance_png, read_label_png, read_mask_png,
                                     encode_mask_png, write_label_png)


def test_label_png_is_a_voc_palette_png(tmp_path):
    cm = np.array([[0, 1, 15], [255, 20, 3]], np.uint8)
    write_label_png(tmp_path / "m.png", cm)
    im = Image.open(tmp_path / "m.png")
    assert im.mode == "P"
    assert np.array_equal(np.array(im), cm)
    pal = np.array(im.getpalette()[:768], np.uint8).reshape(256, 3)
    assert np.array_equal(pal, voc_palette())
    assert np.array_equal(read_label_png(tmp_path / "m.png"), cm)


def test_label_png_readers(tmp_path):
    Image.fromarray(np.array([[0, 7]], np.uint8), "L").save(tmp_path / "g.png")
    assert read_label_png(tmp_path / "g.png").tolist() == [[0, 7]]
    rgb = voc_palette()[np.array([[0, 3], [255, 1]])]
    Image.fromarray(rgb).save(tmp_path / "c.png")
    with pytest.raises(FormatError, match="colour"):
        read_label_png(tmp_path / "c.png")
    assert read_label_png(tmp_path / "c.png", palette=voc_palette()).tolist() == [[0, 3], [255, 1]]
    Image.fromarray(np.array([[0, 300]], np.uint16)).save(tmp_path / "w.png")
    with pytest.raises(FormatError, match="above 255"):
        read_label_png(tmp_path / "w.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(FormatError, match="bad.png"):
        read_label_png(tmp_path / "bad.png")


def test_instance_and_mask_pngs(tmp_path):
    inst = np.array([[0, 1, 65535], [300, 2, 0]], np.int32)
    (tmp_path / "i.png").write_bytes(encode_instance_png(inst))
    assert np.array_equal(read_instance_png(tmp_path / "i.png"), inst)
    with pytest.raises(FormatError, match="65535"):
        encode_instance_png(np.array([[70000]]))
    m = np.array([[True, False, True]])
    (tmp_path / "u.png").write_bytes(encode_mask_png(m))
    assert np.array_equal(read_mask_png(tmp_path / "u.png"), m)


def test_atomic_write_leaves_no_temp_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    atomic.atomic_write_json(target, {"v": 1})
    assert json.loads(target.read_text()) == {"v": 1}

    def boom(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["a.json"]


def test_transaction_recovery_rolls_forward_committed_and_drops_uncommitted(tmp_path):
    (tmp_path / "a").write_text("old a")
    (tmp_path / "b").write_text("old b")
    # committed but interrupted: journal written, renames not done
    tx = atomic.Transaction(tmp_path)
    tx.write(tmp_path / "a", b"new a")
    tx.write(tmp_path / "b", b"new b")
    entries = [[os.path.relpath(t, tmp_path), os.path.relpath(d, tmp_path)] for t, d in tx._pending]
    atomic.atomic_write_bytes(tmp_path / f"{atomic.JOURNAL_PREFIX}x.json", atomic.json_bytes({"renames": entries}))
    assert atomic.recover(tmp_path) == 1
    assert (tmp_path / "a").read_text() == "new a" and (tmp_path / "b").read_text() == "new b"
    # uncommitted: temporaries only
    tx = atomic.Transaction(tmp_path)
    tx.write(tmp_path / "a", b"newer a")
    assert atomic.recover(tmp_path) == 0
    assert (tmp_path / "a").read_text() == "new a"
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
