"""Eager PyTorch engine: fp32, fp16 (CUDA) or bf16, channels-last. The reference for the others."""

from __future__ import annotations

import torch

from artify_stream.generator import Generator
from engines.base import DTYPES, DeviceEngine, EngineSpec
from engines.cache import EngineCache
from artify_stream.fused import FusedStylizer
from engines.shapes import ShapeRange


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
