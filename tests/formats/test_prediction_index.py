"""The project's uncertainty ranking: appended per prediction, last entry wins, compacted, robust."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.prediction_memory import PredictionMemory
from segstudio.formats import prediction_index as pi
from segstudio.formats.project import Project


def memory(peak: float, size=(24, 32), classes=4) -> PredictionMemory:
    """A prediction that gives ``peak`` to class 1 everywhere and shares the rest evenly."""
    probs = np.full((classes,) + size, (1 - peak) / (classes - 1), np.float32)
    probs[1] = peak
    return PredictionMemory.from_probabilities(probs, np.arange(classes), size, "m@v")


def test_the_last_entry_of_a_key_wins_and_a_torn_line_is_skipped(tmp_path):
    pi.append(tmp_path, "a", 0.2, "m@1")
    pi.append(tmp_path, "b", 0.7)
    pi.append(tmp_path, "a", 0.4, "m@2")
    with open(pi.index_path(tmp_path), "a", encoding="utf-8") as f:
        f.write('{"key": "c", "u": 0.')  # a crash in the middle of a line
    entries = pi.read(tmp_path)
    assert {k: v["u"] for k, v in entries.items()} == {"a": 0.4, "b": 0.7}
    assert entries["a"]["model"] == "m@2"
    assert pi.read(tmp_path / "nothing-here") == {}


def test_an_overgrown_index_is_compacted_to_one_line_per_key(tmp_path):
    for i in range(200):
        pi.append(tmp_path, f"k{i % 3}", i / 1000)
    entries = pi.read(tmp_path)
    assert sorted(entries) == ["k0", "k1", "k2"] and entries["k2"]["u"] == 0.197
    assert len(pi.index_path(tmp_path).read_text("utf-8").splitlines()) == 3
    assert pi.read(tmp_path) == entries


def test_saving_a_prediction_memory_ranks_the_image(tmp_path):
    import cv2

    for name in ("x", "y", "z"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.zeros((24, 32, 3), np.uint8))
    project = Project.open(tmp_path)
    sure, unsure = memory(0.97), memory(0.4)
    project.save_prediction_memory("x", sure)
    project.save_prediction_memory("y", unsure)
    ranks = Project.open(tmp_path).uncertainties()
    assert set(ranks) == {"x", "y"}
    assert abs(ranks["x"] - sure.mean_uncertainty()) < 1e-4 and abs(ranks["y"] - unsure.mean_uncertainty()) < 1e-4
    assert ranks["y"] > ranks["x"]


def test_the_scene_layout_is_kept_beside_the_score_and_survives_compaction(tmp_path):
    import cv2

    from segstudio.core.batch_pick import layout

    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((24, 32, 3), np.uint8))
    project = Project.open(tmp_path)
    m = memory(0.6)
    project.save_prediction_memory("x", m)
    entry = Project.open(tmp_path).ranking()["x"]
    assert entry["layout"].shape == (12, 16) and (entry["layout"] == layout(m)).all()
    assert (entry["layout"] == 1).all()
    for i in range(100):                                  # an overgrown file is rewritten: layouts stay
        pi.append(tmp_path / "annotations" / "prediction", "x", i / 1000, layout=np.full((12, 16), 3, np.uint8))
    again = Project.open(tmp_path).ranking()["x"]
    assert len(pi.index_path(tmp_path / "annotations" / "prediction").read_text("utf-8").splitlines()) == 1
    assert again["u"] == 0.099 and (again["layout"] == 3).all()


def test_lines_without_a_layout_or_with_a_damaged_one_keep_their_score(tmp_path):
    pi.append(tmp_path, "old", 0.3)                       # written before layouts were kept
    pi.append(tmp_path, "bad", 0.4, layout=np.zeros((12, 16), np.uint8))
    text = pi.index_path(tmp_path).read_text("utf-8")
    pi.index_path(tmp_path).write_text(text.replace('"s": "AAAA', '"s": "!!AA'), "utf-8")
    pi.append(tmp_path, "short", 0.5)
    with open(pi.index_path(tmp_path), "a", encoding="utf-8") as f:
        f.write('{"key": "short", "u": 0.5, "model": "", "t": 1, "s": "AAAA"}\n')   # 3 bytes, not 192
    entries = pi.read(tmp_path)
    assert {k: v["u"] for k, v in entries.items()} == {"old": 0.3, "bad": 0.4, "short": 0.5}
    assert all(v["layout"] is None for v in entries.values())
    with pytest.raises(ValueError, match="12, 16"):
        pi.append(tmp_path, "x", 0.1, layout=np.zeros((4, 4), np.uint8))
