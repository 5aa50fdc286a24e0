"""The discriminators a run trains: which image representation each judges, with its optimizer.

rgb      the paper's D, on the images themselves
surface  White-box's surface D, on guided-filtered images (judges flat shading)
texture  White-box's texture D, on random-weight grayscale images (judges strokes and outlines)
projected  a D on frozen EfficientNet-Lite0 features at several scales (Projected GANs)

Every D may see its images through DiffAugment (`augment`), reals and fakes alike, and in
lightness only (`critic_colour="lightness"`: the cartoons' palette is then no cue to copy).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from artify_stream.generator import luma
from trainer.augment import diff_augment
from trainer.discriminator import Discriminator
from trainer.representations import surface, texture

View = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, gray weights) -> what D sees
VIEWS: dict[str, tuple[int, View]] = {
    "rgb": (3, lambda images, gray: images),
    "surface": (3, lambda images, gray: surface(images)),
    "texture": (1, lambda images, gray: texture(images, gray)),
    "projected": (3, lambda images, gray: images),
}


@dataclass
class Critic:
    name: str
    weight: float
    module: Discriminator  # the plain module (G's adversarial pass uses it, frozen)
    train_module: nn.Module  # the same, wrapped in DDP when several processes train
    optimizer: torch.optim.Optimizer
    augment: str = ""  # DiffAugment policy, "" for none
    lightness_only: bool = False  # D judges the drawing's lightness: colour is no cartoon cue

    def view(self, images: torch.Tensor, gray_weights: torch.Tensor) -> torch.Tensor:
        if self.lightness_only:
            images = luma(images).expand(-1, 3, -1, -1)
        if self.augment:
            images = diff_augment(images, self.augment)
        return VIEWS[self.name][1](images, gray_weights)


def build_critics(weights: dict[str, float], width: int, spectral_norm: bool, lr: float,
                  betas: tuple[float, float], device: torch.device,
                  wrap: Callable[[nn.Module], nn.Module] = lambda m: m, augment: str = "",
                  projected_taps: tuple[int, ...] = (2, 4, 10), feature_weights=None,
                  lightness_only: bool = False) -> dict[str, Critic]:
    from trainer.projected import ProjectedDiscriminator

    critics = {}
    for name, weight in weights.items():
        if name == "projected":
            module = ProjectedDiscriminator(projected_taps, 4 * width, spectral_norm, feature_weights).to(device)
        else:
            module = Discriminator(VIEWS[name][0], width, spectral_norm).to(device)
        trainable = [p for p in module.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=lr, betas=betas)
        critics[name] = Critic(name, weight, module, wrap(module), optimizer, augment, lightness_only)
    return critics


@contextlib.contextmanager
def frozen(module: nn.Module):
    """No weight gradients for `module` inside (G's step backpropagates through D, not into it)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)
