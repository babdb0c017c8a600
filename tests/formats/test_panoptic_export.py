"""COCO panoptic export: PNG ids decode to the listed segments."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from segstudio.formats.panoptic import STUFF_BASE, export_panoptic, id_to_rgb, rgb_to_id
from tests.formats.io_data import make_project


def test_rgb_id_round_trip():
    ids = np.array([[0, 1, 255, 256], [65535, 65536 + 7, 2 ** 24 - 1, 70000]])
    assert np.array_equal(rgb_to_id(id_to_rgb(ids)), ids)
    assert tuple(id_to_rgb(np.array(1 + 2 * 256 + 3 * 65536))) == (1, 2, 3)


def test_png_ids_decode_to_the_segments_listed(tmp_path):
    p = make_project(tmp_path / "proj")
    s = export_panoptic(p, tmp_path / "out", val_fraction=0.4)
    assert s.images == 5
    seen = 0
    for split in ("train", "val"):
        data = json.loads((tmp_path / "out" / f"panoptic_{split}.json").read_text())
        cats = {c["id"]: c for c in data["categories"]}
        assert 0 not in cats  # background is not a category
        images = {im["id"]: im for im in data["images"]}
        for a in data["annotations"]:
            im = images[a["image_id"]]
            key = p.key_for_path(tmp_path / "proj" / im["file_name"])
            ann = p.load_annotation(key)
            rgb = np.array(Image.open(tmp_path / "out" / f"panoptic_{split}" / a["file_name"]).convert("RGB"))
            ids = rgb_to_id(rgb)
            assert ids.shape == ann.shape
            listed = {seg["id"]: seg for seg in a["segments_info"]}
            assert set(np.unique(ids).tolist()) - {0} == set(listed)
            # unlabelled: background and void
            assert np.array_equal(ids == 0, (ann.class_map == 0) | (ann.class_map == 255))
            for sid, seg in listed.items():
                m = ids == sid
                assert seg["area"] == int(m.sum())
                ys, xs = np.nonzero(m)
                assert seg["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
                assert (ann.class_map[m] == seg["category_id"]).all()
                if sid < STUFF_BASE:  # an instance
                    assert np.array_equal(m, ann.instance_map == sid)
                    assert cats[seg["category_id"]]["isthing"] == 1 and seg["iscrowd"] == 0
                else:
                    assert seg["category_id"] == sid - STUFF_BASE
                    assert not (ann.instance_map[m] > 0).any() or not cats[seg["category_id"]]["isthing"]
                    assert seg["iscrowd"] == cats[seg["category_id"]]["isthing"]
                seen += 1
    assert seen > 10


def test_thing_classes_option(tmp_path):
    p = make_project(tmp_path / "proj", names=("a.png",))
    ann = p.load_annotation("a")
    export_panoptic(p, tmp_path / "out", val_fraction=0, thing_classes=[])
    data = json.loads((tmp_path / "out" / "panoptic_train.json").read_text())
    assert all(c["isthing"] == 0 for c in data["categories"])
    segs = data["annotations"][0]["segments_info"]
    assert all(s["id"] >= STUFF_BASE for s in segs)  # instances merged into their stuff class
    assert len(segs) == len(set(np.unique(ann.class_map).tolist()) - {0, 255})
