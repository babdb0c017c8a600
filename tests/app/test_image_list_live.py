"""The image list and the status bar keep up with the open image: its status at once, the reason
it was opened after it opens, and uncertainties fine enough to tell apart."""

from __future__ import annotations

from segstudio.core.edits import paint_segment, set_status


def _item(window, key):
    items = [window.images.list.item(r) for r in range(window.images.list.count())]
    return next(i for i in items if i.text().startswith(f"{key}.png"))


def test_list_entry_follows_the_open_documents_status_before_any_save(window):
    editor = window.document.editor
    assert "unlabelled" in _item(window, "img0").toolTip()
    editor.push(set_status(editor.doc, "predicted"), "predict")   # the status a prediction records
    assert window.document.is_dirty and "predicted" in _item(window, "img0").toolTip()
    editor.push(paint_segment(editor.doc, (5, 5), (9, 5), 2, class_id=1), "brush")
    assert "edited" in _item(window, "img0").toolTip()
    window.undo()
    assert "predicted" in _item(window, "img0").toolTip()
    window.undo()
    assert "unlabelled" in _item(window, "img0").toolTip()


def test_most_uncertain_message_survives_opening_the_image(window, qtbot):
    for key, u in (("img1", 0.2341), ("img2", 0.2289)):
        window.images.set_status(key, "predicted")
        window.images.set_uncertainty(key, u)
    window.next_uncertain()
    qtbot.waitUntil(lambda: window.document.key == "img1" and window.canvas.isEnabled(), timeout=10_000)
    assert window.status.currentMessage() == "most uncertain: img1 (uncertainty 0.234)"
    window.step_image(1)                                            # another image: no stale reason
    qtbot.waitUntil(lambda: window.document.key == "img2" and window.canvas.isEnabled(), timeout=10_000)
    assert "most uncertain" not in window.status.currentMessage()


def test_uncertainties_are_listed_to_three_decimals(window):
    window.images.set_order("uncertainty")
    window.images.set_uncertainty("img1", 0.2341)   # 0.23 and 0.23 at two decimals
    window.images.set_uncertainty("img2", 0.2289)
    assert _item(window, "img1").text() == "img1.png   0.234"
    assert _item(window, "img2").text() == "img2.png   0.229"
    assert "uncertainty 0.234" in _item(window, "img1").toolTip()
