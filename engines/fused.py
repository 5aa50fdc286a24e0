"""The graph every engine runs: uint8 NHWC in, uint8 NHWC out, all conversions inside.

Keeping the uint8->float, normalisation, padding and the way back inside one module means
every backend (eager, compiled, ONNX, TensorRT) fuses them with the generator instead of
running extra passes around it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artify_stream.generator import SIZE_MULTIPLE, Generator


class FusedStylizer(nn.Module):
    """(N, H, W, 3) uint8 -> (N, H, W, 3) uint8 through the generator; any H, W >= 4."""

    def __init__(self, generator: Generator, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.generator = generator.eval()
        self.dtype = dtype

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # NHWC -> NCHW as a view: the result already has channels-last strides.
        x = frames.permute(0, 3, 1, 2).to(self.dtype) * (1.0 / 255.0)
        h, w = x.shape[-2], x.shape[-1]
        # Always pad (possibly by 0): no branch on the size, so exported graphs keep H and W dynamic.
        x = F.pad(x, (0, (-w) % SIZE_MULTIPLE, 0, (-h) % SIZE_MULTIPLE), mode="reflect")
        y = self.generator(x)[:, :, :h, :w]
        y = (y * 255.0 + 0.5).clamp(0.0, 255.0).to(torch.uint8)
        return y.permute(0, 2, 3, 1).contiguous()
