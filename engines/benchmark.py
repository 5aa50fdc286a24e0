"""`artify bench`: ms/frame and fps of each engine and precision at each size, on this machine.

Every record is measured in the same run, so speed-ups over eager fp32 are ratios on one
machine. Build time (exports, compiles, TensorRT) is left out: each engine is warmed up first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import torch

from artify_stream.errors import EngineError
from artify_stream.model_file import ModelFile
from engines import build_engine
from engines.auto import MachineFacts
from engines.base import EngineSpec
from engines.formats import engine_format, runnable_precisions
from engines.cache import EngineCache
from engines.shapes import ShapeRange, size_label

log = logging.getLogger(__name__)


@dataclass
class BenchRecord:
    engine: str
    precision: str
    size: str
    ms_per_frame: float | None
    fps: float | None
    speedup_vs_eager_fp32: float | None
    device: str = "cpu"
    error: str | None = None
    #: An engine built ahead of time (TensorRT-RTX on any machine): its library, size, build time and
    #: its graph's error against eager fp32 (levels of 255, through ONNX Runtime on the CPU).
    build: dict | None = None


def bench_specs(engines: Iterable[str], device: str, facts: MachineFacts) -> list[EngineSpec]:
    """Every engine/precision pair the table says runs on `device` here (eager fp32 first: the baseline)."""
    device_type = device.split(":")[0]
    specs = [EngineSpec("torch", "fp32", device)]
    for backend in engines:
        fmt = engine_format(backend)
        if facts.library_problem(fmt.library):
            continue
        for precision in runnable_precisions(fmt, device_type, facts.cpu_bf16):
            spec = EngineSpec(backend, precision, device)
            if spec not in specs:
                specs.append(spec)
    return specs


def time_frames(engine: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor, seconds: float, min_runs: int) -> float:
    """ms per frame: warm-up, then repeat until `seconds` and `min_runs` are both reached."""
    engine(frames)
    engine(frames)
    sync = torch.cuda.synchronize if frames.is_cuda else (lambda: None)
    sync()
    runs, start = 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < seconds:
        engine(frames)
        runs += 1
    sync()
    return (time.perf_counter() - start) * 1000 / (runs * frames.shape[0])


def unavailable_records(engines: Iterable[str], sizes: list[tuple[int, int]], device: str, facts: MachineFacts,
                        specs: list[EngineSpec]) -> list[BenchRecord]:
    """Rows saying why an engine that was asked for has nothing to time here (TensorRT on a CPU, say)."""
    records = []
    for name in engines:
        if any(s.backend == name for s in specs):
            continue
        fmt = engine_format(name)
        why = facts.library_problem(fmt.library) if device.startswith("cuda") else None
        if device.split(":")[0] not in fmt.devices:
            why = f"the {name} engine runs on {', '.join(fmt.devices)} only"
        records += [BenchRecord(name, fmt.default_precision.get("cuda", "fp32"), size_label(hw), None, None, None, device,
                                why or "not runnable here") for hw in sizes]
    return records


def rtx_build_records(model_file: ModelFile, sizes: list[tuple[int, int]], cache: EngineCache,
                      batch: int) -> list[BenchRecord]:
    """TensorRT-RTX engines built here for the run's size range, fp16 and fp32: what `artify bench`
    reports of them where they cannot run (no RTX GPU): version, engine size, build time, parity."""
    from engines.formats import RtxTargets
    from engines.tensorrt_rtx_build import build_or_load, rtx_version

    heights, widths = [h for h, _ in sizes], [w for _, w in sizes]
    shapes = ShapeRange((min(heights), min(widths)), sizes[0], (max(heights), max(widths)), max_batch=batch)
    records = []
    for precision in ("fp16", "fp32"):
        built = build_or_load(model_file, precision, shapes, RtxTargets.portable, cache)
        parity = built.metadata.get("graph_error_levels", {})  # measured when the graph was exported
        records.append(BenchRecord("tensorrt-rtx", precision, shapes.label(), None, None, None, "built here",
                                   "runs on RTX GPUs only: built, not timed",
                                   {"tensorrt_rtx": rtx_version(), "engine_mb": round(built.metadata["engine_bytes"] / 1e6, 2),
                                    "build_seconds": built.timing.get("build_seconds"),
                                    "export_seconds": built.timing.get("export_seconds"),
                                    "parity_max_levels": parity.get("max"), "parity_p99_9_levels": parity.get("p99_9")}))
    return records


def run_benchmark(model_file: ModelFile, sizes: list[tuple[int, int]], specs: list[EngineSpec], device: str,
                  cache: EngineCache, batch: int = 1, seconds: float = 2.0, min_runs: int = 3,
                  on_record: Callable[[BenchRecord], None] | None = None) -> list[BenchRecord]:
    """Time each spec at each size; the first spec is the baseline of the speed-ups (eager fp32)."""
    records: list[BenchRecord] = []
    baseline: dict[str, float] = {}
    for spec in specs:
        try:
            shapes = None
            if engine_format(spec.backend).needs_shape_range:  # one ranged program covers every size of the run
                lo = (min(h for h, _ in sizes), min(w for _, w in sizes))
                hi = (max(h for h, _ in sizes), max(w for _, w in sizes))
                shapes = ShapeRange(lo, hi, hi, max_batch=batch, opt_batch=batch)
            engine = build_engine(model_file, spec, cache, shapes)
        except EngineError as exc:
            log.warning("%s: %s", spec.label(), exc)
            for hw in sizes:
                records.append(BenchRecord(spec.backend, spec.precision, size_label(hw), None, None, None, device, str(exc)))
            continue
        for hw in sizes:
            label = size_label(hw)
            frames = torch.randint(0, 256, (batch, *hw, 3), dtype=torch.uint8, device=device)
            try:
                ms = time_frames(engine, frames, seconds, min_runs)
            except (EngineError, RuntimeError) as exc:
                record = BenchRecord(spec.backend, spec.precision, label, None, None, None, device, str(exc).splitlines()[0])
            else:
                if spec == specs[0]:
                    baseline[label] = ms
                speedup = round(baseline[label] / ms, 3) if label in baseline else None
                record = BenchRecord(spec.backend, spec.precision, label, round(ms, 2), round(1000 / ms, 2), speedup, device)
            records.append(record)
            if on_record:
                on_record(record)
        del engine
    return records


def records_as_dicts(records: list[BenchRecord]) -> list[dict]:
    return [asdict(r) for r in records]


def engine_names(text: str) -> list[str]:
    """`--engines`: "all" or a comma-separated list of the table's names (an unknown one is an error)."""
    from engines.formats import FORMATS

    names = list(FORMATS) if text.strip() == "all" else [e.strip() for e in text.split(",") if e.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise EngineError(f"--engines: unknown engine(s) {', '.join(unknown)}; choose all or from {', '.join(FORMATS)}")
    return names


def benchmark(model_file: ModelFile, sizes: list[tuple[int, int]], engines: list[str], device: str, cache: EngineCache,
              batch: int = 1, seconds: float = 2.0) -> list[BenchRecord]:
    """`artify bench`: every engine of `engines` at every size; those this machine lacks say why, and
    TensorRT-RTX, where it builds but cannot run, reports its builds."""
    facts = MachineFacts.gather()
    specs = bench_specs(engines, device, facts)
    records = unavailable_records(engines, sizes, device, facts, specs)
    if "tensorrt-rtx" in engines and facts.tensorrt_rtx_problem is not None:
        from engines.tensorrt_rtx_build import rtx_version

        if rtx_version() is not None:  # it builds here though it cannot run: report the builds
            records = [r for r in records if r.engine != "tensorrt-rtx"]
            records += rtx_build_records(model_file, sizes, cache, batch)
    return records + run_benchmark(model_file, sizes, specs, device, cache, batch=batch, seconds=seconds)
