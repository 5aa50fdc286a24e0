"""`artify info`, `artify bench`, `artify export` and `--engine` through the real CLI entry point."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import write_pictures
from tests.test_cli_stylize import artify


def test_info_lists_libraries_codecs_and_cache(tmp_path):
    r = artify("info", "--json", "--engine-cache", tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert "libx264" in info["video_encoders"] and "h264" in info["video_decoders"]
    assert "CPUExecutionProvider" in info["onnxruntime_providers"]
    assert info["torch"] and info["engine_cache"] == {"path": str(tmp_path), "entries": 0, "bytes": 0, "items": []}
    table = artify("info", "--engine-cache", tmp_path)
    assert table.returncode == 0 and "engine cache" in table.stdout and "libx264" in table.stdout


def test_bench_json_records(tiny_model, tmp_path):
    r = artify("bench", "--model", tiny_model, "--sizes", "32x48,64", "--engines", "torch,onnx", "--seconds", "0",
               "--device", "cpu", "--json", "--engine-cache", tmp_path)
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)
    assert {(rec["engine"], rec["precision"], rec["size"]) for rec in records} >= {
        ("torch", "fp32", "32x48"), ("torch", "fp32", "64x64"), ("onnx", "fp32", "32x48"), ("onnx", "fp32", "64x64")}
    for rec in records:
        assert set(rec) >= {"engine", "precision", "size", "ms_per_frame", "fps", "speedup_vs_eager_fp32"}
        assert rec["ms_per_frame"] > 0 and abs(rec["fps"] * rec["ms_per_frame"] - 1000) < 0.1 * 1000
    baseline = [rec for rec in records if (rec["engine"], rec["precision"]) == ("torch", "fp32")]
    assert all(rec["speedup_vs_eager_fp32"] == 1.0 for rec in baseline)


def test_export_onnx_then_stylize_uses_the_cached_graph(tiny_model, tmp_path):
    cache = tmp_path / "cache"
    r = artify("export", tiny_model, "--engine", "onnx", "--shape", "32x48", "--engine-cache", cache)
    assert r.returncode == 0, r.stderr
    entry = Path(r.stdout.strip())
    assert (entry / "stylizer.onnx").is_file() and (entry / "entry.json").is_file()
    stamp = (entry / "stylizer.onnx").stat().st_mtime_ns

    (src,) = write_pictures(tmp_path / "in", 1, size=(32, 48))
    onnx_out, torch_out = tmp_path / "onnx.png", tmp_path / "torch.png"
    r = artify("stylize", src, onnx_out, "--model", tiny_model, "--engine", "onnx", "--engine-cache", cache)
    assert r.returncode == 0, r.stderr
    assert "engine: onnx fp32 on cpu (asked for)" in r.stderr
    assert (entry / "stylizer.onnx").stat().st_mtime_ns == stamp  # reused, not exported again
    r = artify("stylize", src, torch_out, "--model", tiny_model, "--engine", "torch", "--precision", "fp32")
    assert r.returncode == 0, r.stderr
    a, b = (np.asarray(Image.open(p), dtype=int) for p in (onnx_out, torch_out))
    assert np.abs(a - b).max() <= 1


def test_engines_that_cannot_run_here_are_one_line_errors(tiny_model, tmp_path):
    r = artify("export", tiny_model, "--engine", "tensorrt", "--device", "cpu", "--engine-cache", tmp_path)
    assert r.returncode == 1 and "NVIDIA GPUs only" in r.stderr and "Traceback" not in r.stderr
    r = artify("stylize", tmp_path, tmp_path / "out", "--model", tiny_model, "--engine", "onnx", "--precision", "bf16")
    assert r.returncode == 1 and "bf16" in r.stderr and "Traceback" not in r.stderr
    r = artify("export", tiny_model, "--engine", "torch", "--engine-cache", tmp_path)
    assert r.returncode == 1 and "nothing to build ahead of time" in r.stderr
    r = artify("bench", "--model", tiny_model, "--sizes", "720q", "--engine-cache", tmp_path)
    assert r.returncode == 1 and "bad size '720q'" in r.stderr
