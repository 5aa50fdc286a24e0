"""Every kind of engine honours one interface, so the pipelines never probe what they were given."""

import numpy as np
import pytest
import torch

from artify_stream.engine_api import as_engine
from artify_stream.evaluation.baselines import BASELINES
from engines import EngineCache, EngineSpec, build_engine
from engines.base import Engine


def engine_kinds(tiny_model, tmp_path):
    from artify_stream.model_file import read_model_ref
    from engines.light import light_engine

    ref = read_model_ref(tiny_model)
    model = ref.load()
    cache = EngineCache(tmp_path / "cache")
    yield "torch", build_engine(model, EngineSpec("torch", "fp32", "cpu"), cache)
    yield "onnx", build_engine(model, EngineSpec("onnx", "fp32", "cpu"), cache)
    yield "onnx without torch", light_engine(ref, "onnx", "fp32", "cpu", cache)
    for name, baseline in BASELINES.items():
        yield name, baseline
    yield "a plain function", as_engine(lambda frames: 255 - frames)


def test_every_engine_kind_has_the_interface_and_keeps_the_kind_of_frames(tiny_model, tmp_path):
    kinds = dict(engine_kinds(tiny_model, tmp_path))
    assert kinds["onnx without torch"] is not None  # the graph the onnx build cached
    for name, engine in kinds.items():
        assert isinstance(engine, Engine), name
        assert engine.spec.device == "cpu" and isinstance(engine.reason, str) and engine.spec.label(), name
        buffer = engine.input_buffer((2, 24, 32, 3))
        assert buffer.shape == (2, 24, 32, 3) and buffer.dtype == np.uint8 and buffer.flags.writeable, name
        buffer[:] = np.random.default_rng(0).integers(0, 256, buffer.shape, dtype=np.uint8)
        out = engine(buffer)
        assert isinstance(out, np.ndarray) and out.shape == buffer.shape and out.dtype == np.uint8, name
        tensor_out = engine(torch.from_numpy(buffer.copy()))
        assert isinstance(tensor_out, torch.Tensor) and tuple(tensor_out.shape) == buffer.shape, name


@pytest.mark.parametrize("kind", ["video", "live"])
def test_the_pipelines_take_a_plain_function(tmp_path, kind):
    from tests.media import probe, write_clip

    src = tmp_path / "in.mp4"
    write_clip(src, frames=5)
    invert = lambda frames: 255 - frames  # noqa: E731
    if kind == "video":
        from artify_stream.video import VideoPipeline

        VideoPipeline(invert).run(src, tmp_path / "out.mp4")
        assert len(probe(tmp_path / "out.mp4")["video_pts"]) == 5  # the file pipeline keeps every frame
    else:
        from artify_stream.live import LiveOptions, run_live
        from artify_stream.live.sinks import make_sink
        from artify_stream.live.sources import FileSource

        stats = run_live(FileSource(src, realtime=False), [make_sink(str(tmp_path / "out.mp4"))], invert,
                         LiveOptions(long_side=None))
        assert stats["frames_out"] >= 1  # live keeps the newest frame: a loaded machine may drop some
    assert len(probe(tmp_path / "out.mp4")["video_pts"]) >= 1
