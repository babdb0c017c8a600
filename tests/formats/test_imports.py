"""Imports into a new project: COCO JSON, image+mask folders, labelme; bad input is refused clearly."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from segstudio.core.labels import LabelSet
from segstudio.errors import Cancelled, FormatError, SegStudioError
from segstudio.formats.imports import import_coco, import_labelme, import_masks
from tests.formats.io_data import write_image

H, W = 24, 32


def _rect(y0, x0, y1, x1):
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def _coco_dataset(tmp_path: Path, annotations=None, images=None, categories=None) -> Path:
    src = tmp_path / "src"
    for name in ("a.jpg", "b.png"):
        write_image(src / name, H, W)
    poly = [[2.0, 2.0, 12.0, 2.0, 12.0, 10.0, 2.0, 10.0]]
    rle = mask_utils.encode(np.asfortranarray(_rect(12, 4, 20, 14)))
    uncompressed = {"size": [H, W], "counts": _uncompressed(_rect(14, 20, 22, 30))}
    data = {
        "images": images if images is not None else [
            {"id": 1, "file_name": "a.jpg", "width": W, "height": H},
            {"id": 2, "file_name": "b.png", "width": W, "height": H}],
        "categories": categories if categories is not None else [
            {"id": 1, "name": "date"}, {"id": 2, "name": "fig"}],
        "annotations": annotations if annotations is not None else [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": poly, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 2, "iscrowd": 0,
             "segmentation": {"size": [H, W], "counts": rle["counts"].decode()}},
            {"id": 3, "image_id": 1, "category_id": 2, "segmentation": uncompressed, "iscrowd": 1},
        ],
    }
    (src / "ann.json").write_text(json.dumps(data))
    return src / "ann.json"


def _uncompressed(m: np.ndarray) -> list[int]:
    flat = m.flatten(order="F")
    counts, cur, run = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    return counts


def _tree(folder: Path) -> dict:
    return {f.relative_to(folder).as_posix(): (f.read_bytes(), f.stat().st_mtime_ns)
            for f in sorted(folder.rglob("*")) if f.is_file()}


def test_coco_polygons_rle_and_crowd(tmp_path):
    src = _coco_dataset(tmp_path)
    before = _tree(src.parent)
    p = import_coco(src, tmp_path / "proj")
    assert _tree(src.parent) == before  # the source is never modified
    assert p.labels.names == ["background", "date", "fig"]
    assert sorted(e.relpath for e in p.images) == ["a.jpg", "b.png"]
    assert (tmp_path / "proj" / "a.jpg").read_bytes() == (tmp_path / "src" / "a.jpg").read_bytes()
    a = p.load_annotation("a")
    poly = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(
        [[2.0, 2.0, 12.0, 2.0, 12.0, 10.0, 2.0, 10.0]], H, W))).astype(bool)
    assert np.array_equal(a.instance_map == 1, poly)
    assert np.array_equal(a.instance_map == 2, _rect(12, 4, 20, 14).astype(bool))
    assert a.instances[1].class_id == 1 and a.instances[2].class_id == 2
    crowd = _rect(14, 20, 22, 30).astype(bool)
    assert (a.class_map[crowd] == 2).all() and (a.instance_map[crowd] == 0).all()
    assert p.status("b") == "reviewed" and p.load_annotation("b").is_empty() is False  # user mask set
    assert not p.load_annotation("b").class_map.any()


def test_coco_overlap_policies(tmp_path):
    big = [[0.0, 0.0, 20.0, 0.0, 20.0, 20.0, 0.0, 20.0]]
    small = [[5.0, 5.0, 10.0, 5.0, 10.0, 10.0, 5.0, 10.0]]
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": small, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 2, "segmentation": big, "iscrowd": 0}]
    src = _coco_dataset(tmp_path, annotations=anns)
    p = import_coco(src, tmp_path / "p1")
    a = p.load_annotation("a")
    assert a.instance_map[7, 7] == 1 and len(a.instances) == 2
    assert any("overlap" in n for n in p.settings["import"]["notes"])
    p = import_coco(src, tmp_path / "p2", overlap="later")
    a = p.load_annotation("a")
    assert list(a.instances) == [2] and "completely covered" in " ".join(p.settings["import"]["notes"])
    with pytest.raises(FormatError, match="overlaps"):
        import_coco(src, tmp_path / "p3", overlap="error")
    assert not (tmp_path / "p3").exists()


@pytest.mark.parametrize("case, match", [
    ("malformed", "malformed JSON"),
    ("missing_image", "not found"),
    ("wrong_size", "image's size"),
    ("wrong_declared_size", "dataset says"),
    ("undeclared_category", "not declared"),
    ("duplicate", "same file name"),
    ("case_duplicate", "differ only in case"),
    ("dotdot", "contains '..'"),
    ("absolute", "absolute path"),
    ("unknown_image", "not in \"images\""),
])
def test_coco_bad_input(tmp_path, case, match):
    imgs = [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}]
    anns = []
    cats = None
    if case == "missing_image":
        imgs = [{"id": 1, "file_name": "nope.jpg", "width": W, "height": H}]
    elif case == "wrong_size":
        rle = mask_utils.encode(np.asfortranarray(np.ones((H + 1, W), np.uint8)))
        anns = [{"id": 5, "image_id": 1, "category_id": 1, "iscrowd": 0,
                 "segmentation": {"size": [H + 1, W], "counts": rle["counts"].decode()}}]
    elif case == "wrong_declared_size":
        imgs = [{"id": 1, "file_name": "a.jpg", "width": W + 2, "height": H}]
    elif case == "undeclared_category":
        anns = [{"id": 5, "image_id": 1, "category_id": 9, "segmentation": [[1, 1, 5, 1, 5, 5]], "iscrowd": 0}]
    elif case == "duplicate":
        imgs = imgs + [{"id": 2, "file_name": "a.jpg", "width": W, "height": H}]
    elif case == "case_duplicate":
        imgs = imgs + [{"id": 2, "file_name": "A.jpg", "width": W, "height": H}]
    elif case == "dotdot":
        imgs = [{"id": 1, "file_name": "../outside.jpg", "width": W, "height": H}]
    elif case == "absolute":
        imgs = [{"id": 1, "file_name": str(tmp_path / "src" / "a.jpg"), "width": W, "height": H}]
    elif case == "unknown_image":
        anns = [{"id": 5, "image_id": 7, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]], "iscrowd": 0}]
    src = _coco_dataset(tmp_path, annotations=anns, images=imgs, categories=cats)
    if case == "case_duplicate":
        write_image(src.parent / "A.jpg", H, W)
    if case == "dotdot":
        write_image(tmp_path / "outside.jpg", H, W)
    if case == "malformed":
        src.write_text('{"images": [')
    with pytest.raises(FormatError, match=match) as info:
        import_coco(src, tmp_path / "proj")
    assert str(src) in str(info.value) or "a.jpg" in str(info.value)
    assert not (tmp_path / "proj").exists()
    assert sorted(x.name for x in tmp_path.iterdir()) in (["src"], ["outside.jpg", "src"])


def test_coco_labels_by_name_and_id_map(tmp_path):
    cats = [{"id": 3, "name": "fig"}, {"id": 8, "name": "date"}]
    anns = [{"id": 1, "image_id": 1, "category_id": 8, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]], "iscrowd": 0}]
    src = _coco_dataset(tmp_path, annotations=anns, categories=cats)
    labels = LabelSet(["background", "date", "fig"])
    p = import_coco(src, tmp_path / "p1", labels=labels)
    assert p.load_annotation("a").instances[1].class_id == 1
    p = import_coco(src, tmp_path / "p2", labels=labels, id_map={3: 2, 8: 2})
    assert p.load_annotation("a").instances[1].class_id == 2
    with pytest.raises(FormatError, match="not in label set"):
        import_coco(src, tmp_path / "p3", labels=LabelSet(["background", "date"]))


def test_coco_cancel_leaves_nothing(tmp_path):
    src = _coco_dataset(tmp_path)
    with pytest.raises(Cancelled):
        import_coco(src, tmp_path / "proj", cancelled=lambda: True)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["src"]


def _mask_folders(tmp_path, ids_a, ids_b=None):
    img, msk = tmp_path / "images", tmp_path / "masks"
    write_image(img / "x1.png", H, W)
    write_image(img / "x2.jpg", H, W)
    write_image(img / "x3.jpg", H, W)  # no mask: imported unlabelled
    msk.mkdir()
    Image.fromarray(ids_a.astype(np.uint8)).save(msk / "x1.png")
    Image.fromarray((ids_b if ids_b is not None else ids_a).astype(np.uint8)).save(msk / "x2.png")
    labels = tmp_path / "labels.txt"
    labels.write_text("Sky\nBuilding\nRoad\n")
    return img, msk, labels


def test_masks_import_with_void_id(tmp_path):
    from segstudio.formats.labelfile import read_label_file

    ids = np.random.default_rng(0).integers(0, 4, (H, W))  # 3 = unlabelled
    img, msk, lf = _mask_folders(tmp_path, ids)
    p = import_masks(img, tmp_path / "proj", msk, read_label_file(lf), void_id=3)
    assert p.labels.names == ["Sky", "Building", "Road"]
    a = p.load_annotation("x1")
    expected = np.where(ids == 3, 255, ids)
    assert np.array_equal(a.class_map, expected)
    assert p.status("x3") == "unlabelled"
    assert "no mask" in p.settings["import"]["notes"][0]
    assert (img / "x1.png").exists() and (tmp_path / "proj" / "x1.png").read_bytes() == (img / "x1.png").read_bytes()


def test_masks_import_refuses_unknown_ids_unless_mapped(tmp_path):
    from segstudio.formats.labelfile import read_label_file

    ids = np.zeros((H, W), np.uint8)
    ids[0, 0] = 7
    img, msk, lf = _mask_folders(tmp_path, ids)
    labels = read_label_file(lf)
    with pytest.raises(FormatError, match=r"x1.png.*\[7\].*--map"):
        import_masks(img, tmp_path / "proj", msk, labels)
    assert not (tmp_path / "proj").exists()
    p = import_masks(img, tmp_path / "proj", msk, labels, id_map={7: 2})
    assert p.load_annotation("x1").class_map[0, 0] == 2
    with pytest.raises(FormatError, match="void id 1 is also class"):
        import_masks(img, tmp_path / "p2", msk, labels, void_id=1)


def test_masks_import_wrong_size_and_orphans(tmp_path):
    from segstudio.formats.labelfile import read_label_file

    img, msk, lf = _mask_folders(tmp_path, np.zeros((H, W)), np.zeros((H, W + 3)))
    with pytest.raises(FormatError, match="x2.jpg.*image's size"):
        import_masks(img, tmp_path / "proj", msk, read_label_file(lf))
    (msk / "x2.png").unlink()
    Image.fromarray(np.zeros((H, W), np.uint8)).save(msk / "zzz.png")
    with pytest.raises(FormatError, match="zzz.png: no image"):
        import_masks(img, tmp_path / "proj", msk, read_label_file(lf))


def _labelme(path: Path, image_path: str | None, shapes, embed: np.ndarray | None = None):
    data = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path,
            "imageHeight": H, "imageWidth": W, "imageData": None}
    if embed is not None:
        buf = io.BytesIO()
        Image.fromarray(embed).save(buf, format="PNG")
        data["imageData"] = base64.b64encode(buf.getvalue()).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), "utf-8")


def _shape(label, points, kind="polygon", group=None):
    return {"label": label, "points": points, "shape_type": kind, "group_id": group, "flags": {}}


def test_labelme_shapes_groups_and_embedded_images(tmp_path):
    src = tmp_path / "lm"
    write_image(src / "one.jpg", H, W)
    _labelme(src / "one.json", "one.jpg", [
        _shape("cat", [[2, 2], [10, 2], [10, 10], [2, 10]]),
        _shape("cat", [[20, 2], [28, 8]], "rectangle", group=4),
        _shape("cat", [[20, 14], [28, 20]], "rectangle", group=4),
        _shape("dog", [[8, 16], [11, 16]], "circle"),
        _shape("__ignore__", [[0, 0], [1, 1]], "rectangle"),
        _shape("dog", [[1, 1], [5, 5]], "line"),
    ])
    _labelme(src / "sub" / "two.json", "missing.png", [_shape("dog", [[1, 1], [6, 1], [6, 6]])],
             embed=np.zeros((H, W, 3), np.uint8))
    p = import_labelme(src, tmp_path / "proj")
    assert p.labels.names == ["background", "cat", "dog"]
    a = p.load_annotation("one")
    assert len(a.instances) == 3  # polygon, grouped rectangles, circle
    grouped = a.instance_map[3, 24]
    assert grouped == a.instance_map[17, 24] and grouped > 0 and a.instances[grouped].class_id == 1
    assert a.class_map[16, 8] == 2 and a.class_map[0, 0] == 255
    assert a.class_map[6, 6] == 1
    notes = " ".join(p.settings["import"]["notes"])
    assert "without area" in notes and "imageData" in notes
    b = p.load_annotation("sub/two")
    assert b.class_map[3, 4] == 2
    assert not (src / "sub" / "two.png").exists()  # the source folder is never written to


def test_labelme_errors(tmp_path):
    src = tmp_path / "lm"
    write_image(src / "one.jpg", H, W)
    _labelme(src / "one.json", "one.jpg", [_shape("cat", [[2, 2], [10, 2], [10, 10]])])
    with pytest.raises(FormatError, match="not in label set"):
        import_labelme(src, tmp_path / "proj", labels=LabelSet(["background", "dog"]))
    _labelme(src / "one.json", "../one.jpg", [])
    with pytest.raises(FormatError, match="'..'"):
        import_labelme(src, tmp_path / "proj")
    (src / "one.json").write_text("{not json")
    with pytest.raises(FormatError, match="one.json: malformed JSON"):
        import_labelme(src, tmp_path / "proj")
    assert not (tmp_path / "proj").exists()


def test_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "secret"
    write_image(outside / "s.png", H, W)
    src = _coco_dataset(tmp_path, annotations=[], images=[{"id": 1, "file_name": "link/s.png", "width": W,
                                                           "height": H}])
    (src.parent / "link").symlink_to(outside)
    with pytest.raises(SegStudioError, match="outside"):
        import_coco(src, tmp_path / "proj")


def test_masks_import_duplicate_image_names_are_refused(tmp_path):
    from segstudio.formats.labelfile import read_label_file

    img, msk, lf = _mask_folders(tmp_path, np.zeros((H, W)))
    write_image(img / "x1.jpg", H, W)  # x1.png and x1.jpg: which one does masks/x1.png belong to?
    with pytest.raises(FormatError, match="two image files are named 'x1'"):
        import_masks(img, tmp_path / "proj", msk, read_label_file(lf))


def test_coco_image_that_is_not_an_image_is_named(tmp_path):
    src = _coco_dataset(tmp_path, annotations=[])
    (src.parent / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(SegStudioError) as info:
        import_coco(src, tmp_path / "proj")
    assert str(src.parent / "a.jpg") in str(info.value) and "partial" not in str(info.value)
    assert not (tmp_path / "proj").exists()


def test_coco_file_name_in_reserved_folder_is_explained(tmp_path):
    src = _coco_dataset(tmp_path, annotations=[], images=[{"id": 1, "file_name": "annotations/a.jpg", "width": W,
                                                            "height": H}])
    write_image(src.parent / "annotations" / "a.jpg", H, W)
    with pytest.raises(FormatError, match="reserved"):
        import_coco(src, tmp_path / "proj")
    assert not (tmp_path / "proj").exists()
