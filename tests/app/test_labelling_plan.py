"""The image list's "next to label" order: batches of one image per scene among the most uncertain,
made from the predictions the document keeps, steady while the user corrects them."""

from __future__ import annotations

import numpy as np

from segstudio.core import batch_pick
from segstudio.core.prediction_memory import PredictionMemory
from tests.app.conftest import make_images


def scene_memory(u_top: float, scene: int, size=(48, 64)) -> PredictionMemory:
    """Class ``scene`` on the left half and class 2 on the right, the top class at ``u_top``."""
    h, w = size
    probs = np.full((3, h, w), (1 - u_top) / 2, np.float32)
    probs[scene, :, : w // 2] = u_top
    probs[2, :, w // 2:] = u_top
    probs[scene, :, w // 2:] = (1 - u_top) / 2
    return PredictionMemory.from_probabilities(probs, np.arange(3), size, "m@v")


def predicted_project(folder, scenes):
    """A project whose images were predicted (status "predicted", memory and ranking saved)."""
    from segstudio.core.edits import apply_prediction
    from segstudio.formats.project import Project

    project = Project.open(folder)
    for i, (u, scene) in enumerate(scenes):
        key = f"img{i}"
        memory = scene_memory(u, scene)
        ann = project.new_annotation(key)
        apply_prediction(ann, memory.classes[0], model="m@v")
        project.save_annotation(key, ann)
        project.save_prediction_memory(key, memory)
    return project


def test_next_to_label_takes_one_image_per_scene_and_holds_while_correcting(make_window, tmp_path, qtbot,
                                                                            monkeypatch):
    from segstudio.core.edits import paint_segment

    monkeypatch.setattr(batch_pick, "BATCH", 2)
    folder = make_images(tmp_path / "images", n=6)
    # img0..img3 show one scene and are the least sure; img4, img5 another
    predicted_project(folder, ((0.40, 0), (0.41, 0), (0.42, 0), (0.43, 0), (0.45, 1), (0.46, 1)))
    window = make_window(folder)
    images, document = window.images, window.document
    qtbot.waitUntil(lambda: document.key == "img0" and window.canvas.isEnabled(), timeout=10_000)
    assert images.keys() == [f"img{i}" for i in range(6)]
    images.set_order("uncertainty")
    assert images.keys() == [f"img{i}" for i in range(6)]          # the plain ranking: one scene first
    images.set_order("plan")
    assert images.keys() == ["img0", "img4", "img1", "img5", "img2", "img3"]
    assert images.most_uncertain() == "img0"
    # correcting img0 does not reshuffle the plan; the key goes on to the next of the batch
    document.editor.push(paint_segment(document.editor.doc, (5, 5), (9, 5), 2, class_id=1), "brush")
    assert "edited" in images.list.item(0).toolTip()
    assert images.keys()[:2] == ["img0", "img4"]
    window.next_uncertain()
    qtbot.waitUntil(lambda: document.key == "img4" and window.canvas.isEnabled(), timeout=10_000)
    assert window.status.currentMessage().startswith("next to label: img4 (uncertainty")
    # a new prediction makes the plan again from the images still waiting; corrected ones go last
    document.set_memory("img5", scene_memory(0.47, 1))
    qtbot.waitUntil(lambda: images.keys()[-1] == "img0", timeout=5000)
    assert images.keys() == ["img1", "img4", "img2", "img5", "img3", "img0"]


def test_the_plan_is_read_back_from_the_project(make_window, tmp_path, monkeypatch):
    """The ranking file keeps each prediction's scene layout: a reopened project plans at once."""
    monkeypatch.setattr(batch_pick, "BATCH", 2)
    folder = make_images(tmp_path / "images", n=4)
    predicted_project(folder, ((0.40, 0), (0.41, 0), (0.45, 1), (0.46, 1)))
    window = make_window(folder)
    window.images.set_order("plan")
    assert window.images.keys() == ["img0", "img2", "img1", "img3"]


def test_an_image_whose_status_arrives_after_its_ranking_joins_the_plan(make_window, tmp_path, qtbot,
                                                                       monkeypatch):
    """Predict all ranks the open image before its saved annotation reports "predicted": the plan
    is made again when it starts to wait, so the most uncertain image is not left at the end."""
    monkeypatch.setattr(batch_pick, "BATCH", 2)
    folder = make_images(tmp_path / "images", n=4)
    predicted_project(folder, ((0.40, 0), (0.45, 1), (0.46, 1)))     # img3 not predicted yet
    window = make_window(folder)
    images = window.images
    images.set_order("plan")
    assert images.keys() == ["img0", "img1", "img2", "img3"]
    images.set_uncertainty("img3", 0.999, batch_pick.layout(scene_memory(0.30, 0)))
    qtbot.wait(300)
    assert images.keys()[-1] == "img3"                                # ranked, but still "unlabelled"
    images.set_status("img3", "predicted")
    qtbot.waitUntil(lambda: images.keys()[0] == "img3", timeout=5000)
    assert images.keys() == ["img3", "img1", "img0", "img2"]      # one per scene, then the rest
    assert images.most_uncertain() == "img3"
    images.set_status("img3", "edited")                               # correcting it keeps the plan
    qtbot.wait(300)
    assert images.keys()[0] == "img3"
