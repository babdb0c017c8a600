"""Segment Anything (the optional ``segstudio[sam]`` extra): build, load, embed, decode.

SAM splits in two: a heavy image encoder run once per image (the
*embedding*, seconds to a minute on a CPU) and a light prompt encoder + mask
decoder run per click (tens of milliseconds).  The app computes embeddings in
a worker when an image opens (``EmbeddingCache`` keeps a few); a click only
decodes.  Qt-free; torch and ``segment_anything`` are imported inside the
functions, so importing this module costs nothing and a missing extra is
reported as ``SamUnavailable`` with the command that installs it.

Weights are Meta's published checkpoints, downloaded once into the torch hub
cache by ``segstudio.ml.download`` and checked against their SHA-256 (the
hex in the official file name, e.g. ``01ec64`` in ``sam_vit_b_01ec64.pth``,
is the start of the file's MD5; the full SHA-256 digests are recorded here).

Coordinates are image pixels (x, y) with integer values at pixel centres, as
everywhere in segstudio (and as SAM's prompt encoder expects).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from segstudio.core.annotation import mask_box
from segstudio.errors import ModelError

INSTALL_HINT = 'pip install "segstudio[sam]"'
BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"


class SamUnavailable(ModelError):
    """The ``segment-anything`` package is not installed (or does not import)."""


@dataclass(frozen=True)
class SamSpec:
    """The architecture of one SAM variant (segment_anything's ``_build_sam`` parameters)."""

    name: str
    encoder_dim: int
    encoder_depth: int
    encoder_heads: int
    global_attn: tuple[int, ...]
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_dim: int = 256
    decoder_depth: int = 2
    decoder_mlp: int = 2048
    decoder_heads: int = 8
    mask_in_chans: int = 16
    iou_head_depth: int = 3
    iou_head_hidden: int = 256
    title: str = ""
    url: str = ""
    sha256: str = ""          # full digest of the official file

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


VARIANTS: dict[str, SamSpec] = {s.name: s for s in (
    SamSpec("vit_b", 768, 12, 12, (2, 5, 8, 11), title="SAM ViT-B",
            url=BASE_URL + "sam_vit_b_01ec64.pth",
            sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"),
    SamSpec("vit_l", 1024, 24, 16, (5, 11, 17, 23), title="SAM ViT-L",
            url=BASE_URL + "sam_vit_l_0b3195.pth",
            sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622"),
    SamSpec("vit_h", 1280, 32, 16, (7, 15, 23, 31), title="SAM ViT-H",
            url=BASE_URL + "sam_vit_h_4b8939.pth",
            sha256="a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e"),
)}
DEFAULT_VARIANT = "vit_b"


def is_available() -> bool:
    """Whether ``segment_anything`` can be found, without importing it (or torch)."""
    try:
        return importlib.util.find_spec("segment_anything") is not None
    except (ImportError, ValueError):
        return False


def _modeling():
    try:
        from segment_anything import modeling
        from segment_anything.utils.transforms import ResizeLongestSide
    except ImportError as e:
        raise SamUnavailable(f"Segment Anything is not installed ({e}); install it with {INSTALL_HINT} "
                             "and restart segstudio") from None
    return modeling, ResizeLongestSide


def spec_of(variant: str | SamSpec) -> SamSpec:
    if isinstance(variant, SamSpec):
        return variant
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ModelError(f"unknown Segment Anything variant '{variant}'; use one of "
                         f"{', '.join(VARIANTS)}") from None


def build(spec: SamSpec):
    """A SAM module with random weights (eval mode, CPU)."""
    import torch
    from functools import partial

    m, _ = _modeling()
    emb = spec.image_size // spec.patch_size
    sam = m.Sam(
        image_encoder=m.ImageEncoderViT(
            depth=spec.encoder_depth, embed_dim=spec.encoder_dim, img_size=spec.image_size, mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=spec.encoder_heads,
            patch_size=spec.patch_size, qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=spec.global_attn, window_size=spec.window_size, out_chans=spec.prompt_dim),
        prompt_encoder=m.PromptEncoder(
            embed_dim=spec.prompt_dim, image_embedding_size=(emb, emb),
            input_image_size=(spec.image_size, spec.image_size), mask_in_chans=spec.mask_in_chans),
        mask_decoder=m.MaskDecoder(
            num_multimask_outputs=3,
            transformer=m.TwoWayTransformer(depth=spec.decoder_depth, embedding_dim=spec.prompt_dim,
                                            mlp_dim=spec.decoder_mlp, num_heads=spec.decoder_heads),
            transformer_dim=spec.prompt_dim, iou_head_depth=spec.iou_head_depth,
            iou_head_hidden_dim=spec.iou_head_hidden),
    )
    return sam.eval()


@dataclass
class LoadedSam:
    model: Any            # segment_anything.modeling.Sam, eval mode, on ``device``
    spec: SamSpec
    device: Any
    ident: str            # "vit_b@default": what an embedding was made with

    @property
    def image_size(self) -> int:
        return self.spec.image_size


def ident_of(variant: str, weights: str | os.PathLike = "default") -> str:
    """What an embedding is made with: "vit_b@default", "vit_b@none", "vit_b@/path/file.pth"."""
    w = str(weights)
    return f"{variant}@{w if w in ('default', 'none') else os.path.abspath(os.path.expanduser(w))}"


def weights_path(spec: SamSpec, weights: str | os.PathLike = "default",
                 progress: Callable[[int, int | None], None] | None = None, folder=None):
    """The checkpoint file for ``weights`` ("default" downloads the official one, hash-checked)."""
    from segstudio.ml.download import download

    if str(weights) == "default":
        if not spec.url:
            raise ModelError(f"Segment Anything '{spec.name}' has no published weights; give a file")
        return download(spec.url, folder, progress=progress, sha256=spec.sha256)
    return os.path.expanduser(os.fspath(weights))


def load(variant: str | SamSpec = DEFAULT_VARIANT, weights: str | os.PathLike = "default",
         device: Any = None, progress: Callable[[int, int | None], None] | None = None,
         folder=None) -> LoadedSam:
    """Build a SAM variant and load its weights: "default" (download), "none" (random) or a file."""
    import torch

    from segstudio.ml.devices import pick_device
    from segstudio.ml.weights import read_weights_file

    spec = spec_of(variant)
    _modeling()  # the clear "not installed" error before any download
    path = None if str(weights) == "none" else weights_path(spec, weights, progress, folder)
    sam = build(spec)
    if path is not None:
        state = read_weights_file(path)
        if isinstance(state, dict) and isinstance(state.get("model"), dict):
            state = state["model"]
        if not isinstance(state, dict):
            raise ModelError(f"{path} holds no state dict; give a Segment Anything checkpoint")
        try:
            result = sam.load_state_dict(state, strict=False)
            problem = None
            bad = list(result.missing_keys) + list(result.unexpected_keys)
            if bad:
                problem = (f"{len(result.missing_keys)} keys missing, {len(result.unexpected_keys)} unknown, "
                           f"e.g. {bad[0]}")
        except RuntimeError as e:  # shapes that do not fit
            problem = str(e).strip().splitlines()[-1].strip()[:200]
        if problem:
            raise ModelError(f"{path} is not a Segment Anything {spec.name} checkpoint ({problem}); "
                             "choose the variant it was made for, or the default weights")
    device = pick_device("auto") if device is None else torch.device(device)
    sam.to(device)
    return LoadedSam(sam, spec, device, ident_of(spec.name, weights))


_loaded_lock = threading.Lock()
_loaded: dict[tuple, LoadedSam] = {}


def load_cached(variant: str, weights: str = "default", progress=None) -> LoadedSam:
    """``load`` kept for the next call; only the most recent model stays (they are large).  A file
    is known by its path, time and size (``model_cache.weights_key``): a rewritten one loads again."""
    from segstudio.ml.model_cache import weights_key

    key = (variant, weights_key(weights))
    with _loaded_lock:
        if key in _loaded:
            return _loaded[key]
    loaded = load(variant, weights, progress=progress)
    with _loaded_lock:
        _loaded.clear()
        _loaded[key] = loaded
    return loaded


def _gate(device):
    """The device gate on an accelerator (shared memory with training); none on the CPU, where a
    click must not wait for the next image's embedding to finish."""
    from contextlib import nullcontext

    from segstudio.ml.devices import device_gate

    return nullcontext() if str(device) == "cpu" else device_gate(device)


# -- the image embedding ------------------------------------------------------------

@dataclass
class SamEmbedding:
    features: Any                     # torch tensor 1×C×h×w on the model's device
    original_size: tuple[int, int]    # (H, W) of the image
    input_size: tuple[int, int]       # (H, W) after resizing the longest side to the model's size
    model_ident: str

    @property
    def nbytes(self) -> int:
        return int(self.features.element_size() * self.features.nelement())


def input_size_of(h: int, w: int, long_side: int) -> tuple[int, int]:
    """The size SAM resizes an image to (longest side = ``long_side``), as ``ResizeLongestSide``."""
    scale = long_side / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def embed(loaded: LoadedSam, rgb: np.ndarray, check: Callable[[], None] | None = None) -> SamEmbedding:
    """Run the image encoder on an RGB uint8 H×W×3 image.

    ``check()`` is called before each transformer block; it may raise (e.g.
    ``Cancelled``) to stop a long embedding early.
    """
    import torch

    _, ResizeLongestSide = _modeling()
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ModelError(f"Segment Anything needs an RGB uint8 H×W×3 image, got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    sam = loaded.model
    small = ResizeLongestSide(loaded.image_size).apply_image(rgb)
    x = torch.as_tensor(small, device=loaded.device).permute(2, 0, 1).contiguous()[None]
    hooks = []
    if check is not None:
        hooks = [b.register_forward_pre_hook(lambda _m, _a: check()) for b in sam.image_encoder.blocks]
    try:
        with _gate(loaded.device), torch.inference_mode():
            features = sam.image_encoder(sam.preprocess(x.float()))
    finally:
        for hk in hooks:
            hk.remove()
    return SamEmbedding(features, (h, w), tuple(small.shape[:2]), loaded.ident)


# -- one click: the mask decoder -----------------------------------------------------

@dataclass
class SamMask:
    """A decoded mask: ``mask`` (bool) placed with its top-left at ``offset`` = (y, x)."""

    mask: np.ndarray
    offset: tuple[int, int]
    score: float                      # the model's own IoU estimate

    @property
    def box(self) -> tuple[int, int, int, int]:
        y, x = self.offset
        return y, x, y + self.mask.shape[0], x + self.mask.shape[1]

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask on a whole image of ``shape`` (for tests and small images)."""
        out = np.zeros(shape, bool)
        y0, x0, y1, x1 = self.box
        out[y0:y1, x0:x1] = self.mask
        return out


TILE = 8192  # OpenCV's warp needs sides below 32767; big masks are upscaled in tiles


def _upscale_tile(logits: np.ndarray, y0: int, x0: int, y1: int, x1: int, sy: float, sx: float) -> np.ndarray:
    """Bilinear values (align_corners=False, edges clamped) of output rows y0..y1, columns x0..x1."""
    import cv2

    ih, iw = logits.shape
    ay0 = max(0, int(np.floor((y0 + 0.5) * sy - 0.5)) - 1)
    ay1 = min(ih, int(np.ceil((y1 - 0.5) * sy - 0.5)) + 2)
    ax0 = max(0, int(np.floor((x0 + 0.5) * sx - 0.5)) - 1)
    ax1 = min(iw, int(np.ceil((x1 - 0.5) * sx - 0.5)) + 2)
    crop = np.ascontiguousarray(logits[ay0:ay1, ax0:ax1], dtype=np.float32)
    # output pixel (x, y) of the tile reads the crop at (sx * (x + x0 + 0.5) - 0.5 - ax0, likewise y)
    m = np.array([[sx, 0.0, sx * (x0 + 0.5) - 0.5 - ax0], [0.0, sy, sy * (y0 + 0.5) - 0.5 - ay0]])
    return cv2.warpAffine(crop, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def upscale_in_box(logits: np.ndarray, original_size: tuple[int, int], threshold: float = 0.0) -> SamMask | None:
    """Mask logits at the model's input size -> the mask at the image's size, inside its box only.

    The same as SAM's ``postprocess_masks`` (bilinear, align_corners=False)
    and the threshold, up to OpenCV's 1/32-pixel sampling grid, but the work
    is bounded by the mask's box, not the image.
    """
    ih, iw = logits.shape
    oh, ow = original_size
    above = logits > threshold
    rows, cols = np.flatnonzero(above.any(axis=1)), np.flatnonzero(above.any(axis=0))
    if rows.size == 0:
        return None
    sy, sx = ih / oh, iw / ow
    # an output pixel can be above the threshold only if one of its bilinear sources is
    y0 = max(0, int(np.floor((rows[0] - 1) / sy)) - 1)
    y1 = min(oh, int(np.ceil((rows[-1] + 2) / sy)) + 1)
    x0 = max(0, int(np.floor((cols[0] - 1) / sx)) - 1)
    x1 = min(ow, int(np.ceil((cols[-1] + 2) / sx)) + 1)
    mask = np.empty((y1 - y0, x1 - x0), bool)
    for ty in range(y0, y1, TILE):
        for tx in range(x0, x1, TILE):
            ey, ex = min(y1, ty + TILE), min(x1, tx + TILE)
            tile = _upscale_tile(logits, ty, tx, ey, ex, sy, sx)
            np.greater(tile, threshold, out=mask[ty - y0:ey - y0, tx - x0:ex - x0])
    box = mask_box(mask)
    if box is None:
        return None
    by0, bx0, by1, bx1 = box
    return SamMask(mask[by0:by1, bx0:bx1].copy(), (y0 + by0, x0 + bx0), 0.0)


def decode(loaded: LoadedSam, emb: SamEmbedding, points: Sequence[Sequence[float]] = (),
           labels: Sequence[int] = (), box: Sequence[float] | None = None,
           multimask: bool | None = None) -> SamMask | None:
    """The mask for some prompts: points (x, y) with labels 1 (object) / 0 (not object),
    and/or a box (x0, y0, x1, y1).  ``None`` when the mask is empty.

    ``multimask`` (default: a single point and no box) asks SAM for its three
    guesses and keeps the one it scores best, as SAM's authors advise for an
    ambiguous single click.
    """
    import torch
    import torch.nn.functional as F

    if emb.model_ident != loaded.ident:
        raise ModelError(f"the image embedding was made by {emb.model_ident}, not {loaded.ident}; "
                         "compute it again")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(pts) != len(lab):
        raise ModelError(f"{len(pts)} points but {len(lab)} labels")
    if not len(pts) and box is None:
        return None
    if multimask is None:
        multimask = len(pts) == 1 and box is None
    (oh, ow), (ih, iw) = emb.original_size, emb.input_size
    scale = np.array([iw / ow, ih / oh])
    dev, sam = loaded.device, loaded.model
    with _gate(dev), torch.inference_mode():
        point_arg = None
        if len(pts):
            coords = torch.as_tensor(pts * scale, dtype=torch.float32, device=dev)[None]
            point_arg = (coords, torch.as_tensor(lab, dtype=torch.int64, device=dev)[None])
        box_arg = None
        if box is not None:
            b = np.asarray(box, dtype=np.float64).reshape(2, 2) * scale
            box_arg = torch.as_tensor(b.reshape(1, 4), dtype=torch.float32, device=dev)
        sparse, dense = sam.prompt_encoder(points=point_arg, boxes=box_arg, masks=None)
        low, iou = sam.mask_decoder(image_embeddings=emb.features, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                    multimask_output=multimask)
        best = int(torch.argmax(iou[0]))
        size = loaded.image_size
        logits = F.interpolate(low[:, best:best + 1], (size, size), mode="bilinear", align_corners=False)
        logits = logits[0, 0, :ih, :iw].float().cpu().numpy()
        score = float(iou[0, best])
    out = upscale_in_box(logits, (oh, ow), float(sam.mask_threshold))
    if out is not None:
        out.score = score
    return out


@dataclass
class SamSession:
    """A loaded model and one image's embedding: what a click needs."""

    loaded: LoadedSam
    embedding: SamEmbedding

    @property
    def image_size(self) -> tuple[int, int]:
        return self.embedding.original_size

    def predict(self, positive: Sequence[Sequence[float]] = (), negative: Sequence[Sequence[float]] = (),
                box: Sequence[float] | None = None) -> SamMask | None:
        points = [tuple(p) for p in positive] + [tuple(p) for p in negative]
        labels = [1] * len(positive) + [0] * len(negative)
        return decode(self.loaded, self.embedding, points, labels, box)
