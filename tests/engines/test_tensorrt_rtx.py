"""TensorRT for RTX: real engine builds on this GPU-less machine (TensorRT-RTX's builder needs none).

Everything here runs the real `tensorrt_rtx` builder and real ONNX Runtime. What needs an RTX GPU
(deserialising and running an engine) is in the tests marked `gpu` at the end, which skip here
with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np
import pytest
import torch

from artify_stream.model_file import load_model_file
from artify_stream.registry import load_model
from engines.cache import ENTRY_FILE, EngineCache
from engines.formats import FORMATS, RtxTargets
from engines.shapes import ShapeRange

trt = pytest.importorskip("tensorrt_rtx", reason="TensorRT-RTX is not installed (make test installs the tensorrt-rtx extra)")

from engines.tensorrt_rtx_build import EngineFile, build_or_load, rtx_cache_key, rtx_version  # noqa: E402
from tests.test_cli_stylize import artify  # noqa: E402

RANGE = ShapeRange((32, 32), (96, 128), (256, 256), max_batch=2)


@pytest.fixture
def tiny(tiny_model):
    return load_model_file(tiny_model)


def _engine_bytes(built) -> bytes:
    return built.path.read_bytes()


@pytest.mark.parametrize("name", ["artify-draw", "artify-draw-lite"])
@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_bundled_models_build_for_a_dynamic_range(name, precision, tmp_path):
    built = build_or_load(load_model(name), precision, RANGE, RtxTargets.portable, EngineCache(tmp_path))
    assert not built.cache_hit and built.metadata["precision"] == precision
    assert built.metadata["shape_range"] == [[1, 32, 32, 3], [1, 96, 128, 3], [2, 256, 256, 3]]
    data = _engine_bytes(built)
    assert len(data) == built.metadata["engine_bytes"] > 100_000
    assert hashlib.sha256(data).hexdigest() == built.metadata["engine_sha256"]
    # The graph it was built from, against eager fp32 on a 256x256 probe picture (levels of 255).
    levels = built.metadata["graph_error_levels"]
    bound = {"fp16": (6, 1.0), "fp32": (1, 1.0)}[precision]  # (max, 99.9th percentile)
    assert levels["max"] <= bound[0] and levels["p99_9"] <= bound[1], levels


def test_rebuilding_the_same_inputs_gives_the_same_bytes(tiny, tmp_path):
    first = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, EngineCache(tmp_path / "a"))
    second = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, EngineCache(tmp_path / "b"))
    assert _engine_bytes(first) == _engine_bytes(second)
    first.engine_file().write(tmp_path / "a.rtx")
    second.engine_file().write(tmp_path / "b.rtx")
    assert (tmp_path / "a.rtx").read_bytes() == (tmp_path / "b.rtx").read_bytes()


def test_cache_hits_on_the_same_key_and_misses_on_each_part(tiny, tmp_path, caplog):
    cache = EngineCache(tmp_path)
    base = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache)
    again = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache)
    assert again.cache_hit and again.path == base.path
    variants = {  # what the miss's log line says differs -> the change
        "precision fp16 -> fp32": dict(precision="fp32"),
        "-> 32x32:96x128:320x320@b2": dict(shapes=ShapeRange((32, 32), (96, 128), (320, 320), max_batch=2)),
        "-> 32x32:96x128:256x256@b3": dict(shapes=ShapeRange((32, 32), (96, 128), (256, 256), max_batch=3)),
        "device targets:portable -> targets:portable-turing": dict(targets=RtxTargets.portable_turing),
    }
    for why, change in variants.items():
        args = dict(precision="fp16", shapes=RANGE, targets=RtxTargets.portable) | change
        with caplog.at_level(logging.INFO, logger="engines.tensorrt_rtx_build"):
            caplog.clear()
            built = build_or_load(tiny, args["precision"], args["shapes"], args["targets"], cache)
        assert not built.cache_hit and built.path != base.path, why
        assert why in caplog.text, caplog.text  # the miss says what differs from the cached engine
    assert build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache).cache_hit  # all kept side by side
    turing = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable_turing, cache)
    assert turing.cache_hit and turing.metadata["engine_bytes"] > base.metadata["engine_bytes"]  # 7.5 costs bytes


def test_another_tensorrt_rtx_version_is_never_loaded(tiny, tmp_path, caplog, monkeypatch):
    cache = EngineCache(tmp_path)
    build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache)
    key = rtx_cache_key(tiny.sha256, "fp16", RANGE, RtxTargets.portable)
    assert key.versions["tensorrt_rtx"] == rtx_version() and "artify-graph" in key.versions
    import engines.cache as cache_module

    installed = rtx_version()
    real = cache_module.library_versions
    monkeypatch.setattr("engines.tensorrt_rtx_build.library_versions",
                        lambda *names: {**real(*names), "tensorrt_rtx": "1.8.0.1"})  # an upgrade, as pip would do
    with caplog.at_level(logging.INFO, logger="engines.tensorrt_rtx_build"):
        built = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache)
    assert not built.cache_hit
    assert f"tensorrt_rtx {installed} -> 1.8.0.1" in caplog.text


def test_a_corrupted_cached_engine_is_refused_and_rebuilt(tiny, tmp_path, caplog):
    cache = EngineCache(tmp_path)
    built = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache)
    good = built.path.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF  # one changed byte
    built.path.write_bytes(bytes(damaged))
    with caplog.at_level(logging.WARNING, logger="engines.cache"):
        rebuilt = build_or_load(tiny, "fp16", RANGE, RtxTargets.portable, cache)
    assert not rebuilt.cache_hit and "does not match its recorded checksum; rebuilding" in caplog.text
    assert rebuilt.path.read_bytes() == good
    entry = json.loads((rebuilt.path.parent / ENTRY_FILE).read_text())
    assert entry["build"]["engine_sha256"] == hashlib.sha256(good).hexdigest() and entry["timing"]["build_seconds"] > 0


def test_export_writes_a_file_that_stylize_checks_against_the_model(tiny_model, tmp_path):
    shipped = tmp_path / "tiny.rtx"
    r = artify("export", tiny_model, "--engine", "tensorrt-rtx", "--precision", "fp16", "--shape", "32x32:64x64:128x128",
               "--batch", "2", "--out", shipped, "--engine-cache", tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    assert "built tensorrt-rtx: tiny.safetensors fp16 32x32:64x64:128x128@b2" in r.stderr
    metadata = EngineFile.read(shipped).metadata
    assert metadata["model_sha256"] == load_model_file(tiny_model).sha256 and metadata["targets"] == "portable"
    assert list((tmp_path / "cache" / "tensorrt-rtx").glob("*/stylizer.engine"))  # and into the cache
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(np.full((40, 48, 3), 128, np.uint8)).save(photo)
    # Another model: refused by the file's metadata, before anything needs a GPU.
    r = artify("stylize", photo, tmp_path / "out.png", "--model", "artify-draw-lite", "--engine", "tensorrt-rtx",
               "--engine-file", shipped)
    assert r.returncode == 1 and f"{shipped}: built for model tiny.safetensors" in r.stderr
    assert "not artify-draw-lite.safetensors" in r.stderr and not (tmp_path / "out.png").exists()
    # The right model on a machine without a GPU: one line saying what is missing and what to do.
    r = artify("stylize", photo, tmp_path / "out.png", "--model", tiny_model, "--engine", "tensorrt-rtx",
               "--engine-file", shipped)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert r.returncode == 1 and len(lines) == 1 and "no CUDA GPU here" in lines[0] and "RTX GPUs" in lines[0]
    # A damaged file is named.
    shipped.write_bytes(shipped.read_bytes()[:-10])
    r = artify("stylize", photo, tmp_path / "out.png", "--model", tiny_model, "--engine", "tensorrt-rtx",
               "--engine-file", shipped)
    assert r.returncode == 1 and f"{shipped}: the engine does not match its recorded checksum" in r.stderr


def test_the_row_holds_its_facts_and_auto_prefers_it_only_where_it_runs():
    from engines.auto import MachineFacts, gpu_candidates

    row = FORMATS["tensorrt-rtx"]
    assert row.builds_without_device and row.needs_shape_range and row.precisions == {"cuda": ("fp16", "fp32")}
    rtx = MachineFacts(cuda=True, cpu_bf16=False, onnxruntime=True, tensorrt_problem="not installed", tensorrt_rtx_problem=None)
    h100 = MachineFacts(cuda=True, cpu_bf16=False, onnxruntime=True, tensorrt_problem=None,
                        tensorrt_rtx_problem="NVIDIA H100 has compute capability 9.0, which TensorRT-RTX does not target")
    assert [c.spec.backend for c in gpu_candidates("auto", "cuda", rtx)] == ["tensorrt-rtx", "compile", "torch"]
    assert [c.spec.backend for c in gpu_candidates("auto", "cuda", h100)] == ["tensorrt", "compile", "torch"]
    assert RtxTargets.portable.runs_on((8, 6)) and RtxTargets.portable.runs_on((12, 0))
    assert not RtxTargets.portable.runs_on((9, 0)) and not RtxTargets.portable.runs_on((7, 5))
    assert RtxTargets.portable_turing.runs_on((7, 5)) and not RtxTargets.portable_turing.runs_on((9, 0))


needs_rtx = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA RTX GPU (none here)")


@pytest.mark.gpu
@needs_rtx
def test_runs_on_an_rtx_gpu_within_fp16_tolerance_of_eager(tmp_path):
    from engines import create_engine
    from engines.auto import tensorrt_rtx_problem

    if tensorrt_rtx_problem():
        pytest.skip(tensorrt_rtx_problem())
    engine = create_engine("artify-draw-lite", "tensorrt-rtx", "fp16", "cuda", cache_dir=tmp_path)
    frames = torch.randint(0, 256, (1, 96, 128, 3), dtype=torch.uint8, device="cuda")
    out = engine(frames)
    assert out.device.type == "cuda" and out.shape == frames.shape  # bound in place, no host round trip
    assert (engine.cache_path / "runtime.cache").exists()  # the JIT kernels kept for the next run
