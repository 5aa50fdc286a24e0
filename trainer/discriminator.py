"""ArtifyGAN discriminator: flat conv, two stride-2 down blocks, feature construction, 1-channel patch logits.

The paper's has batch norm + LeakyReLU(0.2); `spectral_norm=True` swaps batch norm for spectral
normalization of every conv (Miyato et al. 2018), the usual fix for an unstable D.
`in_channels` is 1 for the texture (grayscale) discriminator.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn


def _conv(cin: int, cout: int, stride: int, norm: bool, spectral: bool) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not (norm and not spectral))
    layers: list[nn.Module] = [_sn(conv) if spectral else conv]
    if norm and not spectral:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class Discriminator(nn.Module):
    """Returns per-patch logits (N, 1, H/4, W/4); the sigmoid (if any) lives in the loss."""

    def __init__(self, in_channels: int = 3, width: int = 32, spectral_norm: bool = False) -> None:
        super().__init__()
        w, sn = width, spectral_norm
        self.flat = nn.Sequential(*_conv(in_channels, w, 1, False, sn))
        self.down = nn.Sequential(
            *_conv(w, 2 * w, 2, False, sn), *_conv(2 * w, 4 * w, 1, True, sn),
            *_conv(4 * w, 4 * w, 2, False, sn), *_conv(4 * w, 8 * w, 1, True, sn),
        )
        self.features = nn.Sequential(*_conv(8 * w, 8 * w, 1, True, sn))
        logits = nn.Conv2d(8 * w, 1, 3, padding=1)
        self.logits = _sn(logits) if sn else logits

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image * 2.0 - 1.0
        return self.logits(self.features(self.down(self.flat(x))))
