"""Model file -> Engine: one call, one interface (uint8 NHWC frames in and out).

    engine = create_engine("artify-draw")            # --engine auto: fastest here, says why
    engine = create_engine(path, "onnx", "fp32", "cpu")
    frames_out = engine(frames_uint8_nhwc)

Which backends exist and what each runs is `engines.formats.FORMATS`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from artify_stream.model_file import ModelFile, ModelRef
    from engines.base import Engine, EngineSpec
    from engines.cache import EngineCache
    from engines.shapes import ShapeRange

__all__ = ["BACKENDS", "FORMATS", "PRECISIONS", "Engine", "EngineCache", "EngineSpec", "ShapeRange", "build_engine", "built_engine",
           "create_engine", "engine_line"]
# Loaded on first use, so reading the table (engines.formats) stays free of torch.
_LAZY = {"BACKENDS": "engines.formats", "FORMATS": "engines.formats", "PRECISIONS": "engines.formats",
         "Engine": "engines.base", "EngineSpec": "engines.base", "EngineCache": "engines.cache",
         "ShapeRange": "engines.shapes"}

log = logging.getLogger(__name__)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engines' has no attribute {name!r}")


def build_engine(model_file: ModelFile, spec: EngineSpec, cache: EngineCache, shapes: ShapeRange | None = None,
                 engine_file: Path | None = None) -> Engine:
    """Build exactly `spec` (already resolved) for a loaded model file; engines that build are verified.
    `engine_file`: a shipped engine to load instead (backends that build without their device)."""
    from artify_stream.errors import EngineError
    from engines.formats import FORMATS, engine_format

    fmt = engine_format(spec.backend)
    extra = {}
    if fmt.builds_without_device:
        extra = {"model": model_file, "engine_file": engine_file}
    elif engine_file is not None:
        loads = ", ".join(name for name, f in FORMATS.items() if f.builds_without_device)
        raise EngineError(f"--engine-file loads a {loads} engine; pass --engine {loads}, not {fmt.name}")
    fmt.check(spec.precision, spec.device.split(":")[0])
    generator = model_file.build_generator("cpu").float()
    return fmt.load_class()(generator, spec, cache, model_file.sha256, shapes, **extra)



def create_engine(
    model: ModelRef | ModelFile | str | Path | None = None,
    backend: str = "auto",
    precision: str = "auto",
    device: str = "auto",
    cache_dir: str | Path | None = None,
    shapes: ShapeRange | None = None,
    engine_file: str | Path | None = None,
) -> Engine:
    """Build an engine for a model: a `ModelRef` resolved at the edge (what the front ends pass), a
    loaded ModelFile, or, for scripts, a path, a bundled name or None (the default), resolved here once.

    `backend="auto"` tries the fastest option this machine has and falls back, with a warning,
    only when a build fails; a named backend is built as asked or raises EngineError.
    """
    from artify_stream.model_file import ModelFile
    from artify_stream.registry import resolve_model
    from engines.cache import EngineCache
    from engines.first_run import prepare_in_child, worth_a_child
    from engines.light import light_engine, wants_light_engine

    cache = EngineCache(cache_dir)
    engine_file = Path(engine_file) if engine_file is not None else None
    if isinstance(model, ModelFile):
        return built_engine(model, backend, precision, device, cache, shapes, engine_file)
    ref = resolve_model(model)
    if engine_file is not None:
        return built_engine(ref.load(), backend, precision, device, cache, shapes, engine_file)
    light = light_engine(ref, backend, precision, device, cache)
    if light is None and shapes is None and wants_light_engine(backend, precision, device) and worth_a_child() \
            and prepare_in_child(ref, backend, precision, cache.root):
        light = light_engine(ref, backend, precision, device, cache)
    if light is not None:  # a cached ONNX graph on the CPU: no torch in this process
        return light
    return built_engine(ref.load(), backend, precision, device, cache, shapes)


def built_engine(model_file: ModelFile, backend: str, precision: str, device: str, cache: EngineCache,
                 shapes: ShapeRange | None = None, engine_file: Path | None = None) -> Engine:
    """`create_engine`'s full path (torch): choose (probing the CPU engines once), build, fall back."""
    if engine_file is not None:  # a shipped engine's metadata is checked before anything needs its device
        from engines.tensorrt_rtx_build import EngineFile

        EngineFile.read(engine_file).check_for(model_file, engine_file)
    from artify_stream.errors import EngineError
    from engines.auto import MachineFacts, choose

    build = lambda spec: build_engine(model_file, spec, cache, shapes, engine_file)  # noqa: E731
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


def engine_line(engine: Engine) -> str:
    """Which engine runs and why, in the words every front end shows (`artify stylize`, the app)."""
    return f"engine: {engine.spec.label()} ({engine.reason})"
