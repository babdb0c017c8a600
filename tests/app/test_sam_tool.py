"""The Segment Anything tool without Qt: prompts, preview, Enter (one undo step), Esc, stale masks."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.app.editor import Editor
from segstudio.app.tools import TOOL_CLASSES, ToolState
from segstudio.core.annotation import Annotation
from segstudio.ml import sam
from tests.ml.sam_tiny import sample_image, tiny_loaded


class SyncBackend:
    """Decodes at once with a real session (the app's controller does it in a worker)."""

    def __init__(self, session, hold=False):
        self.session, self.hold, self.held, self.reports = session, hold, [], []

    def request(self, tool):
        job = (self.session.predict(tool.positive, tool.negative, tool.box), tool.prompt_id)
        if self.hold:
            self.held.append((tool, job))
        else:
            tool.set_result(*job)

    def forget(self, tool):
        self.held.clear()

    def report(self, text):
        self.reports.append(text)


@pytest.fixture(scope="module")
def session():
    loaded = tiny_loaded(seed=1)
    return sam.SamSession(loaded, sam.embed(loaded, sample_image()))


def make(session, hold=False):
    editor = Editor(Annotation.blank(48, 70))
    state = ToolState(class_id=2)
    tool = TOOL_CLASSES["sam"](editor, state)
    tool.backend = SyncBackend(session, hold)
    return editor, state, tool


def click(tool, p):
    tool.press(p)
    tool.release(p)


def test_click_previews_and_enter_accepts_one_step(session):
    editor, state, tool = make(session)
    click(tool, (20.2, 19.8))
    assert tool.positive == [(20.0, 20.0)] and tool.preview_marks() == [("positive", (20.0, 20.0))]
    want = session.predict([(20, 20)])
    mask, offset = tool.preview_mask()
    assert offset == want.offset and np.array_equal(mask, want.mask)
    assert editor.doc.status == "unlabelled" and len(editor.history) == 0  # a preview changes nothing
    assert tool.key_enter()
    assert np.array_equal(editor.doc.class_map == 2, want.full((48, 70)))
    assert len(editor.history) == 1 and tool.preview_mask() is None and not tool.has_prompt
    editor.undo()
    assert (editor.doc.class_map == 0).all()


def test_negative_click_box_drag_and_escape(session):
    editor, state, tool = make(session)
    click(tool, (20, 20))
    tool.secondary_press((60, 40))
    tool.press((10, 8))
    tool.move((11, 8.5))  # within the click slop: still a click...
    tool.move((30, 20))
    assert tool.preview()[-1] == (30, 20)  # ...then a box being dragged, outlined to the pointer
    tool.move((40, 36))
    tool.release((40, 36))
    assert tool.box == (10, 8, 40, 36) and tool.positive == [(20, 20)] and tool.negative == [(60, 40)]
    want = session.predict([(20, 20)], [(60, 40)], (10, 8, 40, 36))
    assert np.array_equal(tool.preview_mask()[0], want.mask)
    assert {k for k, _ in tool.preview_marks()} == {"box", "positive", "negative"}
    assert tool.key_escape() and not tool.has_prompt and tool.preview_mask() is None
    assert not tool.key_escape()  # nothing left to drop
    assert len(editor.history) == 0


def test_new_instance_mode_selects_the_new_instance(session):
    editor, state, tool = make(session)
    tool.new_instance = True
    click(tool, (20, 20))
    assert tool.key_enter()
    (k,) = editor.doc.instances
    assert state.selected_instance == k and editor.doc.instances[k].class_id == 2


def test_preview_shows_only_what_enter_writes(session):
    editor, state, tool = make(session)
    from segstudio.core.edits import paint_segment
    editor.push(paint_segment(editor.doc, (20, 20), (20, 20), 3, class_id=5), "brush")
    hand = editor.doc.user_mask.copy()
    click(tool, (20, 20))
    mask, (y, x) = tool.preview_mask()
    full = np.zeros((48, 70), bool)
    full[y:y + mask.shape[0], x:x + mask.shape[1]] = mask
    assert not (full & hand).any()
    tool.set_keep_user(False)
    assert tool.preview_mask()[0].sum() > mask.sum()
    tool.set_keep_user(True)
    tool.key_enter()
    assert (editor.doc.class_map[hand] == 5).all() and np.array_equal(editor.doc.class_map == 2, full)


def test_stale_results_are_ignored_and_enter_waits_for_the_mask(session):
    editor, state, tool = make(session, hold=True)
    click(tool, (20, 20))
    click(tool, (60, 40))  # a second click before the first mask came back
    (t1, first), (t2, second) = tool.backend.held
    assert not tool.set_result(*first)  # stale: for the one-click prompt
    assert tool.preview_mask() is None and tool.pending
    assert tool.key_enter() and len(editor.history) == 0  # waits...
    assert tool.set_result(*second)  # ...and accepts when the mask arrives
    assert len(editor.history) == 1
    assert np.array_equal(editor.doc.class_map == 2, second[0].full((48, 70)))


def test_click_outside_the_image_is_ignored_and_empty_mask_is_reported(session):
    editor, state, tool = make(session)
    click(tool, (-5, 10))
    tool.secondary_press((100, 10))
    assert not tool.has_prompt
    tool.positive = [(1, 1)]
    tool.prompt_id += 1
    tool.set_result(None, tool.prompt_id)
    assert not tool.key_enter() and "no object" in tool.backend.reports[-1]


def test_preview_image_tints_the_inside_outlines_the_edge_and_stays_screen_sized(qtbot):
    from segstudio.app.canvas.tool_preview import EDGE, FILL, MAX_SIDE, mask_image
    mask = np.zeros((30, 40), bool)
    mask[5:25, 10:30] = True
    img, f = mask_image(mask)
    assert f == 1.0 and (img.width(), img.height()) == (40, 30)
    assert img.pixelColor(20, 15).alpha() == FILL[3]  # inside
    assert img.pixelColor(10, 15).alpha() == EDGE[3]  # edge
    assert img.pixelColor(2, 2).alpha() == 0  # outside
    big, f = mask_image(np.ones((3 * MAX_SIDE, MAX_SIDE), bool))
    assert f == 3.0 and big.height() == MAX_SIDE and big.width() == round(MAX_SIDE / 3)
