"""TensorRT for RTX engines, built ahead of time on any machine (no GPU needed).

The builder reads the project's own ONNX export of the fused graph (uint8 NHWC in and out, the
casts inside) in the precision asked for: TensorRT-RTX networks are strongly typed, so an fp16
engine is built from an fp16 export, not with a builder flag. The engine is portable across the
RTX compute capabilities (8.0, 8.6, 8.9, 12.x; 7.5 on request; there is no 9.0 target, so
H100/H200 are not targets) and is finished by a just-in-time step on the user's GPU, whose
result the runtime keeps in a runtime cache (engines.tensorrt_rtx_engine).

Every built engine is kept in the engine cache under a key of everything that changes its bytes
(model hash, precision, shapes and batch, targets, TensorRT-RTX version, graph version), with a
checksum; it can also be written to a file to ship, with its build metadata inside it
(`EngineFile`), which the loader checks against the model before use.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from artify_stream.atomic import atomic_path
from artify_stream.errors import EngineError
from artify_stream.model_file import ModelFile
from engines.cache import ENTRY_FILE, CacheKey, EngineCache, library_versions
from engines.formats import FORMATS, RtxTargets
from artify_stream.fused import FusedStylizer
from engines.onnx_engine import export_onnx
from engines.onnx_session import INPUT, OUTPUT, open_session
from engines.shapes import ShapeRange
from engines.torch_engine import fused_module
from engines.verify import probe_frames, verify_engine
from artify_stream.engine_api import EngineSpec

log = logging.getLogger(__name__)

BACKEND = "tensorrt-rtx"
ARTIFACT = FORMATS[BACKEND].artifact  # the table says what the cache entry holds
PACKAGE = "tensorrt_rtx"  # its version is part of every key
INSTALL = "pip install 'artify-stream[tensorrt-rtx]'"


def import_tensorrt_rtx() -> ModuleType:
    """tensorrt_rtx, or an EngineError that says how to install it."""
    try:
        import tensorrt_rtx
    except ImportError:
        raise EngineError(f"TensorRT-RTX is not installed: {INSTALL}") from None
    except OSError as exc:  # the bindings are there but the libraries are not
        raise EngineError(f"TensorRT-RTX is installed but its libraries do not load ({exc})") from None
    return tensorrt_rtx


def rtx_version() -> str | None:
    return library_versions(PACKAGE)[PACKAGE] if _installed() else None


def _installed() -> bool:
    import importlib.util

    return importlib.util.find_spec(PACKAGE) is not None


def rtx_cache_key(model_sha256: str, precision: str, shapes: ShapeRange, targets: RtxTargets) -> CacheKey:
    """Everything that changes an engine's bytes; the torch version is in it too (it makes the ONNX export)."""
    return CacheKey(model_sha256, BACKEND, precision, f"{shapes.label()} opt-b{shapes.opt_batch}",
                    f"targets:{targets.value}", library_versions(PACKAGE))


# ---- the engine file a user ships -----------------------------------------------------------
MAGIC = b"ARTIFY-TRT-RTX\x00\x01"  # then a little-endian u32 metadata length, the JSON, the engine


@dataclass(frozen=True)
class EngineFile:
    """A TensorRT-RTX engine with its build metadata in one file."""

    metadata: dict
    engine: bytes

    def write(self, path: Path) -> None:
        meta = json.dumps(self.metadata, sort_keys=True).encode()
        with atomic_path(Path(path)) as tmp:
            tmp.write_bytes(MAGIC + struct.pack("<I", len(meta)) + meta + self.engine)

    @classmethod
    def read(cls, path: Path) -> EngineFile:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EngineError(f"{path}: cannot read the engine file ({exc.strerror or exc})") from None
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise EngineError(f"{path}: not a TensorRT-RTX engine file of artify (write one with "
                              f"artify export MODEL --engine {BACKEND} --out FILE)")
        (size,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        try:
            metadata = json.loads(data[start:start + size])
        except ValueError:
            raise EngineError(f"{path}: its build metadata is unreadable") from None
        engine = data[start + size:]
        if hashlib.sha256(engine).hexdigest() != metadata.get("engine_sha256"):
            raise EngineError(f"{path}: the engine does not match its recorded checksum (damaged in transit?)")
        return cls(metadata, engine)

    def check_for(self, model: ModelFile, path: Path) -> None:
        """EngineError unless this engine was built from `model` by the TensorRT-RTX installed here."""
        if self.metadata.get("model_sha256") != model.sha256:
            raise EngineError(f"{path}: built for model {self.metadata.get('model_name', '?')} "
                              f"(sha256 {str(self.metadata.get('model_sha256'))[:12]}), not {model.path.name} "
                              f"(sha256 {model.sha256[:12]}); rebuild it with artify export")
        installed = rtx_version()
        if installed is not None and self.metadata.get("tensorrt_rtx") != installed:
            raise EngineError(f"{path}: built with TensorRT-RTX {self.metadata.get('tensorrt_rtx')}, this machine has "
                              f"{installed}; rebuild it with artify export")


@dataclass(frozen=True)
class BuiltEngine:
    """What `build_or_load` returns: where the engine is, its metadata, and whether it was cached."""

    path: Path
    metadata: dict
    cache_hit: bool
    timing: dict  # export_seconds, build_seconds (when it was built)

    def engine_file(self) -> EngineFile:
        return EngineFile(self.metadata, self.path.read_bytes())


# ---- building ---------------------------------------------------------------------------------
PARITY_HW = (256, 256)  # the picture the exported graph's error against eager fp32 is stated on


def export_fused_onnx(model: ModelFile, precision: str, path: Path) -> dict:
    """The fused graph in `precision` (fp16 or fp32), exported from the CPU, then checked against
    eager fp32 through ONNX Runtime's CPU provider: a graph that computes something else is never
    built. Returns its error on a PARITY_HW probe picture (max, 99.9th percentile, mean; levels of 255)."""
    generator = model.build_generator("cpu").float()
    reference = copy.deepcopy(generator)
    export_onnx(fused_module(generator, precision, torch.device("cpu")), path)
    session = open_session(path)

    def run(frames: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run([OUTPUT], {INPUT: frames.numpy()})[0])

    verify_engine(run, reference, EngineSpec(BACKEND, precision, "cpu"))
    frames = probe_frames(PARITY_HW, batch=1)
    with torch.inference_mode():
        expected = FusedStylizer(reference).eval()(frames).numpy()
    diff = np.abs(run(frames).numpy().astype(np.int16) - expected.astype(np.int16))
    return {"max": int(diff.max()), "p99_9": round(float(np.percentile(diff, 99.9)), 2),
            "mean": round(float(diff.mean()), 4)}


def _fixed_addresses() -> None:
    """In the build child before exec: no address-space randomisation (personality ADDR_NO_RANDOMIZE),
    which is what makes TensorRT-RTX's builder reproducible (engines.tensorrt_rtx_child)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    current = libc.personality(0xFFFFFFFF)
    if current != -1:
        libc.personality(current | 0x0040000)


def build_serialized(onnx_path: Path, shapes: ShapeRange, targets: RtxTargets) -> bytes:
    """Build an engine from the ONNX graph for `shapes` (one optimisation profile) and `targets`,
    in a child process (engines.tensorrt_rtx_child says why)."""
    import_tensorrt_rtx()
    out = onnx_path.with_name(f"{onnx_path.name}.engine")
    plan = {"input": INPUT, "profile": [list(s) for s in shapes.nhwc()], "capabilities": list(targets.capabilities)}
    try:
        done = subprocess.run([sys.executable, "-m", "engines.tensorrt_rtx_child", str(onnx_path), str(out), json.dumps(plan)],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
                              preexec_fn=_fixed_addresses if sys.platform == "linux" else None)
        if done.returncode != 0:
            why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
            raise EngineError(f"TensorRT-RTX could not build an engine for {shapes.label()}: {why}")
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


def build_or_load(model: ModelFile, precision: str, shapes: ShapeRange, targets: RtxTargets,
                  cache: EngineCache) -> BuiltEngine:
    """The engine for these inputs from the cache, else built (a miss says why) and stored."""
    FORMATS[BACKEND].check(precision, "cuda")
    key = rtx_cache_key(model.sha256, precision, shapes, targets)
    path = cache.lookup(key, ARTIFACT)
    if path is not None:
        entry = json.loads((cache.entry_dir(key) / ENTRY_FILE).read_text())
        return BuiltEngine(path, entry["build"], cache_hit=True, timing=entry.get("timing", {}))
    why = cache.why_missing(key)
    log.info("building a TensorRT-RTX %s engine for %s: %s", precision, shapes.label(), why)
    import_tensorrt_rtx()  # a missing install is said before the export's work
    metadata: dict = {}
    timing: dict = {}  # kept in the cache entry only: the shipped file stays the same bytes on a rebuild

    def build(tmp: Path) -> None:
        onnx_path = tmp.with_name(f"{tmp.name}.onnx")
        try:
            started = time.perf_counter()
            graph_error = export_fused_onnx(model, precision, onnx_path)
            exported = time.perf_counter()
            engine = build_serialized(onnx_path, shapes, targets)
            built = time.perf_counter()
        finally:
            onnx_path.unlink(missing_ok=True)
        tmp.write_bytes(engine)
        metadata.update(model_sha256=model.sha256, model_name=model.path.name, precision=precision,
                        shapes=shapes.label(), max_batch=shapes.max_batch, shape_range=[list(s) for s in shapes.nhwc()],
                        targets=targets.value, tensorrt_rtx=rtx_version(), graph_version=key.versions["artify-graph"],
                        torch=key.versions["torch"], engine_sha256=hashlib.sha256(engine).hexdigest(),
                        engine_bytes=len(engine), graph_error_levels=graph_error)
        timing.update(export_seconds=round(exported - started, 2), build_seconds=round(built - exported, 2))

    path = cache.store(key, ARTIFACT, build, extra=lambda: {"build": metadata, "timing": timing})
    return BuiltEngine(path, metadata, cache_hit=False, timing=timing)


def metadata_summary(metadata: dict, timing: dict | None = None) -> str:
    took = f" (export {timing['export_seconds']} s, build {timing['build_seconds']} s)" if timing else ""
    return (f"{metadata.get('model_name')} {metadata.get('precision')} {metadata.get('shapes')}, targets "
            f"{metadata.get('targets')}, TensorRT-RTX {metadata.get('tensorrt_rtx')}: "
            f"{metadata.get('engine_bytes', 0) / 1e6:.1f} MB{took}")

