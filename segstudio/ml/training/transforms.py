"""Training and evaluation transforms, as torchvision's segmentation references do them.

Images come in as RGB uint8 H×W×3 numpy arrays, masks as uint8 H×W.  Training:
random resize of the shorter side to 0.5–2.0 × ``base_size`` (image bilinear,
mask nearest neighbour), horizontal flip, pad to the crop size (image with 0,
mask with 255 so padding is never trained on), random crop, ImageNet
normalisation.  An optional per-pixel weight map (U-Net's border weights)
follows the mask: resized bilinearly, flipped, padded with 0 and cropped
with it.  Evaluation: normalisation only (optionally a resize of the
image; the mask is kept at full size so scores are at the original resolution).
"""

from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn.functional as F

from segstudio.ml.weights import IMAGENET_MEAN, IMAGENET_STD

VOID = 255


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 H×W×3 -> float C×H×W in [0, 1]."""
    return torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1).contiguous().float().div_(255.0)


def normalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x - m) / s


def resize_image(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]


def resize_mask(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(m[None, None].float(), size=size, mode="nearest")[0, 0].to(m.dtype)


def shorter_side_size(h: int, w: int, short: int) -> tuple[int, int]:
    if h <= w:
        return short, max(1, int(round(w * short / h)))
    return max(1, int(round(h * short / w))), short


class SegmentationTrainTransform:
    """(image, mask[, weights]) numpy -> (normalised float image C×H×W, int64 mask crop×crop[, float weights])."""

    def __init__(self, crop_size: int, base_size: int | None = None, scale=(0.5, 2.0), hflip: float = 0.5,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.crop = int(crop_size)
        self.base = int(base_size or round(crop_size * 520 / 480))
        self.scale = scale
        self.hflip = hflip
        self.mean, self.std = mean, std

    def __call__(self, image: np.ndarray, mask: np.ndarray, weights: np.ndarray | None = None):
        x = to_tensor(image)
        m = torch.from_numpy(np.array(mask, dtype=np.uint8, copy=True))
        w = None if weights is None else torch.from_numpy(np.array(weights, dtype=np.float32, copy=True))
        short = int(random.uniform(self.scale[0], self.scale[1]) * self.base)
        size = shorter_side_size(x.shape[1], x.shape[2], max(1, short))
        x = resize_image(x, size)
        m = resize_mask(m, size)
        if w is not None:
            w = F.interpolate(w[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
        if random.random() < self.hflip:
            x = x.flip(-1)
            m = m.flip(-1)
            w = None if w is None else w.flip(-1)
        x, m = pad_to(x, m, self.crop)
        top = random.randint(0, x.shape[1] - self.crop)
        left = random.randint(0, x.shape[2] - self.crop)
        x = x[:, top:top + self.crop, left:left + self.crop]
        m = m[top:top + self.crop, left:left + self.crop]
        out = normalize(x, self.mean, self.std).contiguous(), m.long().contiguous()
        if w is None:
            return out
        ph, pw = max(0, self.crop - w.shape[0]), max(0, self.crop - w.shape[1])
        w = F.pad(w, (0, pw, 0, ph), value=0.0)[top:top + self.crop, left:left + self.crop]
        return out + (w.contiguous(),)


def pad_to(x: torch.Tensor, m: torch.Tensor, size: int):
    ph, pw = max(0, size - x.shape[1]), max(0, size - x.shape[2])
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), value=0.0)
        m = F.pad(m, (0, pw, 0, ph), value=VOID)
    return x, m


class SegmentationEvalTransform:
    """(image, mask) -> (normalised image, int64 mask at full size); ``size`` resizes the image's shorter side."""

    def __init__(self, size: int | None = None, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.size = size
        self.mean, self.std = mean, std

    def __call__(self, image: np.ndarray, mask: np.ndarray):
        x = to_tensor(image)
        if self.size:
            x = resize_image(x, shorter_side_size(x.shape[1], x.shape[2], self.size))
        return normalize(x, self.mean, self.std), torch.from_numpy(np.array(mask, dtype=np.int64, copy=True))


class InstanceTrainTransform:
    """(image, target numpy) -> (float image in [0, 1], target tensors), with a horizontal flip.

    Mask R-CNN normalises and resizes inside the model (GeneralizedRCNNTransform).
    """

    def __init__(self, hflip: float = 0.5):
        self.hflip = hflip

    def __call__(self, image: np.ndarray, target: dict):
        x = to_tensor(image)
        t = {"boxes": torch.from_numpy(target["boxes"]).float().reshape(-1, 4),
             "labels": torch.from_numpy(target["labels"]).long(),
             "masks": torch.from_numpy(target["masks"]).to(torch.uint8),
             "image_id": int(target["image_id"])}
        if self.hflip and random.random() < self.hflip:
            w = x.shape[-1]
            x = x.flip(-1)
            t["masks"] = t["masks"].flip(-1)
            b = t["boxes"].clone()
            b[:, 0], b[:, 2] = w - t["boxes"][:, 2], w - t["boxes"][:, 0]
            t["boxes"] = b
        return x, t


class InstanceEvalTransform(InstanceTrainTransform):
    def __init__(self):
        super().__init__(hflip=0.0)


def collate_semantic(batch):
    """(images, masks) or, with weight maps, (images, masks, weights), each stacked."""
    return tuple(torch.stack(parts) for parts in zip(*batch))


def collate_instance(batch):
    return tuple(zip(*batch))
