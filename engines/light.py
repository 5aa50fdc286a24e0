"""A CPU engine without torch: the model's ONNX graph, when the engine cache already holds it.

The CUDA build of torch costs ~610 MiB of resident memory just to import; ONNX Runtime and
NumPy cost ~90. So when the engine a CPU run would get is ONNX Runtime (asked for, or what
`auto` picks from its cached probe; see `engines.cpu_ranking`) and its graph was
exported by an earlier run, the engine is opened from NumPy and ONNX Runtime alone. Anything
else (nothing cached yet, a GPU in the machine, another backend) returns None, and
`create_engine` takes the full path, which exports and caches the graph for next time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from artify_stream.model_file import ModelRef
from engines.cache import CacheKey, EngineCache, device_name, library_versions
from engines.cpu_ranking import rank_cpu_engines
from engines.formats import FORMATS, EngineSpec
from engines.onnx_session import HostOnnxEngine, onnx_cache_key, open_session

log = logging.getLogger(__name__)

PROBE_SIZE = (360, 640)  # the live default: where a CPU engine's speed decides real time


def nvidia_gpu_present() -> bool:
    """An NVIDIA driver is loaded here (then torch decides about CUDA; we do not guess)."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/nvidiactl").exists()


def cpu_probe_key(model_sha256: str, precision: str) -> CacheKey:
    """Where `auto` keeps its CPU timings of a model (shared with engines.auto)."""
    return CacheKey(model_sha256, "cpu-probe", precision, f"{PROBE_SIZE[0]}x{PROBE_SIZE[1]}", device_name("cpu"),
                    library_versions("onnxruntime"))


def wants_light_engine(backend: str, precision: str, device: str) -> bool:
    """A request the torch-free engine can serve once its graph (and for auto, the probe) is cached."""
    if device not in ("auto", "cpu") or (device == "auto" and nvidia_gpu_present()):
        return False
    torch_free = backend == "auto" or (backend in FORMATS and FORMATS[backend].torch_free)
    return torch_free and precision in ("auto", "fp32")


def light_engine(model: ModelRef, backend: str, precision: str, device: str,
                 cache: EngineCache) -> HostOnnxEngine | None:
    """The torch-free engine for this request, or None when the full path must decide or build."""
    if not wants_light_engine(backend, precision, device):
        return None
    if backend != "auto":
        reason = "asked for"
    else:
        timings = cache.read_json(cpu_probe_key(model.sha256, precision), "timings.json")
        if not timings:
            return None
        specs = [EngineSpec(*label.split(" on ")[0].split(" "), "cpu") for label in timings]
        ranked, why = rank_cpu_engines(timings, specs)
        if not ranked or not FORMATS[ranked[0].backend].torch_free:
            return None
        reason = f"{why}, at {PROBE_SIZE[0]}x{PROBE_SIZE[1]}"
    key = onnx_cache_key(model.sha256, "fp32", device_name("cpu"))
    path = cache.lookup(key, FORMATS["onnx"].artifact)
    if path is None:
        return None
    try:
        session = open_session(path)
    except Exception as exc:  # ORT raises its own types; the full path re-exports it
        log.warning("cached ONNX graph %s does not load (%s); exporting again", path, exc)
        cache.invalidate(key)
        return None
    log.debug("%s: the cached ONNX graph runs without torch", model.name)
    return HostOnnxEngine(session, EngineSpec("onnx", "fp32", "cpu"), cache.entry_dir(key), reason)
