"""Check a freshly built engine against eager fp32 before trusting it.

A backend can build an engine that runs but computes something else (an op converted wrongly,
a precision that overflows). Every backend that builds (compile, ONNX, TensorRT) runs one probe
batch through it and through the eager fp32 generator; an engine further off than its
precision's tolerance is refused, saying by how much.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from engines.base import EngineSpec
from artify_stream.fused import FusedStylizer

PROBE_HW = (38, 54)  # small, and not a multiple of 4: the padding is part of what is checked


#: How far a built engine may stray from eager fp32 on a probe frame before it is refused:
#: (mean, 99th percentile) of the absolute difference, in 8-bit levels.
VERIFY_TOLERANCE = {"fp32": (0.5, 2.0), "fp16": (1.5, 6.0), "bf16": (3.0, 12.0)}


def probe_frames(hw: tuple[int, int] = PROBE_HW, batch: int = 1, device: str | torch.device = "cpu") -> torch.Tensor:
    """A deterministic picture-like batch: smooth ramps and a few flat discs (noise is not a photo)."""
    h, w = hw
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    rgb = torch.stack([xx, yy, 0.5 + 0.3 * torch.sin(6 * xx * yy)], -1)
    for i, (cy, cx, r) in enumerate(((0.3, 0.3, 0.2), (0.7, 0.6, 0.25), (0.4, 0.8, 0.15))):
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        rgb[disc] = torch.tensor([(0.9, 0.2, 0.1), (0.1, 0.3, 0.8), (0.95, 0.9, 0.2)][i])
    frames = (rgb * 255).round().to(torch.uint8)
    return frames.expand(batch, h, w, 3).contiguous().to(device)


def verify_engine(run: Callable[[torch.Tensor], torch.Tensor], generator: Generator, spec: EngineSpec,
                  frames: torch.Tensor | None = None) -> None:
    """EngineError unless `run` matches eager fp32 within VERIFY_TOLERANCE[spec.precision] on `frames`."""
    device = torch.device(spec.device)
    frames = probe_frames(device=device) if frames is None else frames.to(device)
    reference = FusedStylizer(copy.deepcopy(generator).float().to(device)).eval()
    with torch.inference_mode():
        expected = reference(frames)
        got = run(frames)
    diff = (got.to(device).int() - expected.int()).abs().float()
    mean, p99 = diff.mean().item(), torch.quantile(diff.flatten(), 0.99).item()
    mean_tol, p99_tol = VERIFY_TOLERANCE[spec.precision]
    if mean > mean_tol or p99 > p99_tol:
        raise EngineError(f"{spec.label()} was built but does not match eager fp32 on a probe batch "
                          f"(mean difference {mean:.2f}, 99th percentile {p99:.1f} levels; {spec.precision} "
                          f"allows {mean_tol}/{p99_tol}): refusing it")
