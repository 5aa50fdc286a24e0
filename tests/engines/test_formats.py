"""The backend table is the one source: builder, auto, bench, export and the CLI all read it."""

import pytest
import torch

from artify_stream.errors import EngineError
from engines.auto import MachineFacts, cpu_candidates, explicit_choice
from engines.base import EngineSpec
from engines.benchmark import bench_specs
from engines.formats import FORMATS, BackendChoice, PrecisionChoice, default_precision, engine_format, runnable_precisions
from engines.verify import probe_frames, verify_engine
from tests.conftest import TINY

CPU_BF16 = MachineFacts(cuda=False, cpu_bf16=True, onnxruntime=True, tensorrt_problem="not here")
CPU_PLAIN = MachineFacts(cuda=False, cpu_bf16=False, onnxruntime=True, tensorrt_problem="not here")


def test_every_row_names_a_class_with_the_one_constructor():
    import inspect

    for fmt in FORMATS.values():
        params = list(inspect.signature(fmt.load_class().__init__).parameters)
        assert params[1:6] == ["generator", "spec", "cache", "model_sha256", "shapes"], fmt.name


def test_the_cli_offers_every_engine_and_precision_a_user_can_name_and_refuses_others():
    """What `artify stylize --engine/--precision` accept, written out: a new table row shows up here
    as a failure until a person has looked at the CLI it makes."""
    from typer.testing import CliRunner

    from cli import app

    assert [c.value for c in BackendChoice] == ["auto", "torch", "compile", "onnx", "tensorrt", "tensorrt-rtx"]
    assert [c.value for c in PrecisionChoice] == ["auto", "fp32", "fp16", "bf16"]
    refused = CliRunner().invoke(app, ["stylize", "in.png", "out.png", "--engine", "vulkan"])
    assert refused.exit_code == 2 and "vulkan" in refused.output
    refused = CliRunner().invoke(app, ["stylize", "in.png", "out.png", "--precision", "int8"])
    assert refused.exit_code == 2 and "int8" in refused.output


def test_the_table_decides_devices_precisions_and_defaults():
    assert engine_format("tensorrt").devices == ("cuda",)
    with pytest.raises(EngineError, match="NVIDIA GPUs only"):
        engine_format("tensorrt").check("fp16", "cpu")
    with pytest.raises(EngineError, match="onnx engine runs fp32 on the CPU, not bf16"):
        engine_format("onnx").check("bf16", "cpu")
    with pytest.raises(EngineError, match="unknown engine 'vulkan'"):
        engine_format("vulkan")
    assert default_precision(FORMATS["torch"], "cpu", cpu_bf16=True) == "bf16"
    assert default_precision(FORMATS["torch"], "cpu", cpu_bf16=False) == "fp32"  # emulated bf16 is slower
    assert default_precision(FORMATS["tensorrt"], "cuda", cpu_bf16=False) == "fp16"
    assert runnable_precisions(FORMATS["compile"], "cpu", cpu_bf16=False) == ("fp32",)


def test_auto_bench_and_explicit_choices_read_the_table():
    assert [s.label() for s in cpu_candidates("auto", CPU_BF16)] == [
        "torch fp32 on cpu", "torch bf16 on cpu", "onnx fp32 on cpu"]
    assert [s.label() for s in cpu_candidates("auto", CPU_PLAIN)] == ["torch fp32 on cpu", "onnx fp32 on cpu"]
    specs = bench_specs(["torch", "compile", "onnx", "tensorrt"], "cpu", CPU_BF16)
    assert [(s.backend, s.precision) for s in specs] == [
        ("torch", "fp32"), ("torch", "bf16"), ("compile", "fp32"), ("compile", "bf16"), ("onnx", "fp32")]
    assert explicit_choice("onnx", "auto", "cpu", CPU_BF16).spec == EngineSpec("onnx", "fp32", "cpu")
    with pytest.raises(EngineError, match="runs fp32 or bf16 on the CPU, not fp16"):
        explicit_choice("compile", "fp16", "cpu", CPU_BF16)


def test_verification_refuses_an_engine_that_computes_something_else():
    from artify_stream.generator import Generator
    from artify_stream.fused import FusedStylizer

    torch.manual_seed(0)
    generator = Generator(TINY).eval()
    honest = FusedStylizer(generator)
    verify_engine(honest, generator, EngineSpec("compile", "fp32", "cpu"))  # passes
    with pytest.raises(EngineError, match=r"does not match eager fp32 .* refusing it"):
        verify_engine(lambda f: 255 - honest(f), generator, EngineSpec("compile", "fp32", "cpu"))
    frames = probe_frames((20, 30), batch=2)
    assert frames.shape == (2, 20, 30, 3) and frames.dtype == torch.uint8 and frames.float().std() > 30


def test_what_auto_times_and_what_runs_without_torch_are_read_from_the_rows(monkeypatch):
    import dataclasses

    from engines import formats
    from engines.cpu_ranking import rank_cpu_engines

    assert [s.backend for s in cpu_candidates("fp32", CPU_PLAIN)] == ["torch", "onnx"]
    assert [s.backend for s in cpu_candidates("fp32", dataclasses.replace(CPU_PLAIN, onnxruntime=False))] == ["torch"]
    changed = dict(FORMATS, compile=dataclasses.replace(FORMATS["compile"], timed_on_cpu=True, torch_free=True),
                   onnx=dataclasses.replace(FORMATS["onnx"], torch_free=False))
    monkeypatch.setattr(formats, "FORMATS", changed)
    for module in ("engines.auto", "engines.cpu_ranking"):
        monkeypatch.setattr(f"{module}.FORMATS", changed)
    assert [s.backend for s in cpu_candidates("fp32", CPU_PLAIN)] == ["torch", "compile", "onnx"]
    specs = [EngineSpec(b, "fp32", "cpu") for b in ("torch", "compile", "onnx")]
    timings = {"torch fp32 on cpu": 10.0, "compile fp32 on cpu": 12.0, "onnx fp32 on cpu": 11.0}
    ranked, why = rank_cpu_engines(timings, specs)
    assert ranked[0].backend == "compile" and "runs without torch" in why  # the row's flag, not the name


def test_rows_are_named_fields_and_a_built_engine_caches_the_artifact_its_row_names(tiny_model, tmp_path):
    from pathlib import Path

    from artify_stream.model_file import load_model_file
    from engines import EngineCache, build_engine

    cache = EngineCache(tmp_path / "cache")
    build_engine(load_model_file(tiny_model), EngineSpec("onnx", "fp32", "cpu"), cache)
    (entry,) = cache.entries()
    assert (Path(entry["path"]) / FORMATS["onnx"].artifact).is_file()
    assert [f.name for f in FORMATS.values() if f.needs_shape_range] == ["tensorrt", "tensorrt-rtx"]
    assert [f.name for f in FORMATS.values() if f.builds_without_device] == ["tensorrt-rtx"]
    assert [f.name for f in FORMATS.values() if f.builds_on_first_call] == ["compile"]
