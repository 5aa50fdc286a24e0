"""The engine interface as the runtime uses it, and an adapter for a plain function.

Every engine (the `engines` backends, the torch-free ONNX session, the OpenCV baselines) has
`spec`, `reason`, `input_buffer(shape)` and is called on uint8 (N, H, W, 3) frames: see
`engines.base.Engine`. A plain function (a test's identity, a user's own filter) gets the same
interface from `as_engine`, so the pipelines never probe what they were given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class EngineSpec:
    """What an engine is: backend, precision and device (all resolved; no 'auto' here). The
    `engines` backends are rows of `engines.formats.FORMATS`; a host function is its own backend."""

    backend: str = "torch"
    precision: str = "fp32"
    device: str = "cpu"

    def label(self) -> str:
        return f"{self.backend} {self.precision} on {self.device}"


class FunctionEngine:
    """A function of uint8 (N, H, W, 3) frames behind the engine interface."""

    def __init__(self, function: Callable, name: str = "function", reason: str = "asked for") -> None:
        self.function = function
        self.spec = EngineSpec(name, precision="uint8")
        self.reason = reason

    def input_buffer(self, shape: tuple[int, int, int, int]) -> np.ndarray:
        return np.empty(shape, dtype=np.uint8)

    def __call__(self, frames):
        return self.function(frames)


@runtime_checkable
class TwoStepEngine(Protocol):
    """An engine whose call is `finish(draw(frames))`: `draw` runs the engines on the caller's
    thread and `finish` does the host work left on what they drew, so live mode finishes frame N on
    another thread while it draws frame N+1 (face mode: pasting the faces in)."""

    def draw(self, frames: np.ndarray) -> object: ...

    def finish(self, drawing) -> np.ndarray: ...


def as_engine(engine: Callable):
    """An engine as is; a plain function wrapped so it has the interface."""
    if all(hasattr(engine, name) for name in ("spec", "reason", "input_buffer")):
        return engine
    return FunctionEngine(engine, getattr(engine, "__name__", "function"))
