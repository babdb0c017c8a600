"""`segstudio import` and `segstudio export` end to end (in-process CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.cli import main
from segstudio.formats.project import Project
from tests import child
from tests.formats.io_data import make_project, write_image



def test_export_all_formats_and_overwrite(tmp_path, capsys):
    make_project(tmp_path / "proj")
    for fmt in ("voc", "coco", "panoptic"):
        assert main(["export", str(tmp_path / "proj"), "--format", fmt, "--out", str(tmp_path / fmt),
                     "--val-fraction", "0.4", "--seed", "2"]) == 0
        assert f"{fmt}: 5 images (3 train, 2 val)" in capsys.readouterr().out
    assert (tmp_path / "voc" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / "val.txt").exists()
    before = (tmp_path / "coco" / "instances_train.json").read_bytes()
    assert main(["export", str(tmp_path / "proj"), "--format", "coco", "--out", str(tmp_path / "coco")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--overwrite" in err
    assert main(["export", str(tmp_path / "proj"), "--format", "coco", "--out", str(tmp_path / "coco"),
                 "--overwrite", "--polygons", "--unassigned", "components"]) == 0
    assert (tmp_path / "coco" / "instances_train.json").read_bytes() != before
    assert "polygons" in capsys.readouterr().out


def test_export_needs_a_project(tmp_path, capsys):
    write_image(tmp_path / "imgs" / "a.png", 8, 8)
    assert main(["export", str(tmp_path / "imgs"), "--format", "voc", "--out", str(tmp_path / "o")]) == 2
    assert "not a segstudio project" in capsys.readouterr().err


def test_import_masks_like_camvid_then_export(tmp_path, capsys):
    img, msk = tmp_path / "train", tmp_path / "trainannot"
    rng = np.random.default_rng(0)
    msk.mkdir()
    for i in range(3):
        write_image(img / f"f{i}.png", 12, 16, i)
        Image.fromarray(rng.integers(0, 12, (12, 16)).astype(np.uint8)).save(msk / f"f{i}.png")
    names = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
             "Bicyclist"]
    (tmp_path / "camvid.txt").write_text("\n".join(names) + "\n")
    args = ["import", str(img), "--format", "masks", "--masks", str(msk), "--labels", str(tmp_path / "camvid.txt"),
            "--project", str(tmp_path / "proj")]
    assert main(args) == 2
    assert "[11]" in capsys.readouterr().err and not (tmp_path / "proj").exists()
    assert main(args + ["--void", "11"]) == 0
    assert "3 images (3 annotated), 11 classes" in capsys.readouterr().out
    p = Project.open(tmp_path / "proj")
    assert (p.load_annotation("f0").class_map == 255).any()
    assert main(["export", str(tmp_path / "proj"), "--format", "voc", "--out", str(tmp_path / "voc")]) == 0


def test_import_coco_round_trip_and_bad_map(tmp_path, capsys):
    make_project(tmp_path / "proj", void=False)
    assert main(["export", str(tmp_path / "proj"), "--format", "coco", "--out", str(tmp_path / "c1")]) == 0
    assert main(["import", str(tmp_path / "c1" / "instances_train.json"), str(tmp_path / "c1" / "instances_val.json"),
                 "--format", "coco", "--project", str(tmp_path / "p2")]) == 0
    assert main(["export", str(tmp_path / "p2"), "--format", "coco", "--out", str(tmp_path / "c2")]) == 0
    for s in ("train", "val"):
        assert (tmp_path / "c1" / f"instances_{s}.json").read_bytes() == (tmp_path / "c2" / f"instances_{s}.json").read_bytes()
    capsys.readouterr()
    assert main(["import", str(tmp_path / "c1" / "instances_train.json"), "--format", "coco", "--project",
                 str(tmp_path / "p3"), "--map", "1:x"]) == 2
    assert "SRC:DST" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "c1"), str(tmp_path / "c2"), "--format", "voc", "--project",
                 str(tmp_path / "p4")]) == 2


def test_help_lists_commands_without_heavy_imports():
    code = ("import sys; from segstudio.cli import build_parser; build_parser().format_help(); "
            "print(json.dumps([m for m in ('torch', 'PySide6', 'pycocotools') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], cwd=child.CWD, env=child.env(), capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    help_text = subprocess.run([sys.executable, "-m", "segstudio", "--help"], cwd=child.CWD, env=child.env(),
                               capture_output=True,
                               text=True).stdout
    assert "import" in help_text and "export" in help_text


def test_export_several_formats_in_one_pass(tmp_path, capsys):
    make_project(tmp_path / "proj", names=("a.png", "b.png"))
    assert main(["export", str(tmp_path / "proj"), "--format", "voc,coco", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "voc" / "VOCdevkit").is_dir()
    assert (tmp_path / "out" / "coco" / "instances_train.json").is_file()
    assert main(["export", str(tmp_path / "proj"), "--format", "voc,tiff", "--out", str(tmp_path / "o2")]) == 2
    assert "choose from voc, coco, panoptic" in capsys.readouterr().err


def test_imported_split_is_kept_unless_resplit(tmp_path):
    make_project(tmp_path / "proj", names=tuple(f"i{i}.png" for i in range(6)))
    assert main(["export", str(tmp_path / "proj"), "--format", "voc", "--out", str(tmp_path / "v1"),
                 "--val-fraction", "0.5"]) == 0
    assert main(["import", str(tmp_path / "v1"), "--format", "voc", "--project", str(tmp_path / "p2")]) == 0
    sets = Path("VOCdevkit", "VOC2012", "ImageSets", "Segmentation", "val.txt")
    assert main(["export", str(tmp_path / "p2"), "--format", "voc", "--out", str(tmp_path / "v2")]) == 0
    assert (tmp_path / "v2" / sets).read_text() == (tmp_path / "v1" / sets).read_text()
    assert main(["export", str(tmp_path / "p2"), "--format", "voc", "--out", str(tmp_path / "v3"), "--resplit",
                 "--val-fraction", "0"]) == 0
    assert (tmp_path / "v3" / sets).read_text() == ""
