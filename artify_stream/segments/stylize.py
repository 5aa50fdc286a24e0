"""On a worker: one segment's packets -> decoded frames -> the engine -> encoded packets.

The encoder takes the same settings as the one-process pipeline's (`media_io.add_video_encoder`)
with a global header, so its packets can be stream-copied into the joined file; each frame keeps
its source pts, so the joined file has the one-process run's timestamps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import av

from artify_stream.clip_plan import ClipPlan
from artify_stream.frame_path import FrameBatcher, upright_picture
from artify_stream.segments.cut import EncodedSegment, PacketData, Segment
from artify_stream.media_io import configure_video_encoder, frame_slot
from artify_stream.video import GPU_BATCH


def open_encoder(spec: ClipPlan):
    encoder = av.CodecContext.create(spec.encoder.codec, "w")
    configure_video_encoder(encoder, spec.encoder, spec.rate, spec.size, spec.output_time_base)
    encoder.flags |= av.codec.context.Flags.global_header  # headers in extradata, as the joined MP4 has them
    encoder.open()
    return encoder


def open_decoder(spec: ClipPlan):
    decoder = av.CodecContext.create(spec.codec, "r")
    if spec.extradata:
        decoder.extradata = spec.extradata
    decoder.thread_type = "AUTO"
    return decoder


def stylize_segment(engine: Callable, plan: ClipPlan, segment: Segment, device: str = "cpu") -> EncodedSegment:
    """Packets that do not decode are skipped, as FFmpeg and the one-process pipeline do; the
    segment says where (`damaged_at`), and the driver's report counts them."""
    start = time.perf_counter()
    decoder, encoder = open_decoder(plan), open_encoder(plan)
    batcher: FrameBatcher[int | None] = FrameBatcher(engine, plan.size, plan.batch or (GPU_BATCH if device.startswith("cuda") else 1))
    out: list[PacketData] = []
    frames, next_pts = 0, 0

    def encode(stylized: list) -> None:
        nonlocal frames, next_pts
        for frame, pts in stylized:
            frame.pts = frame_slot(pts, plan.time_base, plan.output_time_base, next_pts)
            frame.time_base, next_pts = plan.output_time_base, frame.pts + 1
            out.extend(PacketData.of(p) for p in encoder.encode(frame))
        frames += len(stylized)

    # PyAV cannot set a packet's discard flag, so the frames an edit list hides go by their pts.
    hidden = {p.pts for p in segment.packets if p.hidden}
    damaged_at: list[float] = []
    for data in [*segment.packets, None]:
        try:
            decoded = decoder.decode(data.packet(plan.time_base) if data is not None else None)
        except av.error.FFmpegError:
            # Keep feeding and drain to the end (a frame-threaded decoder freed right after an error
            # deadlocks in avcodec_free_context: FFmpeg 8 here, every time).
            pts = data.pts if data is not None and data.pts is not None else segment.packets[-1].pts
            damaged_at.append(float(pts * plan.time_base) if pts is not None else 0.0)
            continue
        for frame in decoded:
            if frame.pts in hidden:
                continue  # decoded as a reference only
            if segment.skip_before is not None and frame.pts is not None and frame.pts < segment.skip_before:
                continue  # in the output already
            encode(batcher.add(upright_picture(frame, plan.stored_size, plan.rotation), frame.pts))
    encode(batcher.flush())
    out.extend(PacketData.of(p) for p in encoder.encode(None))
    return EncodedSegment(segment.index, out, frames, encoder.extradata, time.perf_counter() - start,
                          damaged_at=damaged_at)
