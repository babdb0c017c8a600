"""load_model: none / default (from the cache) / files; head replacement; clear errors."""

import shutil

import numpy as np
import pytest
import torch

from segstudio.core.labels import LabelSet
from segstudio.errors import ModelError
from segstudio.ml.registry import get_card
from segstudio.ml.weights import load_model, make_card, read_checkpoint, save_checkpoint

NAME = "lraspp_mobilenet_v3_large"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny inputs gain nothing from intra-op threads, and on a busy machine the
    thread barriers make them many times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def base():
    torch.manual_seed(0)
    return load_model(NAME, "none")


@pytest.fixture(scope="module")
def sample():
    g = torch.Generator().manual_seed(1)
    return torch.rand(1, 3, 64, 80, generator=g)


def _out(lm, x):
    with torch.inference_mode():
        return lm.model(x)["out"]


def test_none_builds_eval_model_with_voc_labels(base):
    assert not base.model.training
    assert base.labels == LabelSet.voc()
    assert base.version == "none" and base.task == "semantic"
    assert base.preprocessing.resize_size == 520 and base.preprocessing.mean[0] == pytest.approx(0.485)


def test_state_dict_roundtrip_gives_identical_outputs(base, sample, tmp_path):
    f = tmp_path / "plain.pth"
    torch.save(base.model.state_dict(), f)
    again = load_model(NAME, f)
    assert again.labels == base.labels and again.version.startswith("file:")
    assert torch.equal(_out(base, sample), _out(again, sample))


def test_checkpoint_card_gives_architecture_and_labels(base, sample, tmp_path):
    labels = LabelSet(["background", "road", "tree"])
    tuned = load_model(NAME, "none", labels=labels)
    f = tmp_path / "tuned.pt"
    save_checkpoint(f, tuned.model, make_card(NAME, labels, "v7", base_weights="none"), epoch=3)
    assert (tmp_path / "tuned.json").is_file()
    state, card = read_checkpoint(f)
    assert card["architecture"] == NAME and card["version"] == "v7"
    again = load_model(None, f)
    assert again.card.name == NAME and again.labels == labels and again.version == "v7"
    assert torch.equal(_out(tuned, sample), _out(again, sample))
    with pytest.raises(ModelError, match=f"checkpoint of {NAME}, not of fcn_resnet50"):
        load_model("fcn_resnet50", f)


def test_custom_classes_replace_heads_and_keep_backbone(base, tmp_path):
    f = tmp_path / "plain.pth"
    torch.save(base.model.state_dict(), f)
    lm = load_model(NAME, f, num_classes=4)
    assert lm.replaced_heads and len(lm.labels) == 4
    sd, ref = lm.model.state_dict(), base.model.state_dict()
    assert sd["classifier.high_classifier.weight"].shape[0] == 4
    for k in ("backbone.0.0.weight", "classifier.cbr.0.weight", "classifier.scale.1.weight"):
        assert torch.equal(sd[k], ref[k])
    with pytest.raises(ModelError, match="predicts 21 classes"):
        load_model(NAME, f, num_classes=4, replace_heads=False)


def test_aux_head_kept_only_when_asked(tmp_path):
    card = get_card("deeplabv3_mobilenet_v3_large")
    lm = load_model(card.name, "none", aux_loss=True)
    assert lm.model.aux_classifier is not None
    f = tmp_path / "dl.pth"
    torch.save(lm.model.state_dict(), f)
    plain = load_model(card.name, f)  # aux keys in the file are dropped for inference
    assert plain.model.aux_classifier is None


def test_wrong_architecture_is_a_clear_error(base, tmp_path):
    f = tmp_path / "plain.pth"
    torch.save(base.model.state_dict(), f)
    with pytest.raises(ModelError, match="not a deeplabv3_mobilenet_v3_large state dict"):
        load_model("deeplabv3_mobilenet_v3_large", f)
    with pytest.raises(ModelError, match="--model NAME"):
        load_model(None, f)


def test_checkpoint_with_wrong_class_count_is_a_clear_error(base, tmp_path):
    f = tmp_path / "bad.pt"
    card = make_card(NAME, LabelSet(["background", "a", "b"]), "1")
    save_checkpoint(f, base.model, card)  # 21 outputs but the card says 3 classes
    with pytest.raises(ModelError, match="trained for 21 classes but 3 are expected"):
        load_model(None, f)


def test_non_weights_files_are_rejected(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="junk.pth is not a loadable weights file"):
        load_model(NAME, junk)
    with pytest.raises(ModelError, match="not found"):
        load_model(NAME, tmp_path / "missing.pth")
    evil = tmp_path / "evil.pth"
    torch.save({"model": {"x": np.arange(3)}}, evil)  # numpy objects need unsafe unpickling
    with pytest.raises(ModelError, match="evil.pth"):
        load_model(NAME, evil)


def test_default_weights_come_from_the_cache(base, sample, tmp_path):
    card = get_card(NAME)
    torch.save(base.model.state_dict(), tmp_path / card.file_name)
    lm = load_model(NAME, "default", cache=tmp_path)
    assert lm.version == "default"
    assert torch.equal(_out(base, sample), _out(lm, sample))


def test_maskrcnn_default_weights_use_frozen_batchnorm(tmp_path):
    from torchvision.ops.misc import FrozenBatchNorm2d

    card = get_card("maskrcnn_resnet50_fpn")
    lm = load_model(card.name, "none")
    sd = {k: v for k, v in lm.model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / card.file_name)
    loaded = load_model(card.name, "default", cache=tmp_path)
    assert isinstance(loaded.model.backbone.body.bn1, FrozenBatchNorm2d)
    assert len(loaded.labels) == 81 and loaded.num_outputs == 91
    shutil.rmtree(tmp_path)
