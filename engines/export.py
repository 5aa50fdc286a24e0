"""`artify export`: build an engine ahead of time so the first real run starts warm."""

from __future__ import annotations

from pathlib import Path

import torch

from artify_stream.errors import EngineError
from artify_stream.model_file import ModelFile
from engines import build_engine
from engines.base import EngineSpec
from engines.formats import FORMATS, engine_format
from engines.cache import EngineCache
from engines.shapes import ShapeRange


def export_engine(model_file: ModelFile, spec: EngineSpec, cache: EngineCache, shapes: ShapeRange) -> Path:
    """Build `spec` for `shapes` into the cache and return the cache entry's folder."""
    fmt = engine_format(spec.backend)
    if fmt.builds_without_device:
        raise EngineError(f"the {fmt.name} engine is built by export_rtx_engine (no device needed)")
    if not fmt.needs_build:
        built = ", ".join(f.name for f in FORMATS.values() if f.needs_build)
        raise EngineError(f"the {fmt.name} engine has nothing to build ahead of time; export {built}")
    engine = build_engine(model_file, spec, cache, shapes)
    if fmt.builds_on_first_call:
        # Compiling happens on the first call; run the range's sizes so Inductor's cache holds them.
        for hw in dict.fromkeys((shapes.opt_hw, shapes.min_hw, shapes.max_hw)):
            engine(torch.zeros(shapes.opt_batch, *hw, 3, dtype=torch.uint8, device=spec.device))
    return engine.cache_path


def export_rtx_engine(model_file: ModelFile, precision: str, cache: EngineCache, shapes: ShapeRange,
                      targets, out: Path | None = None):
    """Build (or find cached) the TensorRT-RTX engine on this machine, GPU or not; `out` also
    writes it, with its metadata, to a file to ship. Returns the BuiltEngine."""
    from engines.tensorrt_rtx_build import build_or_load

    built = build_or_load(model_file, precision, shapes, targets, cache)
    if out is not None:
        built.engine_file().write(out)
    return built


def export(model_file: ModelFile, backend: str, precision: str, device: str, cache: EngineCache, shapes: ShapeRange,
           rtx_targets=None, out: Path | None = None) -> tuple[Path, str]:
    """`artify export`: the engine built ahead of time into the cache; (its path, a line saying what was built).
    A TensorRT-RTX engine builds on any machine and may also be written to `out` to ship."""
    from engines.auto import MachineFacts, explicit_choice

    fmt = FORMATS.get(backend)
    if fmt is not None and fmt.builds_without_device:
        from engines.tensorrt_rtx_build import metadata_summary

        rtx_precision = fmt.default_precision["cuda"] if precision == "auto" else precision
        built = export_rtx_engine(model_file, rtx_precision, cache, shapes, rtx_targets, out)
        line = f"{'cached' if built.cache_hit else 'built'} {fmt.name}: {metadata_summary(built.metadata, built.timing)}"
        return (out if out is not None else built.path), line
    if out is not None:
        raise EngineError(f"--out writes a tensorrt-rtx engine file; --engine {backend} is kept in the cache only")
    spec = explicit_choice(backend, precision, device, MachineFacts.gather()).spec
    return export_engine(model_file, spec, cache, shapes), f"built {spec.label()} for {shapes.label()}"
