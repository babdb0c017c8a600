"""A deliberately tiny Segment Anything for tests: same code paths, a 64-pixel input, 16 channels."""

from __future__ import annotations

import numpy as np

from segstudio.ml.sam import SamSpec

TINY = SamSpec("tiny", encoder_dim=16, encoder_depth=2, encoder_heads=2, global_attn=(1,), image_size=64,
               patch_size=8, window_size=4, prompt_dim=16, decoder_depth=1, decoder_mlp=32, decoder_heads=2,
               mask_in_chans=4, iou_head_depth=1, iou_head_hidden=16, title="tiny test SAM")


def tiny_loaded(seed: int = 0):
    import torch

    from segstudio.ml.sam import load
    torch.manual_seed(seed)
    return load(TINY, "none", device="cpu")


def sample_image(h: int = 48, w: int = 70, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 60, np.uint8)
    img[h // 4:3 * h // 4, w // 4:w // 2] = (220, 40, 40)
    return np.clip(img.astype(int) + rng.integers(-10, 10, img.shape), 0, 255).astype(np.uint8)
