"""ONNX Runtime engine: the fused graph exported once with dynamic batch, height and width.

The exported .onnx lives in the engine cache; a cached file that ONNX Runtime cannot load is
removed and exported again. On CUDA the frames are bound in place (no host copies), and a
session that silently fell back to the CPU provider is refused.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from pathlib import Path

import numpy as np
import torch

from artify_stream.errors import EngineError
from artify_stream.generator import Generator
from engines.base import DeviceEngine, EngineSpec
from engines.cache import EngineCache, device_name
from artify_stream.fused import FusedStylizer
from engines.onnx_session import ARTIFACT, INPUT, OUTPUT, import_onnxruntime, onnx_cache_key, open_session
from engines.shapes import ShapeRange
from engines.torch_engine import fused_module
from engines.verify import verify_engine

log = logging.getLogger(__name__)
# The exporter's graph passes log every step at INFO; keep a run's log readable.
for _name in ("onnx_ir", "onnxscript", "torch.onnx"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def export_onnx(module: FusedStylizer, path: Path) -> None:
    """Export with symbolic N, H and W (an example of batch 2 and odd sizes keeps them unspecialised)."""
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        raise EngineError("exporting to ONNX needs onnx and onnxscript: pip install 'artify-stream[onnx]'") from None
    example = torch.zeros(2, 67, 93, 3, dtype=torch.uint8, device=next(module.parameters()).device)
    dynamic = torch.export.Dim.DYNAMIC
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress steps
        torch.onnx.export(module, (example,), str(path), dynamo=True, input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_shapes={"frames": {0: dynamic, 1: dynamic, 2: dynamic}}, external_data=False,
                          verbose=False)


class OnnxEngine(DeviceEngine):
    def __init__(self, generator: Generator, spec: EngineSpec, cache: EngineCache, model_sha256: str,
                 shapes: ShapeRange | None = None) -> None:
        super().__init__(spec)
        self._out: torch.Tensor | None = None
        ort = import_onnxruntime()
        if self.device.type == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
            raise EngineError(f"{spec.device} was asked for but this ONNX Runtime has no CUDA provider "
                              "(pip install onnxruntime-gpu)")
        key = onnx_cache_key(model_sha256, spec.precision, device_name(self.device))
        self.session_key = key
        path = cache.lookup(key, ARTIFACT)
        self.cache_path = cache.entry_dir(key)
        self.cache_hit = path is not None
        if path is not None:
            try:
                self.session = self._session(path)
                return
            except Exception as exc:  # ORT raises its own types for unreadable graphs
                log.warning("cached ONNX graph %s does not load (%s); exporting again", path, exc)
                cache.invalidate(key)
                self.cache_hit = False
        # Export from the CPU in the target precision; ORT places it on the device.
        reference = copy.deepcopy(generator)
        module = fused_module(generator, spec.precision if self.device.type == "cuda" else "fp32", torch.device("cpu"))

        def export_checked(tmp: Path) -> None:
            export_onnx(module, tmp)
            self.session = self._session(tmp)
            verify_engine(self._run, reference, spec)  # a graph that fails is never cached

        cache.store(key, ARTIFACT, export_checked)

    def _session(self, path: Path):
        return open_session(path, (self.device.index or 0) if self.device.type == "cuda" else None)

    def limit_threads(self, threads: int) -> None:
        """On the CPU, from here on, run on `threads` threads (the session is opened again from the cache)."""
        if self.device.type != "cpu":
            raise EngineError(f"limit_threads is for CPU engines, not {self.spec.device}")
        self.session = open_session(Path(self.cache_path) / ARTIFACT, threads=threads)

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        # Bind torch memory directly: no NumPy copies on the CPU, no host round trip on CUDA;
        # the output buffer is reused while the shape stays (the Engine contract).
        if self._out is None or self._out.shape != frames.shape or self._out.device != frames.device:
            self._out = torch.empty_like(frames)
        out = self._out
        kind, index = ("cuda", self.device.index or 0) if self.device.type == "cuda" else ("cpu", 0)
        binding = self.session.io_binding()
        binding.bind_input(INPUT, kind, index, np.uint8, tuple(frames.shape), frames.data_ptr())
        binding.bind_output(OUTPUT, kind, index, np.uint8, tuple(out.shape), out.data_ptr())
        if kind == "cuda":
            torch.cuda.current_stream(self.device).synchronize()
        self.session.run_with_iobinding(binding)
        return out
