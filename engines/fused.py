"""The graph every engine runs: uint8 NHWC in, uint8 NHWC out, all conversions inside.

Keeping the uint8->float, normalisation, padding and the way back inside one module means
every backend (eager, compiled, ONNX, TensorRT) fuses them with the generator instead of
running extra passes around it.
"""

from __future__ import annotations

import torch
from torch import nn

from artify_stream.generator import Generator, pad_to_multiple


class FusedStylizer(nn.Module):
    """(N, H, W, 3) uint8 -> (N, H, W, 3) uint8 through the generator, any H and W."""

    def __init__(self, generator: Generator, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.generator = generator.eval()
        self.dtype = dtype

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # NHWC -> NCHW as a view: the result already has channels-last strides.
        x = frames.permute(0, 3, 1, 2).to(self.dtype) * (1.0 / 255.0)
        x, h, w = pad_to_multiple(x)
        y = self.generator(x)[:, :, :h, :w]
        y = (y * 255.0 + 0.5).clamp(0.0, 255.0).to(torch.uint8)
        return y.permute(0, 2, 3, 1).contiguous()
