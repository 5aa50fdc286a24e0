"""TensorRT engine through torch-tensorrt (dynamo frontend), FP16 by default.

TensorRT builds for a shape range: a static size (`--shape 720x1280`) or min:opt:max. Without
one, the engine builds a static program for the first frame size it sees (and batch up to the
pipeline's), which is what a video needs. Programs are saved as ExportedPrograms in the engine
cache and loaded with `torch_tensorrt.load`; one that fails to load is rebuilt.

torch_tensorrt is imported only here, and only when this engine is built.
"""

from __future__ import annotations

import logging
from types import ModuleType

import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from engines.base import DTYPES, DeviceEngine, EngineSpec
from engines.cache import CacheKey, EngineCache, device_name, library_versions
from engines.shapes import ShapeRange
from engines.torch_engine import fused_module

log = logging.getLogger(__name__)

ARTIFACT = "stylizer.ep"
DEFAULT_MAX_BATCH = 4


def import_torch_tensorrt() -> ModuleType:
    """torch_tensorrt, or an EngineError that says how to get it."""
    try:
        import torch_tensorrt
    except ImportError:
        raise EngineError("torch-tensorrt is not installed: pip install 'artify-stream[tensorrt]' "
                          "on a machine with an NVIDIA GPU and TensorRT") from None
    except OSError as exc:  # the wheel is there but TensorRT's shared libraries are not
        raise EngineError(f"torch-tensorrt is installed but TensorRT's libraries do not load ({exc})") from None
    return torch_tensorrt


def tensorrt_inputs(trt: ModuleType, shapes: ShapeRange) -> list:
    """One uint8 NHWC input with the range's min/opt/max shapes."""
    lo, opt, hi = shapes.nhwc()
    return [trt.Input(min_shape=lo, opt_shape=opt, max_shape=hi, dtype=torch.uint8)]


class TensorRTEngine(DeviceEngine):
    def __init__(self, generator: Generator, spec: EngineSpec, cache: EngineCache, model_sha256: str,
                 shapes: ShapeRange | None = None) -> None:
        super().__init__(spec)
        if spec.precision not in ("fp16", "fp32"):
            raise EngineError(f"the tensorrt engine builds fp16 or fp32, not {spec.precision}")
        self.trt = import_torch_tensorrt()
        self.generator, self.cache, self.model_sha256 = generator, cache, model_sha256
        self.fixed_shapes = shapes
        self.programs: dict[ShapeRange, torch.nn.Module] = {}
        self.cache_hit: bool | None = None
        self.cache_path = cache.root / "tensorrt"
        if shapes is not None:
            self.programs[shapes] = self._load_or_build(shapes)

    def cache_key(self, shapes: ShapeRange) -> CacheKey:
        return CacheKey(self.model_sha256, "tensorrt", self.spec.precision, shapes.label(), device_name(self.device),
                        library_versions("torch-tensorrt", "tensorrt"))

    def _program_for(self, n: int, h: int, w: int) -> torch.nn.Module:
        for shapes, program in self.programs.items():
            if shapes.covers(n, h, w):
                return program
        if self.fixed_shapes is not None:
            raise EngineError(f"a batch of {n} frames of {h}x{w} is outside this TensorRT engine's shape range "
                              f"{self.fixed_shapes.label()}; build one that covers it (--shape)")
        shapes = ShapeRange.static((h, w), max_batch=max(n, DEFAULT_MAX_BATCH))
        log.info("building a TensorRT engine for %s (first use of this size)", shapes.label())
        program = self.programs[shapes] = self._load_or_build(shapes)
        return program

    def _load_or_build(self, shapes: ShapeRange) -> torch.nn.Module:
        key = self.cache_key(shapes)
        self.cache_path = self.cache.entry_dir(key)
        path = self.cache.lookup(key, ARTIFACT)
        self.cache_hit = path is not None
        if path is not None:
            try:
                return self.trt.load(str(path)).module()
            except Exception as exc:  # noqa: BLE001  (a corrupt program can fail in many ways)
                log.warning("cached TensorRT program %s does not load (%s); rebuilding it", path, exc)
                self.cache.invalidate(key)
                self.cache_hit = False
        module = fused_module(self.generator, self.spec.precision, self.device)
        inputs = tensorrt_inputs(self.trt, shapes)
        try:
            program = self.trt.compile(module, ir="dynamo", arg_inputs=inputs,
                                       enabled_precisions={DTYPES[self.spec.precision]}, min_block_size=1)
        except Exception as exc:  # noqa: BLE001  (TensorRT reports build failures with many types)
            raise EngineError(f"TensorRT build failed for {shapes.label()}: {exc}") from exc
        self.cache.store(key, ARTIFACT, lambda tmp: self.trt.save(program, str(tmp), output_format="exported_program",
                                                                  arg_inputs=inputs))
        return program

    def build(self, shapes: ShapeRange) -> None:
        """Build (or load) the program for `shapes` now; used by `artify export`."""
        self.programs[shapes] = self._load_or_build(shapes)

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = frames.shape
        return self._program_for(n, h, w)(frames)
