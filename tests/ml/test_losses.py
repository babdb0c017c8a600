"""The losses against small cases computed by hand; median-frequency weights against a hand count;
U-Net's border weights against their definition; the choices of a training run."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from segstudio.core.labels import LabelSet
from segstudio.errors import SegStudioError, TrainingError
from segstudio.ml.data.semantic import SemanticDataset, SemanticSample
from segstudio.ml.training import transforms as T
from segstudio.ml.training.border_weights import border_weight_map
from segstudio.ml.training.class_weights import median_frequency_weights, read_class_weights
from segstudio.ml.training.losses import Criterion, cross_entropy, dice_loss


def _logits_of(probs):
    """Logits whose softmax over dim 1 is ``probs`` (N, C, H, W)."""
    return torch.log(torch.as_tensor(probs, dtype=torch.float64))


# three pixels in a row: [1/3 1/3 1/3] target 0, [1/5 3/5 1/5] target 1, and a void pixel
CE_PROBS = np.array([[1 / 3, 1 / 5, 0.98], [1 / 3, 3 / 5, 0.01], [1 / 3, 1 / 5, 0.01]]).reshape(1, 3, 1, 3)
CE_TARGET = torch.tensor([[[0, 1, 255]]])


def test_cross_entropy_by_hand():
    logits = _logits_of(CE_PROBS)
    assert float(cross_entropy(logits, CE_TARGET)) == pytest.approx((math.log(3) + math.log(5 / 3)) / 2)
    w = torch.tensor([2.0, 0.5, 1.0])
    assert float(cross_entropy(logits, CE_TARGET, w)) == pytest.approx(
        (2 * math.log(3) + 0.5 * math.log(5 / 3)) / 2)
    border = torch.tensor([[[1.0, 4.0, 100.0]]])          # U-Net: w(x) = w_c(x) + border(x); void stays out
    assert float(cross_entropy(logits, CE_TARGET, w, border)) == pytest.approx(
        (3 * math.log(3) + 4.5 * math.log(5 / 3)) / 2)
    assert float(cross_entropy(logits, CE_TARGET, None, border)) == pytest.approx(
        (2 * math.log(3) + 5 * math.log(5 / 3)) / 2)


def test_dice_by_hand():
    # class-1 probabilities of four pixels; targets 1, 0, 1 and void
    p1 = np.array([0.8, 0.4, 0.5, 0.9])
    probs = np.stack([1 - p1, p1, np.full(4, 1e-12)]).reshape(1, 3, 2, 2)
    target = torch.tensor([[[1, 0], [1, 255]]])
    d1 = 2 * (0.8 + 0.5) / ((0.8 + 0.4 + 0.5) + 2)     # class 1: Σp·g / (Σp + Σg) over valid pixels
    d0 = 2 * 0.6 / ((0.2 + 0.6 + 0.5) + 1)
    logits = _logits_of(probs)
    assert float(dice_loss(logits, target)) == pytest.approx(1 - (d0 + d1) / 2, abs=1e-6)  # class 2 absent
    w = torch.tensor([1.0, 3.0, 7.0])
    assert float(dice_loss(logits, target, w)) == pytest.approx(((1 - d0) + 3 * (1 - d1)) / 4, abs=1e-6)
    both = Criterion("ce+dice")({"out": logits}, target)
    assert float(both) == pytest.approx(float(cross_entropy(logits, target)) + 1 - (d0 + d1) / 2, abs=1e-6)
    assert float(Criterion("dice")({"out": logits}, target)) == pytest.approx(1 - (d0 + d1) / 2, abs=1e-6)


@pytest.mark.parametrize("kind", ["ce", "dice", "ce+dice"])
def test_all_void_gives_zero_loss_and_zero_gradients(kind):
    logits = torch.randn(2, 3, 4, 5, requires_grad=True)
    target = torch.full((2, 4, 5), 255)
    loss = Criterion(kind, torch.tensor([1.0, 2.0, 3.0]))({"out": logits, "aux": logits}, target)
    loss.backward()
    assert loss.item() == 0 and torch.count_nonzero(logits.grad) == 0


def test_aux_head_counts_half():
    logits = _logits_of(CE_PROBS)
    base = float(cross_entropy(logits, CE_TARGET))
    assert float(Criterion("ce")({"out": logits, "aux": logits}, CE_TARGET)) == pytest.approx(1.5 * base)


def _dataset(masks):
    samples = [SemanticSample(f"m{i}", Path(f"m{i}.png"), (lambda m=m: np.array(m, np.uint8)))
               for i, m in enumerate(masks)]
    return SemanticDataset(samples, LabelSet(["a", "b", "c", "d"]))


def test_median_frequency_weights_by_hand_count():
    masks = [[[0, 0, 1], [1, 255, 0]],      # class 0: 3 px, class 1: 2 px, 5 valid px
             [[0, 2], [2, 2]]]              # class 0: 1 px, class 2: 3 px, 4 valid px
    weights, n = median_frequency_weights(_dataset(masks), 4)
    # freq(c) = pixels of c / valid pixels of the images holding c
    f0, f1, f2 = 4 / 9, 2 / 5, 3 / 4
    median = f0
    assert n == 2
    assert weights == pytest.approx([median / f0, median / f1, median / f2, 0.0])
    with pytest.raises(SegStudioError, match="no labelled pixel"):
        median_frequency_weights(_dataset([[[255, 255]]]), 4)


def test_class_weights_file(tmp_path):
    f = tmp_path / "w.txt"
    f.write_text("# road, car, sky, person\n0.5, 2\n1 # sky\n4\n", "utf-8")
    assert read_class_weights(f, 4).tolist() == [0.5, 2, 1, 4]
    with pytest.raises(SegStudioError, match="holds 4 class weights but the label set has 3"):
        read_class_weights(f, 3)
    f.write_text("1 x 2", "utf-8")
    with pytest.raises(SegStudioError, match=r"w\.txt, line 1: 'x' is not a number"):
        read_class_weights(f, 3)
    f.write_text("1 -2 2", "utf-8")
    with pytest.raises(SegStudioError, match=">= 0"):
        read_class_weights(f, 3)
    with pytest.raises(SegStudioError, match="not found"):
        read_class_weights(tmp_path / "missing.txt", 3)


def test_border_weights_by_hand_and_against_the_definition():
    inst = np.zeros((10, 10), np.int32)
    inst[0, 0], inst[0, 4], inst[9, 9] = 1, 2, 3
    w = border_weight_map(inst, w0=10, sigma=4)
    assert w[0, 2] == pytest.approx(10 * math.exp(-(2 + 2) ** 2 / 32), rel=1e-5)       # midway: d1 = d2 = 2
    assert w[3, 0] == pytest.approx(10 * math.exp(-(3 + 5) ** 2 / 32), rel=1e-5)       # d1 = 3, d2 = √(9+16)
    assert w[0, 0] == pytest.approx(10 * math.exp(-(0 + 4) ** 2 / 32), rel=1e-5)       # inside: d1 = 0
    assert border_weight_map(np.where(inst == 1, 1, 0), 10, 4).max() == 0              # one instance: no seam
    # random instances against the definition, computed by brute force
    rng = np.random.default_rng(0)
    inst = np.zeros((24, 30), np.int32)
    for k in range(1, 7):
        y, x = rng.integers(0, 20), rng.integers(0, 26)
        inst[y:y + rng.integers(1, 6), x:x + rng.integers(1, 6)] = k
    yy, xx = np.mgrid[:24, :30]
    dist = []
    for k in np.unique(inst[inst > 0]):
        py, px = np.nonzero(inst == k)
        dist.append(np.sqrt((yy[..., None] - py) ** 2 + (xx[..., None] - px) ** 2).min(-1))
    d = np.sort(np.stack(dist), 0)
    expected = 10 * np.exp(-(d[0] + d[1]) ** 2 / (2 * 3.0 ** 2))
    assert np.abs(border_weight_map(inst, 10, 3.0) - expected).max() < 1e-3 * 10


def test_weights_follow_the_mask_through_flip_pad_and_crop():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 255, (20, 24, 3), np.uint8)
    mask = rng.integers(0, 3, (20, 24)).astype(np.uint8)
    tf = T.SegmentationTrainTransform(crop_size=28, base_size=20, scale=(1.0, 1.0), hflip=1.0)
    x, m, w = tf(img, mask, mask.astype(np.float32))
    assert x.shape == (3, 28, 28) and m.shape == w.shape == (28, 28)
    valid = m != 255
    assert valid.sum() == 20 * 24 and torch.equal(w[valid], m[valid].float()) and (w[~valid] == 0).all()
    images, masks, weights = T.collate_semantic([(x, m, w), (x, m, w)])
    assert weights.shape == (2, 28, 28)


def _tm(task="semantic"):
    return SimpleNamespace(task=task, architecture="net", labels=LabelSet(["background", "square", "disc"]),
                           output_to_label=None)


def test_loss_choices_are_checked(tmp_path):
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.loss_setup import setup_loss
    from tests.ml.training_data import make_mask_folders

    images, masks, labels = make_mask_folders(tmp_path, n=4, size=16)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,)))
    messages = []
    setup = setup_loss(SimpleNamespace(loss="ce+dice", class_weights="median-frequency"), data, _tm(),
                       messages.append)
    assert setup.criterion.kind == "ce+dice" and setup.criterion.class_weights.shape == (3,)
    assert setup.card["class_weights"]["kind"] == "median-frequency"
    assert set(setup.card["class_weights"]["values"]) == {"background", "square", "disc"}
    assert messages and messages[0].startswith("class weights (median-frequency): background")
    with pytest.raises(SegStudioError, match="needs instance maps.*image \\+ mask folders"):
        setup_loss(SimpleNamespace(border_weight=10.0), data, _tm())
    with pytest.raises(TrainingError, match="use --loss ce or ce\\+dice"):
        setup_loss(SimpleNamespace(loss="dice", border_weight=10.0), data, _tm())
    with pytest.raises(TrainingError, match="apply to semantic models"):
        setup_loss(SimpleNamespace(loss="dice"), data, _tm("instance"))
    with pytest.raises(TrainingError, match="unknown loss"):
        setup_loss(SimpleNamespace(loss="focal"), data, _tm())


def test_voc_object_maps_give_instances_and_folders_have_none(tmp_path):
    from PIL import Image

    from segstudio.core.labels import voc_palette
    from segstudio.formats.masks import write_label_png
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.border_weights import border_weighted

    voc = tmp_path / "VOCdevkit" / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "SegmentationObject"):
        (voc / d).mkdir(parents=True)
    objects = np.zeros((16, 16), np.uint8)
    objects[2:6, 2:6], objects[2:6, 8:12], objects[6, :] = 1, 2, 255     # 255: VOC's void outline
    for name in ("a", "b"):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(voc / "JPEGImages" / f"{name}.jpg")
        write_label_png(voc / "SegmentationClass" / f"{name}.png", np.minimum(objects, 1), voc_palette())
    write_label_png(voc / "SegmentationObject" / "a.png", objects, voc_palette())
    data = open_data(DataSpec(tmp_path, val_fraction=0.0))
    by_key = {s.key: s for s in data.train.samples}
    inst = by_key["a"].read_instances()
    assert inst.dtype == np.int32 and set(np.unique(inst)) == {0, 1, 2} and (inst[6] == 0).all()
    assert by_key["b"].read_instances is None
    with pytest.raises(SegStudioError, match=r"1 of 2 training images lack one, e\.g\. b"):
        border_weighted(data.train, 10, 5)
    image, mask, weights = border_weighted(data.train.subset(["a"]), 10, 2).read(0)
    assert weights.shape == mask.shape and weights[3, 7] > 1 > weights[3, 0]   # the gap between the two
