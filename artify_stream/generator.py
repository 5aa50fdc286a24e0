"""The ArtifyGAN generator (CartoonGAN without the extra convs after the residual blocks).

flat 7x7 conv -> two 3x3 stride-2 down-convs -> N residual blocks -> two 3x3 stride-2
up-convs -> 7x7 conv to RGB -> sigmoid. Batch norm + ReLU after every conv but the last.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F

from artify_stream.errors import ConfigError

#: Height and width must be multiples of this (two stride-2 stages).
SIZE_MULTIPLE = 4


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a generator; Table I of the paper varies these."""

    residual_blocks: int = 10
    first_kernel: int = 7
    base_width: int = 64

    def __post_init__(self) -> None:
        if self.residual_blocks < 0:
            raise ConfigError(f"residual_blocks must be >= 0, got {self.residual_blocks}")
        if self.first_kernel < 1 or self.first_kernel % 2 == 0:
            raise ConfigError(f"first_kernel must be odd and positive, got {self.first_kernel}")
        if self.base_width < 1:
            raise ConfigError(f"base_width must be positive, got {self.base_width}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown generator config keys: {sorted(unknown)}")
        return cls(**{k: int(v) for k, v in data.items()})


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _upconv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    # output_padding=1 makes a stride-2 transposed conv exactly double the size.
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the identity, as in CartoonGAN."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """Maps RGB in [0, 1] (N, 3, H, W), H and W multiples of 4, to RGB in [0, 1]."""

    def __init__(self, config: GeneratorConfig | None = None) -> None:
        super().__init__()
        self.config = config or GeneratorConfig()
        w = self.config.base_width
        self.flat = _conv_bn_relu(3, w, self.config.first_kernel)
        self.down = nn.Sequential(_conv_bn_relu(w, 2 * w, 3, 2), _conv_bn_relu(2 * w, 4 * w, 3, 2))
        self.residual = nn.Sequential(*(ResidualBlock(4 * w) for _ in range(self.config.residual_blocks)))
        self.up = nn.Sequential(_upconv_bn_relu(4 * w, 2 * w), _upconv_bn_relu(2 * w, w))
        self.to_rgb = nn.Conv2d(w, 3, 7, padding=3)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb * 2.0 - 1.0  # centre the input; BN after the first conv does the rest
        x = self.flat(x)
        x = self.down(x)
        x = self.residual(x)
        x = self.up(x)
        return torch.sigmoid(self.to_rgb(x))


def pad_to_multiple(rgb: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad the bottom/right so H and W are multiples; returns the padded batch and the original size."""
    h, w = rgb.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        # Reflection needs pad < size; tiny images (1-3 px) fall back to replicate.
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        rgb = F.pad(rgb, (0, pad_w, 0, pad_h), mode=mode)
    return rgb, h, w


def stylize_tensor(generator: Generator, rgb: torch.Tensor) -> torch.Tensor:
    """Run the generator on any H x W by padding to a multiple of 4 and cropping back."""
    padded, h, w = pad_to_multiple(rgb)
    return generator(padded)[..., :h, :w]
