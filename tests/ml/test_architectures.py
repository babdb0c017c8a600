"""U-Net, SegNet, PSPNet and DeepLabV3+: built from their cards, any input size, trainable,
saved and reloaded, predicting; ImageNet encoder weights through the hash-checked download."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segstudio.core.labels import LabelSet
from segstudio.errors import ModelError
from segstudio.ml import registry
from segstudio.ml.weights import load_model, make_card, save_checkpoint
from tests.local_server import serving
from tests.ml.training_data import make_sample

ARCHS = ("unet_resnet34", "segnet_vgg16_bn", "pspnet_resnet50", "deeplabv3plus_resnet50")
# the same cards with light encoders and narrow decoders, so training a few steps takes seconds
LIGHT = {
    "unet_resnet34": {"encoder_name": "tu-mobilenetv3_small_050", "encoder_depth": 3, "decoder_channels": [16, 8, 8]},
    "segnet_vgg16_bn": {"width": 0.125},
    "pspnet_resnet50": {"encoder_name": "tu-mobilenetv3_small_050", "encoder_depth": 3, "psp_out_channels": 16},
    "deeplabv3plus_resnet50": {"encoder_name": "tu-mobilenetv3_small_050", "decoder_channels": 16},
}
# a U-Net whose encoder torchvision's MobileNetV2 fills (a small file to serve)
MOBILE_UNET = {"name": "unet_mobilenet_v2", "title": "U-Net, MobileNetV2 encoder", "task": "semantic",
               "source": "smp", "builder": "Unet",
               "options": {"encoder_name": "mobilenet_v2", "decoder_channels": [32, 16, 8, 8, 8]},
               "weights": None,
               "encoder_weights": {"builder": "mobilenet_v2", "weights": "IMAGENET1K_V1",
                                   "rename": {"features.": "net.encoder.features."}, "skip": ["classifier."]},
               "head_keys": ["net.segmentation_head."]}
LABELS = LabelSet(["background", "square", "disc"])


@pytest.fixture
def light_cards(tmp_path_factory):
    """A models folder holding the four cards with LIGHT options (and the MobileNetV2 U-Net)."""
    folder = tmp_path_factory.mktemp("models")
    for name, options in LIGHT.items():
        card = json.loads((registry.models_dir() / f"{name}.json").read_text("utf-8"))
        card["options"] = options
        (folder / f"{name}.json").write_text(json.dumps(card), "utf-8")
    (folder / "unet_mobilenet_v2.json").write_text(json.dumps(MOBILE_UNET), "utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "models_dir", lambda: folder)
        yield folder


@pytest.fixture(scope="module")
def batch():
    """Four 28×30 images (not multiples of any output stride) and their masks."""
    rng = np.random.default_rng(0)
    samples = [make_sample(rng, 32) for _ in range(4)]
    rgb = [img[:28, :30] for img, _ in samples]
    masks = torch.stack([torch.from_numpy(m[:28, :30]).long() for _, m in samples])
    return rgb, masks


def _normalised(rgb, prep):
    x = torch.stack([torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float() / 255 for im in rgb])
    mean, std = torch.tensor(prep.mean).view(1, 3, 1, 1), torch.tensor(prep.std).view(1, 3, 1, 1)
    return (x - mean) / std


@pytest.mark.parametrize("name", ARCHS)
def test_registered_architecture_runs_on_odd_sizes_and_trains_a_step(name):
    torch.manual_seed(0)
    lm = load_model(name, "none", num_classes=5)
    assert lm.card.source in ("smp", "segstudio") and lm.num_outputs == 5
    with torch.inference_mode():
        out = lm.model(torch.rand(1, 3, 45, 61))
    assert set(out) == {"out"} and out["out"].shape == (1, 5, 45, 61)
    lm.model.train()
    loss = F.cross_entropy(lm.model(torch.rand(2, 3, 33, 35))["out"], torch.randint(0, 5, (2, 33, 35)))
    loss.backward()
    assert all(p.grad is not None for p in lm.model.parameters())


def test_padding_mirrors_the_border_and_crops_the_logits_back(light_cards):
    lm = load_model("unet_resnet34", "none", labels=LABELS)
    x = torch.rand(1, 3, 28, 30)
    with torch.inference_mode():
        out = lm.model(x)["out"]
        ref = lm.model.net(F.pad(x, (0, 2, 0, 4), mode="reflect"))[..., :28, :30]
    assert lm.model.multiple == 8 and torch.equal(out, ref)
    from segstudio.ml.training.model_setup import freeze, set_train_mode

    freeze(lm.model)           # the backbone is the encoder: frozen, BatchNorm statistics included
    set_train_mode(lm.model)
    assert not any(p.requires_grad for p in lm.model.net.encoder.parameters())
    assert all(p.requires_grad for p in lm.model.net.decoder.parameters())
    assert not lm.model.net.encoder.training and lm.model.net.decoder.training


@pytest.mark.parametrize("name", ARCHS)
def test_overfits_saves_reloads_and_predicts(name, light_cards, batch, tmp_path):
    from segstudio.ml.predictor import Predictor
    from segstudio.ml.training.losses import Criterion

    rgb, masks = batch
    torch.manual_seed(0)
    lm = load_model(name, "none", labels=LABELS)
    x = _normalised(rgb, lm.preprocessing)
    model, criterion = lm.model, Criterion("ce")
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    model.train()
    losses = []
    for _ in range(40):
        loss = criterion(model(x), masks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    model.eval()
    with torch.inference_mode():
        trained = model(x)["out"]
    assert (trained.argmax(1) == masks).float().mean() > 0.85

    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, model, make_card(name, LABELS, "v1", base_weights="none"))
    again = load_model(None, ckpt)
    assert again.card.name == name and again.labels == LABELS and again.version == "v1"
    with torch.inference_mode():
        assert torch.equal(again.model(x)["out"], trained)
    predictor = Predictor(again, "cpu")
    for i, im in enumerate(rgb):
        result = predictor.predict(im)
        assert result.class_map.shape == (28, 30)
        assert np.array_equal(result.class_map, trained[i].argmax(0).numpy().astype(np.uint8))


@pytest.fixture
def encoder_server(tmp_path, monkeypatch):
    """Serve a (random) torchvision MobileNetV2 state dict under a name-<sha256 prefix>.pth URL."""
    from torchvision.models import mobilenet_v2

    torch.manual_seed(3)
    serve = tmp_path / "serve"
    serve.mkdir()
    state = mobilenet_v2(weights=None).state_dict()
    raw = serve / "raw.pth"
    torch.save(state, raw)
    name = f"mobilenet_v2-{hashlib.sha256(raw.read_bytes()).hexdigest()[:8]}.pth"
    raw.rename(serve / name)
    (serve / "mobilenet_v2-00000000.pth").write_bytes((serve / name).read_bytes())  # a wrong hash

    with serving(serve) as base:
        url = {"value": f"{base}/{name}"}
        monkeypatch.setattr(registry.ModelCard, "url", property(lambda self: url["value"]))
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
        yield state, url, base, tmp_path / "torch-home" / "hub" / "checkpoints" / name


def test_default_weights_fill_the_encoder_from_the_checked_download(light_cards, encoder_server):
    state, url, base, cached = encoder_server
    seen = []
    torch.manual_seed(0)
    lm = load_model("unet_mobilenet_v2", "default", labels=LABELS, progress=lambda d, t: seen.append((d, t)))
    assert cached.is_file() and seen[-1][0] == cached.stat().st_size
    assert lm.version == "default" and lm.labels == LABELS and lm.num_outputs == 3
    sd = lm.model.state_dict()
    for k, v in state.items():
        if k.startswith("features."):
            assert torch.equal(sd["net.encoder." + k], v)
    torch.manual_seed(0)  # decoder and head keep their initialisation
    fresh = load_model("unet_mobilenet_v2", "none", labels=LABELS).model.state_dict()
    rest = [k for k in sd if not k.startswith("net.encoder.")]
    assert rest and all(torch.equal(sd[k], fresh[k]) for k in rest)
    # encoder weights are for fine-tuning: predicting needs classes a checkpoint gives
    with pytest.raises(ModelError, match="no published segmentation weights.*fine-tuned checkpoint"):
        load_model("unet_mobilenet_v2", "default")
    # a corrupt download is discarded; offline says what to do
    cached.unlink()
    url["value"] = f"{base}/mobilenet_v2-00000000.pth"
    with pytest.raises(ModelError, match="corrupt"):
        load_model("unet_mobilenet_v2", "default", labels=LABELS)
    assert not list(cached.parent.iterdir())
    url["value"] = "http://127.0.0.1:9/mobilenet_v2-0123abcd.pth"
    with pytest.raises(ModelError, match="offline.*copy it to"):
        load_model("unet_mobilenet_v2", "default", labels=LABELS)


def test_encoder_weights_of_another_network_are_refused(light_cards, encoder_server, tmp_path):
    state, url, base, cached = encoder_server
    cached.parent.mkdir(parents=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("features.18.")}, cached)
    with pytest.raises(ModelError, match="not a complete encoder for unet_mobilenet_v2"):
        load_model("unet_mobilenet_v2", "default", labels=LABELS)


def test_finetune_a_project_with_dice_median_frequency_and_border_weights(light_cards, tmp_path):
    """The whole run: the project's instance maps give the border weights, the card records the loss."""
    from PIL import Image

    from segstudio.core.annotation import Annotation, Instance
    from segstudio.formats.project import Project
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.hooks import Hook
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    rng = np.random.default_rng(5)
    project = Project.create(tmp_path / "proj", LABELS)
    for i in range(5):
        img, mask = make_sample(rng, 40)
        Image.fromarray(img).save(tmp_path / "proj" / f"p{i}.png")
        project.rescan()
        ids = np.zeros(mask.shape, np.int32)
        ids[mask == 1], ids[mask == 2] = 1, 2
        project.save_annotation(f"p{i}", Annotation(mask, ids, {1: Instance(1, None, "user"),
                                                                2: Instance(2, None, "user")}, status="edited"))

    class Messages(Hook):
        def __init__(self):
            self.lines = []

        def on_message(self, trainer, text):
            self.lines.append(text)

    log = Messages()
    data = open_data(DataSpec(tmp_path / "proj", val_fraction=0.2))
    config = TrainConfig("unet_resnet34", tmp_path / "run", weights="none", epochs=2, batch_size=2, crop=32,
                         lr=0.02, workers=0, precise_bn=1, loss="ce+dice", class_weights="median-frequency",
                         border_weight=10.0, border_sigma=3.0)
    torch.manual_seed(0)
    trainer = Trainer(config, data, [log])
    trainer.setup()
    criterion, seen = trainer.loss.criterion, []

    def spy(outputs, target, pixel_weights=None):
        seen.append(pixel_weights)
        return criterion(outputs, target, pixel_weights)
    trainer.loss.criterion = spy
    result = trainer.fit()
    assert result.iterations == 4 and result.best_path
    assert len(seen) == 4 and all(w is not None and w.shape == (2, 32, 32) for w in seen)
    assert max(float(w.max()) for w in seen) > 1  # near the seams between the square and the disc
    assert any(m.startswith("class weights (median-frequency): background") for m in log.lines)
    assert any("border weights (w0 10, sigma 3 px) from the instance maps of 4 of 4" in m for m in log.lines)
    card = json.loads((tmp_path / "run" / "best.json").read_text("utf-8"))
    training = card["training"]
    assert training["loss"] == "ce+dice" and training["class_weights"]["kind"] == "median-frequency"
    values = training["class_weights"]["values"]
    assert values["background"] < 1 and sorted(values.values())[1] == pytest.approx(1) and max(values.values()) > 1
    assert training["border_weight"] == {"w0": 10.0, "sigma": 3.0, "images_with_two_or_more_instances": 4}
    again = load_model(None, tmp_path / "run" / "best.pt")
    assert again.card.name == "unet_resnet34" and again.labels == LABELS
