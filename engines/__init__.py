"""Model file -> Engine: one call, one interface (uint8 NHWC frames in and out)."""

from __future__ import annotations

from pathlib import Path

from artify_stream.model_file import ModelFile
from artify_stream.registry import load_model
from engines.base import Engine, EngineSpec, stylize_array

__all__ = ["Engine", "EngineSpec", "create_engine", "stylize_array"]


def create_engine(
    model: ModelFile | str | Path | None = None,
    backend: str = "torch",
    precision: str = "fp32",
    device: str = "cpu",
) -> Engine:
    """Build an engine for a model file (path, bundled name, loaded ModelFile or None for the default)."""
    from engines.torch_engine import TorchEngine

    model_file = model if isinstance(model, ModelFile) else load_model(model)
    spec = EngineSpec(backend=backend, precision=precision, device=device)
    generator = model_file.build_generator("cpu")
    if backend == "torch":
        return TorchEngine(generator, spec)
    from artify_stream.errors import EngineError

    raise EngineError(f"unknown engine {backend!r}")
