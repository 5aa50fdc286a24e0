"""One table of engine backends: every fact about a backend lives in its row.

The builder, `artify export`, `artify bench`, `--engine auto`, the option checks and the CLI's
choices all read FORMATS; a new backend is one row here and one engine class.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import Enum

from artify_stream.engine_api import EngineSpec  # noqa: F401 - the engines' spec, re-exported here
from artify_stream.errors import EngineError

PRECISIONS = ("fp32", "fp16", "bf16")


def check_frames(dtype: str, shape: tuple[int, ...]) -> None:
    """EngineError unless `shape`/`dtype` is a batch of uint8 RGB frames of at least 4x4 pixels."""
    if dtype != "uint8" or len(shape) != 4 or shape[-1] != 3:
        raise EngineError(f"engine input must be uint8 frames (N, H, W, 3), got {dtype} {tuple(shape)}")
    if shape[1] < 4 or shape[2] < 4:
        raise EngineError(f"frames must be at least 4x4 pixels, got {shape[1]}x{shape[2]}")


@dataclass(frozen=True)
class EngineFormat:
    """One backend's facts: the only place they are written (auto, export, bench, light read them)."""

    name: str
    engine_class: str  # "module:Class", imported only when this backend is built
    artifact: str | None  # the file its cache entry holds (None: nothing is built)
    precisions: dict[str, tuple[str, ...]]  # device type -> precisions it runs there
    default_precision: dict[str, str]  # device type -> precision when --precision auto
    needs_build: bool  # an export/compile step before the first frame (so: verified after it)
    summary: str  # one line for --help
    library: str | None = None  # the module it needs beyond torch (None: torch alone)
    timed_on_cpu: bool = False  # `auto` times it among the CPU candidates
    torch_free: bool = False  # its cached artifact runs without importing torch (engines.light)
    builds_on_first_call: bool = False  # compiles when first called: `export` runs the sizes through it
    needs_shape_range: bool = False  # built for a range of shapes, fixed at build time
    builds_without_device: bool = False  # `artify export` builds it on any machine (a GPU is needed to run it)
    gpu_note: str = "NVIDIA GPUs"  # which GPUs run it, for the one line said where none is

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(self.precisions)

    def load_class(self) -> type:
        module, _, name = self.engine_class.partition(":")
        return getattr(importlib.import_module(module), name)

    def check_device(self, device_type: str) -> None:
        """EngineError unless this backend runs on `device_type` ('cpu' or 'cuda')."""
        if device_type not in self.precisions:
            where = " and ".join(self.gpu_note if d == "cuda" else "the CPU" for d in self.devices)
            here = "the CPU (no CUDA GPU here)" if device_type == "cpu" else "a GPU"
            build = (f"; `artify export MODEL --engine {self.name} --out FILE` builds it here for such a GPU"
                     if self.builds_without_device else "")
            raise EngineError(f"the {self.name} engine runs on {where} only; this run is on {here}{build} (use --engine "
                              f"auto, {', '.join(f.name for f in FORMATS.values() if device_type in f.precisions)})")

    def check(self, precision: str, device_type: str) -> None:
        """EngineError unless this backend runs `precision` on `device_type`."""
        self.check_device(device_type)
        if precision not in PRECISIONS:
            raise EngineError(f"unknown precision {precision!r}; choose auto, {', '.join(PRECISIONS)}")
        allowed = self.precisions[device_type]
        if precision not in allowed:
            on = "the CPU" if device_type == "cpu" else "CUDA"
            raise EngineError(f"the {self.name} engine runs {' or '.join(allowed)} on {on}, not {precision}")


class RtxTargets(str, Enum):
    """Which GPUs an engine runs on. `portable` is TensorRT-RTX's default set (Ampere and later);
    `portable-turing` adds compute capability 7.5 (RTX 20xx), at the cost of a larger engine."""

    portable = "portable"
    portable_turing = "portable-turing"

    @property
    def capabilities(self) -> tuple[str, ...]:
        """TensorRT-RTX's ComputeCapability names, empty for the builder's default."""
        return () if self is RtxTargets.portable else ("SM75", "SM80", "SM86", "SM89", "SM120")

    def runs_on(self, capability: tuple[int, int]) -> bool:
        """Whether an engine for these targets runs on a GPU of this (major, minor) compute capability."""
        turing = ((7, 5),) if self is RtxTargets.portable_turing else ()
        return capability in (*turing, (8, 0), (8, 6), (8, 7), (8, 9)) or capability[0] >= 12  # 12.x: Blackwell


_CPU_AND_CUDA = {"cpu": ("fp32", "bf16"), "cuda": ("fp32", "fp16", "bf16")}
_DEFAULTS = {"cpu": "bf16", "cuda": "fp16"}  # bf16 on a CPU only where it is native (see default_precision)

FORMATS: dict[str, EngineFormat] = {f.name: f for f in (
    EngineFormat("torch", "engines.torch_engine:TorchEngine", artifact=None, precisions=_CPU_AND_CUDA,
                 default_precision=_DEFAULTS, needs_build=False, summary="eager PyTorch (the reference)",
                 timed_on_cpu=True),
    EngineFormat("compile", "engines.compile_engine:CompiledEngine", artifact="inductor", precisions=_CPU_AND_CUDA,
                 default_precision=_DEFAULTS, needs_build=True, summary="torch.compile (Inductor; CUDA graphs on GPUs)",
                 builds_on_first_call=True),
    EngineFormat("onnx", "engines.onnx_engine:OnnxEngine", artifact="stylizer.onnx",
                 precisions={"cpu": ("fp32",), "cuda": ("fp32", "fp16")}, default_precision={"cpu": "fp32", "cuda": "fp16"},
                 needs_build=True, summary="ONNX Runtime (CPU or CUDA provider)", library="onnxruntime",
                 timed_on_cpu=True, torch_free=True),
    EngineFormat("tensorrt", "engines.tensorrt_engine:TensorRTEngine", artifact="stylizer.ep",
                 precisions={"cuda": ("fp16", "fp32")}, default_precision={"cuda": "fp16"}, needs_build=True,
                 summary="TensorRT through torch-tensorrt (datacenter NVIDIA GPUs such as H100)", library="torch_tensorrt",
                 needs_shape_range=True),
    EngineFormat("tensorrt-rtx", "engines.tensorrt_rtx_engine:TensorRTRtxEngine", artifact="stylizer.engine",
                 precisions={"cuda": ("fp16", "fp32")}, default_precision={"cuda": "fp16"}, needs_build=True,
                 summary="TensorRT for RTX (GeForce/RTX GPUs; built ahead of time on any machine)",
                 library="tensorrt_rtx", needs_shape_range=True, builds_without_device=True,
                 gpu_note="NVIDIA RTX GPUs (compute capability 7.5, 8.x or 12.x)"),
)}
BACKENDS = tuple(FORMATS)

#: The CLI's choices (str Enums, as Typer wants), made from the table.
BackendChoice = Enum("BackendChoice", {"auto": "auto", **{name: name for name in FORMATS}}, type=str)
PrecisionChoice = Enum("PrecisionChoice", {"auto": "auto", **{p: p for p in PRECISIONS}}, type=str)


def engine_format(name: str) -> EngineFormat:
    if name not in FORMATS:
        raise EngineError(f"unknown engine {name!r}; choose auto, {', '.join(FORMATS)}")
    return FORMATS[name]


def default_precision(fmt: EngineFormat, device_type: str, cpu_bf16: bool) -> str:
    """The row's default, except bf16 on a CPU without native bf16 (emulated bf16 is slower than fp32)."""
    fmt.check_device(device_type)
    precision = fmt.default_precision[device_type]
    return "fp32" if precision == "bf16" and device_type == "cpu" and not cpu_bf16 else precision


def runnable_precisions(fmt: EngineFormat, device_type: str, cpu_bf16: bool) -> tuple[str, ...]:
    """What is worth running (and benchmarking) here: the row's precisions, less emulated bf16."""
    allowed = fmt.precisions.get(device_type, ())
    return tuple(p for p in allowed if not (p == "bf16" and device_type == "cpu" and not cpu_bf16))
