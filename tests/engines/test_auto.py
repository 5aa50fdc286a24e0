"""`--engine auto`: what it picks on each kind of machine, why, and that it never hides a missing GPU."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from artify_stream.errors import EngineError
from artify_stream.model_file import load_model_file
from engines import EngineCache, build_engine, create_engine
from engines.auto import MachineFacts, choose, explicit_choice, gpu_candidates

GPU_WITH_TRT = MachineFacts(cuda=True, cpu_bf16=True, onnxruntime=True, tensorrt_problem=None)
GPU_NO_TRT = MachineFacts(cuda=True, cpu_bf16=True, onnxruntime=True, tensorrt_problem="torch-tensorrt is not installed")
CPU_BF16 = MachineFacts(cuda=False, cpu_bf16=True, onnxruntime=True, tensorrt_problem="not installed")
CPU_PLAIN = MachineFacts(cuda=False, cpu_bf16=False, onnxruntime=False, tensorrt_problem="not installed")


def test_gpu_prefers_tensorrt_then_compile_then_eager():
    ladder = gpu_candidates("auto", "cuda", GPU_WITH_TRT)
    assert [(c.spec.backend, c.spec.precision) for c in ladder] == [("tensorrt", "fp16"), ("compile", "fp16"), ("torch", "fp16")]
    ladder = gpu_candidates("auto", "cuda", GPU_NO_TRT)
    assert ladder[0].spec.backend == "compile" and "torch-tensorrt is not installed" in ladder[0].reason
    assert gpu_candidates("bf16", "cuda", GPU_WITH_TRT)[0].spec.backend == "compile"  # TensorRT builds fp16/fp32


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour on a machine without a GPU")
def test_a_gpu_asked_for_and_missing_is_an_error(tiny_model):
    with pytest.raises(EngineError, match="no CUDA GPU"):
        create_engine(tiny_model, "auto", "auto", "cuda")
    with pytest.raises(EngineError, match="no CUDA GPU"):
        create_engine(tiny_model, "torch", "fp16", "cuda:0")
    with pytest.raises(EngineError, match="NVIDIA GPUs only"):
        create_engine(tiny_model, "tensorrt", "fp16", "auto")


def test_named_engines_are_checked_not_substituted():
    assert explicit_choice("onnx", "auto", "cpu", CPU_BF16).spec.precision == "fp32"
    assert explicit_choice("torch", "auto", "cpu", CPU_BF16).spec.precision == "bf16"
    assert explicit_choice("torch", "auto", "cpu", CPU_PLAIN).spec.precision == "fp32"
    with pytest.raises(EngineError, match="unknown engine"):
        explicit_choice("openvino", "auto", "cpu", CPU_BF16)
    with pytest.raises(EngineError, match="unknown precision"):
        explicit_choice("torch", "int8", "cpu", CPU_BF16)
    with pytest.raises(EngineError, match="runs fp32 or bf16 on the CPU, not fp16"):
        create_engine(None, "torch", "fp16", "cpu")


def test_cpu_choice_is_measured_once_and_remembered(tiny_model, tmp_path):
    model = load_model_file(tiny_model)
    cache = EngineCache(tmp_path)
    built = []

    def build(spec):
        built.append(spec.label())
        return build_engine(model, spec, cache)

    first = choose("auto", "auto", "cpu", CPU_BF16, model.sha256, cache, build)
    assert sorted(built) == ["onnx fp32 on cpu", "torch bf16 on cpu", "torch fp32 on cpu"]
    # which engine wins is timing; either way the reason says it was measured
    assert ("fastest measured on this CPU" in first[0].reason or "of the fastest" in first[0].reason) and len(first) == 3
    for name in ("torch bf16", "torch fp32", "onnx fp32"):
        assert name in first[0].reason  # every timing is shown
    built.clear()
    again = choose("auto", "auto", "cpu", CPU_BF16, model.sha256, cache, build)
    assert built == [] and again[0].spec == first[0].spec
    only_fp32 = choose("auto", "fp32", "cpu", CPU_BF16, model.sha256, cache, build)
    assert {c.spec.precision for c in only_fp32} == {"fp32"}


def test_cpu_without_native_bf16_does_not_try_it(tiny_model, tmp_path):
    model = load_model_file(tiny_model)
    cache = EngineCache(tmp_path)
    choices = choose("auto", "auto", "cpu", CPU_PLAIN, model.sha256, cache, lambda s: build_engine(model, s, cache))
    assert [c.spec.label() for c in choices] == ["torch fp32 on cpu"]
    assert "no native bf16" in choices[0].reason


def test_create_engine_auto_says_why(tiny_model):
    engine = create_engine(tiny_model)
    assert engine.spec.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert engine.reason and engine.reason != "asked for"
    out = engine(torch.zeros(2, 9, 10, 3, dtype=torch.uint8))
    assert out.shape == (2, 9, 10, 3) and out.dtype == torch.uint8


def test_bad_frames_are_refused_with_the_shape(tiny_model):
    engine = create_engine(tiny_model, "torch", "fp32", "cpu")
    with pytest.raises(EngineError, match=r"uint8 frames \(N, H, W, 3\), got float32 \(1, 8, 8, 3\)"):
        engine(torch.zeros(1, 8, 8, 3))
    with pytest.raises(EngineError, match=r"got uint8 \(8, 8, 3\)"):
        engine(np.zeros((8, 8, 3), np.uint8))  # one frame without its batch axis
    with pytest.raises(EngineError, match="at least 4x4"):
        engine(torch.zeros(1, 3, 8, 3, dtype=torch.uint8))


def test_emulated_bf16_on_a_cpu_says_so(caplog):
    import logging

    from engines.auto import MachineFacts, explicit_choice

    facts = MachineFacts.gather()
    no_bf16 = type(facts)(**{**facts.__dict__, "cpu_bf16": False})
    with caplog.at_level(logging.WARNING, logger="engines.auto"):
        choice = explicit_choice("torch", "bf16", "cpu", no_bf16)
    assert choice.spec.precision == "bf16" and "emulated" in choice.reason
    assert "no native bf16" in caplog.text


def test_the_machine_is_probed_once_per_process():
    from engines.auto import MachineFacts

    assert MachineFacts.gather() is MachineFacts.gather()


def test_cpu_engines_are_timed_in_turns_so_a_burst_of_load_slows_them_alike():
    from engines.auto import time_interleaved

    calls = []

    def engine(name, ms):
        def run(frames):
            calls.append(name)
            end = time.perf_counter() + ms / 1000
            while time.perf_counter() < end:  # the stand-in's work: a fixed amount of CPU time
                pass
            return frames
        return run

    timings = time_interleaved({"a": engine("a", 1), "b": engine("b", 10), "broken": None}, size=(8, 8), runs=3)
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-ups, then one call of each per round
    assert timings["broken"] is None and timings["a"] < timings["b"]
