"""TensorRT engine through torch-tensorrt (dynamo frontend), FP16 by default.

Written against torch-tensorrt 2.9-2.14 (checked at import). What TensorRT builds is the
generator alone on half (or float) NCHW input: the uint8 <-> float casts, padding and crop run
in PyTorch around it, because torch-tensorrt does not convert a uint8 `.to()` (its issue 3247).
Precision comes from the module and input dtypes (`use_explicit_typing`), not the deprecated
`enabled_precisions`.

TensorRT builds for a shape range: a static size (`--shape 720x1280`) or min:opt:max. Without
one, the engine builds a static program for the first frame size it sees (and batch up to the
pipeline's), which is what a video needs. Every new program is checked against eager fp32
before it is saved (as an ExportedProgram, loaded with `torch_tensorrt.load`); one that fails
to load is rebuilt. torch_tensorrt is imported only here, and only when this engine is built.
"""

from __future__ import annotations

import copy
import logging
from types import ModuleType

import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from engines.base import DTYPES, DeviceEngine, EngineSpec
from engines.cache import CacheKey, EngineCache, device_name, library_versions
from engines.formats import FORMATS
from artify_stream.fused import frames_to_model, model_to_frames, padded
from engines.shapes import ShapeRange
from engines.verify import probe_frames, verify_engine

log = logging.getLogger(__name__)

ARTIFACT = FORMATS["tensorrt"].artifact  # the table says what the cache entry holds
DEFAULT_MAX_BATCH = 4
#: The torch-tensorrt releases this engine is written and tested against (pyproject pins the same).
SUPPORTED_VERSIONS = ((2, 9), (2, 14))


def _release(version: str) -> tuple[int, int]:
    parts = version.split("+")[0].split(".")
    return int(parts[0]), int(parts[1])


def import_torch_tensorrt() -> ModuleType:
    """torch_tensorrt of a supported release, or an EngineError that says how to get it."""
    try:
        import torch_tensorrt
    except ImportError:
        raise EngineError("torch-tensorrt is not installed: pip install 'artify-stream[tensorrt]' "
                          "on a machine with an NVIDIA GPU and TensorRT") from None
    except OSError as exc:  # the wheel is there but TensorRT's shared libraries are not
        raise EngineError(f"torch-tensorrt is installed but TensorRT's libraries do not load ({exc})") from None
    version = getattr(torch_tensorrt, "__version__", "0.0")
    lo, hi = SUPPORTED_VERSIONS
    try:
        release = _release(version)
    except (ValueError, IndexError):
        release = (0, 0)
    if not lo <= release <= hi:
        raise EngineError(f"torch-tensorrt {version} is not a release this engine was written for "
                          f"({lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}): pip install 'artify-stream[tensorrt]'")
    return torch_tensorrt


def tensorrt_inputs(trt: ModuleType, shapes: ShapeRange, dtype: torch.dtype) -> list:
    """The generator's one input: (N, 3, H, W) in `dtype`, sizes padded to multiples of 4."""
    (n0, h0, w0, _), (n1, h1, w1, _), (n2, h2, w2, _) = shapes.nhwc()
    nchw = [(n, 3, *padded((h, w))) for n, h, w in ((n0, h0, w0), (n1, h1, w1), (n2, h2, w2))]
    return [trt.Input(min_shape=nchw[0], opt_shape=nchw[1], max_shape=nchw[2], dtype=dtype)]


class TensorRTEngine(DeviceEngine):
    def __init__(self, generator: Generator, spec: EngineSpec, cache: EngineCache, model_sha256: str,
                 shapes: ShapeRange | None = None) -> None:
        super().__init__(spec)
        self.trt = import_torch_tensorrt()
        self.dtype = DTYPES[spec.precision]
        self.reference = copy.deepcopy(generator)  # fp32, for verifying new programs
        self.generator = generator.to(self.device, dtype=self.dtype).eval()
        self.cache, self.model_sha256 = cache, model_sha256
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
        inputs = tensorrt_inputs(self.trt, shapes, self.dtype)
        try:
            program = self.trt.compile(self.generator, ir="dynamo", arg_inputs=inputs, use_explicit_typing=True,
                                       min_block_size=1)
        except Exception as exc:  # noqa: BLE001  (TensorRT reports build failures with many types)
            raise EngineError(f"TensorRT build failed for {shapes.label()}: {exc}") from exc
        probe = probe_frames(shapes.opt_hw, batch=1, device=self.device)
        verify_engine(lambda frames: self._through(program, frames), self.reference, self.spec, probe)
        self.cache.store(key, ARTIFACT, lambda tmp: self.trt.save(program, str(tmp), output_format="exported_program",
                                                                  arg_inputs=inputs))
        return program

    def build(self, shapes: ShapeRange) -> None:
        """Build (or load) the program for `shapes` now; used by `artify export`."""
        self.programs[shapes] = self._load_or_build(shapes)

    def _through(self, program: torch.nn.Module, frames: torch.Tensor) -> torch.Tensor:
        h, w = frames.shape[1], frames.shape[2]
        return model_to_frames(program(frames_to_model(frames, self.dtype).contiguous()), h, w)

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = frames.shape
        return self._through(self._program_for(n, h, w), frames)
