"""The graph every engine runs: uint8 NHWC in, uint8 NHWC out, all conversions inside.

Keeping the uint8->float, normalisation, padding and the way back inside one module means
every backend (eager, compiled, ONNX) fuses them with the generator instead of running extra
passes around it. TensorRT is the exception: torch-tensorrt does not convert a uint8 `.to()`
(its issue 3247), so its engine runs `frames_to_model` and `model_to_frames` around the program.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artify_stream.generator import SIZE_MULTIPLE, Generator


def frames_to_model(frames: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H', W') in [0, 1], H' and W' padded up to multiples of 4."""
    # Cast, then NHWC -> NCHW as a view (channels-last strides). The cast comes first because
    # TensorRT-RTX transposes no uint8 tensor (its ONNX parser refuses a uint8 Transpose).
    x = frames.to(dtype).permute(0, 3, 1, 2) * (1.0 / 255.0)
    h, w = x.shape[-2], x.shape[-1]
    # Always pad (possibly by 0): no branch on the size, so exported graphs keep H and W dynamic.
    # Written with floor division, not `(-w) % 4`: Inductor (torch 2.14) fails to compile a
    # symbolic Python modulo ("TensorReferenceAnalysis has no attribute python_mod").
    return F.pad(x, (0, _pad_to_multiple(w), 0, _pad_to_multiple(h)), mode="reflect")


def _pad_to_multiple(v):
    return (v + SIZE_MULTIPLE - 1) // SIZE_MULTIPLE * SIZE_MULTIPLE - v


def model_to_frames(y: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(N, 3, H', W') in [0, 1] -> (N, h, w, 3) uint8, cropping the padding away."""
    # In fp32 whatever the engine's precision: bf16 holds no x.5 above 128, so scaling and rounding
    # there misround by up to a level (P(cartoon) on the Kodak scenes: 0.798 -> 0.812, the lite).
    y = (y[:, :, :h, :w].float() * 255.0 + 0.5).clamp(0.0, 255.0)
    return y.permute(0, 2, 3, 1).to(torch.uint8).contiguous()  # transposed before the cast, as above


def padded(hw: tuple[int, int]) -> tuple[int, int]:
    return tuple(v + (-v) % SIZE_MULTIPLE for v in hw)


class FusedStylizer(nn.Module):
    """(N, H, W, 3) uint8 -> (N, H, W, 3) uint8 through the generator; any H, W >= 4."""

    def __init__(self, generator: Generator, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.generator = generator.eval()
        self.dtype = dtype

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return model_to_frames(self.generator(frames_to_model(frames, self.dtype)), frames.shape[1], frames.shape[2])
