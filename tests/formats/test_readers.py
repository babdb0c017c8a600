"""One reader per format: COCO files import without options, exports re-import to the same project,
and import, training and evaluation read a COCO file or a VOC folder the same way."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from segstudio.cli import main
from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.formats.coco import export_coco
from segstudio.formats.imports import import_coco, import_voc
from segstudio.formats.project import Project
from segstudio.formats.readers.coco import read_coco, rle_string_counts
from segstudio.ml.data import DataSpec, open_data
from tests.formats.io_data import write_image

H, W = 20, 30


def _poly(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def _coco(tmp_path: Path, categories, annotations) -> Path:
    src = tmp_path / "src"
    write_image(src / "a.png", H, W)
    write_image(src / "b.png", H, W, 1)
    data = {"images": [{"id": 7, "file_name": "a.png", "width": W, "height": H},
                       {"id": 9, "file_name": "b.png", "width": W, "height": H}],
            "categories": categories, "annotations": annotations}
    (src / "instances.json").write_text(json.dumps(data))
    return src / "instances.json"


def test_coco_as_published_imports_without_options_and_prints_the_mapping(tmp_path, capsys):
    cats = [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]
    anns = [{"id": 1, "image_id": 7, "category_id": 3, "segmentation": _poly(1, 1, 9, 9), "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 90, "segmentation": _poly(12, 2, 20, 12), "iscrowd": 0},
            {"id": 3, "image_id": 9, "category_id": 1, "segmentation": _poly(0, 0, 5, 5), "iscrowd": 1}]
    src = _coco(tmp_path, cats, anns)
    assert main(["import", str(src), "--format", "coco", "--project", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "1 'person' -> 1, 3 'car' -> 2, 90 'toothbrush' -> 3" in out
    p = Project.open(tmp_path / "p")
    assert p.labels.names == ["background", "person", "car", "toothbrush"]
    a = p.load_annotation("a")
    assert {k: i.class_id for k, i in a.instances.items()} == {1: 2, 2: 3}
    assert a.class_map[5, 5] == 2 and a.class_map[5, 15] == 3 and a.class_map[18, 28] == 0
    b = p.load_annotation("b")
    assert b.class_map[2, 2] == 1 and not b.instances  # crowd: class pixels, no instance
    assert p.settings["import"]["categories"] == {"1": 1, "3": 2, "90": 3}


def test_converter_background_category_becomes_class_zero(tmp_path):
    cats = [{"id": 0, "name": "_background_"}, {"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    anns = [{"id": 1, "image_id": 7, "category_id": 0, "segmentation": _poly(0, 0, 29, 19), "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 2, "segmentation": _poly(2, 2, 8, 8), "iscrowd": 0}]
    p = import_coco(_coco(tmp_path, cats, anns), tmp_path / "p")
    assert p.labels.names == ["_background_", "cat", "dog"]
    a = p.load_annotation("a")
    assert [i.class_id for i in a.instances.values()] == [2]  # the background is no instance
    assert a.class_map[5, 5] == 2 and a.class_map[15, 20] == 0


def _camvid_like_project(root: Path, labels: LabelSet) -> Project:
    """Instances, class pixels outside instances, void, and an unlabelled image."""
    for i, name in enumerate(("x.png", "y.jpg", "z.png")):
        write_image(root / name, H, W, i)
    p = Project.create(root, labels)
    for key, shift in (("x", 0), ("y", 3)):
        cm = np.zeros((H, W), np.uint8)           # class 0 everywhere (Sky for CamVid)
        cm[:, 20:] = 2                             # class pixels of no instance
        inst = np.zeros((H, W), np.int32)
        inst[2 + shift:8 + shift, 2:9] = 4
        inst[10:16, 5 + shift:14 + shift] = 9
        cm[inst == 4] = 1
        cm[inst == 9] = 3
        instances = {4: Instance(1, None, "user"), 9: Instance(3, None, "user")}
        if not labels.has_background:              # class 0 is a real class: it can have instances too
            inst[17:19, 1:6] = 12
            instances[12] = Instance(0, None, "user")
        cm[0, :] = 255                             # void
        inst[0, :] = 0
        p.save_annotation(key, Annotation(cm, inst, instances, status="reviewed"))
    return p


def _same_instances(a: Annotation, b: Annotation) -> bool:
    def objects(ann):
        return sorted((ann.instances[k].class_id, np.flatnonzero(ann.instance_map == k).tolist())
                      for k in ann.instances)
    return objects(a) == objects(b)


@pytest.mark.parametrize("names, background", [
    (["Sky", "Building", "Road", "Car"], None),              # no background class
    (["background", "Building", "Road", "Car"], None),       # background + void
    (["background", "Building", "Road", "Car"], False),      # a class named background that is a real class
])
def test_export_reimports_without_options_to_the_same_project(tmp_path, names, background):
    labels = LabelSet(names, [(10, 20, 30), (200, 0, 0), (0, 200, 0), (0, 0, 200)], background=background)
    p = _camvid_like_project(tmp_path / "proj", labels)
    export_coco(p, tmp_path / "coco", val_fraction=0.5, seed=1)
    files = [tmp_path / "coco" / "instances_train.json", tmp_path / "coco" / "instances_val.json"]
    for f in files:  # the consumer's view: categories start at 1 and masks are the instances
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(f))
        assert min(coco.getCatIds()) == 1
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == names[labels.has_background:]
        for ann in coco.loadAnns(coco.getAnnIds(iscrowd=False)):
            key = Path(coco.loadImgs(ann["image_id"])[0]["file_name"]).stem
            orig = p.load_annotation(key)
            assert any(np.array_equal(coco.annToMask(ann).astype(bool), orig.instance_map == k)
                       for k in orig.instances)
    q = import_coco(files, tmp_path / "back")
    assert q.labels == p.labels  # names, order and colours
    for key in ("x", "y"):
        a, b = p.load_annotation(key), q.load_annotation(key)
        assert np.array_equal(a.class_map, b.class_map)
        assert _same_instances(a, b)


def _voc_root(tmp_path: Path) -> Path:
    """A VOC folder with RGB masks in its labels.txt colours, and its own split."""
    voc = tmp_path / "data" / "VOCdevkit" / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / d).mkdir(parents=True)
    labels = LabelSet(["background", "kiwi", "lime"], [(0, 0, 0), (10, 200, 10), (200, 250, 0)])
    (voc / "labels.txt").write_text(labels.to_text())
    pal = labels.palette()
    for i, stem in enumerate(("s1", "s2", "s3")):
        Image.fromarray(np.full((H, W, 3), 40 * i, np.uint8)).save(voc / "JPEGImages" / f"{stem}.jpg")
        ids = np.zeros((H, W), np.uint8)
        ids[3:9 + i, 4:12] = 1
        ids[12:, 15:] = 2
        ids[0, :] = 255
        Image.fromarray(pal[ids]).save(voc / "SegmentationClass" / f"{stem}.png")  # an RGB mask
    (voc / "ImageSets/Segmentation/train.txt").write_text("s1\ns2\n")
    (voc / "ImageSets/Segmentation/val.txt").write_text("s3\n")
    return tmp_path / "data"


def test_voc_import_and_training_read_the_same_classes_and_masks(tmp_path):
    root = _voc_root(tmp_path)
    p = import_voc(root, tmp_path / "proj")
    data = open_data(DataSpec(root))
    assert p.labels == data.labels and p.labels.names == ["background", "kiwi", "lime"]
    assert data.train.keys == ["s1", "s2"] and data.val.keys == ["s3"]
    assert p.settings["split"] == {"train": ["s1", "s2"], "val": ["s3"]}
    for ds in (data.train, data.val):
        for i, key in enumerate(ds.keys):
            _, mask = ds[i]
            assert np.array_equal(mask, p.load_annotation(key).class_map)
            assert (mask[0] == 255).all() and (mask == 2).any()


def test_coco_import_and_training_read_the_same_classes_and_masks(tmp_path):
    cats = [{"id": 5, "name": "fig"}, {"id": 2, "name": "date"}]
    anns = [{"id": 1, "image_id": 7, "category_id": 5, "segmentation": _poly(1, 1, 9, 9), "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 2, "segmentation": _poly(5, 5, 20, 15), "iscrowd": 0},
            {"id": 3, "image_id": 9, "category_id": 2, "segmentation": _poly(0, 0, 5, 5), "iscrowd": 1}]
    src = _coco(tmp_path, cats, anns)
    p = import_coco(src, tmp_path / "p", overlap="later")
    data = open_data(DataSpec(src, task="instance", val_fraction=0.0))
    assert data.labels == p.labels == read_coco(src).labels
    _, target = data.train[data.train.keys.index("a")]
    ann = p.load_annotation("a")
    assert sorted(target["labels"].tolist()) == sorted(i.class_id for i in ann.instances.values())
    later = target["masks"][list(target["labels"]).index(p.labels.id_of("date"))].astype(bool)
    assert np.array_equal(later, ann.instance_map == 2)  # the later instance keeps its whole mask


def test_compressed_rle_counts_are_decoded_like_pycocotools():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    for _ in range(20):
        m = np.asfortranarray((rng.random((17, 23)) < rng.random()).astype(np.uint8))
        rle = mask_utils.encode(m)
        counts = rle_string_counts(rle["counts"].decode(), "test")
        flat = np.repeat(np.arange(len(counts)) % 2, counts).astype(np.uint8)
        assert np.array_equal(flat, m.ravel(order="F"))
