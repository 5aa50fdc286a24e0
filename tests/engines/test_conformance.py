"""Every backend that runs here matches eager fp32 on real photos (the bundled models and samples).

fp32 engines must agree within 1/255 per pixel at the 99.9th percentile, fp16 within 3/255, bf16
(3 mantissa bits fewer than fp16) within 6/255; measured on a native-bf16 Xeon: 4/255.
CUDA and TensorRT cases run the same check and skip, saying why, where the GPU or library is missing.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from artify_stream.registry import load_model
from engines import EngineCache, EngineSpec, build_engine
from tests.conftest import sample_frames

TOLERANCE = {"fp32": 1, "fp16": 3, "bf16": 6}
SIZE = (97, 130)  # odd sizes: the fused padding and cropping are part of what is checked


def no_cuda() -> str | None:
    return None if torch.cuda.is_available() else "no CUDA GPU on this machine"


def no_tensorrt() -> str | None:
    if importlib.util.find_spec("torch_tensorrt") is None:
        return "torch_tensorrt is not installed (TensorRT's libraries are not installable here)"
    return no_cuda()


def cases():
    cpu_bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    skip_bf16 = None if cpu_bf16 else "this CPU has no native bf16"
    yield "torch", "bf16", "cpu", skip_bf16
    yield "compile", "fp32", "cpu", None
    yield "compile", "bf16", "cpu", skip_bf16
    yield "onnx", "fp32", "cpu", None
    # The GPU cases (`pytest -m gpu`, which `make gpu-check` runs on a lent GPU).
    for backend, precision in (("torch", "fp32"), ("torch", "fp16"), ("compile", "fp16"), ("onnx", "fp16")):
        yield pytest.param(backend, precision, "cuda", no_cuda(), marks=pytest.mark.gpu)
    yield pytest.param("tensorrt", "fp16", "cuda", no_tensorrt(), marks=pytest.mark.gpu)


@pytest.fixture(scope="module", params=["artify-draw", "artify-draw-lite"])
def reference(request):
    """Each bundled model (the default and its real-time student) on the bundled photos."""
    model = load_model(request.param)
    frames = sample_frames(*SIZE)
    eager = build_engine(model, EngineSpec("torch", "fp32", "cpu"), EngineCache())
    return model, frames, eager(frames)


@pytest.mark.parametrize("backend,precision,device,skip", list(cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_backend_matches_eager_fp32(reference, backend, precision, device, skip):
    if skip:
        pytest.skip(skip)
    model, frames, expected = reference
    engine = build_engine(model, EngineSpec(backend, precision, device), EngineCache())
    out = engine(frames)
    assert out.dtype == torch.uint8 and out.shape == frames.shape and out.device == frames.device
    diff = (out.int() - expected.int()).abs().float()
    p999 = torch.quantile(diff.flatten(), 0.999).item()
    assert p999 <= TOLERANCE[precision], f"{backend} {precision}: 99.9th percentile error {p999}/255"
    assert diff.mean().item() < 0.5  # not merely within tolerance by luck: nearly every pixel agrees
    if device == "cuda":  # frames already on the GPU come back on the GPU
        assert engine(frames.cuda()).is_cuda


def test_stylizing_is_not_the_identity(reference):
    """Guards the conformance test itself: the reference must actually change the photo."""
    _, frames, expected = reference
    assert (frames.int() - expected.int()).abs().float().mean() > 10
