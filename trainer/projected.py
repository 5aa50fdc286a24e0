"""A discriminator on frozen pretrained features at several scales (Projected GANs, Sauer et al., NeurIPS 2021).

D looks at an image through EfficientNet-Lite0 (frozen; gradients still reach G through it),
taps several blocks, mixes each tap's channels with a fixed random 1x1 projection (the paper's
cross-channel mixing, which spreads features so no single one dominates), and gives per-patch
logits per scale from a small trainable head. Pretrained features know what an outline, a flat
fill or a photographic texture is, which a D trained from scratch on 1,600 cartoons learns slowly.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from artify_stream.features import FrozenFeatures


class ProjectedDiscriminator(nn.Module):
    """Returns the logits of every scale, each pooled to 4x4 patches so the scales weigh alike: (N, 16 * scales)."""

    def __init__(self, taps: tuple[int, ...] = (2, 4, 10), width: int = 64, spectral_norm: bool = True,
                 weights: Path | None = None, seed: int = 0) -> None:
        super().__init__()
        self.features = FrozenFeatures(weights, tuple(taps))
        sn = _sn if spectral_norm else (lambda m: m)
        generator = torch.Generator().manual_seed(seed)
        self.mixers = nn.ModuleList()
        self.heads = nn.ModuleList()
        for tap in taps:
            mixer = nn.Conv2d(self.features.channels(tap), width, 1, bias=False)
            with torch.no_grad():  # fixed random projection: not trained
                mixer.weight.copy_(torch.randn(mixer.weight.shape, generator=generator) / mixer.weight.shape[1] ** 0.5)
            self.mixers.append(mixer.requires_grad_(False))
            self.heads.append(nn.Sequential(
                sn(nn.Conv2d(width, width, 3, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
                sn(nn.Conv2d(width, width, 3, padding=1)), nn.LeakyReLU(0.2, inplace=True),
                sn(nn.Conv2d(width, 1, 1)),
            ))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = [nn.functional.adaptive_avg_pool2d(head(mixer(f)), 4).flatten(1)
                  for f, mixer, head in zip(self.features(image), self.mixers, self.heads)]
        return torch.cat(logits, dim=1)
