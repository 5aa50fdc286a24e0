"""A clip cut at keyframes, each segment stylized on its own, joined by stream copy: the driver's and a
worker's code paths without Ray (no cluster needed), checked against the one-process pipeline."""

from __future__ import annotations

import random

import av
import numpy as np
import pytest

from artify_stream.registry import resolve_model
from engines.formats import BackendChoice, PrecisionChoice
from frontends.engine_for import EngineChoice
from frontends.cluster.driver import ClusterOptions, RayBatch
from artify_stream.segments.cut import SegmentPlan, check_frames
from artify_stream.segments.stylize import stylize_segment
from artify_stream.errors import InputError
from artify_stream.outputs import partial_path
from artify_stream.video import VideoOptions, VideoPipeline
from engines import create_engine
from tests.media import cut_with_edit_list, damage_video_packets, probe, write_clip

ENGINE = EngineChoice(BackendChoice.torch, PrecisionChoice.fp32)  # no CPU timing probe: fast to build


@pytest.fixture
def engine(tiny_model):
    return create_engine(tiny_model, "torch", "fp32", "cpu")


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def _join(batch: RayBatch, engine, src, dst, order=None, stop_after: int | None = None):
    """What the cluster does for one clip, in this process: cut, stylize each segment, join."""
    clip = batch.open_clip(src, dst)
    segments = list(clip.segments)
    encoded = [stylize_segment(engine, clip.plan, s) for s in segments]
    for i in order or range(len(encoded)):
        clip.take(segments[i], encoded[i])
        if stop_after is not None and clip.joiner.next_index >= stop_after:
            clip.joiner.close(interrupted=True)
            return clip, segments
    clip.joiner.close()
    return clip, segments


def test_segments_joined_in_any_order_match_the_one_process_run(engine, tiny_model, tmp_path):
    src = tmp_path / "in.mp4"
    write_clip(src, frames=60, audio=True, vfr=True, gop=7)
    VideoPipeline(engine, VideoOptions()).run(src, tmp_path / "whole.mp4")
    batch = RayBatch(resolve_model(tiny_model), ENGINE, VideoOptions(), ClusterOptions(segment_seconds=1))
    order = list(range(sum(1 for _ in SegmentPlan(src, 1))))
    random.Random(3).shuffle(order)  # workers finish in any order; the joiner keeps the clip's
    clip, segments = _join(batch, engine, src, tmp_path / "joined.mp4", order=order)
    assert len(segments) > 3  # really cut
    source, whole, joined = probe(src), probe(tmp_path / "whole.mp4"), probe(tmp_path / "joined.mp4")
    assert joined["video_pts"] == whole["video_pts"] == source["video_pts"]  # every frame once, VFR kept
    assert joined["audio_packets"] == source["audio_packets"]  # copied once, bit-exact
    assert joined["duration"] == pytest.approx(whole["duration"], abs=0.05)
    a, b = _frames(tmp_path / "whole.mp4"), _frames(tmp_path / "joined.mp4")
    assert max(float(np.abs(x - y).mean()) for x, y in zip(a, b)) < 4  # the same pictures, in the same order
    assert clip.report.frames == 60 and clip.report.status == "done"
    assert not partial_path(tmp_path / "joined.mp4").exists()


def test_an_interrupted_join_leaves_a_partial_the_next_run_continues(engine, tiny_model, tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=50, audio=True, gop=5)
    batch = RayBatch(resolve_model(tiny_model), ENGINE, VideoOptions(), ClusterOptions(segment_seconds=1))
    first, _ = _join(batch, engine, src, dst, stop_after=2)  # Ctrl-C after two segments were joined
    assert first.report.partial == partial_path(dst) and not dst.exists()
    assert len(probe(partial_path(dst))["video_pts"]) == 20  # playable, the frames so far
    again, segments = _join(batch, engine, src, dst)
    assert again.report.kept_frames > 0 and segments[0].skip_before is not None  # the kept GOPs are not redone
    assert sum(s.frames for s in segments) + again.report.kept_frames == 50
    assert probe(dst)["video_pts"] == probe(src)["video_pts"]
    assert probe(dst)["audio_packets"] == probe(src)["audio_packets"]
    assert not partial_path(dst).exists()


def test_an_edit_list_cut_joins_to_the_frames_it_shows(engine, tiny_model, tmp_path):
    whole, src = tmp_path / "whole.mp4", tmp_path / "cut.mp4"
    write_clip(whole, frames=60, fps=25, gop=10)
    hidden = cut_with_edit_list(whole, src, start_s=0.6)
    VideoPipeline(engine, VideoOptions()).run(src, tmp_path / "one.mp4")
    batch = RayBatch(resolve_model(tiny_model), ENGINE, VideoOptions(), ClusterOptions(segment_seconds=0.4))
    clip, segments = _join(batch, engine, src, tmp_path / "joined.mp4")
    assert hidden == 5 and len(segments) > 2
    clip.report.hidden_frames = clip.segments.hidden  # as the driver does when the clip is complete
    assert clip.report.status == "done" and clip.report.frames == 60 - 10 - 5  # from the keyframe at 0.4 s, less the hidden
    assert probe(tmp_path / "joined.mp4")["video_pts"] == probe(tmp_path / "one.mp4")["video_pts"]


def test_a_segment_that_lost_frames_is_a_clear_error(engine, tmp_path):
    src = tmp_path / "in.mp4"
    write_clip(src, frames=20, gop=5)
    segment = next(iter(SegmentPlan(src, 1)))
    segment.packets = segment.packets[:-2]  # as an open GOP or damaged packets would
    batch = RayBatch(resolve_model(None), ENGINE, VideoOptions(), ClusterOptions())
    clip = batch.open_clip(src, tmp_path / "out.mp4")
    done = stylize_segment(engine, clip.plan, segment)
    clip.joiner.abandon()
    with pytest.raises(InputError, match=r"in\.mp4: segment 1 decoded 8 of its 10 frames.*--segment-seconds 0"):
        check_frames(src, segment, done)
    assert not list(tmp_path.glob("out*"))


def test_a_damaged_stretch_is_skipped_and_reported_like_one_process_does(engine, tiny_model, tmp_path):
    clean, src = tmp_path / "clean.mp4", tmp_path / "damaged.mp4"
    write_clip(clean, frames=100, size=(48, 64), fps=25, audio=True, gop=25)
    times = damage_video_packets(clean, src, range(50, 53))
    whole = VideoPipeline(engine).run(src, tmp_path / "whole.mp4")
    batch = RayBatch(resolve_model(tiny_model), ENGINE, VideoOptions(), ClusterOptions(segment_seconds=1))
    clip, segments = _join(batch, engine, src, tmp_path / "joined.mp4")
    report = clip.report
    assert len(segments) > 2 and report.status == "incomplete" == whole.status  # exit 1, the rest kept
    assert 0 < report.frames < 100 and len(probe(tmp_path / "joined.mp4")["video_pts"]) == report.frames
    assert min(times) <= min(report.damaged_at) <= max(report.damaged_at) <= max(times) + 0.5
    assert "damaged video packets at" in report.message()
    assert probe(tmp_path / "joined.mp4")["audio_packets"] == probe(clean)["audio_packets"]


def test_joined_recordings_are_re_timed_as_one_process_does(engine, tiny_model, tmp_path):
    first, second, src = tmp_path / "a.ts", tmp_path / "b.ts", tmp_path / "joined.ts"
    write_clip(first, frames=30, fps=10, audio=True, gop=10)
    write_clip(second, frames=20, fps=10, audio=True, gop=10)
    src.write_bytes(first.read_bytes() + second.read_bytes())  # `cat a.ts b.ts`: the clock restarts at 3 s
    VideoPipeline(engine).run(src, tmp_path / "whole.mp4")
    batch = RayBatch(resolve_model(tiny_model), ENGINE, VideoOptions(), ClusterOptions(segment_seconds=1))
    clip, segments = _join(batch, engine, src, tmp_path / "joined.mp4")
    assert len(segments) > 2 and clip.report.status == "done" and "jumped back at 3.00" in clip.report.message()
    joined, whole = probe(tmp_path / "joined.mp4"), probe(tmp_path / "whole.mp4")
    assert joined["video_pts"] == whole["video_pts"] and len(joined["video_pts"]) == 50
    assert joined["audio_packets"] == whole["audio_packets"]  # shifted with the video, exactly




def test_an_avi_joined_from_segments_counts_frames_like_one_process_does(engine, tiny_model, tmp_path):
    src = tmp_path / "in.mp4"
    write_clip(src, frames=40, fps=25, audio=True, gop=10)
    VideoPipeline(engine).run(src, tmp_path / "whole.avi")
    batch = RayBatch(resolve_model(tiny_model), ENGINE, VideoOptions(), ClusterOptions(segment_seconds=0.5))
    clip, segments = _join(batch, engine, src, tmp_path / "joined.avi")
    assert len(segments) >= 2 and clip.report.status == "done"
    joined, whole = probe(tmp_path / "joined.avi"), probe(tmp_path / "whole.avi")
    assert joined["video_pts"] == whole["video_pts"] and len(joined["video_pts"]) == 40
    with av.open(str(tmp_path / "joined.avi")) as c:
        assert c.streams.video[0].average_rate == 25  # frame slots at the clip's rate, not the source's 1/1000
