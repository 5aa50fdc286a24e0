"""Eager PyTorch engine: fp32, fp16 (CUDA) or bf16, channels-last."""

from __future__ import annotations

import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from engines.base import DTYPES, EngineSpec
from engines.fused import FusedStylizer


def check_device(device: str) -> torch.device:
    """A device that was asked for and cannot be used is an error, never a quiet CPU run."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"device {device!r} was asked for but no CUDA GPU is usable here")
    if dev.type not in ("cpu", "cuda"):
        raise EngineError(f"unsupported device {device!r} (use cpu or cuda)")
    return dev


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in DTYPES:
        raise EngineError(f"unknown precision {precision!r}; choose fp32, fp16 or bf16")
    if precision == "fp16" and device.type == "cpu":
        raise EngineError("fp16 runs on CUDA only; use bf16 or fp32 on the CPU")


class TorchEngine:
    """The fused graph in eager mode; the reference every other backend is checked against."""

    def __init__(self, generator: Generator, spec: EngineSpec) -> None:
        self.device = check_device(spec.device)
        check_precision(spec.precision, self.device)
        self.spec = spec
        dtype = DTYPES[spec.precision]
        generator = generator.to(self.device, dtype=dtype).to(memory_format=torch.channels_last)
        self.module = FusedStylizer(generator, dtype).eval()

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        source = frames.device
        if frames.device != self.device:
            frames = frames.to(self.device, non_blocking=True)
        out = self.module(frames)
        return out if out.device == source else out.to(source)
