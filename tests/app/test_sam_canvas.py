"""Segment Anything in the window (pytest-qt): download, background embedding, clicks on the canvas.

The tiny random model stands in for ViT-B: it is served from 127.0.0.1 under
an official-style file name, so the app's real download, hash check, load,
embedding worker and decode worker all run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import sys

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from segstudio.app.help_dialog import shortcut_rows
from segstudio.ml import sam as sam_model
from tests.app.conftest import set_view
from tests.local_server import serving
from tests.ml.sam_tiny import TINY

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
SCALE = 4.0


def widget_pos(x, y):
    """The widget point over image pixel (x, y) at SCALE with no offset."""
    return QPoint(int((x + 0.5) * SCALE), int((y + 0.5) * SCALE))


@pytest.fixture
def tiny_vit_b(tmp_path, monkeypatch):
    folder = tmp_path / "www"
    folder.mkdir()
    torch.manual_seed(1)
    raw = folder / "raw.pth"
    torch.save(sam_model.build(TINY).state_dict(), raw)
    data = raw.read_bytes()
    name = f"sam_vit_b_{hashlib.md5(data).hexdigest()[:6]}.pth"
    raw.rename(folder / name)
    with serving(folder) as base:
        monkeypatch.setitem(sam_model.VARIANTS, "vit_b", dataclasses.replace(
            TINY, name="vit_b", url=f"{base}/{name}", sha256=hashlib.sha256(data).hexdigest()))
        monkeypatch.setattr(sam_model, "_loaded", {})
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
        yield tmp_path / "torch-home" / "hub" / "checkpoints" / name


def pixel(canvas, x, y):
    return canvas.grab().toImage().pixelColor(widget_pos(x, y)).getRgb()


def test_click_preview_enter_and_undo_through_the_canvas(window, qtbot, tiny_vit_b):
    canvas, ctl = window.canvas, window.sam
    set_view(canvas, SCALE, 0, 0)
    window.select_class(2)
    with qtbot.waitSignal(ctl.ready, timeout=60_000) as ready:
        qtbot.keyClick(canvas, Qt.Key.Key_S)
    assert window.tool_name == "sam" and ready.args == ["img0"]
    assert tiny_vit_b.is_file()  # downloaded into the torch hub cache, hash-checked
    root = str(window.document.project.root)
    # the next image's embedding is prefetched in the background
    qtbot.waitUntil(lambda: (root, "img1", "vit_b@default") in ctl.cache, timeout=60_000)
    emb = ctl.cache.get((root, "img0", "vit_b@default"))
    assert torch.equal(emb.features, sam_model.embed(ctl.loaded, window.document.image).features)
    want = sam_model.SamSession(ctl.loaded, emb).predict([(20, 20)])
    assert want is not None and 0 < want.mask.sum() < 64 * 48
    y, x = [int(v) for v in np.argwhere(want.full((48, 64)))[0]]
    before = pixel(canvas, x, y)
    with qtbot.waitSignal(ctl.decoded, timeout=10_000):
        qtbot.mouseClick(canvas, LEFT, pos=widget_pos(20, 20))
    tool = window.tools["sam"]
    mask, offset = tool.preview_mask()
    assert offset == want.offset and np.array_equal(mask, want.mask)
    qtbot.waitUntil(lambda: pixel(canvas, x, y) != before, timeout=3000)  # the mask is drawn tinted
    assert window.document.doc.status == "unlabelled"  # a preview is not an edit
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    doc = window.document.doc
    assert np.array_equal(doc.class_map == 2, want.full(doc.shape))
    assert len(window.document.editor.history) == 1 and tool.preview_mask() is None
    window.undo()
    assert (doc.class_map == 0).all()
    # a right click is a background point; Esc drops everything
    with qtbot.waitSignal(ctl.decoded, timeout=10_000):
        qtbot.mouseClick(canvas, LEFT, pos=widget_pos(20, 20))
    qtbot.mouseClick(canvas, RIGHT, pos=widget_pos(50, 30))
    assert tool.negative == [(50.0, 30.0)]
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert not tool.has_prompt and tool.preview_mask() is None
    qtbot.waitUntil(lambda: pixel(canvas, x, y) == before, timeout=3000)
    assert (doc.class_map == 0).all() and len(window.document.editor.history) == 0


def test_a_drag_is_a_box_and_new_instance_mode(window, qtbot, tiny_vit_b):
    canvas, ctl = window.canvas, window.sam
    set_view(canvas, SCALE, 0, 0)
    window.select_class(3)
    window.actions_by_name["sam_instance"].trigger()
    window.set_tool("sam")
    # dragged before the embedding is ready: the mask follows once it is
    with qtbot.waitSignal(ctl.decoded, timeout=60_000):
        qtbot.mousePress(canvas, LEFT, pos=widget_pos(5, 5))
        qtbot.mouseMove(canvas, widget_pos(20, 15))
        qtbot.mouseMove(canvas, widget_pos(40, 30))
        qtbot.mouseRelease(canvas, LEFT, pos=widget_pos(40, 30))
    tool = window.tools["sam"]
    assert tool.box == (5.0, 5.0, 40.0, 30.0) and tool.positive == []
    emb = ctl.cache.get((str(window.document.project.root), "img0", "vit_b@default"))
    want = sam_model.SamSession(ctl.loaded, emb).predict(box=(5, 5, 40, 30))
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    doc = window.document.doc
    assert want is not None
    (k,) = doc.instances
    assert doc.instances[k].class_id == 3 and window.state.selected_instance == k
    assert np.array_equal(doc.instance_map == k, want.full(doc.shape))


def test_the_next_image_opens_with_its_embedding_ready(window, qtbot, tiny_vit_b):
    ctl = window.sam
    with qtbot.waitSignal(ctl.ready, timeout=60_000):
        window.set_tool("sam")
    root = str(window.document.project.root)
    qtbot.waitUntil(lambda: (root, "img1", "vit_b@default") in ctl.cache, timeout=60_000)
    with qtbot.waitSignal(ctl.ready, timeout=10_000, check_params_cb=lambda key: key == "img1"):
        window.step_image(1)
    # and img2, the next one from there, is prefetched in turn
    qtbot.waitUntil(lambda: (root, "img2", "vit_b@default") in ctl.cache, timeout=60_000)


def test_results_for_another_image_or_older_clicks_are_dropped(window, qtbot, tiny_vit_b):
    from segstudio.app.sam_controller import DECODE, EMBED
    from segstudio.app.workers import JobResult
    ctl, canvas = window.sam, window.canvas
    set_view(canvas, SCALE, 0, 0)
    with qtbot.waitSignal(ctl.ready, timeout=60_000):
        window.set_tool("sam")
    with qtbot.waitSignal(ctl.decoded, timeout=10_000):
        qtbot.mouseClick(canvas, LEFT, pos=widget_pos(20, 20))
    tool = window.tools["sam"]
    old_decode = JobResult(DECODE, "img0", ctl.decoder._current[DECODE], (tool.result, tool.prompt_id, 1.0))
    old_embed = JobResult(EMBED, "img0", ctl.embedder._current[EMBED], (ctl.loaded, 1.0))
    with qtbot.waitSignal(window.document.image_opened, timeout=10_000):
        window.step_image(1)
    assert window.document.key == "img1"
    new_tool = window.tools["sam"]
    ready = []
    ctl.ready.connect(ready.append)
    dropped = ctl.dropped
    ctl._on_decoded(old_decode)  # a mask of img0 arriving late
    ctl._on_embedded(old_embed)  # and img0's embedding job reporting late
    assert ctl.dropped == dropped + 2 and new_tool.result is None and ready == []


def test_without_the_extra_the_tool_says_how_to_install(window, qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "segment_anything", None)  # as if not installed
    canvas = window.canvas
    set_view(canvas, SCALE, 0, 0)
    qtbot.keyClick(canvas, Qt.Key.Key_S)
    assert window.tool_name == "sam"
    assert 'pip install "segstudio[sam]"' in window.last_error
    qtbot.mouseClick(canvas, LEFT, pos=widget_pos(20, 20))
    assert 'pip install "segstudio[sam]"' in window.status.currentMessage()
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert window.document.doc.status == "unlabelled" and not window.sam.embedder.running()
    window.set_tool("fill")  # the app goes on
    qtbot.mouseClick(canvas, LEFT, pos=widget_pos(5, 5))
    assert (window.document.doc.class_map != 0).all()


def test_offline_weights_say_which_file_to_place_by_hand(window, qtbot, tmp_path, monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = f"http://127.0.0.1:{port}/sam_vit_b_01ec64.pth"
    monkeypatch.setitem(sam_model.VARIANTS, "vit_b", dataclasses.replace(sam_model.VARIANTS["vit_b"], url=url))
    monkeypatch.setattr(sam_model, "_loaded", {})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    with qtbot.waitSignal(window.sam.error, timeout=60_000) as err:
        window.set_tool("sam")
    message = err.args[0]
    assert url in message and str(tmp_path / "th" / "hub" / "checkpoints" / "sam_vit_b_01ec64.pth") in message
    assert not window.sam.armed  # other images do not retry and repeat the error
    window.step_image(1)
    qtbot.waitUntil(lambda: window.document.key == "img1", timeout=10_000)
    assert not window.sam.embedder.running()


def test_help_lists_the_tool_and_its_model_choice(window):
    rows = shortcut_rows()
    assert ("Tools", "Segment Anything", "S") in rows
    assert any("Segment Anything" in what for menu, what, keys in rows if menu == "Canvas")
    assert window.actions_by_name["sam_vit_b"].isChecked()
    window.actions_by_name["sam_vit_l"].trigger()
    assert window.settings.get("sam_variant") == "vit_l" and window.sam.ident == "vit_l@default"
