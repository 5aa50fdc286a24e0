"""The one interface every engine has, and the options that pick one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

PRECISIONS = ("fp32", "fp16", "bf16")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class EngineSpec:
    """What to build: backend, precision and device."""

    backend: str = "torch"
    precision: str = "fp32"
    device: str = "cpu"


@runtime_checkable
class Engine(Protocol):
    """Stylizes a batch of uint8 RGB frames (N, H, W, 3), on the host or the engine's device.

    Returns uint8 frames of the same shape on the device the input came from.
    """

    spec: EngineSpec

    def __call__(self, frames: torch.Tensor) -> torch.Tensor: ...


def stylize_array(engine: Engine, rgb: np.ndarray) -> np.ndarray:
    """Convenience for one HWC uint8 image as a NumPy array."""
    out = engine(torch.from_numpy(np.ascontiguousarray(rgb))[None])
    return out[0].cpu().numpy()
