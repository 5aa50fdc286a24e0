"""The one interface every engine has, and what they share."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from engines.formats import EngineSpec, check_frames

__all__ = ["DTYPES", "DeviceEngine", "Engine", "EngineSpec"]

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@runtime_checkable
class Engine(Protocol):
    """Stylizes a batch of uint8 RGB frames (N, H, W, 3): a NumPy array, or a torch tensor on the
    host or the engine's device.

    Returns uint8 frames of the same shape and kind (a NumPy array for an array, a tensor on the
    input's device for a tensor), valid until the next call (engines reuse their output buffers).
    `input_buffer` gives a host array to decode into that the engine reads fastest (pinned on
    CUDA). `reason` says why this engine was chosen (for `--engine auto`) or that it was asked for.
    """

    spec: EngineSpec
    reason: str

    def __call__(self, frames): ...

    def input_buffer(self, shape: tuple[int, int, int, int]) -> np.ndarray: ...


class DeviceEngine:
    """Shared by the backends: checks the batch, moves it to the engine's device, and brings the
    result back into one reused (pinned, on CUDA) host buffer instead of a new tensor a call."""

    cache_path = None  # the cache entry a built engine lives in (None: nothing is built)

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.device = torch.device(spec.device)
        self.reason = "asked for"
        self._host_out: torch.Tensor | None = None

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _host_buffer(self, like: torch.Tensor) -> torch.Tensor:
        if self._host_out is None or self._host_out.shape != like.shape:
            self._host_out = torch.empty(like.shape, dtype=torch.uint8, pin_memory=like.is_cuda)
        return self._host_out

    def input_buffer(self, shape: tuple[int, int, int, int]) -> np.ndarray:
        """A host array (a view of a pinned tensor on CUDA, so uploads are asynchronous DMA)."""
        return torch.empty(shape, dtype=torch.uint8, pin_memory=self.device.type == "cuda").numpy()

    def __call__(self, frames):
        if isinstance(frames, np.ndarray):  # no copy either way: the tensor is a view of the array
            return self._call_tensor(torch.from_numpy(frames)).numpy()
        return self._call_tensor(frames)

    @torch.inference_mode()
    def _call_tensor(self, frames: torch.Tensor) -> torch.Tensor:
        check_frames(str(frames.dtype).removeprefix("torch."), tuple(frames.shape))
        if frames.device == self.device:
            return self._run(frames.contiguous())
        out = self._run(frames.to(self.device, non_blocking=True).contiguous())
        host = self._host_buffer(out)
        host.copy_(out, non_blocking=True)
        if out.is_cuda:
            torch.cuda.current_stream(out.device).synchronize()
        return host
