"""The one interface every engine has, and the options that pick one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from artify_stream.errors import EngineError

BACKENDS = ("torch", "compile", "onnx", "tensorrt")
PRECISIONS = ("fp32", "fp16", "bf16")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class EngineSpec:
    """What to build: backend, precision and device (all resolved; no 'auto' here)."""

    backend: str = "torch"
    precision: str = "fp32"
    device: str = "cpu"

    def label(self) -> str:
        return f"{self.backend} {self.precision} on {self.device}"


@runtime_checkable
class Engine(Protocol):
    """Stylizes a batch of uint8 RGB frames (N, H, W, 3), on the host or the engine's device.

    Returns uint8 frames of the same shape on the device the input came from.
    `reason` says why this engine was chosen (for `--engine auto`) or that it was asked for.
    """

    spec: EngineSpec
    reason: str

    def __call__(self, frames: torch.Tensor) -> torch.Tensor: ...


class DeviceEngine:
    """Shared by the backends: checks the batch, moves it to the engine's device and back."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.device = torch.device(spec.device)
        self.reason = "asked for"

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise EngineError(f"engine input must be uint8 frames (N, H, W, 3), got {frames.dtype} {tuple(frames.shape)}")
        if frames.shape[1] < 4 or frames.shape[2] < 4:
            raise EngineError(f"frames must be at least 4x4 pixels, got {frames.shape[1]}x{frames.shape[2]}")
        source = frames.device
        if source != self.device:
            frames = frames.to(self.device, non_blocking=True)
        out = self._run(frames.contiguous())
        return out if out.device == source else out.to(source)


def stylize_array(engine: Engine, rgb: np.ndarray) -> np.ndarray:
    """Convenience for one HWC uint8 image as a NumPy array."""
    out = engine(torch.from_numpy(np.ascontiguousarray(rgb))[None])
    return out[0].cpu().numpy()
