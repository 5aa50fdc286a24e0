"""Device rules the engines and the trainer share: which device a run gets, and what this CPU runs fast.

One rule everywhere: `auto` takes the GPU where one is usable; a device asked for and missing is an
error, never a quiet CPU run.
"""

from __future__ import annotations

import torch

from artify_stream.errors import EngineError

DEVICE_HELP = "auto, cpu, cuda or cuda:N"


def check_device(device: str) -> torch.device:
    """A device that was asked for and cannot be used is an error, never a quiet CPU run."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise EngineError(f"unknown device {device!r} (use {DEVICE_HELP})") from None
    if dev.type not in ("cpu", "cuda"):
        raise EngineError(f"unsupported device {device!r} (use {DEVICE_HELP})")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise EngineError(f"device {device!r} was asked for but no CUDA GPU is usable here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise EngineError(f"device {device!r} was asked for but this machine has {torch.cuda.device_count()} GPU(s)")
    return dev


def resolve_device(device: str | None, cuda_usable: bool | None = None) -> str:
    """`auto` (or None) -> "cuda" where a GPU is usable, else "cpu"; anything else is checked and kept."""
    if device in (None, "auto"):
        usable = torch.cuda.is_available() if cuda_usable is None else cuda_usable
        return "cuda" if usable else "cpu"
    check_device(device)
    return device


def cpu_has_bf16() -> bool:
    """True where oneDNN has native bf16 kernels (AVX-512 BF16 / AMX); emulated bf16 is slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
