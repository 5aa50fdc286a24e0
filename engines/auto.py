"""`--engine auto`: which backend, precision and device this machine runs fastest, and why.

On NVIDIA GPUs: TensorRT FP16 when torch-tensorrt loads, else torch.compile FP16 with CUDA
graphs, else eager FP16. On the CPU the candidates are timed once per model and machine
(the result is kept in the engine cache) and the fastest wins, ONNX Runtime also when it is
within a small margin (it then runs without torch: engines.cpu_ranking). A device
that was asked for and cannot be used is an error, never a quiet fallback.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from artify_stream.devices import cpu_has_bf16, resolve_device
from artify_stream.errors import EngineError
from engines.base import Engine, EngineSpec
from engines.cache import EngineCache
from engines.cpu_ranking import rank_cpu_engines
from engines.formats import FORMATS, PRECISIONS, default_precision, engine_format, runnable_precisions
from engines.light import PROBE_SIZE, cpu_probe_key

log = logging.getLogger(__name__)

PROBE_RUNS = 5


@dataclass(frozen=True)
class MachineFacts:
    """What can run here; gathered once, passed around so choices are plain functions of it."""

    cuda: bool
    cpu_bf16: bool
    onnxruntime: bool
    tensorrt_problem: str | None  # None when torch_tensorrt imports
    #: None when a TensorRT-RTX engine runs here (an RTX-class GPU and the extra installed), else why not
    tensorrt_rtx_problem: str | None = "no CUDA GPU here"

    def library_problem(self, library: str | None) -> str | None:
        """Why a backend's library (its table row's `library`) cannot be used here; None when it can."""
        if library == "onnxruntime" and not self.onnxruntime:
            return "onnxruntime is not installed (pip install -e '.[onnx]')"
        if library == "torch_tensorrt":
            return self.tensorrt_problem
        if library == "tensorrt_rtx":
            return self.tensorrt_rtx_problem
        return None

    @classmethod
    @functools.cache  # the machine does not change while the process runs: probe it once
    def gather(cls) -> MachineFacts:
        from engines.tensorrt_engine import import_torch_tensorrt

        problem = None
        try:
            import_torch_tensorrt()
        except EngineError as exc:
            problem = str(exc)
        return cls(cuda=torch.cuda.is_available(), cpu_bf16=cpu_has_bf16(),
                   onnxruntime=importlib.util.find_spec("onnxruntime") is not None, tensorrt_problem=problem,
                   tensorrt_rtx_problem=tensorrt_rtx_problem())


def tensorrt_rtx_problem() -> str | None:
    """Why a TensorRT-RTX engine cannot run here (no GPU, a GPU it does not target, no extra); None when it can."""
    from engines.tensorrt_rtx_build import INSTALL, PACKAGE
    from engines.tensorrt_rtx_engine import gpu_problem

    problem = gpu_problem(torch.device("cuda"))
    if problem is None and importlib.util.find_spec(PACKAGE) is None:
        problem = f"TensorRT-RTX is not installed ({INSTALL})"
    return problem


@dataclass(frozen=True)
class Choice:
    spec: EngineSpec
    reason: str


def explicit_choice(backend: str, precision: str, device: str, facts: MachineFacts) -> Choice:
    """An engine the user named: resolved and checked against the table, never substituted."""
    fmt = engine_format(backend)
    if precision != "auto" and precision not in PRECISIONS:
        raise EngineError(f"unknown precision {precision!r}; choose auto, {', '.join(PRECISIONS)}")
    device = resolve_device(device, facts.cuda)
    device_type = device.split(":")[0]
    if precision == "auto":
        precision = default_precision(fmt, device_type, facts.cpu_bf16)
    fmt.check(precision, device_type)
    if precision == "bf16" and device_type == "cpu" and not facts.cpu_bf16:
        log.warning("bf16 was asked for, but this CPU has no native bf16 (AVX-512 BF16 or AMX): it runs emulated, "
                    "slower than fp32")
        return Choice(EngineSpec(backend, precision, device), "asked for; bf16 emulated on this CPU")
    return Choice(EngineSpec(backend, precision, device), "asked for")


def gpu_candidates(precision: str, device: str, facts: MachineFacts) -> list[Choice]:
    """Best first; later ones are used only if an earlier one fails to build (with a warning)."""
    precision = "fp16" if precision == "auto" else precision
    found = []
    if facts.tensorrt_rtx_problem is None and precision in ("fp16", "fp32"):
        found.append(Choice(EngineSpec("tensorrt-rtx", precision, device),
                            "an RTX GPU with TensorRT-RTX: NVIDIA's engine for GeForce/RTX is fastest there"))
    if facts.tensorrt_problem is None and precision in ("fp16", "fp32"):
        found.append(Choice(EngineSpec("tensorrt", precision, device), "NVIDIA GPU with torch-tensorrt: TensorRT is fastest"))
        why_compile = "TensorRT failed to build"
    elif found:
        why_compile = "TensorRT-RTX failed to build"
    else:
        why_compile = f"TensorRT unavailable ({facts.tensorrt_problem})" if facts.tensorrt_problem else \
            f"TensorRT does not run {precision}"
    found.append(Choice(EngineSpec("compile", precision, device), f"{why_compile}; torch.compile with CUDA graphs"))
    found.append(Choice(EngineSpec("torch", precision, device), "torch.compile failed; eager PyTorch"))
    return found


#: Backends `auto` times on a CPU. torch.compile is left out: its build (~20 s per model here)
#: costs more than it saves on a typical job; ask for it with --engine compile.


def cpu_candidates(precision: str, facts: MachineFacts) -> list[EngineSpec]:
    """The CPU options worth timing: each timed backend at each precision it runs natively here."""
    specs = []
    for fmt in FORMATS.values():
        if not fmt.timed_on_cpu or facts.library_problem(fmt.library):
            continue
        for prec in runnable_precisions(fmt, "cpu", facts.cpu_bf16):
            if precision in ("auto", prec):
                specs.append(EngineSpec(fmt.name, prec, "cpu"))
    if not specs:
        raise EngineError(f"no CPU engine runs {precision}; use fp32" + (" or bf16" if facts.cpu_bf16 else ""))
    return specs


def time_engine(engine: Engine, size: tuple[int, int] = PROBE_SIZE, runs: int = PROBE_RUNS, batch: int = 1) -> float:
    """Median ms per frame after one warm-up call."""
    frames = torch.randint(0, 256, (batch, *size, 3), dtype=torch.uint8)
    engine(frames)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        engine(frames)
        times.append((time.perf_counter() - start) * 1000 / batch)
    return statistics.median(times)


def time_interleaved(engines: dict[str, Engine | None], size: tuple[int, int] = PROBE_SIZE,
                     runs: int = PROBE_RUNS) -> dict[str, float | None]:
    """Median ms per frame of each engine (None: not built), their calls taken in turns: the choice
    is cached for good, so a burst of load from another process must slow every candidate alike
    rather than the one timed while it lasted."""
    frames = torch.randint(0, 256, (1, *size, 3), dtype=torch.uint8)
    built = {label: engine for label, engine in engines.items() if engine is not None}
    for engine in built.values():
        engine(frames)  # warm-up
    times: dict[str, list[float]] = {label: [] for label in built}
    for _ in range(runs):
        for label, engine in built.items():
            start = time.perf_counter()
            engine(frames)
            times[label].append((time.perf_counter() - start) * 1000)
    return {label: round(statistics.median(times[label]), 2) if label in built else None for label in engines}


def measured_cpu_choice(precision: str, facts: MachineFacts, model_sha256: str, cache: EngineCache,
                        build: Callable[[EngineSpec], Engine]) -> list[Choice]:
    """Time each CPU candidate once per model/CPU/library versions (kept in the cache); fastest first."""
    specs = cpu_candidates(precision, facts)
    key = cpu_probe_key(model_sha256, precision)
    timings = cache.read_json(key, "timings.json")
    labels = [s.label() for s in specs]
    if timings is None or sorted(timings) != sorted(labels):
        log.info("timing the CPU engines once for this model (%s)...", ", ".join(labels))
        engines: dict[str, Engine | None] = {}
        for spec in specs:
            try:
                engines[spec.label()] = build(spec)
            except EngineError as exc:
                log.warning("%s did not build (%s); leaving it out", spec.label(), exc)
                engines[spec.label()] = None
        timings = time_interleaved(engines)
        cache.write_json(key, "timings.json", timings)
    ranked, why = rank_cpu_engines(timings, specs)
    if not ranked:
        raise EngineError("no CPU engine could be built; see the warnings above")
    why = f"{why}, at {PROBE_SIZE[0]}x{PROBE_SIZE[1]}"
    if not facts.cpu_bf16:
        why += "; this CPU has no native bf16"
    return [Choice(ranked[0], why)] + [Choice(s, "faster engines failed to build") for s in ranked[1:]]


def choose(backend: str, precision: str, device: str, facts: MachineFacts, model_sha256: str, cache: EngineCache,
           build: Callable[[EngineSpec], Engine]) -> list[Choice]:
    """Candidates best first: one for a named engine, a fallback ladder for auto."""
    if backend != "auto":
        return [explicit_choice(backend, precision, device, facts)]
    if precision != "auto" and precision not in PRECISIONS:
        raise EngineError(f"unknown precision {precision!r}; choose auto, {', '.join(PRECISIONS)}")
    device = resolve_device(device, facts.cuda)
    if device.startswith("cuda"):
        return gpu_candidates(precision, device, facts)
    if precision == "fp16":
        raise EngineError("fp16 runs on CUDA only; use bf16 or fp32 on the CPU")
    return measured_cpu_choice(precision, facts, model_sha256, cache, build)
