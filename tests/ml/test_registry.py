"""Model cards: every card resolves to its builder and weights; heads are where the cards say."""

import json

import pytest
import torch

import segstudio
from segstudio.core.labels import LabelSet
from segstudio.errors import ModelError
from segstudio.ml import registry
from segstudio.ml.registry import get_card, list_cards
from segstudio.ml.weights import build_model

TORCHVISION = {"fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
               "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large",
               "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"}
ENCODER_ONLY = {"unet_resnet34", "segnet_vgg16_bn", "pspnet_resnet50", "deeplabv3plus_resnet50"}
EXPECTED = TORCHVISION | ENCODER_ONLY


def test_all_models_registered():
    cards = list_cards()
    assert {c.name for c in cards} == EXPECTED
    assert [c.task for c in cards] == sorted((c.task for c in cards), key=("semantic", "instance").index)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_card_metadata_comes_from_torchvision(name):
    card = get_card(name)
    assert card.weights_enum.meta["num_params"] == card.num_params > 1_000_000
    assert card.url.startswith("https://") and card.file_name.endswith(".pth")
    assert card.metrics  # published metrics
    labels, out_ids = card.default_labels()
    if card.task == "semantic":
        assert labels.names == LabelSet.voc().names
        assert list(out_ids) == list(range(21))
    else:
        assert labels.names == LabelSet.coco_things().names
        assert len(out_ids) == 91 and (out_ids >= 0).sum() == 81
        assert labels.names[out_ids[1]] == "person"


@pytest.mark.parametrize("name", sorted(ENCODER_ONLY))
def test_encoder_weights_fill_exactly_the_encoder(name):
    """The ImageNet classifier's keys, renamed by the card, are exactly the model's encoder keys."""
    from torchvision.models import get_model

    card = get_card(name)
    assert card.weights_kind == "encoder" and not card.has_classes
    assert card.categories == [] and card.metrics == {} and card.num_params is None
    assert card.url.startswith("https://download.pytorch.org/") and card.file_name.endswith(".pth")
    enc = card.encoder_weights
    with torch.device("meta"):
        classifier = get_model(enc.builder).state_dict()
        model = build_model(card, 5).state_dict()
    mapped = enc.model_state(classifier, "test", card.name)
    encoder = {k for k in model if k.startswith(enc.targets)}
    assert set(mapped) == encoder and len(encoder) > 50
    assert all(mapped[k].shape == model[k].shape for k in encoder)
    if "" not in enc.rename:  # keys outside every renamed prefix (and not skipped) are an error
        with pytest.raises(ModelError, match="have no place"):
            enc.model_state({**classifier, "extra.weight": torch.zeros(1)}, "test", card.name)
    with pytest.raises(ModelError, match="no published classes"):
        card.default_labels()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_head_keys_are_exactly_the_class_dependent_tensors(name):
    card = get_card(name)
    with torch.device("meta"):
        a = build_model(card, 3, aux_loss=True).state_dict()
        b = build_model(card, 5, aux_loss=True).state_dict()
    differing = {k for k in a if a[k].shape != b[k].shape}
    heads = {k for k in a if any(k.startswith(p) for p in card.head_keys)}
    assert differing == heads
    assert all(any(k.startswith(p) for k in heads) for p in card.head_keys)


def test_unknown_model_lists_known_ones():
    with pytest.raises(ModelError, match="lraspp_mobilenet_v3_large"):
        get_card("unet")


def test_missing_models_folder_is_a_clear_error(tmp_path, monkeypatch):
    from segstudio import assets

    (tmp_path / "segstudio").mkdir()
    monkeypatch.setattr(segstudio, "__file__", str(tmp_path / "segstudio" / "__init__.py"))
    monkeypatch.setattr(assets, "packaged_dir", lambda name: None)
    with pytest.raises(ModelError, match="model cards folder is missing.*reinstall"):
        registry.list_cards()


def test_bad_card_is_reported_with_its_path(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "x.json").write_text(json.dumps({"name": "x", "task": "panoptic", "builder": "b",
                                               "weights": "w", "head_keys": []}))
    monkeypatch.setattr(registry, "models_dir", lambda: folder)
    with pytest.raises(ModelError, match=r"x\.json: task must be"):
        registry.list_cards()
    (folder / "x.json").write_text("{not json")
    registry._cards.cache_clear()
    with pytest.raises(ModelError, match=r"x\.json: cannot read"):
        registry.list_cards()
    registry._cards.cache_clear()
    (folder / "x.json").write_text(json.dumps({"name": "x", "task": "semantic", "source": "keras", "builder": "b",
                                               "head_keys": []}))
    with pytest.raises(ModelError, match=r"x\.json: source must be one of torchvision, smp, segstudio"):
        registry.list_cards()
    registry._cards.cache_clear()
    (folder / "x.json").write_text(json.dumps({"name": "x", "task": "semantic", "source": "smp", "builder": "Unet",
                                               "head_keys": [], "encoder_weights": {"builder": "resnet18"}}))
    with pytest.raises(ModelError, match=r"x\.json: encoder_weights must be an object"):
        registry.list_cards()
    registry._cards.cache_clear()
