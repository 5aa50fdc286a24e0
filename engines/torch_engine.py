"""Eager PyTorch engine: fp32, fp16 (CUDA) or bf16, channels-last. The reference for the others."""

from __future__ import annotations

import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from engines.base import DTYPES, DeviceEngine, EngineSpec
from engines.cache import EngineCache
from engines.fused import FusedStylizer
from engines.shapes import ShapeRange


def check_device(device: str) -> torch.device:
    """A device that was asked for and cannot be used is an error, never a quiet CPU run."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise EngineError(f"unknown device {device!r} (use auto, cpu, cuda or cuda:N)") from None
    if dev.type not in ("cpu", "cuda"):
        raise EngineError(f"unsupported device {device!r} (use auto, cpu, cuda or cuda:N)")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise EngineError(f"device {device!r} was asked for but no CUDA GPU is usable here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise EngineError(f"device {device!r} was asked for but this machine has {torch.cuda.device_count()} GPU(s)")
    return dev


def fused_module(generator: Generator, precision: str, device: torch.device) -> FusedStylizer:
    dtype = DTYPES[precision]
    generator = generator.to(device, dtype=dtype).to(memory_format=torch.channels_last)
    return FusedStylizer(generator, dtype).eval()


class TorchEngine(DeviceEngine):
    """The fused graph in eager mode."""

    def __init__(self, generator: Generator, spec: EngineSpec, cache: EngineCache, model_sha256: str,
                 shapes: ShapeRange | None = None) -> None:
        super().__init__(spec)
        self.module = fused_module(generator, spec.precision, self.device)

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        return self.module(frames)
