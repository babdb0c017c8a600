"""Wrap a network that returns a logits tensor so it behaves like torchvision's segmentation models.

Encoder-decoder networks need an input whose sides are multiples of their
output stride (U-Net's skip connections, SegNet's unpooling, PSPNet's and
DeepLabV3+'s fixed upsampling).  ``PaddedSegmentation`` pads the input on the
bottom and right (mirroring the image, as the U-Net paper does at its borders),
runs the network and crops the logits back to the input size, and returns
``{"out": logits}``.  ``backbone`` is the network's encoder, so freezing the
backbone and BatchNorm handling work as for torchvision's models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_amounts(height: int, width: int, multiple: int) -> tuple[int, int]:
    """(rows, columns) to add so both sides are multiples of ``multiple``."""
    return (-height) % multiple, (-width) % multiple


class PaddedSegmentation(nn.Module):
    def __init__(self, net: nn.Module, multiple: int, backbone: str):
        super().__init__()
        self.net = net
        self.multiple = int(multiple)
        self._backbone = backbone

    @property
    def backbone(self) -> nn.Module:
        return getattr(self.net, self._backbone)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = x.shape[-2:]
        ph, pw = pad_amounts(h, w, self.multiple)
        if ph or pw:
            # reflect needs the padding to be smaller than the side; tiny inputs repeat the edge
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        out = self.net(x)
        if ph or pw:
            out = out[..., :h, :w]
        return {"out": out}
