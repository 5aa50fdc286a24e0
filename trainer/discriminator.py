"""ArtifyGAN discriminator: flat conv, two stride-2 down blocks, feature construction, 1-channel patch logits."""

from __future__ import annotations

import torch
from torch import nn


def _conv(cin: int, cout: int, stride: int = 1, norm: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class Discriminator(nn.Module):
    """Returns per-patch logits (N, 1, H/4, W/4); the sigmoid lives in the loss for stability."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.flat = nn.Sequential(*_conv(3, w, norm=False))
        self.down = nn.Sequential(
            *_conv(w, 2 * w, stride=2, norm=False), *_conv(2 * w, 4 * w),
            *_conv(4 * w, 4 * w, stride=2, norm=False), *_conv(4 * w, 8 * w),
        )
        self.features = nn.Sequential(*_conv(8 * w, 8 * w))
        self.logits = nn.Conv2d(8 * w, 1, 3, padding=1)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb * 2.0 - 1.0
        return self.logits(self.features(self.down(self.flat(x))))
