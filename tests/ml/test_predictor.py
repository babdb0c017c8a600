"""Every registered model builds with weights=None and predicts with the right shapes, dtypes and ids."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.errors import ModelError
from segstudio.ml.postprocess import upsampled_argmax
from segstudio.ml.predictor import Predictor
from segstudio.ml.registry import list_cards
from segstudio.ml.results import InstanceResult, SemanticResult
from segstudio.ml.weights import load_model

SEMANTIC = [c.name for c in list_cards() if c.task == "semantic"]
INSTANCE = [c.name for c in list_cards() if c.task == "instance"]


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    img = np.zeros((48, 64, 3), np.uint8)  # not square: catches swapped axes
    img[:, 32:] = (200, 40, 40)
    return np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def lraspp():
    torch.manual_seed(0)
    return load_model("lraspp_mobilenet_v3_large", "none")


@pytest.mark.parametrize("name", SEMANTIC)
def test_semantic_models_predict(name, image):
    torch.manual_seed(0)
    lm = load_model(name, "none")
    p = Predictor(lm, "cpu", resize=0)
    r = p.predict(image)
    assert isinstance(r, SemanticResult)
    assert r.class_map.shape == (48, 64) and r.class_map.dtype == np.uint8
    assert r.class_map.max() < len(lm.labels) == 21
    assert r.confidence.shape == (48, 64) and r.confidence.dtype == np.float32
    assert ((r.confidence > 0) & (r.confidence <= 1)).all()
    probs, ids = r.probabilities(0.0)
    assert probs.shape == (len(ids), 48, 64) and np.allclose(probs.sum(0), 1, atol=1e-4)
    assert set(np.unique(r.class_map)) <= set(ids.tolist())
    top, top_ids = r.probabilities(0.0, top_k=2)
    assert top.shape == (2, 48, 64) and set(top_ids.tolist()) <= set(ids.tolist())
    assert r.model == name and r.version == "none"


@pytest.mark.parametrize("name", INSTANCE)
def test_instance_models_predict(name, image):
    torch.manual_seed(0)
    lm = load_model(name, "none")
    lm.model.roi_heads.detections_per_img = 10
    lm.model.rpn._pre_nms_top_n["testing"] = lm.model.rpn._post_nms_top_n["testing"] = 50  # keep it quick
    p = Predictor(lm, "cpu", resize=64, score_threshold=0.0, mask_threshold=0.3)
    r = p.predict(image)
    assert isinstance(r, InstanceResult) and r.size == (48, 64)
    assert r.instances, "a random Mask R-CNN still returns low-score detections at threshold 0"
    scores = [i.score for i in r.instances]
    assert scores == sorted(scores, reverse=True)
    coco = LabelSet.coco_things()
    for inst in r.instances:
        x0, y0, x1, y1 = inst.box
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 48
        assert inst.mask.shape == (y1 - y0, x1 - x0) and inst.mask.dtype == bool and inst.mask.any()
        assert 1 <= inst.class_id < 81 and coco.name_of(inst.class_id) == inst.class_name
        assert inst.prob.dtype == np.float32 and ((inst.prob >= 0.3) == inst.mask).all()
    doc = r.to_annotation()
    assert doc.invariant_errors() == [] and doc.shape == (48, 64) and doc.instances
    cut = float(np.median(scores)) + 1e-6
    high = Predictor(lm, "cpu", resize=64, score_threshold=cut).predict(image)
    assert 0 < len(r.instances) - len(high.instances) and all(i.score >= cut for i in high.instances)


def test_preprocessing_matches_the_weights_transforms(lraspp):
    img = np.random.default_rng(1).integers(0, 256, (300, 401, 3), dtype=np.uint8)
    p = Predictor(lraspp, "cpu")
    ours = p.preprocess(img)
    ref = lraspp.transforms(torch.from_numpy(img).permute(2, 0, 1))[None]
    assert ours.shape == ref.shape == (1, 3, 520, 695)
    assert (ours - ref).abs().max() < 0.05  # uint8 rounding of the resized image at most


def test_labels_mapped_by_name_unknown_classes_void(lraspp, image):
    lm = load_model("lraspp_mobilenet_v3_large", "none")
    head = lm.model.classifier
    for conv in (head.low_classifier, head.high_classifier):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    voc = LabelSet.voc()
    head.high_classifier.bias.data[voc.id_of("dog")] = 5.0
    target = LabelSet(["background", "cat", "dog"])
    r = Predictor(lm, "cpu", labels=target, resize=0).predict(image)
    assert (r.class_map == 2).all() and r.labels == target
    head.high_classifier.bias.data[voc.id_of("dog")] = 0.0
    head.high_classifier.bias.data[voc.id_of("train")] = 5.0
    r = Predictor(lm, "cpu", labels=target, resize=0).predict(image)
    assert (r.class_map == VOID_ID).all()


def test_large_images_are_tiled(lraspp):
    img = np.random.default_rng(2).integers(0, 256, (70, 150, 3), dtype=np.uint8)
    p = Predictor(lraspp, "cpu", resize=0, max_side=64, tile=64, overlap=16)
    calls = []
    fwd = p._forward
    p._forward = lambda x: calls.append(tuple(x.shape[-2:])) or fwd(x)
    r = p.predict(img)
    assert r.class_map.shape == (70, 150) and np.isfinite(r.logits.numpy()).all()
    assert len(calls) == 2 * 3 and set(calls) == {(64, 64)}


def test_working_size_follows_the_weights(lraspp):
    p = Predictor(lraspp, "cpu")
    assert p.working_size(768, 1024) == (520, 693)
    assert p.working_size(1024, 768) == (693, 520)


@pytest.mark.parametrize("src,dst", [((65, 87), (520, 693)), ((10, 13), (64, 64)), ((64, 64), (64, 100)),
                                     ((100, 100), (50, 50)), ((33, 40), (33, 40))])
def test_upsampled_argmax_equals_interpolate_then_argmax(src, dst):
    g = torch.Generator().manual_seed(0)
    low = torch.randn(1, 21, 6, 7, generator=g) * 4
    logits = F.interpolate(low, size=src, mode="bilinear")[0]
    ref = F.interpolate(logits[None], size=dst, mode="bilinear", align_corners=False)[0].argmax(0)
    got = upsampled_argmax(logits, dst)
    assert got.shape == dst and (got.long() == ref).float().mean() > 0.9999
    lut = np.arange(256, dtype=np.uint8)[::-1].copy()
    mapped = upsampled_argmax(logits, dst, lut=lut)
    assert mapped.dtype == np.uint8 and (mapped == lut[got.numpy()]).all()
    assert (upsampled_argmax(logits, dst, dense=True).long() == ref).all()


def test_bad_images_are_rejected(lraspp):
    p = Predictor(lraspp, "cpu", resize=0)
    with pytest.raises(ModelError, match="uint8"):
        p.predict(np.zeros((8, 8, 3), np.float32), source="x.tif")
    with pytest.raises(ModelError, match="RGB"):
        p.predict(np.zeros((8, 8, 5), np.uint8))
    gray = p.predict(np.zeros((8, 8), np.uint8))
    assert gray.class_map.shape == (8, 8)


def test_prediction_waits_for_the_device_gate(lraspp, image):
    import threading

    from segstudio.ml.devices import gate_for

    p = Predictor(lraspp, "cpu", resize=0)
    gate = gate_for(p.device)
    held, release, done = threading.Event(), threading.Event(), []

    def trainer():
        with gate("background"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=trainer)
    t.start()
    held.wait(5)
    worker = threading.Thread(target=lambda: done.append(p.predict(image)))
    worker.start()
    worker.join(0.5)
    assert not done  # blocked while the training step holds the device
    release.set()
    worker.join(20)
    t.join(5)
    assert done and done[0].class_map.shape == (48, 64)


def test_semantic_result_leaves_a_prediction_memory(lraspp, image):
    r = Predictor(lraspp, "cpu", resize=0).predict(image)
    m = r.memory(k=3, max_side=32)
    assert m.size == image.shape[:2] and m.grid == (24, 32)
    assert m.model == r.model + "@" + r.version
    # the memory's top class agrees with the class map except near class boundaries
    agree = (m.top_class() == r.class_map).mean()
    assert agree > 0.9
    probs = r.logits.softmax(0).numpy()
    assert set(np.unique(m.classes[0])) <= set(r.lut[: probs.shape[0]].tolist())
    np.testing.assert_array_less(m.probs[1].astype(int) - 1, m.probs[0].astype(int) + 1)  # best first
