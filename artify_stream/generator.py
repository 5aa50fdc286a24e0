"""The ArtifyGAN generator (CartoonGAN without the extra convs after the residual blocks).

flat 7x7 conv -> two 3x3 stride-2 down-convs -> N residual blocks -> two x2 up-convs ->
7x7 conv to RGB -> sigmoid. Batch norm + ReLU after every conv but the last.

Two switches beyond the paper, both recorded in every model file:
- `upsample="resize"`: x2 nearest-neighbour resize + 3x3 conv instead of the stride-2
  transposed conv, whose uneven kernel overlap paints a checkerboard (Odena et al. 2016).
- `separable=True`: depthwise 3x3 + pointwise 1x1 convs in the residual blocks and the up path
  (MobileNet-style), for lite models that must run in real time on a CPU.
- `strided_ends=True`: the first conv has stride 2 and the output is a 4x4 stride-2 transposed
  conv (kernel a multiple of the stride: even overlap, no checkerboard), so no conv runs at full
  resolution; the inner down- and up-stage then keep the half resolution. The full-resolution convs
  were ~60% of the lite model's CPU time at 640x360 (measured with ONNX Runtime's profiler).
- `photo_chroma=n`: the network draws lightness; the output's chroma is the photo's, averaged
  over n x n blocks and interpolated back (`with_photo_chroma`). Part of the graph, so every
  engine (ONNX, TensorRT, compile) runs it fused.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from artify_stream.generator_config import LUMA, GeneratorConfig

__all__ = ["SIZE_MULTIPLE", "Generator", "GeneratorConfig", "ResidualBlock", "ResizeConv", "luma", "with_photo_chroma"]

#: Height and width must be multiples of this (two stride-2 stages).
SIZE_MULTIPLE = 4


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, separable: bool = False) -> nn.Module:
    if separable and kernel > 1 and cin > 1:
        return nn.Sequential(
            nn.Conv2d(cin, cin, kernel, stride=stride, padding=kernel // 2, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
        )
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1, separable: bool = False) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cout, kernel, stride, separable), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResizeConv(nn.Module):
    """x2 nearest-neighbour up-sampling then a 3x3 conv: every output pixel sees the same kernel."""

    def __init__(self, cin: int, cout: int, separable: bool = False) -> None:
        super().__init__()
        self.conv = _conv(cin, cout, 3, separable=separable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _up_bn_relu(cin: int, cout: int, upsample: str, separable: bool) -> nn.Sequential:
    if upsample == "resize":
        up: nn.Module = ResizeConv(cin, cout, separable)
    else:
        # output_padding=1 makes a stride-2 transposed conv exactly double the size.
        up = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=False)
    return nn.Sequential(up, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the identity, as in CartoonGAN."""

    def __init__(self, channels: int, separable: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, 3, separable=separable),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            _conv(channels, channels, 3, separable=separable),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """Maps RGB in [0, 1] (N, 3, H, W), H and W multiples of 4, to RGB in [0, 1]."""

    def __init__(self, config: GeneratorConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or GeneratorConfig()
        w, sep = cfg.base_width, cfg.separable
        # The strided ends replace the first down- and the last up-sampling stage: flat, down[0],
        # up[1] and to_rgb differ; the residual trunk and up[0] are the same in both layouts.
        stride, inner = (2, 1) if cfg.strided_ends else (1, 2)
        self.flat = _conv_bn_relu(3, w, cfg.first_kernel, stride=stride)
        self.down = nn.Sequential(_conv_bn_relu(w, 2 * w, 3, inner, sep), _conv_bn_relu(2 * w, 4 * w, 3, 2, sep))
        self.residual = nn.Sequential(*(ResidualBlock(4 * w, sep) for _ in range(cfg.residual_blocks)))
        first_up = _up_bn_relu(4 * w, 2 * w, cfg.upsample, sep)
        last_up = _conv_bn_relu(2 * w, w, 3, 1, sep) if cfg.strided_ends else _up_bn_relu(2 * w, w, cfg.upsample, sep)
        self.up = nn.Sequential(first_up, last_up)
        if cfg.strided_ends:
            self.to_rgb: nn.Module = nn.ConvTranspose2d(w, 3, 4, stride=2, padding=1)
        else:
            self.to_rgb = nn.Conv2d(w, 3, cfg.last_kernel, padding=cfg.last_kernel // 2)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb * 2.0 - 1.0  # centre the input; BN after the first conv does the rest
        x = self.flat(x)
        x = self.down(x)
        x = self.residual(x)
        x = self.up(x)
        drawn = torch.sigmoid(self.to_rgb(x))
        if self.config.photo_chroma:
            return with_photo_chroma(drawn, rgb, self.config.photo_chroma, self.config.chroma_edges)
        return drawn


#: The guided filter of `chroma_edges`: worked out at 1/4 size; a lightness step whose variance over
#: the window is well above EPS (a step of about 0.1 of the range) is an edge the colour stops at.
CHROMA_EDGES_SCALE, CHROMA_EDGES_EPS = 4, 1e-2


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W)."""
    return rgb[:, 0:1] * LUMA[0] + rgb[:, 1:2] * LUMA[1] + rgb[:, 2:3] * LUMA[2]


def with_photo_chroma(drawn: torch.Tensor, photo: torch.Tensor, block: int, edges: bool = False) -> torch.Tensor:
    """The drawing's luma plus the photo's chroma (RGB minus its luma) averaged over block x block
    cells (or, with `edges`, over windows of about that size that stop at the photo's edges): flat
    colour areas that keep the photo's hues; borders and shading come from the drawing.
    Composed in fp32 whatever the engine's precision: in bf16 these sums alone cost 4-6 levels."""
    dtype, drawn, photo = drawn.dtype, drawn.float(), photo.float()
    if edges:
        chroma = edge_aware_chroma(photo, block)
    else:
        flat = F.avg_pool2d(photo, block, ceil_mode=True)  # a partial last block averages what it covers
        flat = F.interpolate(flat, size=photo.shape[-2:], mode="bilinear", align_corners=False)
        chroma = flat - luma(flat)
    return (luma(drawn) + chroma).clamp(0.0, 1.0).to(dtype)


def edge_aware_chroma(photo: torch.Tensor, block: int) -> torch.Tensor:
    """The photo's chroma flattened by a guided filter on its own lightness (He, Sun and Tang 2010,
    in its fast form: worked out at a quarter of the size): flat inside a region and stepping where
    the lightness steps, so a red shutter's colour stays on the shutter instead of tinting the wall
    around it, as block means do. `block` sets the window (about block x block pixels)."""
    scale, radius = CHROMA_EDGES_SCALE, max(1, block // 4)  # 16: a 9x9 window at a quarter size, 36 px
    guide = luma(photo)
    small = F.avg_pool2d(torch.cat([guide, photo - guide], 1), scale, ceil_mode=True)
    g, c = small[:, :1], small[:, 1:]

    def box(t: torch.Tensor) -> torch.Tensor:  # window means, separably (exact: the window is a rectangle)
        t = F.avg_pool2d(t, (1, 2 * radius + 1), stride=1, padding=(0, radius), count_include_pad=False)
        return F.avg_pool2d(t, (2 * radius + 1, 1), stride=1, padding=(radius, 0), count_include_pad=False)

    means = box(torch.cat([g, c, g * c, g * g], 1))  # one pass over all eight channels
    mean_g, mean_c, mean_gc, mean_gg = means[:, :1], means[:, 1:4], means[:, 4:7], means[:, 7:]
    slope = (mean_gc - mean_g * mean_c) / (mean_gg - mean_g**2 + CHROMA_EDGES_EPS)
    coefficients = box(torch.cat([slope, mean_c - slope * mean_g], 1))
    coefficients = F.interpolate(coefficients, size=photo.shape[-2:], mode="bilinear", align_corners=False)
    return coefficients[:, :3] * guide + coefficients[:, 3:]
