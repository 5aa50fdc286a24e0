"""torch.compile engine: Inductor kernels on the CPU, Inductor + CUDA graphs on CUDA.

Compiled once with dynamic shapes (the probe batch that verifies it and every frame size after
share one graph). Inductor's on-disk cache lives in this engine's cache entry, so the next
process with the same model, precision, device and versions starts from warm kernels.
"""

from __future__ import annotations

import copy
import os

import torch

from artify_stream.generator import Generator
from engines.base import DeviceEngine, EngineSpec
from engines.cache import CacheKey, EngineCache, device_name, library_versions
from engines.shapes import ShapeRange
from engines.torch_engine import fused_module
from engines.verify import verify_engine


class CompiledEngine(DeviceEngine):
    def __init__(self, generator: Generator, spec: EngineSpec, cache: EngineCache, model_sha256: str,
                 shapes: ShapeRange | None = None) -> None:
        super().__init__(spec)
        reference = copy.deepcopy(generator)
        module = fused_module(generator, spec.precision, self.device)
        key = CacheKey(model_sha256, "compile", spec.precision, "any", device_name(self.device), library_versions())
        self.cache_path = cache.workdir(key)
        self.inductor_dir = str(self.cache_path / "inductor")
        # CUDA graphs replay the whole batch as one launch; they need static input addresses,
        # which "reduce-overhead" provides by copying into its own buffers. Its outputs are
        # overwritten by the next replay: the Engine contract (valid until the next call).
        mode = "reduce-overhead" if self.device.type == "cuda" else "default"
        self.compiled = torch.compile(module, mode=mode, fullgraph=True, dynamic=True)
        try:
            verify_engine(self._run, reference, spec)
        except Exception:
            cache.invalidate(key)  # an unverified build is never recorded as a cache entry
            raise
        cache.commit_workdir(key)

    def _run(self, frames: torch.Tensor) -> torch.Tensor:
        # Inductor reads its cache folder from the environment whenever it compiles (the first call,
        # a new frame size); point it at this engine's entry, even if another engine moved it since.
        if os.environ.get("TORCHINDUCTOR_CACHE_DIR") != self.inductor_dir:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = self.inductor_dir
        return self.compiled(frames)
