"""Segment Anything plumbing with a tiny random model: embed, decode, weights, cache, missing extra."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segstudio.errors import Cancelled, ModelError
from segstudio.ml import sam
from segstudio.ml.sam_cache import EmbeddingCache
from tests.local_server import serving
from tests.ml.sam_tiny import TINY, sample_image, tiny_loaded

PROMPTS = [  # (points, labels, box)
    ([(20, 20)], [1], None),
    ([(20, 20), (60, 40)], [1, 0], None),
    ([], [], (10, 8, 40, 36)),
    ([(25, 22)], [1], (10, 8, 40, 36)),
]


@pytest.fixture(scope="module")
def tiny():
    return tiny_loaded()


@pytest.mark.parametrize("shape, tile", [((48, 70), 8192), ((700, 300), 8192), ((700, 300), 37), ((13, 9), 8192)])
def test_upscale_in_box_matches_full_bilinear_upsampling(shape, tile, monkeypatch):
    """The box-bounded upscale gives SAM's postprocess result: bilinear to the image size, then > 0."""
    monkeypatch.setattr(sam, "TILE", tile)  # small tiles must stitch seamlessly
    ih, iw = sam.input_size_of(*shape, 64)
    yy, xx = np.mgrid[0:ih, 0:iw]
    logits = (6.0 - 0.5 * np.hypot(yy - ih * 0.4, xx - iw * 0.6)).astype(np.float32)  # a blob
    full = F.interpolate(torch.from_numpy(logits)[None, None], shape, mode="bilinear", align_corners=False)
    want = full[0, 0].numpy() > 0
    got = sam.upscale_in_box(logits, shape)
    assert want.any() and got is not None
    assert np.array_equal(got.full(shape), want)
    y0, x0, y1, x1 = got.box
    ys, xs = np.nonzero(want)
    assert y0 <= ys.min() and y1 > ys.max() and x0 <= xs.min() and x1 > xs.max()
    if shape[0] > 100:  # the work is bounded by the blob, not the image
        assert (y1 - y0) * (x1 - x0) < 0.5 * shape[0] * shape[1]
    assert sam.upscale_in_box(np.full((ih, iw), -1.0, np.float32), shape) is None


def test_embed_and_decode_agree_with_segment_anythings_own_predictor(tiny):
    from segment_anything import SamPredictor

    rgb = sample_image()
    emb = sam.embed(tiny, rgb)
    assert emb.original_size == (48, 70) and emb.input_size == (44, 64)
    ref = SamPredictor(tiny.model)
    ref.set_image(rgb)
    assert torch.allclose(ref.features, emb.features)
    for points, labels, box in PROMPTS:
        multi = len(points) == 1 and box is None
        masks, scores, _ = ref.predict(np.array(points, float).reshape(-1, 2) if points else None,
                                       np.array(labels) if points else None,
                                       np.array(box, float) if box is not None else None, multimask_output=multi)
        best = int(np.argmax(scores))
        got = sam.decode(tiny, emb, points, labels, box)
        want = masks[best]
        if not want.any():
            assert got is None
            continue
        assert np.array_equal(got.full(want.shape), want)
        assert got.score == pytest.approx(float(scores[best]), abs=1e-5)


def test_session_predict_is_points_with_labels(tiny):
    emb = sam.embed(tiny, sample_image())
    s = sam.SamSession(tiny, emb)
    a = s.predict([(20, 20)], [(60, 40)])
    b = sam.decode(tiny, emb, [(20, 20), (60, 40)], [1, 0])
    assert (a is None and b is None) or (np.array_equal(a.mask, b.mask) and a.offset == b.offset)
    assert s.predict() is None  # no prompt, no mask


def test_embedding_of_another_model_is_refused(tiny):
    emb = sam.embed(tiny, sample_image())
    other = dataclasses.replace(tiny, ident="tiny@other.pth")
    with pytest.raises(ModelError, match="compute it again"):
        sam.decode(other, emb, [(5, 5)], [1])


def test_embedding_can_be_cancelled_between_blocks(tiny):
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 2:
            raise Cancelled()
    with pytest.raises(Cancelled):
        sam.embed(tiny, sample_image(), check=check)
    assert len(calls) == 2
    assert all(not b._forward_pre_hooks for b in tiny.model.image_encoder.blocks)
    assert sam.embed(tiny, sample_image()).features.shape == (1, 16, 8, 8)


def test_bad_image_is_a_clear_error(tiny):
    with pytest.raises(ModelError, match="RGB uint8"):
        sam.embed(tiny, np.zeros((5, 5), np.uint8))


def test_variants_are_segment_anythings_architectures():
    """Our table builds exactly the modules of segment_anything's registry (on the meta device: no memory)."""
    from segment_anything import sam_model_registry
    for name, spec in sam.VARIANTS.items():
        with torch.device("meta"):
            ours = {k: v.shape for k, v in sam.build(spec).state_dict().items()}
            theirs = {k: v.shape for k, v in sam_model_registry[name]().state_dict().items()}
        assert ours == theirs, name
        assert spec.url.startswith("https://dl.fbaipublicfiles.com/segment_anything/sam_" + name)
        assert len(spec.sha256) == 64


def test_weights_file_round_trip_and_wrong_variant(tiny, tmp_path):
    path = tmp_path / "tiny.pth"
    torch.save(tiny.model.state_dict(), path)
    again = sam.load(TINY, path, device="cpu")
    assert again.ident == f"tiny@{path}"
    rgb = sample_image()
    e1, e2 = sam.embed(tiny, rgb), sam.embed(again, rgb)
    assert torch.equal(e1.features, e2.features)
    with pytest.raises(ModelError, match="not a Segment Anything vit_b checkpoint"):
        with torch.device("meta"):
            sam.load("vit_b", path, device="meta")
    with pytest.raises(ModelError, match="not found"):
        sam.load(TINY, tmp_path / "missing.pth")


@pytest.fixture(scope="module")
def weights_server(tmp_path_factory):
    """The tiny state dict under an official-style name (sam_<variant>_<md5 prefix>.pth) on 127.0.0.1."""
    root = tmp_path_factory.mktemp("www")
    torch.manual_seed(1)
    raw = root / "raw.pth"
    torch.save(sam.build(TINY).state_dict(), raw)
    data = raw.read_bytes()
    name = f"sam_tiny_{hashlib.md5(data).hexdigest()[:6]}.pth"
    raw.rename(root / name)
    with serving(root) as base:
        yield f"{base}/{name}", hashlib.sha256(data).hexdigest()


def test_default_weights_download_once_hash_checked(weights_server, tmp_path):
    url, digest = weights_server
    spec = dataclasses.replace(TINY, url=url, sha256=digest)
    seen = []
    loaded = sam.load(spec, "default", device="cpu", folder=tmp_path, progress=lambda d, t: seen.append((d, t)))
    cached = tmp_path / url.rsplit("/", 1)[1]
    assert cached.is_file() and list(tmp_path.iterdir()) == [cached]
    assert seen[-1] == (cached.stat().st_size,) * 2
    assert loaded.ident == "tiny@default"
    torch.manual_seed(1)
    want = sam.build(TINY).state_dict()
    assert all(torch.equal(v, want[k]) for k, v in loaded.model.state_dict().items())
    seen.clear()
    sam.load(spec, "default", device="cpu", folder=tmp_path, progress=lambda d, t: seen.append(d))
    assert seen == []  # cached: no second download


def test_corrupt_download_is_refused_and_not_kept(weights_server, tmp_path):
    url, _ = weights_server
    spec = dataclasses.replace(TINY, url=url, sha256="0" * 64)
    with pytest.raises(ModelError, match="corrupt"):
        sam.load(spec, "default", folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_offline_names_the_url_and_the_file_to_place_by_hand(weights_server, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/{weights_server[0].rsplit('/', 1)[1]}"
    spec = dataclasses.replace(TINY, url=url, sha256=weights_server[1])
    with pytest.raises(ModelError) as e:
        sam.load(spec, "default", folder=tmp_path)
    target = tmp_path / url.rsplit("/", 1)[1]
    assert url in str(e.value) and str(target) in str(e.value) and "offline" in str(e.value)
    # placed by hand, it is used without the network
    with urllib_get(weights_server[0]) as r:
        target.write_bytes(r.read())
    assert sam.load(spec, "default", folder=tmp_path).ident == "tiny@default"


def urllib_get(url):
    import urllib.request
    return urllib.request.urlopen(url, timeout=10)


def test_missing_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "segment_anything", None)  # import segment_anything -> ImportError
    assert not sam.is_available()
    with pytest.raises(sam.SamUnavailable, match=r'pip install "segstudio\[sam\]"'):
        sam.load("vit_b", "none")


def test_unknown_variant():
    with pytest.raises(ModelError, match="vit_b, vit_l, vit_h"):
        sam.spec_of("vit_x")


class Blob:
    def __init__(self, n):
        self.nbytes = n


def test_embedding_cache_is_bounded_by_bytes_lru():
    c = EmbeddingCache(max_bytes=100)
    for k in "abc":
        c.put(k, Blob(40))
    assert c.keys() == ["b", "c"] and c.nbytes == 80 and c.get("a") is None
    assert c.get("b") is not None  # b is now the most recent
    c.put("d", Blob(40))
    assert c.keys() == ["b", "d"]
    c.put("huge", Blob(500))  # the newest always stays
    assert c.keys() == ["huge"] and c.nbytes == 500
    c.put("huge", Blob(10))
    assert c.nbytes == 10 and len(c) == 1
    c.discard(lambda k: k == "huge")
    assert len(c) == 0 and c.nbytes == 0


def test_the_sam_modules_load_neither_torch_nor_segment_anything():
    """The window imports the tool and its controller at start-up: they must stay light."""
    import subprocess

    from tests import child
    code = ("import sys; import segstudio.ml.sam, segstudio.ml.sam_cache, segstudio.ml.sam_edit, "
            "segstudio.app.tools.sam, segstudio.app.sam_controller; segstudio.ml.sam.is_available(); "
            "print(sorted(m for m in ('torch', 'torchvision', 'segment_anything') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=child.CWD, env=child.env(),
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
