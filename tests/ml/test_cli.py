"""`segstudio predict` and `segstudio models` end to end (in-process, weights=none)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from segstudio.cli import main
from segstudio.core.labels import LabelSet
from segstudio.formats.masks import read_instance_png, read_label_png


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, size in (("a.png", (40, 56)), ("b.jpg", (32, 32))):
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def test_predict_writes_palette_pngs_and_reports_bad_files(images, tmp_path, capsys):
    torch.manual_seed(0)
    out = tmp_path / "out"
    code = main(["predict", "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--device", "cpu",
                 "--resize", "0", "--workers", "0", "--out", str(out), str(images)])
    err = capsys.readouterr().err
    assert code == 2
    assert "broken.png" in err and "2 of 3 images predicted" in err
    a = read_label_png(out / "a.png")
    assert a.shape == (40, 56) and a.dtype == np.uint8 and a.max() < 21
    im = Image.open(out / "a.png")
    assert im.mode == "P" and im.getpalette()[3 * 15:3 * 16] == list(LabelSet.voc().palette()[15])
    assert read_label_png(out / "b.png").shape == (32, 32)
    assert not (out / "broken.png").exists()


def test_predict_with_crf_and_labels(images, tmp_path, capsys):
    (images / "broken.png").unlink()
    labels = tmp_path / "labels.txt"
    labels.write_text("background\nperson\ncat\n")
    out = tmp_path / "out"
    code = main(["predict", "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--device", "cpu",
                 "--resize", "0", "--crf", "--labels", str(labels), "--out", str(out),
                 str(images / "a.png"), str(images / "b.jpg")])
    assert code == 0, capsys.readouterr().err
    a = read_label_png(out / "a.png")
    assert set(np.unique(a)) <= {0, 1, 2, 255}


def test_predict_instances(images, tmp_path, capsys):
    torch.manual_seed(0)
    out = tmp_path / "out"
    code = main(["predict", "--model", "maskrcnn_resnet50_fpn", "--weights", "none", "--device", "cpu",
                 "--resize", "48", "--score-threshold", "0", "--crf", "--out", str(out), str(images / "a.png")])
    assert code == 0, capsys.readouterr().err
    table = json.loads((out / "a_instances.json").read_text())
    ids = read_instance_png(out / "a_instances.png")
    classes = read_label_png(out / "a.png")
    assert ids.shape == classes.shape == (40, 56)
    assert table["instances"] and table["model"] == "maskrcnn_resnet50_fpn"
    for inst in table["instances"]:
        assert (classes[ids == inst["id"]] == inst["class_id"]).all()
        assert inst["area"] == (ids == inst["id"]).sum() > 0
    assert set(np.unique(ids)) - {0} == {i["id"] for i in table["instances"]}


def test_torchrun_ranks_share_the_inputs(images, tmp_path, monkeypatch, capsys):
    (images / "broken.png").unlink()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "out"
    assert main(["predict", "--model", "lraspp_mobilenet_v3_large", "--weights", "none", "--device", "cpu",
                 "--resize", "0", "--out", str(out), str(images)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]  # rank 1 of 2 gets the second file


def test_predict_input_errors(tmp_path, capsys):
    assert main(["predict", "--model", "nope", "--weights", "none", "--out", str(tmp_path / "o"),
                 str(tmp_path)]) == 2
    assert "no input images" in capsys.readouterr().err
    img = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    assert main(["predict", "--model", "nope", "--weights", "none", "--out", str(tmp_path / "o"), str(img)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_models_lists_cache_state(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    from segstudio.ml.registry import get_card

    card = get_card("fcn_resnet50")
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / card.file_name).write_bytes(b"x")
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 12
    assert rows["fcn_resnet50"]["cached"] and not rows["fcn_resnet101"]["cached"]
    assert rows["maskrcnn_resnet50_fpn"]["num_classes"] == 81
    assert rows["lraspp_mobilenet_v3_large"]["metrics"]["COCO-val2017-VOC-labels"]["miou"] > 0
    unet = rows["unet_resnet34"]  # no published segmentation weights: no classes or metrics of its own
    assert unet["num_classes"] is None and unet["classes"] is None and unet["metrics"] == {}
    assert unet["default_weights"] == "ImageNet encoder" and unet["weights_url"].endswith(".pth")
    assert 24_000_000 < unet["parameters"] < 25_000_000 and unet["source"] == "smp"
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "deeplabv3_resnet50" in text and "yes" in text
    assert "ImageNet encoder only" in text and "fine-tune on your labels first" in text
