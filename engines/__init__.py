"""Model file -> Engine: one call, one interface (uint8 NHWC frames in and out).

    engine = create_engine("artify-small")            # --engine auto: fastest here, says why
    engine = create_engine(path, "onnx", "fp32", "cpu")
    frames_out = engine(frames_uint8_nhwc)
"""

from __future__ import annotations

import logging
from pathlib import Path

from artify_stream.errors import EngineError
from artify_stream.model_file import ModelFile
from artify_stream.registry import load_model
from engines.auto import MachineFacts, choose
from engines.base import BACKENDS, PRECISIONS, Engine, EngineSpec, stylize_array
from engines.cache import EngineCache
from engines.shapes import ShapeRange

__all__ = ["BACKENDS", "PRECISIONS", "Engine", "EngineCache", "EngineSpec", "ShapeRange", "build_engine",
           "create_engine", "stylize_array"]

log = logging.getLogger(__name__)


def build_engine(model_file: ModelFile, spec: EngineSpec, cache: EngineCache, shapes: ShapeRange | None = None) -> Engine:
    """Build exactly `spec` (already resolved) for a loaded model file."""
    generator = model_file.build_generator("cpu").float()
    if spec.backend == "torch":
        from engines.torch_engine import TorchEngine

        return TorchEngine(generator, spec)
    if spec.backend == "compile":
        from engines.compile_engine import CompiledEngine

        return CompiledEngine(generator, spec, cache, model_file.sha256)
    if spec.backend == "onnx":
        from engines.onnx_engine import OnnxEngine

        return OnnxEngine(generator, spec, cache, model_file.sha256)
    if spec.backend == "tensorrt":
        from engines.tensorrt_engine import TensorRTEngine

        return TensorRTEngine(generator, spec, cache, model_file.sha256, shapes)
    raise EngineError(f"unknown engine {spec.backend!r}; choose auto, {', '.join(BACKENDS)}")


def create_engine(
    model: ModelFile | str | Path | None = None,
    backend: str = "auto",
    precision: str = "auto",
    device: str = "auto",
    cache_dir: str | Path | None = None,
    shapes: ShapeRange | None = None,
) -> Engine:
    """Build an engine for a model file (path, bundled name, loaded ModelFile or None for the default).

    `backend="auto"` tries the fastest option this machine has and falls back, with a warning,
    only when a build fails; a named backend is built as asked or raises EngineError.
    """
    model_file = model if isinstance(model, ModelFile) else load_model(model)
    cache = EngineCache(cache_dir)
    build = lambda spec: build_engine(model_file, spec, cache, shapes)  # noqa: E731
    choices = choose(backend, precision, device, MachineFacts.gather(), model_file.sha256, cache, build)
    failures = []
    for choice in choices:
        try:
            engine = build(choice.spec)
        except EngineError as exc:
            if backend != "auto" or choice is choices[-1]:
                raise
            log.warning("%s failed to build, falling back: %s", choice.spec.label(), exc)
            failures.append(f"{choice.spec.backend}: {exc}")
            continue
        engine.reason = choice.reason if not failures else f"{choice.reason} ({'; '.join(failures)})"
        return engine
    raise EngineError("no engine could be built")  # unreachable: the last failure re-raises
