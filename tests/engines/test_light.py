"""The torch-free CPU engine: a cached ONNX graph opened with NumPy and ONNX Runtime only."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from engines import EngineCache, create_engine
from engines.cpu_ranking import rank_cpu_engines
from engines.formats import EngineSpec
from engines.light import cpu_probe_key, light_engine
from engines.onnx_session import HostOnnxEngine
from tests.media import make_picture

pytest.importorskip("onnxruntime")

CPU = [EngineSpec("torch", "fp32", "cpu"), EngineSpec("torch", "bf16", "cpu"), EngineSpec("onnx", "fp32", "cpu")]


def timings(torch_bf16: float, onnx: float | None) -> dict:
    return {"torch fp32 on cpu": 40.0, "torch bf16 on cpu": torch_bf16, "onnx fp32 on cpu": onnx}


def test_auto_prefers_onnx_runtime_only_within_the_margin():
    ranked, why = rank_cpu_engines(timings(16.6, 20.2), CPU)  # the lite model's probe on this CPU
    assert ranked[0].backend == "onnx" and "without torch" in why
    ranked, why = rank_cpu_engines(timings(10.0, 20.0), CPU)  # twice as slow: speed wins
    assert ranked[0] == EngineSpec("torch", "bf16", "cpu") and why.startswith("fastest")
    ranked, _ = rank_cpu_engines(timings(16.6, None), CPU)  # did not build: left out
    assert [s.backend for s in ranked] == ["torch", "torch"]


def test_numpy_frames_in_numpy_frames_out(tiny_model):
    engine = create_engine(tiny_model, "torch", "fp32", "cpu")
    frames = make_picture(24, 32)[None]
    out = engine(frames)
    assert isinstance(out, np.ndarray) and out.shape == frames.shape and out.dtype == np.uint8
    buffer = engine.input_buffer((2, 24, 32, 3))
    assert isinstance(buffer, np.ndarray) and buffer.shape == (2, 24, 32, 3)


def test_a_cached_graph_runs_in_a_process_without_torch(tiny_model, tmp_path):
    cache_dir = tmp_path / "cache"
    frames = make_picture(21, 30)[None]
    full = create_engine(tiny_model, "onnx", "fp32", "cpu", cache_dir=cache_dir)  # exports and caches
    assert not isinstance(full, HostOnnxEngine)
    expected = full(frames).copy()
    np.save(tmp_path / "frames.npy", frames)
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from engines import create_engine
        engine = create_engine({str(tiny_model)!r}, "onnx", "auto", "cpu", cache_dir={str(cache_dir)!r})
        out = engine(np.load({str(tmp_path / 'frames.npy')!r}))
        np.save({str(tmp_path / 'out.npy')!r}, out)
        print(type(engine).__name__, "torch" in sys.modules)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["HostOnnxEngine", "False"]
    assert np.array_equal(np.load(tmp_path / "out.npy"), expected)


def test_auto_opens_the_cached_graph_only_when_its_probe_picked_onnx(tiny_model, tmp_path):
    from artify_stream.model_file import read_model_ref

    cache = EngineCache(tmp_path / "cache")
    model = read_model_ref(tiny_model)
    sha = model.sha256
    create_engine(tiny_model, "onnx", "fp32", "cpu", cache_dir=cache.root)  # the graph is cached
    assert light_engine(model, "auto", "auto", "cpu", cache) is None  # no probe yet: the full path times
    cache.write_json(cpu_probe_key(sha, "auto"), "timings.json", timings(10.0, 20.0))
    assert light_engine(model, "auto", "auto", "cpu", cache) is None  # torch is much faster here
    cache.write_json(cpu_probe_key(sha, "auto"), "timings.json", timings(16.6, 20.2))
    engine = light_engine(model, "auto", "auto", "cpu", cache)
    assert isinstance(engine, HostOnnxEngine) and "without torch" in engine.reason
    assert light_engine(model, "auto", "bf16", "cpu", cache) is None  # ONNX runs fp32 on the CPU
    assert light_engine(model, "torch", "auto", "cpu", cache) is None
    assert json.loads((engine.cache_path / "entry.json").read_text())["key"]["backend"] == "onnx"


@pytest.mark.parametrize("backend", ["onnx", "auto"])
def test_a_first_run_without_torch_prepares_in_a_child_and_never_imports_torch(tiny_model, tmp_path, backend):
    """engines.first_run: the probe and the export happen in a child process; the run itself opens
    the cached graph (for auto: when the probe picked ONNX Runtime; else it takes the full path)."""
    from artify_stream.model_file import file_sha256

    cache_dir = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
        from engines import create_engine
        engine = create_engine({str(tiny_model)!r}, {backend!r}, "auto", "cpu", cache_dir={str(cache_dir)!r})
        print(type(engine).__name__, "torch" in sys.modules)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    assert "in a child process" in run.stdout
    kind, imported = run.stdout.split()[-2:]
    cache = EngineCache(cache_dir)
    assert any(e["key"]["backend"] == "onnx" for e in cache.entries())  # the child exported the graph
    if backend == "auto":
        probe = cache.read_json(cpu_probe_key(file_sha256(tiny_model), "auto"), "timings.json")
        assert probe and "onnx fp32 on cpu" in probe  # ...and timed the CPU engines
        ranked, _ = rank_cpu_engines(probe, [EngineSpec(*k.split(" on ")[0].split(" "), "cpu") for k in probe])
        if ranked[0].backend != "onnx":  # torch won here: the run builds it, so imports torch
            assert (kind, imported) != ("HostOnnxEngine", "False")
            return
    assert (kind, imported) == ("HostOnnxEngine", "False")

