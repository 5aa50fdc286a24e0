"""ONNX Runtime sessions for the fused graph, and the CPU engine that runs one without torch.

The graph (uint8 NHWC frames in, uint8 out) is exported once by `engines.onnx_engine` and kept
in the engine cache. Running it on the CPU needs only NumPy and ONNX Runtime, so a process that
finds the graph cached never imports torch (see `engines.light`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from artify_stream.errors import EngineError
from engines.cache import CacheKey, library_versions
from engines.formats import FORMATS, EngineSpec, check_frames

ARTIFACT = FORMATS["onnx"].artifact  # the table says what the cache entry holds
INPUT, OUTPUT = "frames", "stylized"


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise EngineError("ONNX Runtime is not installed: pip install 'artify-stream[onnx]'") from None
    return onnxruntime


def onnx_cache_key(model_sha256: str, precision: str, device_name: str) -> CacheKey:
    """Where the exported graph of a model lives in the engine cache (one source for both engines)."""
    return CacheKey(model_sha256, "onnx", precision, "any", device_name,
                    library_versions("onnx", "onnxscript", "onnxruntime", "onnxruntime-gpu"))


def open_session(path: Path, cuda_index: int | None = None, threads: int | None = None):
    """An optimised session on the CPU, or on CUDA device `cuda_index` (refused if it fell back);
    on the CPU with `threads` intra-op threads (default: one per core)."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    if cuda_index is None:
        # Its threads sleep between calls instead of spinning: in a pipeline the decoder and encoder
        # need those cycles (live lite on 2 cores: 23 vs 21 fps out, one 30 s run each).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers: list = ["CPUExecutionProvider"]
    if cuda_index is not None:
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise EngineError(f"cuda:{cuda_index} was asked for but this ONNX Runtime has no CUDA provider "
                              "(pip install onnxruntime-gpu)")
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": cuda_index}))
    session = ort.InferenceSession(str(path), options, providers=providers)
    if cuda_index is not None and "CUDAExecutionProvider" not in session.get_providers():
        raise EngineError(f"ONNX Runtime could not start its CUDA provider on cuda:{cuda_index}")
    return session


class HostOnnxEngine:
    """The cached ONNX graph on the CPU, NumPy in and out: the Engine interface without torch.

    Output goes into one reused array (valid until the next call, as every engine's); ONNX
    Runtime writes into it directly through an I/O binding.
    """

    cache_path = None

    def __init__(self, session, spec: EngineSpec, cache_path: Path | None = None, reason: str = "asked for") -> None:
        self.session = session
        self.spec = spec
        self.cache_path = cache_path
        self.cache_hit = True
        self.reason = reason
        self._out: np.ndarray | None = None

    def input_buffer(self, shape: tuple[int, int, int, int]) -> np.ndarray:
        return np.empty(shape, dtype=np.uint8)

    def limit_threads(self, threads: int) -> None:
        """From here on, run on `threads` CPU threads (the session is opened again from the cache)."""
        self.session = open_session(Path(self.cache_path) / ARTIFACT, threads=threads)

    def __call__(self, frames):
        if not isinstance(frames, np.ndarray):  # a CPU torch tensor (torch is loaded already then)
            import torch

            return torch.from_numpy(self(frames.numpy()))
        check_frames(str(frames.dtype), frames.shape)
        frames = np.ascontiguousarray(frames)
        if self._out is None or self._out.shape != frames.shape:
            self._out = np.empty_like(frames)
        binding = self.session.io_binding()
        binding.bind_input(INPUT, "cpu", 0, np.uint8, frames.shape, frames.ctypes.data)
        binding.bind_output(OUTPUT, "cpu", 0, np.uint8, self._out.shape, self._out.ctypes.data)
        self.session.run_with_iobinding(binding)
        return self._out
