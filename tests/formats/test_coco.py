"""COCO instances export, checked by pycocotools (COCO, annToMask, COCOeval)."""

from __future__ import annotations

import contextlib
import filecmp
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.formats.coco import export_coco
from segstudio.formats.coco_masks import exact_polygons
from segstudio.formats.imports import import_coco
from segstudio.formats.project import Project
from tests.formats.io_data import make_project, write_image


def _coco(path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def _by_file(coco: COCO) -> dict:
    return {im["file_name"]: im for im in coco.dataset["images"]}


def test_ann_to_mask_reproduces_every_instance(tmp_path):
    p = make_project(tmp_path / "proj", unlabelled=("u.png",))
    summary = export_coco(p, tmp_path / "out", val_fraction=0.4)
    assert summary.images == 5
    cocos = [_coco(tmp_path / "out" / f"instances_{s}.json") for s in ("train", "val")]
    assert sum(len(c.dataset["images"]) for c in cocos) == 5
    cats = cocos[0].dataset["categories"]
    assert [c["id"] for c in cats] == list(range(1, 21)) and cats[0]["name"] == "aeroplane"
    checked = 0
    for coco in cocos:
        for file_name, im in _by_file(coco).items():
            assert (tmp_path / "out" / file_name).read_bytes() == (tmp_path / "proj" / file_name).read_bytes()
            key = p.key_for_path(tmp_path / "proj" / file_name)
            ann = p.load_annotation(key)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[im["id"]]))
            things = [a for a in anns if not a["iscrowd"]]
            assert len(things) == len(ann.instances)
            for a, k in zip(things, sorted(ann.instances)):
                m = coco.annToMask(a).astype(bool)
                assert np.array_equal(m, ann.instance_map == k)
                assert a["category_id"] == ann.instances[k].class_id
                assert a["area"] == int(m.sum())
                ys, xs = np.nonzero(m)
                assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
                assert isinstance(a["segmentation"], dict)  # RLE by default
                checked += 1
            # class pixels outside instances: one crowd region per class
            free = np.where(ann.instance_map > 0, 255, ann.class_map)
            for a in anns:
                if a["iscrowd"]:
                    assert np.array_equal(coco.annToMask(a).astype(bool), free == a["category_id"])
            crowd_classes = {a["category_id"] for a in anns if a["iscrowd"]}
            assert crowd_classes == set(np.unique(free).tolist()) - {0, 255}
    assert checked >= 10


def test_cocoeval_of_export_against_itself_is_perfect(tmp_path):
    p = make_project(tmp_path / "proj", names=tuple(f"i{i}.png" for i in range(6)))
    export_coco(p, tmp_path / "out", val_fraction=0.0, unassigned="components")
    gt = _coco(tmp_path / "out" / "instances_train.json")
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": a["segmentation"],
             "score": 1.0} for a in gt.dataset["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]
    assert ev.stats[1] == pytest.approx(1.0)  # AP@.5


def test_polygons_only_where_exact_and_without_holes(tmp_path):
    root = tmp_path / "proj"
    write_image(root / "a.png", 40, 50)
    p = Project.create(root, LabelSet.voc())
    cm = np.zeros((40, 50), np.uint8)
    im = np.zeros((40, 50), np.int32)
    im[5:20, 5:20] = 1          # a square
    im[25:38, 5:30] = 2         # a ring: has a hole
    im[29:34, 10:25] = 0
    im[3:30, 35:48] = 3         # two parts, no holes
    im[15, 35:48] = 0
    cm[im > 0] = 7
    ann = Annotation(cm, im, {1: Instance(7), 2: Instance(7), 3: Instance(7)}, status="edited")
    p.save_annotation("a", ann)
    s = export_coco(p, tmp_path / "out", val_fraction=0, polygons=True)
    assert "2 masks written as polygons, 1 kept as RLE" in s.notes[0]
    coco = _coco(tmp_path / "out" / "instances_train.json")
    anns = coco.dataset["annotations"]
    assert [type(a["segmentation"]).__name__ for a in anns] == ["list", "dict", "list"]
    assert len(anns[2]["segmentation"]) == 2
    for a, k in zip(anns, (1, 2, 3)):
        assert np.array_equal(coco.annToMask(a).astype(bool), im == k)


def test_exact_polygons_on_random_shapes():
    import cv2

    rng = np.random.default_rng(0)
    exact = 0
    for _ in range(60):
        m = np.zeros((30, 40), np.uint8)
        cv2.ellipse(m, (int(rng.integers(0, 40)), int(rng.integers(0, 30))),
                    (int(rng.integers(1, 12)), int(rng.integers(1, 12))), float(rng.integers(0, 180)), 0, 360, 1, -1)
        polys = exact_polygons(m.astype(bool))
        if polys is not None:
            from pycocotools import mask as mu
            back = mu.decode(mu.merge(mu.frPyObjects(polys, 30, 40)))
            assert np.array_equal(back, m)
            exact += 1
    assert exact >= 50


def test_unassigned_modes(tmp_path):
    root = tmp_path / "proj"
    write_image(root / "s.png", 20, 30)
    p = Project.create(root, LabelSet.voc())
    cm = np.zeros((20, 30), np.uint8)
    cm[2:6, 2:6] = 15
    cm[10:15, 10:20] = 15
    cm[0:3, 25:30] = 7
    p.save_annotation("s", Annotation(cm, status="reviewed"))
    export_coco(p, tmp_path / "c", val_fraction=0, unassigned="components")
    anns = _coco(tmp_path / "c" / "instances_train.json").dataset["annotations"]
    assert sorted((a["category_id"], a["area"], a["iscrowd"]) for a in anns) == [(7, 15, 0), (15, 16, 0), (15, 50, 0)]
    s = export_coco(p, tmp_path / "k", val_fraction=0, unassigned="skip")
    assert json.loads((tmp_path / "k" / "instances_train.json").read_text())["annotations"] == []
    assert "81 pixels" in s.notes[0]


def test_non_ascii_file_names(tmp_path):
    p = make_project(tmp_path / "proj", names=("ñandú.png", "日本/写真.jpg"))
    export_coco(p, tmp_path / "out", val_fraction=0.5)
    raw = (tmp_path / "out" / "instances_train.json").read_bytes() + (tmp_path / "out" / "instances_val.json").read_bytes()
    raw.decode("ascii")  # escaped, readable whatever the reader's encoding
    names = set()
    for s in ("train", "val"):
        coco = _coco(tmp_path / "out" / f"instances_{s}.json")
        for im in coco.dataset["images"]:
            names.add(im["file_name"])
            assert (tmp_path / "out" / im["file_name"]).exists()
    assert names == {"ñandú.png", "日本/写真.jpg"}
    p2 = import_coco([tmp_path / "out" / "instances_train.json", tmp_path / "out" / "instances_val.json"],
                     tmp_path / "p2")
    assert sorted(e.relpath for e in p2.images) == sorted(names)


def test_round_trip_coco_project_coco_is_identical(tmp_path):
    p = make_project(tmp_path / "proj", void=False)
    export_coco(p, tmp_path / "c1", polygons=True, seed=4)
    p2 = import_coco([tmp_path / "c1" / "instances_train.json", tmp_path / "c1" / "instances_val.json"],
                     tmp_path / "p2")
    assert p2.labels.names == p.labels.names
    for e in p.images:
        a, b = p.load_annotation(e.key), p2.load_annotation(e.key)
        assert np.array_equal(a.class_map, b.class_map)
    export_coco(p2, tmp_path / "c2", polygons=True, seed=123)
    cmp = filecmp.dircmp(tmp_path / "c1", tmp_path / "c2")
    assert not cmp.left_only and not cmp.right_only
    for name in ("instances_train.json", "instances_val.json"):
        assert (tmp_path / "c1" / name).read_bytes() == (tmp_path / "c2" / name).read_bytes()


def test_background_not_a_category_but_other_class_zero_is(tmp_path):
    labels = LabelSet(["Sky", "Road"])
    p = make_project(tmp_path / "proj", names=("a.png",), labels=labels, n_inst=0, void=False)
    export_coco(p, tmp_path / "out", val_fraction=0)
    cats = json.loads((tmp_path / "out" / "instances_train.json").read_text())["categories"]
    assert [c["name"] for c in cats] == ["Sky", "Road"]


def test_export_all_writes_each_format_like_the_single_exports(tmp_path):
    from segstudio.formats.export import export_all
    from segstudio.formats.voc import export_voc

    p = make_project(tmp_path / "proj")
    loads = []
    original = p.load_annotation

    def counting(key):
        loads.append(key)
        return original(key)

    p.load_annotation = counting
    out = export_all(p, {"voc": tmp_path / "all" / "voc", "coco": tmp_path / "all" / "coco"}, seed=1,
                     polygons=True)
    assert len(loads) == 5  # each annotation decoded once for both formats
    assert set(out) == {"voc", "coco"} and out["coco"].images == 5
    export_voc(p, tmp_path / "voc", seed=1)
    export_coco(p, tmp_path / "coco", seed=1, polygons=True)
    for sub in ("instances_train.json", "instances_val.json"):
        assert (tmp_path / "all" / "coco" / sub).read_bytes() == (tmp_path / "coco" / sub).read_bytes()
    cmp = filecmp.dircmp(tmp_path / "all" / "voc", tmp_path / "voc")
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files


def test_export_all_failure_leaves_no_folder(tmp_path):
    from segstudio.errors import SegStudioError
    from segstudio.formats.export import export_all

    p = make_project(tmp_path / "proj", names=("a.png", "b.png"))
    (tmp_path / "proj" / "b.png").write_bytes(b"not a png")
    with pytest.raises(SegStudioError, match="b.png"):
        export_all(p, {"voc": tmp_path / "out" / "voc", "coco": tmp_path / "out" / "coco"})
    assert not (tmp_path / "out" / "voc").exists() and not (tmp_path / "out" / "coco").exists()
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(SegStudioError, match="overlaps"):
        export_all(p, {"voc": tmp_path / "x", "coco": tmp_path / "x" / "coco"})


def test_rles_from_runs_equal_pycocotools_encode():
    import cv2

    from segstudio.formats.coco_masks import encode_rle, rles_by_value

    rng = np.random.default_rng(0)
    for t in range(150):
        h, w = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        m = rng.integers(0, 4, (h, w)).astype(np.int32)
        if t % 3 == 0:
            m[:] = int(rng.integers(0, 4))
        got = rles_by_value(cv2.transpose(m), [0, 1, 2, 3, 9], h, w)
        for v in (0, 1, 2, 3, 9):
            if (m == v).any():
                assert got[v] == encode_rle(m == v)
            else:
                assert v not in got
