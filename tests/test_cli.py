import json
import subprocess
import sys

import numpy as np

from segstudio.cli import main
from segstudio.formats.masks import write_label_png
from tests import child


def run_cli(*args, cwd=child.CWD):
    return subprocess.run([sys.executable, "-m", "segstudio", *args], cwd=cwd, env=child.env(),
                          capture_output=True, text=True)


def _folders(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    g1 = np.array([[0, 0, 1, 1], [0, 255, 1, 2]], np.uint8)
    p1 = np.array([[0, 1, 1, 1], [0, 3, 2, 255]], np.uint8)
    write_label_png(gt / "img1.png", g1)
    write_label_png(pred / "img1.png", p1)
    write_label_png(gt / "img2.png", np.zeros((3, 3), np.uint8))
    write_label_png(pred / "img2.png", np.zeros((3, 3), np.uint8))
    return gt, pred


def test_evaluate_writes_the_contract_json(tmp_path, capsys):
    gt, pred = _folders(tmp_path)
    labels = tmp_path / "labels.txt"
    labels.write_text("bg\nroad\ncar\nsign\n", encoding="utf-8")
    out = tmp_path / "m.json"
    assert main(["evaluate", "--gt", str(gt), "--pred", str(pred), "--labels", str(labels), "--json", str(out)]) == 0
    js = json.loads(out.read_text())
    assert set(js) == {"pixel_accuracy", "mean_pixel_accuracy", "miou", "fw_iou", "per_class"}
    assert js["pixel_accuracy"] == (4 + 9) / (7 + 9)
    assert [c["name"] for c in js["per_class"]] == ["bg", "road", "car", "sign"]
    assert set(js["per_class"][0]) == {"id", "name", "iou", "accuracy", "dice", "precision", "recall"}
    assert js["per_class"][3]["iou"] is None  # 'sign' predicted only on a void pixel
    assert js["per_class"][0]["iou"] == 11 / 12
    assert "mIoU" in capsys.readouterr().out


def test_evaluate_defaults_to_voc_names(tmp_path):
    gt, pred = _folders(tmp_path)
    out = tmp_path / "m.json"
    assert main(["evaluate", "--gt", str(gt), "--pred", str(pred), "--json", str(out)]) == 0
    js = json.loads(out.read_text())
    assert len(js["per_class"]) == 21 and js["per_class"][1]["name"] == "aeroplane"


def test_evaluate_bad_input_exits_2_with_one_error_line(tmp_path):
    gt, pred = _folders(tmp_path)
    (pred / "img2.png").unlink()
    r = run_cli("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "img2" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    write_label_png(pred / "img2.png", np.zeros((4, 4), np.uint8))
    r = run_cli("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert r.returncode == 2 and "4×4" in r.stderr
    r = run_cli("evaluate", "--gt", str(tmp_path / "nope"), "--pred", str(pred))
    assert r.returncode == 2 and "not found" in r.stderr


def test_help_and_version():
    r = run_cli("--help")
    assert r.returncode == 0 and "evaluate" in r.stdout
    r = run_cli("--version")
    assert r.returncode == 0 and "segstudio" in r.stdout
