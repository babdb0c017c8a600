"""SegNet (Badrinarayanan, Kendall and Cipolla, 2017): a VGG16-BN encoder and a mirrored decoder
that upsamples with the encoder's max-pooling indices.

The encoder is laid out exactly as torchvision's ``vgg16_bn().features``
(13 × Conv3×3-BN-ReLU and 5 max-pools, the same module indices), so
torchvision's ImageNet VGG16-BN weights fill it key for key.  Each pooling
layer keeps the argmax indices of its 2×2 windows; the decoder stage that
mirrors it puts every value back where the maximum came from
(``max_unpool2d``, the rest stays zero) and densifies the sparse map with
Conv3×3-BN-ReLU blocks.  No encoder features are copied to the decoder, only
the indices: the memory saving that distinguishes SegNet from U-Net.  The last
decoder block feeds a Conv3×3 classifier with one output per class.

``width`` scales every layer's channels (1.0 is the paper's network; the tests
use narrow ones).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# torchvision's VGG configuration "D" (VGG16): channels of each conv, "M" for max-pooling
VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _stages(cfg=VGG16) -> list[list[int]]:
    stages, current = [], []
    for v in cfg:
        if v == "M":
            stages.append(current)
            current = []
        else:
            current.append(v)
    return stages


def _cbr(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SegNet(nn.Module):
    input_multiple = 32   # five 2×2 poolings

    def __init__(self, num_classes: int, width: float = 1.0, in_channels: int = 3):
        super().__init__()
        if not 0 < width <= 4:
            raise ValueError(f"width must be in (0, 4], got {width}")

        def ch(c: int) -> int:
            return max(4, int(round(c * width)))

        stages = [[ch(c) for c in s] for s in _stages()]
        layers: list[nn.Module] = []
        cin = in_channels
        for stage in stages:                       # the same module order as vgg16_bn().features
            for c in stage:
                layers += _cbr(cin, c)
                cin = c
            layers.append(nn.MaxPool2d(2, 2, return_indices=True))
        self.encoder = nn.Sequential(*layers)
        # decoder stage i mirrors encoder stage i (deepest first): the convolutions run backwards
        # through the stage's channels and end with the channels of the stage before it; the
        # first stage's mirror is one block short, the classifier takes its place
        decoder = []
        for i in reversed(range(len(stages))):
            widths = stages[i][::-1] + ([stages[i - 1][-1]] if i > 0 else [])
            block: list[nn.Module] = []
            for a, b in zip(widths[:-1], widths[1:]):
                block += _cbr(a, b)
            decoder.append(nn.Sequential(*block))
        self.decoder = nn.ModuleList(decoder)
        self.classifier = nn.Conv2d(stages[0][0], num_classes, 3, padding=1)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():   # as torchvision initialises VGG
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled: list[tuple[torch.Tensor, torch.Size]] = []
        for layer in self.encoder:
            if isinstance(layer, nn.MaxPool2d):
                size = x.shape[-2:]
                x, idx = layer(x)
                pooled.append((idx, size))
            else:
                x = layer(x)
        for block, (idx, size) in zip(self.decoder, reversed(pooled)):
            x = F.max_unpool2d(x, idx, 2, 2, output_size=size)
            x = block(x)
        return self.classifier(x)
