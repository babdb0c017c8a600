"""Bad input fed to the real command line ends in one clear ``error:`` line and exit status 2.

Each case builds a small broken input, runs ``segstudio ...`` (the in-process ``main``; the pipe
test runs ``python -m segstudio``) and checks: status 2, exactly one ``error:`` line on stderr, that
line names the file or option, no traceback, no stray warning.  Inputs with a documented outcome
other than an error (clipped coordinates, names that are not UTF-8...) are checked after the table.
"""

from __future__ import annotations

import base64
import errno
import io
import json
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.formats.project import Project
from tests.formats.io_data import make_project, write_image

REPO = Path(__file__).resolve().parents[1]
H, W = 12, 16


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:  # argparse
            rc = e.code
    out, err = capsys.readouterr()
    shown = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not shown, f"stray warnings: {[str(w.message) for w in shown]}"
    return rc, out, err


def assert_one_error(rc: int, err: str, names: str) -> None:
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(errors) == 1, (rc, err)
    assert names in errors[0], errors[0]


def huge_png(path: Path, w: int = 100_000, h: int = 100_000) -> Path:
    """A PNG whose header claims w×h pixels (its data is a few bytes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))
    return path


# -- the inputs ----------------------------------------------------------------------------
def _coco(tmp: Path, text: str | None = None, image=None, ann=None) -> list:
    write_image(tmp / "src" / "a.png", H, W)
    data = {"images": [image or {"id": 1, "file_name": "a.png", "width": W, "height": H}],
            "categories": [{"id": 1, "name": "fig"}], "annotations": [ann] if ann else []}
    (tmp / "src" / "ann.json").write_text(text if text is not None else json.dumps(data))
    return ["import", tmp / "src" / "ann.json", "--format", "coco", "--project", tmp / "p"], tmp / "src" / "ann.json"


def coco_negative_rle(tmp):
    return _coco(tmp, ann={"id": 1, "image_id": 1, "category_id": 1,
                           "segmentation": {"size": [H, W], "counts": [-10, 10, H * W]}})


def coco_nan_image_id(tmp):
    return _coco(tmp, text='{"images": [{"id": NaN, "file_name": "a.png", "width": 16, "height": 12}], '
                           '"categories": [{"id": 1, "name": "fig"}], "annotations": []}')


def coco_width_1e400(tmp):
    return _coco(tmp, text='{"images": [{"id": 1, "file_name": "a.png", "width": 1e400, "height": 12}], '
                           '"categories": [{"id": 1, "name": "fig"}], "annotations": []}')


def coco_nested_100000_deep(tmp):
    return _coco(tmp, text="[" * 100_000 + "]" * 100_000)


def coco_image_of_100000x100000(tmp):
    args, src = _coco(tmp, image={"id": 1, "file_name": "big.png", "width": 100_000, "height": 100_000})
    huge_png(src.parent / "big.png")
    return args, "big.png"


def coco_nan_polygon(tmp):
    return _coco(tmp, ann={"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 5, 0, 5, "x"]]})


def masks_image_header_100000x100000(tmp):
    huge_png(tmp / "imgs" / "a.png")
    (tmp / "masks").mkdir()
    (tmp / "labels.txt").write_text("background\nfig\n")
    return ["import", tmp / "imgs", "--format", "masks", "--masks", tmp / "masks", "--labels", tmp / "labels.txt",
            "--project", tmp / "p"], "a.png"


def masks_mask_header_100000x100000(tmp):
    write_image(tmp / "imgs" / "a.png", H, W)
    huge_png(tmp / "masks" / "a.png")
    (tmp / "labels.txt").write_text("background\nfig\n")
    return ["import", tmp / "imgs", "--format", "masks", "--masks", tmp / "masks", "--labels", tmp / "labels.txt",
            "--project", tmp / "p"], str(tmp / "masks" / "a.png")


def _labelme(tmp: Path, shape: dict | None = None, text: str | None = None, image_data: bytes | None = None):
    folder = tmp / "lm"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"shapes": [shape] if shape else [], "imageHeight": H, "imageWidth": W}
    if image_data is None:
        write_image(folder / "a.png", H, W)
        data["imagePath"] = "a.png"
    else:
        data["imageData"] = base64.b64encode(image_data).decode()
    (folder / "a.json").write_text(text if text is not None else json.dumps(data))
    return ["import", folder, "--format", "labelme", "--project", tmp / "p"], str(folder / "a.json")


def labelme_circle_with_one_point(tmp):
    return _labelme(tmp, {"label": "fig", "shape_type": "circle", "points": [[3, 3]]})


def labelme_rectangle_with_one_point(tmp):
    return _labelme(tmp, {"label": "fig", "shape_type": "rectangle", "points": [[3, 3]]})


def labelme_nan_coordinates(tmp):
    write_image(tmp / "lm" / "a.png", H, W)
    return _labelme(tmp, text='{"imagePath": "a.png", "shapes": [{"label": "fig", "shape_type": "polygon", '
                              '"points": [[1, 1], [NaN, 5], [8, 8]]}]}')


def labelme_embedded_image_of_100000x100000(tmp):
    return _labelme(tmp, {"label": "fig", "points": [[1, 1], [5, 1], [5, 5]]},
                    image_data=huge_png(tmp / "h.png").read_bytes())


def _pred_folders(tmp: Path) -> tuple[Path, Path]:
    gt, pred = tmp / "gt", tmp / "pred"
    for d in (gt, pred):
        d.mkdir()
        Image.fromarray(np.zeros((H, W), np.uint8)).save(d / "a.png")
    return gt, pred


def evaluate_num_classes_0(tmp):
    gt, pred = _pred_folders(tmp)
    return ["evaluate", "--gt", gt, "--pred", pred, "--num-classes", "0"], "--num-classes"


def evaluate_json_is_a_folder(tmp):
    gt, pred = _pred_folders(tmp)
    return ["evaluate", "--gt", gt, "--pred", pred, "--json", tmp], "--json"


def evaluate_mask_header_100000x100000(tmp):
    gt, pred = _pred_folders(tmp)
    huge_png(gt / "a.png")
    return ["evaluate", "--gt", gt, "--pred", pred], str(gt / "a.png")


def evaluate_fifo(tmp):
    gt, pred = _pred_folders(tmp)
    (gt / "a.png").unlink()
    os.mkfifo(gt / "a.png")
    return ["evaluate", "--gt", gt, "--pred", pred], "named pipe"


def evaluate_symlink_loop(tmp):
    gt, pred = _pred_folders(tmp)
    (gt / "a.png").unlink()
    os.symlink("a.png", gt / "a.png")
    return ["evaluate", "--gt", gt, "--pred", pred], "symbolic link loop"


def predict_resize_minus_5(tmp):
    return ["predict", "--model", "lraspp_mobilenet_v3_large", "--resize", "-5", "--out", tmp / "o", tmp], "--resize"


def predict_score_threshold_5(tmp):
    return ["predict", "--model", "maskrcnn_resnet50_fpn", "--score-threshold", "5", "--out", tmp / "o",
            tmp], "--score-threshold"


def _finetune(tmp, *extra):
    return ["finetune", tmp, "--model", "lraspp_mobilenet_v3_large", "--weights", "none", *extra]


def finetune_lr_nan(tmp):
    return _finetune(tmp, "--lr", "nan", "--out", tmp / "o"), "--lr"


def finetune_out_is_a_file(tmp):
    (tmp / "afile").write_text("x")
    return _finetune(tmp, "--out", tmp / "afile"), "afile"


def finetune_val_fraction_1(tmp):
    return _finetune(tmp, "--val-fraction", "1.0", "--out", tmp / "o"), "--val-fraction"


def export_damaged_meta(tmp):
    p = make_project(tmp / "proj", names=("a.png", "b.png"), h=H, w=W)
    p.annotation_files("b")["meta"].write_text('{"status": "reviewed", "instances": [')
    return ["export", tmp / "proj", "--format", "coco", "--out", tmp / "out"], "b.json"


def finetune_on_a_project_with_a_damaged_annotation(tmp):
    export_damaged_meta(tmp)
    return _finetune(tmp / "proj", "--out", tmp / "o"), "b.json"


def labelme_folder_that_is_a_link_loop(tmp):
    os.symlink("loop", tmp / "loop")
    return ["import", tmp / "loop", "--format", "labelme", "--project", tmp / "p"], "symbolic link loop"


def import_into_a_non_empty_folder(tmp):
    args, _ = _coco(tmp)
    (tmp / "p").mkdir()
    (tmp / "p" / "keep.txt").write_text("mine")
    return args, str(tmp / "p")


def voc_colour_mask_with_unknown_colour(tmp):
    voc = tmp / "voc" / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass"):
        (voc / d).mkdir(parents=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(voc / "JPEGImages" / "x.jpg")
    Image.fromarray(np.full((H, W, 3), (1, 2, 3), np.uint8)).save(voc / "SegmentationClass" / "x.png")
    return ["import", tmp / "voc", "--format", "voc", "--project", tmp / "p"], "x.png"


def _torch_file(path: Path, obj) -> Path:
    import torch

    torch.save(obj, path)
    return path


def checkpoint_version_not_a_number(tmp):
    import torch

    ckpt = _torch_file(tmp / "v.pt", {"format": "segstudio-checkpoint", "version": "one",
                                      "model": {"w": torch.zeros(1)}, "card": {}})
    write_image(tmp / "a.png", H, W)
    return ["predict", "--weights", ckpt, "--model", "lraspp_mobilenet_v3_large", "--out", tmp / "o",
            tmp / "a.png"], "v.pt"


def checkpoint_all_nan(tmp):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    state = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).state_dict()
    for v in state.values():
        if v.is_floating_point():
            v.fill_(float("nan"))
    ckpt = _torch_file(tmp / "nan.pt", state)
    write_image(tmp / "a.png", H, W)
    return ["predict", "--weights", ckpt, "--model", "lraspp_mobilenet_v3_large", "--out", tmp / "o",
            tmp / "a.png"], "nan.pt"


class _Code:
    def __reduce__(self):
        return (print, ("this must never run",))


def checkpoint_that_would_run_code(tmp):
    ckpt = _torch_file(tmp / "code.pt", {"x": _Code()})
    write_image(tmp / "a.png", H, W)
    return ["predict", "--weights", ckpt, "--model", "lraspp_mobilenet_v3_large", "--out", tmp / "o",
            tmp / "a.png"], "code.pt"


CASES = [coco_negative_rle, coco_nan_image_id, coco_width_1e400, coco_nested_100000_deep,
         coco_image_of_100000x100000, coco_nan_polygon, masks_image_header_100000x100000,
         masks_mask_header_100000x100000, labelme_circle_with_one_point, labelme_rectangle_with_one_point,
         labelme_nan_coordinates, labelme_embedded_image_of_100000x100000, evaluate_num_classes_0,
         evaluate_json_is_a_folder, evaluate_mask_header_100000x100000, evaluate_fifo, evaluate_symlink_loop,
         predict_resize_minus_5, predict_score_threshold_5, finetune_lr_nan, finetune_out_is_a_file,
         finetune_val_fraction_1, export_damaged_meta, finetune_on_a_project_with_a_damaged_annotation,
         labelme_folder_that_is_a_link_loop, import_into_a_non_empty_folder,
         voc_colour_mask_with_unknown_colour, checkpoint_version_not_a_number, checkpoint_all_nan,
         checkpoint_that_would_run_code]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_is_one_error_line_with_status_2(tmp_path, capsys, make):
    args, names = make(tmp_path)
    rc, out, err = run_cli(args, capsys)
    assert_one_error(rc, err, str(names))
    assert not (tmp_path / "p").exists() or (tmp_path / "p" / "keep.txt").exists()  # no half-made project


def test_messages_say_what_is_really_wrong(tmp_path, capsys):
    rc, _, err = run_cli(import_into_a_non_empty_folder(tmp_path)[0], capsys)
    assert "--overwrite" not in err and "new or empty folder" in err  # import has no --overwrite
    rc, _, err = run_cli(checkpoint_that_would_run_code(tmp_path)[0], capsys)
    assert "never runs code" in err and "not an allowed global by default." in err and "\x1b" not in err
    assert "this must never run" not in capsys.readouterr().out
    rc, _, err = run_cli(voc_colour_mask_with_unknown_colour(tmp_path / "v")[0], capsys)
    assert "#010203" in err and "label file" in err  # VOC import honours --labels colours now
    rc, _, err = run_cli(coco_width_1e400(tmp_path / "w")[0], capsys)
    assert "width of image 1 must be an integer, got inf" in err


def test_permission_denied_is_not_reported_as_damage(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    from segstudio.errors import SegStudioError
    from segstudio.formats import images
    from segstudio.formats.labelfile import read_label_file

    write_image(tmp_path / "a.png", H, W)
    (tmp_path / "labels.txt").write_text("background\n")
    make_project(tmp_path / "proj", names=("a.png",), h=H, w=W)

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(a[0]))

    monkeypatch.setattr(PILImage, "open", denied)
    monkeypatch.setattr(Path, "read_bytes", denied)
    for call in (lambda: images.load_image(tmp_path / "a.png"), lambda: read_label_file(tmp_path / "labels.txt"),
                 lambda: Project.open(tmp_path / "proj")):
        with pytest.raises(SegStudioError) as e:
            call()
        assert "permission denied" in str(e.value) and "damaged" not in str(e.value) \
            and "not valid JSON" not in str(e.value)


def test_pixel_limit_applies_before_decoding_everywhere(tmp_path, capsys, monkeypatch):
    """Real (decodable) images above a lowered limit: refused on import, in masks and embedded images."""
    monkeypatch.setenv("SEGSTUDIO_MAX_PIXELS", "100")  # the 16×12 test images have 192 pixels
    buf = io.BytesIO()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(buf, format="PNG")
    for args, name in (_labelme(tmp_path / "l", {"label": "fig", "points": [[1, 1], [5, 1], [5, 5]]},
                                image_data=buf.getvalue()),
                       _coco(tmp_path / "c")):
        rc, out, err = run_cli(args, capsys)
        assert_one_error(rc, err, str(name) if "lm" in str(name) else "a.png")
        assert "192 pixels, above the limit of 100 pixels" in err and "SEGSTUDIO_MAX_PIXELS" in err


def test_a_file_the_disk_refuses_is_named_not_a_traceback(tmp_path, capsys, monkeypatch):
    from segstudio.formats import atomic

    def denied(path, data):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "_write_temp", denied)
    gt, pred = _pred_folders(tmp_path)
    rc, out, err = run_cli(["evaluate", "--gt", gt, "--pred", pred, "--json", tmp_path / "m.json"], capsys)
    assert_one_error(rc, err, str(tmp_path / "m.json"))
    assert "permission denied" in err


def test_corrupt_exif_loads_without_a_warning(tmp_path):
    from segstudio.formats.images import image_size, load_image

    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06"
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "e.jpg", exif=exif)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert image_size(tmp_path / "e.jpg") == (W, H) and load_image(tmp_path / "e.jpg").shape == (H, W, 3)


# -- documented outcomes other than an error -------------------------------------------------
def test_coordinates_of_1e12_are_cut_to_the_image(tmp_path, capsys):
    big = [-1e12, -1e12, 1e12, -1e12, 1e12, 1e12, -1e12, 1e12]
    args, _ = _coco(tmp_path, ann={"id": 1, "image_id": 1, "category_id": 1, "segmentation": [big]})
    rc, out, err = run_cli(args, capsys)
    assert rc == 0, err
    assert (Project.open(tmp_path / "p").load_annotation("a").instance_map == 1).all()
    args, _ = _labelme(tmp_path / "l", {"label": "fig", "points": np.reshape(big, (4, 2)).tolist()})
    write_image(tmp_path / "l" / "lm" / "b.png", H, W)
    (tmp_path / "l" / "lm" / "b.json").write_text(json.dumps({
        "imagePath": "b.png", "shapes": [{"label": "fig", "points": [[1e12, 1e12], [2e12, 1e12], [2e12, 2e12]]}]}))
    rc, out, err = run_cli(args, capsys)
    assert rc == 0, err
    p = Project.open(tmp_path / "l" / "p")
    assert (p.load_annotation("a").class_map == 1).all()
    assert "no pixels inside the 16×12 image" in out and "covered by later shapes" not in out


def test_file_names_that_are_not_utf8_export_in_every_format(tmp_path, capsys):
    from torchvision.datasets import VOCSegmentation

    make_project(tmp_path / "proj", names=("a.png", os.fsdecode(b"caf\xe9.png")), h=H, w=W)
    rc, out, err = run_cli(["export", tmp_path / "proj", "--format", "voc,coco,panoptic", "--out",
                            tmp_path / "out"], capsys)
    assert rc == 0, err
    assert len(VOCSegmentation(tmp_path / "out" / "voc", year="2012", image_set="trainval")) == 2
    assert (tmp_path / "out" / "coco" / os.fsdecode(b"caf\xe9.png")).exists()


def test_disk_full_during_export_cleans_up_and_says_how_much_space(tmp_path, capsys, monkeypatch):
    from segstudio.formats import export_images

    make_project(tmp_path / "proj", names=("a.png", "b.png", "c.png"), h=H, w=W)
    calls = []

    def full(src, dst, *a, **k):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return __import__("shutil").copyfile(src, dst)

    monkeypatch.setattr(export_images.shutil, "copyfile", full)
    rc, out, err = run_cli(["export", tmp_path / "proj", "--format", "coco", "--out", tmp_path / "out"], capsys)
    assert_one_error(rc, err, str(tmp_path / "out"))
    assert "disk is full" in err and "needs about" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]  # nothing left behind


def test_folders_of_killed_exports_are_removed_by_the_next_one(tmp_path, capsys):
    make_project(tmp_path / "proj", names=("a.png",), h=H, w=W)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    for name, pid in (("dead", int(dead.stdout)), ("live", os.getpid())):
        stale = tmp_path / f".out.segstudio-partial-{name}"
        (stale / "JPEGImages").mkdir(parents=True)
        Path(f"{stale}.owner").write_text(json.dumps({"host": socket.gethostname(), "pid": pid}))
    rc, out, err = run_cli(["export", tmp_path / "proj", "--format", "voc", "--out", tmp_path / "out"], capsys)
    assert rc == 0, err
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".out.segstudio-partial-live", ".out.segstudio-partial-live.owner", "out", "proj"]
    assert "removed 1 unfinished export folder" in out


def test_damaged_annotation_can_be_left_out_loudly(tmp_path, capsys):
    args, _ = export_damaged_meta(tmp_path)
    rc, out, err = run_cli(args + ["--skip-damaged"], capsys)
    assert rc == 0, err
    assert "coco: 1 images" in out and "left out 1 image whose annotation cannot be read" in out


def test_output_cut_off_by_a_closed_pipe_is_no_traceback(tmp_path):
    gt, pred = _pred_folders(tmp_path)
    for i in range(40):  # enough lines that the writer meets the closed pipe
        Image.fromarray(np.full((H, W), i % 20, np.uint8)).save(gt / f"m{i}.png")
        Image.fromarray(np.full((H, W), (i + 1) % 20, np.uint8)).save(pred / f"m{i}.png")
    proc = subprocess.Popen([sys.executable, "-m", "segstudio", "evaluate", "--gt", str(gt), "--pred", str(pred)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    proc.stdout.close()  # like `| head` that has read enough
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_all_void_training_data_publishes_nothing(tmp_path, capsys):
    from tests.ml.training_data import make_mask_folders

    images, masks, labels = make_mask_folders(tmp_path / "data", n=3, size=32)
    for f in masks.iterdir():
        Image.fromarray(np.full((32, 32), 3, np.uint8)).save(f)
    rc, out, err = run_cli(["finetune", images, "--masks", masks, "--labels", labels, "--void", "3",
                            "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--batch-size", "2",
                            "--crop", "32", "--workers", "0", "--device", "cpu", "--epochs", "1",
                            "--out", tmp_path / "run"], capsys)
    assert_one_error(rc, err, "all void")
    assert not (tmp_path / "run" / "best.pt").exists()


def test_the_real_entry_point_gives_the_same_single_line(tmp_path):
    args, names = coco_nested_100000_deep(tmp_path)
    r = subprocess.run([sys.executable, "-m", "segstudio", *map(str, args)], cwd=REPO, capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert r.returncode == 2 and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(names) in r.stderr and r.stderr.strip().count("\n") == 0
