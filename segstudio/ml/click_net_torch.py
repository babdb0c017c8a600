"""Click to correct's network (``core.click_net``) in torch, to train it and to write its weights.

``core.click_net`` runs it in numpy wherever click to correct runs; this is the
same network with BatchNorm, for ``benchmarks/fit_click_net.py``, and
``export`` folds the BatchNorm into the convolutions in the layout
``core.click_net.forward`` reads.
"""

from __future__ import annotations

import numpy as np


def unet():
    """The network of ``core.click_net`` in torch, for training."""
    import torch
    from torch import nn

    from segstudio.core.click_net import CHANNELS

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                             nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.e3, self.e4 = block(CHANNELS, 24), block(24, 32), block(32, 48), block(48, 64)
            self.d3, self.d2, self.d1 = block(64 + 48, 48), block(48 + 32, 32), block(32 + 24, 24)
            self.out = nn.Conv2d(24, 1, 1)
            self.pool = nn.MaxPool2d(2)
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

        def forward(self, x):
            a = self.e1(x)
            b = self.e2(self.pool(a))
            c = self.e3(self.pool(b))
            d = self.e4(self.pool(c))
            c = self.d3(torch.cat([self.up(d), c], 1))
            b = self.d2(torch.cat([self.up(c), b], 1))
            a = self.d1(torch.cat([self.up(b), a], 1))
            return self.out(a)[:, 0]
    return UNet()


def export(model) -> dict[str, np.ndarray]:
    """The trained network's weights as ``core.click_net.forward`` reads them (BatchNorm folded)."""
    from segstudio.core.click_net import DECODER, ENCODER

    out = {}
    for name in ENCODER + DECODER:
        seq = getattr(model, name)
        for k, (conv, bn) in enumerate(((seq[0], seq[1]), (seq[3], seq[4]))):
            scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach()
            w = conv.weight.detach() * scale[:, None, None, None]
            b = bn.bias.detach() + (conv.bias.detach() - bn.running_mean) * scale
            out[f"{name}.{k}.w"] = w.reshape(w.shape[0], -1).numpy().astype(np.float32)
            out[f"{name}.{k}.b"] = b.numpy().astype(np.float32)
    out["out.w"] = model.out.weight.detach().reshape(1, -1).numpy().astype(np.float32)
    out["out.b"] = model.out.bias.detach().numpy().astype(np.float32)
    return out
