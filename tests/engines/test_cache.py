"""The engine cache: built once, reused, and rebuilt (never trusted) when stale or corrupt."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import torch

from artify_stream.model_file import load_model_file, save_model_file
from engines import EngineCache, EngineSpec, build_engine
from engines.cache import CacheKey, library_versions
from tests.conftest import make_picture

KEY = CacheKey("ab" * 32, "onnx", "fp32", "any", "Some CPU", {"torch": "2.14", "onnxruntime": "1.32"})


def test_every_key_field_changes_the_entry():
    digests = {KEY.digest()}
    for change in ({"model_sha256": "cd" * 32}, {"backend": "tensorrt"}, {"precision": "fp16"},
                   {"shapes": "720x1280@b4"}, {"device": "NVIDIA H100 (sm_90)"},
                   {"versions": {"torch": "2.15", "onnxruntime": "1.32"}}):
        digests.add(replace(KEY, **change).digest())
    assert len(digests) == 7


def test_library_versions_name_what_is_missing():
    versions = library_versions("onnxruntime", "surely-not-a-package")
    assert versions["onnxruntime"] != "missing" and versions["surely-not-a-package"] == "missing"
    assert torch.__version__.startswith(versions["torch"])  # the package's version: read without importing torch


def test_store_lookup_and_corruption(tmp_path, caplog):
    cache = EngineCache(tmp_path)
    path = cache.store(KEY, "blob.bin", lambda tmp: tmp.write_bytes(b"engine bytes"))
    assert cache.lookup(KEY, "blob.bin") == path
    assert not list(path.parent.glob("*.tmp*"))
    path.write_bytes(b"engine bytez")  # same size, different bytes
    with caplog.at_level(logging.WARNING):
        assert cache.lookup(KEY, "blob.bin") is None
    assert "checksum" in caplog.text and not path.parent.exists()


def test_an_entry_without_its_record_is_not_trusted(tmp_path):
    """A build interrupted before entry.json was written leaves an artifact that must be rebuilt."""
    cache = EngineCache(tmp_path)
    folder = cache.entry_dir(KEY)
    folder.mkdir(parents=True)
    (folder / "blob.bin").write_bytes(b"half an engine")
    assert cache.lookup(KEY, "blob.bin") is None


def test_onnx_engine_is_cached_and_a_corrupt_graph_is_rebuilt(tiny_model, tmp_path, caplog):
    model = load_model_file(tiny_model)
    cache = EngineCache(tmp_path / "cache")
    spec = EngineSpec("onnx", "fp32", "cpu")
    frames = torch.from_numpy(make_picture(21, 30))[None]

    first = build_engine(model, spec, cache)
    assert first.cache_hit is False
    expected = first(frames)
    second = build_engine(model, spec, cache)
    assert second.cache_hit is True
    assert torch.equal(second(frames), expected)

    graph = cache.entry_dir(second.session_key) / "stylizer.onnx"
    entry = json.loads((graph.parent / "entry.json").read_text())
    assert entry["key"]["model_sha256"] == model.sha256 and entry["key"]["backend"] == "onnx"
    graph.write_bytes(graph.read_bytes()[:1000])  # truncated on disk
    with caplog.at_level(logging.WARNING):
        third = build_engine(model, spec, cache)
    assert third.cache_hit is False and "rebuilding" in caplog.text
    assert torch.equal(third(frames), expected)
    assert [e["key"]["backend"] for e in cache.entries()] == ["onnx"]


def test_a_cached_graph_for_another_model_is_not_used(tiny_model, tmp_path):
    cache = EngineCache(tmp_path / "cache")
    spec = EngineSpec("onnx", "fp32", "cpu")
    build_engine(load_model_file(tiny_model), spec, cache)
    generator = load_model_file(tiny_model).build_generator()
    with torch.no_grad():
        generator.to_rgb.bias.add_(0.1)  # retrained, in effect: same architecture, other weights
    other = save_model_file(tmp_path / "other.safetensors", generator, {"epoch": 2})
    assert build_engine(load_model_file(other), spec, cache).cache_hit is False
    assert len(cache.entries()) == 2
