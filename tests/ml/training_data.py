"""Tiny generated segmentation data for the training tests (no shared data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

LABELS_TEXT = "background\nsquare\ndisc\n"


def make_sample(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A noisy grey image with a red square (class 1) and a blue disc (class 2)."""
    img = np.full((size, size, 3), 110, np.float32) + rng.normal(0, 12, (size, size, 3))
    mask = np.zeros((size, size), np.uint8)
    s = int(rng.integers(size // 5, size // 3))
    y, x = rng.integers(0, size - s, 2)
    img[y:y + s, x:x + s] = (220, 40, 40)
    mask[y:y + s, x:x + s] = 1
    r = int(rng.integers(size // 8, size // 5))
    cy, cx = rng.integers(r, size - r, 2)
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img[disc] = (40, 60, 220)
    mask[disc] = 2
    return np.clip(img, 0, 255).astype(np.uint8), mask


def make_mask_folders(root: Path, n: int = 8, size: int = 64, seed: int = 0, void_border: bool = True):
    """root/images/*.png, root/masks/*.png (ids 0..2, 3 = a void id to remap), root/labels.txt."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img, mask = make_sample(rng, size)
        if void_border:
            mask[:2, :] = 3
        Image.fromarray(img).save(root / "images" / f"im{i:03d}.png")
        Image.fromarray(mask).save(root / "masks" / f"im{i:03d}.png")
    (root / "labels.txt").write_text(LABELS_TEXT, "utf-8")
    return root / "images", root / "masks", root / "labels.txt"
