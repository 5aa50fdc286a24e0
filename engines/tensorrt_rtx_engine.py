"""TensorRT for RTX at run time, on a GeForce/RTX GPU.

The engine comes from the cache (built by `engines.tensorrt_rtx_build` on first use or by
`artify export`) or from an engine file the user ships (`--engine-file`, its metadata checked
against the model first). On the GPU: deserialize, an execution context whose runtime cache (the
just-in-time kernels of this GPU) is kept beside the engine and saved after the first call,
TensorRT-RTX's own CUDA-graph capture, and the uint8 NHWC frames bound in place by address
(no host round trip when the frames are already on the GPU). The first output of an engine new
to this process is checked against eager fp32 with the precision's tolerance.

No GPU on the machines that build and test this project: the run-time half is written against
TensorRT-RTX 1.7's documented Python API, and its tests are marked and skip with the reason.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from artify_stream.model_file import ModelFile
from engines.base import DeviceEngine, EngineSpec
from engines.cache import EngineCache
from engines.onnx_session import INPUT, OUTPUT
from engines.shapes import ShapeRange
from engines.formats import RtxTargets
from engines.tensorrt_rtx_build import EngineFile, build_or_load, import_tensorrt_rtx, metadata_summary
from engines.verify import probe_frames, verify_engine

log = logging.getLogger(__name__)

RUNTIME_CACHE = "runtime.cache"  # beside the engine: the JIT kernels of the GPU it last ran on
#: What an engine is built for when none is given (`--shape`): 64x64 to 1080x1920, batch 1..4.
DEFAULT_SHAPES = ShapeRange((64, 64), (720, 1280), (1080, 1920), max_batch=4, opt_batch=1)


def gpu_problem(device: torch.device, targets: RtxTargets = RtxTargets.portable) -> str | None:
    """Why this GPU cannot run a TensorRT-RTX engine for `targets`, in one line; None when it can."""
    if not torch.cuda.is_available():
        return "no CUDA GPU is usable here (torch.cuda.is_available() is False: no GPU or no driver)"
    index = device.index if device.index is not None else torch.cuda.current_device()
    capability = torch.cuda.get_device_capability(index)
    if not targets.runs_on(capability):
        name = torch.cuda.get_device_name(index)
        extra = " (7.5 needs an engine built with --rtx-targets portable-turing)" if capability == (7, 5) else ""
        return (f"{name} has compute capability {capability[0]}.{capability[1]}, which TensorRT-RTX does not target"
                f"{extra}; use --engine tensorrt or compile on datacenter GPUs")
    return None


class TensorRTRtxEngine(DeviceEngine):
    def __init__(self, generator: Generator, spec: EngineSpec, cache: EngineCache, model_sha256: str,
                 shapes: ShapeRange | None = None, model: ModelFile | None = None,
                 engine_file: Path | None = None, targets: RtxTargets = RtxTargets.portable) -> None:
        super().__init__(spec)
        if engine_file is not None:
            shipped = EngineFile.read(engine_file)
            if model is not None:
                shipped.check_for(model, engine_file)
            targets = RtxTargets(shipped.metadata.get("targets", targets.value))
        problem = gpu_problem(self.device, targets)
        if problem:
            raise EngineError(f"the tensorrt-rtx engine cannot run: {problem}")
        self.trt = import_tensorrt_rtx()
        if engine_file is not None:
            data, metadata = shipped.engine, shipped.metadata
            self.cache_path = Path(engine_file).parent
            runtime_cache = Path(f"{engine_file}.{RUNTIME_CACHE}")
            self.cache_hit = True
        else:
            if model is None:
                raise EngineError("the tensorrt-rtx engine needs the model file to build from")
            built = build_or_load(model, spec.precision, shapes or DEFAULT_SHAPES, targets, cache)
            data, metadata = built.path.read_bytes(), built.metadata
            self.cache_path = built.path.parent
            runtime_cache = built.path.parent / RUNTIME_CACHE
            self.cache_hit = built.cache_hit
        log.info("TensorRT-RTX engine: %s", metadata_summary(metadata))
        self.shapes = ShapeRange(*(tuple(s[1:3]) for s in metadata["shape_range"]), max_batch=metadata["max_batch"],
                                 opt_batch=metadata["shape_range"][1][0])
        self.runtime_cache_path = runtime_cache
        self._open(data)
        self._out: torch.Tensor | None = None
        self._verified = False
        self.reference = copy.deepcopy(generator)

    def _open(self, data: bytes) -> None:
        trt = self.trt
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        self.engine = self.runtime.deserialize_cuda_engine(data)
        if self.engine is None:
            raise EngineError("TensorRT-RTX could not deserialize the engine (built by another version?)")
        config = self.engine.create_runtime_config()
        self.runtime_cache = config.create_runtime_cache()
        if self.runtime_cache_path.is_file():
            self.runtime_cache.deserialize(self.runtime_cache_path.read_bytes())
        config.set_runtime_cache(self.runtime_cache)
        # TensorRT-RTX captures and replays the whole engine as a CUDA graph per shape.
        config.cuda_graph_strategy = trt.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE
        self.context = self.engine.create_execution_context(config)
        self.stream = torch.cuda.Stream(self.device)

    def _save_runtime_cache(self) -> None:
        try:
            self.runtime_cache_path.write_bytes(bytes(self.runtime_cache.serialize()))
        except OSError as exc:  # a read-only shipped folder: the next run compiles again
            log.warning("could not keep TensorRT-RTX's runtime cache at %s (%s)", self.runtime_cache_path, exc)

    def _execute(self, frames: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = frames.shape
        if not self.shapes.covers(n, h, w):
            raise EngineError(f"a batch of {n} frames of {h}x{w} is outside this TensorRT-RTX engine's range "
                              f"{self.shapes.label()}; build one that covers it (artify export --shape)")
        if self._out is None or self._out.shape != frames.shape:
            self._out = torch.empty_like(frames)
        self.context.set_input_shape(INPUT, tuple(frames.shape))
        self.context.set_tensor_address(INPUT, frames.data_ptr())
        self.context.set_tensor_address(OUTPUT, self._out.data_ptr())
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise EngineError("TensorRT-RTX failed to run the engine")
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        return self._out

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        if not self._verified:
            self._verified = True
            probe = probe_frames(self.shapes.opt_hw, batch=1, device=self.device)  # inside the range
            verify_engine(self._execute, self.reference, self.spec, probe)
            self._save_runtime_cache()
        return self._execute(frames)
