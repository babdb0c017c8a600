"""The small network click to correct asks which pixels around a click to relabel (numpy only).

A person clicks inside a wrong area with the right class c.  Around the click
(a square of ``2 × REACH`` × the image's short side, seen at ``SIZE``×``SIZE``)
the network reads ``CHANNELS`` planes:

0-2  the image (RGB / 255 − 0.5, area-averaged);
3-4  √ of the model's probability of c and of the clicked spot's current class
     (the prediction memory, ``core.prediction_memory``);
5-6  the pixels now labelled c, and labelled like the clicked spot;
7    the pixels painted by hand (``Annotation.user_mask``);
8    the click (a Gaussian of σ = 2 cells at the centre);
9-10 earlier clicks (anchors) of c, and of other classes;
11   inside the image;

and answers, per cell, the probability that relabelling it to c puts more
pixels right than wrong.  It is a U-Net (3 poolings, 24-64 channels,
BatchNorm folded into the convolutions) trained by
``benchmarks/fit_click_net.py`` on CamVid train: the robot annotator
(``ml.robot``) clicks on the predictions of two LR-ASPPs fine-tuned there
(and on synthetic scenes of clean wrong shapes), and a cross-entropy weighted
by the pixels each cell would gain or lose teaches it.
The forward pass is numpy (im2col + matrix products, ~10 ms on a 2-core CPU),
so it runs wherever click to correct runs; its weights are
``resources/click_net.npz`` (packaged as ``segstudio/_data/resources``:
``segstudio.assets``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

SIZE = 64          # the network sees the click's square at SIZE × SIZE cells
REACH = 0.28       # half-side of that square, × the image's short side
MIN_REACH = 30     # px: on tiny images the square stays this large
CHANNELS = 12
WEIGHTS_NAME = "click_net.npz"   # in the shipped resources (``segstudio.assets``)
_SIGMA = 2.0
# the blocks, as ``ml.click_net_torch.export`` names them (each two 3×3 convolutions; then "out", 1×1)
ENCODER = ("e1", "e2", "e3", "e4")
DECODER = ("d3", "d2", "d1")


def reach(shape: tuple[int, int]) -> int:
    """Half-side (px) of the square around a click on an image of ``shape``."""
    return int(round(max(REACH * min(shape[:2]), MIN_REACH)))


def square(plane: np.ndarray, y: int, x: int, R: int) -> np.ndarray:
    """The square of half-side ``R`` around pixel (``y``, ``x``) of ``plane`` (H×W or H×W×C), zero
    outside the image, area-averaged to SIZE × SIZE."""
    H, W = plane.shape[:2]
    y0, x0 = y - R, x - R
    crop = plane[max(0, y0):min(H, y + R), max(0, x0):min(W, x + R)]
    pad = ((max(0, -y0), max(0, y + R - H)), (max(0, -x0), max(0, x + R - W))) + ((0, 0),) * (plane.ndim - 2)
    return cv2.resize(np.pad(crop, pad), (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def inputs(image: np.ndarray, class_map: np.ndarray, user_mask: np.ndarray, memory, y: int, x: int,
           class_id: int, anchors=()) -> tuple[np.ndarray, int]:
    """The network's input planes (CHANNELS, SIZE, SIZE) float32 for a click at pixel (``y``, ``x``)
    with ``class_id`` (see the module), and the square's half-side in pixels."""
    H, W = class_map.shape
    R = reach((H, W))
    step = 2 * R / SIZE
    centres = np.arange(SIZE) + 0.5
    py, px = y - R + centres * step, x - R + centres * step
    inside = ((py >= 0) & (py < H))[:, None] & ((px >= 0) & (px < W))[None, :]
    iy = np.clip(np.floor(py), 0, H - 1).astype(np.intp)
    ix = np.clip(np.floor(px), 0, W - 1).astype(np.intp)
    view = square(image if image.ndim == 2 else image[:, :, :3], y, x, R)   # RGBA: its RGB
    if view.ndim == 2:   # grey: as RGB, repeated on the small square only
        view = np.repeat(view[:, :, None], 3, axis=2)
    rgb = view.astype(np.float32) / 255.0 - 0.5
    cls = class_map[iy[:, None], ix[None, :]]
    cur = int(class_map[y, x])
    fy, fx = np.clip(py, 0, H - 1), np.clip(px, 0, W - 1)
    X = np.zeros((CHANNELS, SIZE, SIZE), np.float32)
    X[0:3] = rgb.transpose(2, 0, 1)
    X[3] = np.sqrt(memory.sample(memory.class_plane(class_id), fy, fx))
    X[4] = np.sqrt(memory.sample(memory.class_plane(cur), fy, fx))
    X[5] = cls == class_id
    X[6] = cls == cur
    X[7] = user_mask[iy[:, None], ix[None, :]]
    g = centres - SIZE / 2
    X[8] = np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / (2 * _SIGMA ** 2))
    for ax, ay, ac in anchors:
        cy, cx = (ay - y + R) / step, (ax - x + R) / step   # as the shipped weights were trained
        if -3 <= cy < SIZE + 3 and -3 <= cx < SIZE + 3:
            k = 9 if ac == class_id else 10
            cells = np.arange(SIZE)
            d = np.exp(-((cells[:, None] - cy) ** 2 + (cells[None, :] - cx) ** 2) / (2 * _SIGMA ** 2))
            X[k] = np.maximum(X[k], d)
    X[:, ~inside] = 0
    X[11] = inside
    return X, R


# -- the forward pass -------------------------------------------------------------------------

def _conv3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3×3 convolution, padding 1, then ReLU: x (C, H, W), w (O, C·9), b (O,)."""
    c, h, wd = x.shape
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    s = p.strides
    cols = np.lib.stride_tricks.as_strided(p, (c, 3, 3, h, wd), (s[0], s[1], s[2], s[1], s[2]))
    out = w @ cols.reshape(c * 9, h * wd) + b[:, None]
    return np.maximum(out, 0.0, out=out).reshape(-1, h, wd)


def _block(x: np.ndarray, params: dict, name: str) -> np.ndarray:
    x = _conv3(x, params[f"{name}.0.w"], params[f"{name}.0.b"])
    return _conv3(x, params[f"{name}.1.w"], params[f"{name}.1.b"])


def _pool(x: np.ndarray) -> np.ndarray:
    c, h, w = x.shape
    return x[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max((2, 4))


def _up(x: np.ndarray) -> np.ndarray:
    """×2 bilinear (half-pixel centres, as torch's align_corners=False)."""
    c, h, w = x.shape
    flat = np.ascontiguousarray(x.transpose(1, 2, 0))
    if c > 512:  # cv2.resize takes at most 512 channels
        return np.concatenate([_up(x[i:i + 512]) for i in range(0, c, 512)])
    up = cv2.resize(flat, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return up.reshape(2 * h, 2 * w, c).transpose(2, 0, 1)


def forward(params: dict, x: np.ndarray) -> np.ndarray:
    """Logits (SIZE, SIZE) of the network ``params`` (``load``) for one input (CHANNELS, SIZE, SIZE)."""
    e1 = _block(x.astype(np.float32), params, "e1")
    e2 = _block(_pool(e1), params, "e2")
    e3 = _block(_pool(e2), params, "e3")
    e4 = _block(_pool(e3), params, "e4")
    d3 = _block(np.concatenate([_up(e4), e3]), params, "d3")
    d2 = _block(np.concatenate([_up(d3), e2]), params, "d2")
    d1 = _block(np.concatenate([_up(d2), e1]), params, "d1")
    c, h, w = d1.shape
    return (params["out.w"] @ d1.reshape(c, h * w) + params["out.b"][:, None]).reshape(h, w)


def weights_file() -> Path:
    """The shipped weights file; a clear error when this segstudio lacks it."""
    from segstudio.assets import asset_dir, searched

    folder = asset_dir("resources")
    path = folder / WEIGHTS_NAME if folder is not None else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"click to correct's network weights ({WEIGHTS_NAME}) are not in "
                                f"{searched('resources')}; reinstall segstudio")
    return path


@lru_cache(maxsize=4)
def load(path: str | None = None) -> dict:
    """The network's weights (float32 arrays by layer name) from ``path`` (default: the shipped ones)."""
    with np.load(str(path or weights_file())) as f:
        return {k: np.ascontiguousarray(f[k], dtype=np.float32) for k in f.files}


def relabel_probability(image: np.ndarray, class_map: np.ndarray, user_mask: np.ndarray, memory, y: int, x: int,
                        class_id: int, anchors=(), params: dict | None = None) -> tuple[np.ndarray, int]:
    """Per cell of the click's square, the probability that relabelling it to ``class_id`` helps
    (SIZE, SIZE), and the square's half-side in pixels."""
    X, R = inputs(image, class_map, user_mask, memory, y, x, class_id, anchors)
    z = forward(params or load(), X)
    return 1.0 / (1.0 + np.exp(-z)), R
