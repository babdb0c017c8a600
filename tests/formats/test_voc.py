"""Pascal VOC export, checked by torchvision's VOCSegmentation, and VOC import."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import numpy as np
import pytest
import torchvision
from PIL import Image

from segstudio.core.labels import LabelSet
from segstudio.errors import Cancelled, FormatError, SegStudioError
from segstudio.formats.imports import import_voc
from segstudio.formats.project import Project
from segstudio.formats.split import split_keys
from segstudio.formats.voc import export_voc
from tests.formats.io_data import make_project, write_image

VOC = ("VOCdevkit", "VOC2012")


def _flat(key):
    return key.replace("/", "__")


def test_torchvision_reads_export_with_identical_masks(tmp_path):
    p = make_project(tmp_path / "proj", unlabelled=("u.jpg",))
    summary = export_voc(p, tmp_path / "out", val_fraction=0.4, seed=3)
    assert (summary.train, summary.val) == (3, 2)
    labelled = set(p.labelled_keys())
    assert "u" not in labelled
    seen = set()
    for image_set in ("train", "val", "trainval"):
        ds = torchvision.datasets.VOCSegmentation(str(tmp_path / "out"), year="2012", image_set=image_set,
                                                  download=False)
        for img_path, mask_path in zip(ds.images, ds.masks):
            name = Path(img_path).stem
            key = next(k for k in labelled if _flat(k) == name)
            img, target = ds[ds.images.index(img_path)]
            ann = p.load_annotation(key)
            assert np.array_equal(np.array(target), ann.class_map)
            assert img.size == (ann.width, ann.height)
            seen.add(key)
    assert seen == labelled
    root = tmp_path.joinpath("out", *VOC)
    train = (root / "ImageSets/Segmentation/train.txt").read_text().split()
    val = (root / "ImageSets/Segmentation/val.txt").read_text().split()
    assert not set(train) & set(val) and len(train) == 3 and len(val) == 2
    # palette: the project's colours, 255 void
    png = Image.open(root / "SegmentationClass" / "a.png")
    assert png.mode == "P"
    assert np.array_equal(np.array(png.getpalette()[:63]).reshape(21, 3), p.labels.palette()[:21])
    assert (np.array(png) == 255).any()


def test_objects_and_images(tmp_path):
    p = make_project(tmp_path / "proj")
    export_voc(p, tmp_path / "out")
    root = tmp_path.joinpath("out", *VOC)
    for e in p.images:
        ann = p.load_annotation(e.key)
        obj = np.array(Image.open(root / "SegmentationObject" / f"{_flat(e.key)}.png"))
        assert np.array_equal(obj == 255, ann.class_map == 255)
        for i, k in enumerate(sorted(ann.instances), start=1):
            assert np.array_equal(obj == i, ann.instance_map == k)
        assert obj[(obj != 255)].max() == len(ann.instances)
        jpg = root / "JPEGImages" / f"{_flat(e.key)}.jpg"
        assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"
        if e.relpath.endswith(".jpg"):  # JPEG sources are copied byte for byte
            assert jpg.read_bytes() == p.image_path(e.key).read_bytes()
    assert (root / "labels.txt").read_text() == p.labels.to_text()


def test_exif_rotated_jpeg_is_stored_upright(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    arr = np.zeros((20, 30, 3), np.uint8)
    arr[:, :10] = 255
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    im.save(root / "r.jpg", exif=exif, quality=100)
    p = Project.create(root, LabelSet.voc())
    ann = p.new_annotation("r")
    assert ann.shape == (30, 20)
    ann.class_map[:5] = 1
    ann.status = "edited"
    p.save_annotation("r", ann)
    summary = export_voc(p, tmp_path / "out")
    assert summary.reencoded_images == 1
    out = Image.open(tmp_path.joinpath("out", *VOC, "JPEGImages", "r.jpg"))
    assert out.size == (20, 30) and out.getexif().get(0x0112, 1) == 1


def test_custom_label_set_colours(tmp_path):
    labels = LabelSet(["background", "crack", "rust"], [(0, 0, 0), (255, 0, 0), (0, 255, 0)])
    p = make_project(tmp_path / "proj", names=("a.png", "b.png"), labels=labels)
    export_voc(p, tmp_path / "out")
    root = tmp_path.joinpath("out", *VOC)
    assert (root / "labels.txt").read_text().splitlines()[1] == "crack #ff0000"
    pal = np.array(Image.open(root / "SegmentationClass" / "a.png").getpalette()).reshape(-1, 3)
    assert tuple(pal[1]) == (255, 0, 0) and tuple(pal[2]) == (0, 255, 0)


def test_split_is_deterministic_and_seeded():
    keys = [f"img{i:03d}" for i in range(50)]
    a = split_keys(keys, 0.2, seed=1)
    assert a == split_keys(list(reversed(keys)), 0.2, seed=1)
    assert len(a[1]) == 10 and sorted(a[0] + a[1]) == keys
    assert a != split_keys(keys, 0.2, seed=2)
    # adding an image does not reshuffle the others
    b = split_keys(keys + ["new"], 0.2, seed=1)
    assert len(set(a[1]) ^ set(b[1])) <= 2
    assert split_keys(keys, 0.0)[1] == [] and split_keys(["x", "y"], 0.1)[1] != []
    with pytest.raises(SegStudioError):
        split_keys(keys, 1.5)
    fixed = split_keys(keys, 0.5, fixed={"val": ["img000"], "train": ["img001"]})
    assert "img000" in fixed[1] and "img001" in fixed[0]


def test_existing_output_needs_overwrite(tmp_path):
    p = make_project(tmp_path / "proj", names=("a.png",))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SegStudioError, match="--overwrite"):
        export_voc(p, out)
    assert (out / "keep.txt").read_text() == "mine"
    export_voc(p, out, overwrite=True)
    assert not (out / "keep.txt").exists() and out.joinpath(*VOC, "SegmentationClass", "a.png").exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out", "proj"]


def test_refuses_output_inside_project(tmp_path):
    p = make_project(tmp_path / "proj", names=("a.png",))
    with pytest.raises(SegStudioError, match="outside"):
        export_voc(p, tmp_path / "proj" / "export")


def test_cancel_and_failure_leave_nothing(tmp_path):
    p = make_project(tmp_path / "proj")
    calls = []

    def progress(done, total, message):
        calls.append((done, total))

    with pytest.raises(Cancelled):
        export_voc(p, tmp_path / "out", progress=progress, cancelled=lambda: len(calls) >= 2)
    assert calls[0] == (1, 5)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["proj"]
    # an image that changed size after annotation: error naming it, nothing written
    write_image(tmp_path / "proj" / "d.jpg", 10, 10)
    with pytest.raises(SegStudioError, match="d.jpg"):
        export_voc(p, tmp_path / "out")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["proj"]


def test_round_trip_voc_project_voc_is_identical(tmp_path):
    p = make_project(tmp_path / "proj")
    export_voc(p, tmp_path / "voc1", seed=5)
    p2 = import_voc(tmp_path / "voc1", tmp_path / "p2")
    assert p2.labels == p.labels
    for e in p.images:
        a, b = p.load_annotation(e.key), p2.load_annotation(_flat(e.key))
        assert np.array_equal(a.class_map, b.class_map)
        assert sorted(np.unique(a.instance_map).tolist()) != [] and len(a.instances) == len(b.instances)
    export_voc(p2, tmp_path / "voc2", seed=99)  # the imported split is kept, whatever the seed
    cmp = filecmp.dircmp(tmp_path / "voc1", tmp_path / "voc2")

    def same(c):
        return not c.left_only and not c.right_only and not c.diff_files and all(same(s) for s in c.subdirs.values())

    assert same(cmp)
    for sub in ("JPEGImages", "SegmentationClass", "SegmentationObject"):
        for f in (tmp_path / "voc1").joinpath(*VOC, sub).iterdir():
            assert f.read_bytes() == (tmp_path / "voc2").joinpath(*VOC, sub, f.name).read_bytes()


def test_voc_import_errors(tmp_path):
    p = make_project(tmp_path / "proj", names=("a.png", "b.png"))
    export_voc(p, tmp_path / "voc")
    root = tmp_path.joinpath("voc", *VOC)
    with pytest.raises(FormatError, match="not a Pascal VOC folder"):
        import_voc(tmp_path / "proj", tmp_path / "x")
    # a class id the label set lacks
    small = LabelSet(["background", "one"])
    with pytest.raises(FormatError, match="--map"):
        import_voc(tmp_path / "voc", tmp_path / "x", labels=small)
    assert not (tmp_path / "x").exists()
    # an object covering two classes
    cls = np.array(Image.open(root / "SegmentationClass" / "a.png"))
    obj = np.zeros_like(cls)
    obj[cls == 0] = 1
    obj[:1, :] = 1
    Image.fromarray(obj).save(root / "SegmentationObject" / "a.png")
    with pytest.raises(FormatError, match="one class"):
        import_voc(root, tmp_path / "x")
    (root / "SegmentationObject" / "a.png").unlink()
    (root / "JPEGImages" / "b.jpg").unlink()
    with pytest.raises(FormatError, match="b.jpg"):
        import_voc(root, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_voc_import_project_folder_must_be_new(tmp_path):
    p = make_project(tmp_path / "proj", names=("a.png",))
    export_voc(p, tmp_path / "voc")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    with pytest.raises(SegStudioError, match="not empty"):
        import_voc(tmp_path / "voc", tmp_path / "busy")
    with pytest.raises(SegStudioError, match="overlaps"):
        import_voc(tmp_path / "voc", tmp_path / "voc" / "proj")
    shutil.rmtree(tmp_path / "busy")
    q = import_voc(tmp_path / "voc", tmp_path / "busy")
    assert q.status("a") == "reviewed"


def test_non_ascii_names_reach_torchvision(tmp_path):
    p = make_project(tmp_path / "proj", names=("ñandú.png", "日本/写真.jpg"))
    export_voc(p, tmp_path / "out", val_fraction=0)
    ds = torchvision.datasets.VOCSegmentation(str(tmp_path / "out"), year="2012", image_set="train", download=False)
    assert sorted(Path(x).stem for x in ds.images) == sorted(["ñandú", "日本__写真"])
    for i, path in enumerate(ds.images):
        key = "ñandú" if "ñandú" in path else "日本/写真"
        assert np.array_equal(np.array(ds[i][1]), p.load_annotation(key).class_map)


def test_saved_class_png_is_reused_only_while_unchanged(tmp_path):
    from segstudio.formats.export_common import ExportItem, _signature

    p = make_project(tmp_path / "proj", names=("a.png",))
    export_voc(p, tmp_path / "out")
    saved = p.annotation_files("a")
    out = tmp_path.joinpath("out", *VOC, "SegmentationClass", "a.png")
    assert out.read_bytes() == saved["class"].read_bytes()
    item = ExportItem(1, "a", p.load_annotation("a"), p.image_path("a"), saved, {"class": _signature(saved["class"])})
    assert item.saved_bytes("class") == saved["class"].read_bytes()
    p.save_annotation("a", p.load_annotation("a"))  # an autosave replaces the file
    assert item.saved_bytes("class") is None


def test_flat_names_are_unique_also_without_case():
    from segstudio.formats.names import flat_names

    names = flat_names(["a/b", "a__b", "A__B", "x", " y "])
    assert names["a/b"] == "a__b" and len(set(n.casefold() for n in names.values())) == 5
    assert names["a__b"] == "a__b~2" and names["A__B"] == "A__B~3" and names[" y "] == "y"


def test_safe_relpath():
    from segstudio.formats.names import safe_relpath

    assert safe_relpath("dir\\sub/./ñ.jpg", "src") == "dir/sub/ñ.jpg"
    for bad in ("../x.jpg", "a/../../x.jpg", "/etc/passwd", "C:/x.jpg", "\\\\server\\x.jpg", "", "a\x00b", 5):
        with pytest.raises(FormatError):
            safe_relpath(bad, "src")
