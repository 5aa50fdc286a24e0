"""Everything around the TensorRT engine: shape ranges, cache keys, reuse, rebuilds, checks, fallback.

torch_tensorrt cannot run here: TensorRT's libraries are not installable from the reachable
registries and it needs an NVIDIA GPU. These tests therefore put a stand-in module in its place
(`StandInTorchTensorRT`), documented as such: its compile() takes the documented arguments
(half/float NCHW `Input`s, `use_explicit_typing`, no deprecated `enabled_precisions`) and
returns the generator run through torch.export (a real ExportedProgram's graph, not the eager
module); save()/load() write and read real ExportedPrograms, the format torch_tensorrt.save
uses. The real library is exercised by the conformance test in test_conformance.py, which skips here.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import types

import pytest
import torch

from artify_stream.errors import EngineError
from artify_stream.model_file import load_model_file
from engines import EngineCache, EngineSpec, create_engine
from engines.auto import Choice
from engines.shapes import ShapeRange
from engines.tensorrt_engine import TensorRTEngine, import_torch_tensorrt
from engines.torch_engine import TorchEngine
from tests.conftest import make_picture


def _example(spec) -> tuple:
    """torch.export arguments for a stand-in Input: its largest shape, dynamic where min and max differ."""
    dynamic = {i: torch.export.Dim.DYNAMIC for i, (lo, hi) in enumerate(zip(spec.min_shape, spec.max_shape)) if lo != hi}
    return (torch.zeros(spec.max_shape, dtype=spec.dtype),), {"dynamic_shapes": (dynamic,) if dynamic else None}


class StandInTorchTensorRT(types.ModuleType):
    __version__ = "2.14.0"

    def __init__(self, fail: str | None = None, wrong: bool = False) -> None:
        super().__init__("torch_tensorrt")
        self.fail, self.wrong, self.compiles, self.loads = fail, wrong, [], 0

    class Input:
        def __init__(self, *, min_shape, opt_shape, max_shape, dtype):
            self.min_shape, self.opt_shape, self.max_shape, self.dtype = min_shape, opt_shape, max_shape, dtype

    def compile(self, module, *, ir, arg_inputs, use_explicit_typing, min_block_size, **deprecated):
        assert not deprecated, f"deprecated arguments passed: {sorted(deprecated)}"
        self.compiles.append({"ir": ir, "inputs": arg_inputs, "explicit": use_explicit_typing})
        if self.fail:
            raise RuntimeError(self.fail)
        args, options = _example(arg_inputs[0])
        program = torch.export.export(module, args, **options).module()
        if self.wrong:  # a build that runs but computes something else
            return lambda x: 1.0 - program(x)
        return program

    def save(self, program, path, *, output_format, arg_inputs):
        assert output_format == "exported_program"
        args, options = _example(arg_inputs[0])
        torch.export.save(torch.export.export(program, args, **options), path)

    def load(self, path):
        self.loads += 1
        return torch.export.load(path)


@pytest.fixture
def stand_in(monkeypatch):
    module = StandInTorchTensorRT()
    monkeypatch.setitem(sys.modules, "torch_tensorrt", module)
    return module


@pytest.fixture
def model(tiny_model):
    return load_model_file(tiny_model)


def frames(n: int, h: int, w: int) -> torch.Tensor:
    return torch.stack([torch.from_numpy(make_picture(h, w, seed=i)) for i in range(n)])


SPEC = EngineSpec("tensorrt", "fp32", "cpu")  # the stand-in runs anywhere; the real engine is CUDA-only


def test_missing_or_unsupported_torch_tensorrt_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_tensorrt", None)
    with pytest.raises(EngineError, match=r"pip install 'artify-stream\[tensorrt\]'"):
        import_torch_tensorrt()
    old = StandInTorchTensorRT()
    old.__version__ = "2.4.1"
    monkeypatch.setitem(sys.modules, "torch_tensorrt", old)
    with pytest.raises(EngineError, match=r"torch-tensorrt 2.4.1 is not a release this engine was written for \(2.9 to 2.14\)"):
        import_torch_tensorrt()


def test_static_shape_build_cache_and_range_check(stand_in, model, tmp_path):
    cache = EngineCache(tmp_path)
    shapes = ShapeRange.static((18, 27), max_batch=2)
    engine = TensorRTEngine(model.build_generator(), SPEC, cache, model.sha256, shapes)
    [call] = stand_in.compiles
    (spec_input,) = call["inputs"]
    # TensorRT sees the generator alone: float NCHW, sizes padded to multiples of 4, uint8 casts outside
    assert (spec_input.min_shape, spec_input.opt_shape, spec_input.max_shape) == ((1, 3, 20, 28), (2, 3, 20, 28), (2, 3, 20, 28))
    assert spec_input.dtype == torch.float32 and call["explicit"] and call["ir"] == "dynamo"

    batch = frames(2, 18, 27)
    expected = TorchEngine(model.build_generator(), EngineSpec("torch", "fp32", "cpu"), cache, model.sha256)(batch)
    got = engine(batch)
    assert got.dtype == torch.uint8 and got.shape == batch.shape
    assert (got.int() - expected.int()).abs().max() <= 1  # the exported graph + casts outside match eager

    again = TensorRTEngine(model.build_generator(), SPEC, cache, model.sha256, shapes)
    assert len(stand_in.compiles) == 1 and stand_in.loads == 1 and again.cache_hit
    assert (again(batch).int() - expected.int()).abs().max() <= 1
    with pytest.raises(EngineError, match="outside this TensorRT engine's shape range 18x27@b2"):
        again(frames(1, 24, 28))
    entry = cache.entries()[0]["key"]
    assert entry["shapes"] == "18x27@b2" and entry["backend"] == "tensorrt" and "torch-tensorrt" in entry["versions"]


def test_a_program_that_computes_something_else_is_refused_and_not_cached(monkeypatch, model, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_tensorrt", StandInTorchTensorRT(wrong=True))
    with pytest.raises(EngineError, match="does not match eager fp32 on a probe batch"):
        TensorRTEngine(model.build_generator(), SPEC, EngineCache(tmp_path), model.sha256, ShapeRange.static((16, 16), 1))
    assert not list(tmp_path.rglob("stylizer.ep"))


def test_ranged_shapes_reach_tensorrt_inputs(stand_in, model, tmp_path):
    shapes = ShapeRange.parse("16x16:24x32:40x48", max_batch=3)
    engine = TensorRTEngine(model.build_generator(), SPEC, EngineCache(tmp_path), model.sha256, shapes)
    (spec_input,) = stand_in.compiles[0]["inputs"]
    assert (spec_input.min_shape, spec_input.opt_shape, spec_input.max_shape) == ((1, 3, 16, 16), (1, 3, 24, 32), (3, 3, 40, 48))
    assert engine.fixed_shapes.covers(3, 40, 17) and not engine.fixed_shapes.covers(1, 41, 20)


def test_without_a_shape_each_new_frame_size_gets_its_own_program(stand_in, model, tmp_path):
    engine = TensorRTEngine(model.build_generator(), SPEC, EngineCache(tmp_path), model.sha256)
    assert stand_in.compiles == []  # nothing is built before the first frames arrive
    engine(frames(3, 16, 20))
    engine(frames(1, 16, 20))  # the smaller last batch of a clip reuses the program
    assert len(stand_in.compiles) == 1 and stand_in.compiles[0]["inputs"][0].max_shape == (4, 3, 16, 20)
    engine(frames(1, 12, 12))
    assert len(stand_in.compiles) == 2


def test_a_corrupt_cached_program_is_rebuilt(stand_in, model, tmp_path, caplog):
    cache = EngineCache(tmp_path)
    shapes = ShapeRange.static((16, 16), max_batch=1)
    TensorRTEngine(model.build_generator(), SPEC, cache, model.sha256, shapes)
    program = next(tmp_path.rglob("stylizer.ep"))
    program.write_bytes(b"not a program")
    with caplog.at_level(logging.WARNING):
        engine = TensorRTEngine(model.build_generator(), SPEC, cache, model.sha256, shapes)
    assert "rebuilding" in caplog.text and len(stand_in.compiles) == 2 and engine.cache_hit is False


def test_a_failed_build_is_an_error_when_asked_for(monkeypatch, model, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_tensorrt", StandInTorchTensorRT(fail="no implementation for layer X"))
    with pytest.raises(EngineError, match="TensorRT build failed for 16x16@b1: no implementation for layer X"):
        TensorRTEngine(model.build_generator(), EngineSpec("tensorrt", "fp16", "cpu"), EngineCache(tmp_path), model.sha256,
                       ShapeRange.static((16, 16), max_batch=1))
    assert not list(tmp_path.rglob("stylizer.ep"))


def test_auto_falls_back_loudly_when_tensorrt_fails_to_build(monkeypatch, tiny_model, caplog):
    """The GPU ladder (TensorRT, then compile) cannot run here; its first two steps are replayed on the CPU,
    with the table's TensorRT row widened to the CPU for the stand-in."""
    from engines.formats import FORMATS

    row = FORMATS["tensorrt"]
    monkeypatch.setitem(FORMATS, "tensorrt", dataclasses.replace(row, precisions={**row.precisions, "cpu": ("fp32",)}))
    monkeypatch.setitem(sys.modules, "torch_tensorrt", StandInTorchTensorRT(fail="out of workspace memory"))
    ladder = [Choice(EngineSpec("tensorrt", "fp32", "cpu"), "TensorRT is fastest"),
              Choice(EngineSpec("torch", "fp32", "cpu"), "TensorRT failed to build; eager")]
    monkeypatch.setattr("engines.auto.choose", lambda *args: ladder)
    with caplog.at_level(logging.WARNING):
        engine = create_engine(tiny_model, "auto", shapes=ShapeRange.static((16, 16), max_batch=1))
    assert engine.spec.backend == "torch"
    assert "tensorrt fp32 on cpu failed to build" in caplog.text and "out of workspace memory" in engine.reason
    with pytest.raises(EngineError, match="out of workspace memory"):
        monkeypatch.setattr("engines.auto.choose", lambda *args: ladder[:1])
        create_engine(tiny_model, "tensorrt", shapes=ShapeRange.static((16, 16), max_batch=1))
