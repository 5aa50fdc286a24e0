"""Opening, encoding and finishing media files: what the file pipeline and live recordings share.

Work in progress is written to NAME.partial.EXT. MP4/MOV are written fragmented there, flushed
at every fragment (a keyframe every ~2 s), so a killed job or a power cut loses seconds; a
finished one is remuxed into a normal MP4 with the index up front (+faststart) and only then
renamed over the target. A partial file's complete GOPs can be read back to continue a job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from artify_stream.atomic import atomic_path
from artify_stream.errors import ConfigError, InputError, OutputError

log = logging.getLogger(__name__)

FRAGMENTED_SUFFIXES = frozenset({".mp4", ".mov", ".m4v"})
#: Containers with no timestamp per frame: frames sit in slots of a constant rate (a gap is an empty
#: slot, the last picture held), so the encoder counts in 1/rate, not in the source's time base.
FRAME_COUNTED_SUFFIXES = frozenset({".avi"})
_FORMAT_FOR_SUFFIX = {".m4v": "mp4", ".ts": "mpegts"}
# delay_moov: the header waits for the first fragment, so it carries the edit list that keeps
# B-frame streams' presentation times exact (an empty moov cannot; FFmpeg then shifts them).
_FRAGMENTED = {"movflags": "frag_keyframe+delay_moov+default_base_moof"}
#: Encoders taking a constant-quality (crf) setting.
CRF_ENCODERS = frozenset({"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"})
PRESET_ENCODERS = frozenset({"libx264", "libx265"})
_TO_ANNEX_B = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}


@dataclass(frozen=True)
class EncoderSettings:
    """How video is encoded. A keyframe every `keyframe_seconds` of video, and at least every
    `keyframe_wall_seconds` of work (a slow CPU takes 30 s for 2 s of video), bounds what a kill loses:
    each keyframe closes a fragment of the working file."""

    codec: str = "libx264"
    crf: int | None = 20
    bitrate: int | None = None  # bits/s; replaces crf when given
    preset: str | None = "veryfast"
    keyframe_seconds: float = 2.0
    keyframe_wall_seconds: float = 5.0
    extra: tuple[tuple[str, str], ...] = ()  # more encoder options, e.g. (("tune", "zerolatency"),)


def container_format(path: Path) -> str | None:
    return _FORMAT_FOR_SUFFIX.get(Path(path).suffix.lower())


DEFAULT_RATE = Fraction(30)


def frame_rate(stream) -> Fraction:
    """A video stream's frame rate as the container states or guesses it (30 when it does neither)."""
    return stream.average_rate or stream.guessed_rate or DEFAULT_RATE


def expected_frames(stream) -> int | None:
    """The frames a video stream says it holds (from its count, else duration x rate), if it says."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.average_rate:
        return int(round(float(stream.duration * stream.time_base * stream.average_rate)))
    return None


def read_frames(path: Path, step: int = 1, max_frames: int | None = None,
                fit: Callable[[int, int], tuple[int, int]] | None = None) -> list[np.ndarray]:
    """Every `step`-th frame of a clip (up to `max_frames`) as RGB uint8, at `fit(width, height)` if
    given: the one clip reader of the evaluation and the trainer. A clip that breaks off keeps the
    frames before the break (said in the log); one that yields none is an InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: clip not found")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            width, height = stream.codec_context.width, stream.codec_context.height
            size = fit(width, height) if fit else (width, height)
            for i, frame in enumerate(container.decode(stream)):
                if i % step == 0:
                    frames.append(frame.to_ndarray(width=size[0], height=size[1], format="rgb24"))
                    if max_frames is not None and len(frames) >= max_frames:
                        break
    except av.error.FFmpegError as exc:
        if not frames:
            raise InputError(f"{path}: not a readable video ({exc})") from exc
        log.warning("%s: decoding stopped early (%s); using %d frames", path, exc, len(frames))
    return frames


def evenly_spaced_frames(path: Path, count: int) -> list[tuple[int, np.ndarray]]:
    """`count` frames spread evenly over a clip (frame i * n // count of its n frames, the first one
    included) as (index, RGB uint8) at the clip's own size: stills of a clip to judge a model by.
    The frames are counted first by demuxing alone (no decoding), so only the kept ones are held."""
    frames: list[tuple[int, np.ndarray]] = []
    try:
        with open_input(path) as container:
            total = sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
        wanted = {i * total // count for i in range(count)} if total else set()
        with open_input(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i in wanted:
                    frames.append((i, frame.to_ndarray(format="rgb24")))
                    if len(frames) == len(wanted):
                        break
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a readable video ({exc})") from exc
    if not frames:
        raise InputError(f"{path}: no frames to take stills from")
    return frames


def open_input(source: Path):
    """A media file with at least one video stream, or an InputError naming it."""
    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source}: not found")
    try:
        container = av.open(str(source))
    except av.error.FFmpegError as exc:
        raise InputError(f"{source}: not a readable video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{source}: has no video stream")
    return container


def display_rotation(source: Path) -> int:
    """Counter-clockwise degrees (0/90/180/270) to turn stored frames upright, from the display matrix.

    Read from the first frame of a separate probe, so the real decode starts untouched.
    """
    try:
        with av.open(str(source)) as probe:
            first = next(probe.decode(video=0))
            angle = int(round(first.rotation or 0))
    except (StopIteration, av.error.FFmpegError, AttributeError):
        angle = 0
    # FFmpeg's display-matrix angle and np.rot90's k both count counter-clockwise.
    return (round(angle / 90) * 90) % 360


def open_output(path: Path, target: Path, **kwargs):
    """Open a working file for `target`: fragmented MP4/MOV, every write flushed to disk."""
    options = {"flush_packets": "1"}
    if Path(target).suffix.lower() in FRAGMENTED_SUFFIXES:
        options.update(_FRAGMENTED)
    try:
        return av.open(str(path), "w", format=container_format(target), options=options, **kwargs)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise OutputError(f"{target}: cannot open for writing ({exc})") from exc


def check_video_encoder(name: str) -> str:
    """The encoder's format name (libx264 -> h264), or a ConfigError for an unknown or non-video one."""
    try:
        codec = av.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        raise ConfigError(f"--codec {name}: no such encoder in this FFmpeg (artify info lists them)") from None
    if codec.type != "video":
        raise ConfigError(f"--codec {name}: is {'an' if codec.type == 'audio' else 'a'} {codec.type} encoder; "
                          "name a video encoder such as libx264")
    return codec.canonical_name


#: Encoders that refuse limited-range yuv420p without a strictness override: their full-range twin.
FULL_RANGE_ONLY = {"mjpeg": "yuvj420p", "ljpeg": "yuvj420p"}


def encoder_pixel_format(name: str) -> str:
    """yuv420p where the encoder takes it (every player does), else what it takes: mjpeg needs
    full-range yuvj420p; an RGB-only encoder (png, qtrle...) gets its first listed format."""
    if name in FULL_RANGE_ONLY:
        return FULL_RANGE_ONLY[name]
    formats = [f.name for f in (av.Codec(name, "w").video_formats or [])]
    return "yuv420p" if not formats or "yuv420p" in formats else formats[0]


def configure_video_encoder(context, settings: EncoderSettings, rate: Fraction, size: tuple[int, int],
                            time_base: Fraction) -> None:
    """Set an (unopened) encoder context from `settings`: one home for how this tool encodes video,
    whether the encoder feeds a muxer here or a cluster worker's packets (`cluster.stylize_segment`)."""
    context.width, context.height = size
    context.pix_fmt = encoder_pixel_format(settings.codec)
    context.time_base = time_base
    context.framerate = rate
    context.gop_size = max(1, round(float(rate) * settings.keyframe_seconds))
    options = dict(settings.extra)
    if settings.bitrate:
        context.bit_rate = settings.bitrate
    elif settings.crf is not None and settings.codec in CRF_ENCODERS:
        options["crf"] = str(settings.crf)
    if settings.preset and settings.codec in PRESET_ENCODERS:
        options["preset"] = settings.preset
    context.options = options
    context.thread_type = "FRAME"  # measured ~1.35x faster for libx264 here


def encoder_time_base(output: Path, source_time_base: Fraction, rate: Fraction) -> Fraction:
    """The encoder's time base: the source's, so pts pass through unchanged (VFR stays VFR), except
    where the container counts frames at a constant rate (AVI): 1/rate."""
    return 1 / Fraction(rate) if Path(output).suffix.lower() in FRAME_COUNTED_SUFFIXES else source_time_base


def frame_slot(pts: int | None, source_time_base: Fraction, time_base: Fraction, next_pts: int) -> int:
    """A source frame's pts in the encoder's time base (`next_pts` when it has none); in a
    frame-counted one, its time slot, moved on when two frames fall in one (pts must rise)."""
    if pts is None:
        return next_pts
    if source_time_base == time_base:
        return pts
    return max(next_pts, round(pts * source_time_base / time_base))


def add_video_encoder(container, settings: EncoderSettings, rate: Fraction, size: tuple[int, int],
                      time_base: Fraction, target: Path):
    """A video stream (yuv420p where the encoder takes it) keeping the caller's time base (so source
    pts pass through unchanged)."""
    check_video_encoder(settings.codec)
    try:
        stream = container.add_stream(settings.codec, rate=rate)
    except (av.error.FFmpegError, ValueError) as exc:
        raise ConfigError(f"{target}: encoder {settings.codec!r} is not available ({exc})") from exc
    stream.time_base = time_base
    configure_video_encoder(stream.codec_context, settings, rate, size, time_base)
    return stream


#: Tags a demuxer computes (Matroska's statistics), or that describe the old encoding or a turn the
#: frames no longer need (`rotate`): never copied.
_NOT_COPIED_TAGS = frozenset({"rotate", "encoder", "duration", "number_of_frames", "number_of_bytes", "bps", "_statistics_tags",
                            "_statistics_writing_app", "_statistics_writing_date_utc", "handler_name", "vendor_id"})


#: The handler names muxers write by themselves (FFmpeg, Apple, GPAC): not a title someone gave the track.
_DEFAULT_HANDLERS = ("soundhandler", "videohandler", "subtitlehandler", "texthandler", "core media", "gpac", "iso media")


def stream_title(stream) -> str | None:
    """A stream's title as its container holds it: Matroska's `title`, MP4's udta `name`, or an
    MP4 handler name someone wrote (not a muxer's default)."""
    metadata = stream.metadata
    handler = metadata.get("handler_name", "")
    if handler.lower().startswith(_DEFAULT_HANDLERS):
        handler = ""
    return metadata.get("title") or metadata.get("name") or handler or None


def copy_stream_properties(source, target) -> None:
    """What a player shows of a stream beyond its data: language, title, default/commentary/forced.
    Into MP4/MOV the title also goes in as the handler name: a fragmented MP4 keeps no udta title,
    and it is the name players list the track by."""
    for key, value in source.metadata.items():
        if key.lower() not in _NOT_COPIED_TAGS and key.lower() != "name" and not key.lower().startswith("_statistics"):
            target.metadata[key] = value
    title = stream_title(source)
    if title:
        target.metadata["title"] = title
        if {"mp4", "mov"} & set(target.container.format.name.split(",")):
            target.metadata["handler_name"] = title
    target.disposition = source.disposition


class CopiedStreams:
    """The source's audio and subtitle streams copied untouched into an output; `mux` puts a
    demuxed packet of one of them in. AAC from MPEG-TS (or a raw .aac) carries ADTS headers an MP4
    cannot hold: those packets go through `aac_adtstoasc`, as FFmpeg's `-c copy` does."""

    def __init__(self, source, output, target: Path) -> None:
        from av.bitstream import BitStreamFilterContext

        self.streams: dict = {}  # source index -> output stream
        self._filters: dict = {}
        for stream in list(source.streams.audio) + list(source.streams.subtitles):
            try:
                out = output.add_stream_from_template(stream)
            except (av.error.FFmpegError, ValueError) as exc:
                raise OutputError(f"{target}: its container cannot hold {stream.type} stream {stream.index} "
                                  f"({stream.codec_context.name}): {exc}") from exc
            copy_stream_properties(stream, out)
            self.streams[stream.index] = out
            if (stream.codec_context.name == "aac" and not stream.codec_context.extradata
                    and Path(target).suffix.lower() in FRAGMENTED_SUFFIXES):
                # Not given `out`: that would copy the source's TS codec tag onto it, which MP4 refuses;
                # the AudioSpecificConfig reaches the muxer as the first packet's new extradata.
                self._filters[stream.index] = BitStreamFilterContext("aac_adtstoasc", stream)

    def __iter__(self):
        return iter(self.streams)

    def __len__(self) -> int:
        return len(self.streams)

    def mux(self, output, packet) -> None:
        bsf = self._filters.get(packet.stream.index)
        out = self.streams[packet.stream.index]
        for ready in bsf.filter(packet) if bsf else (packet,):
            ready.stream = out
            output.mux(ready)


def finish_output(working: Path, output: Path) -> None:
    """Make the finished working file the target: MP4/MOV remuxed with the index up front
    (+faststart) into a temp file renamed over the target; other formats renamed as they are."""
    working, output = Path(working), Path(output)
    if output.suffix.lower() not in FRAGMENTED_SUFFIXES:
        os.replace(working, output)
        return
    try:
        with av.open(str(working)) as src, atomic_path(output) as tmp:
            with av.open(str(tmp), "w", format=container_format(output) or "mp4", options={"movflags": "+faststart"}) as dst:
                streams = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio", "subtitle")}
                for index, stream in streams.items():
                    copy_stream_properties(src.streams[index], stream)
                for packet in src.demux(*[src.streams[i] for i in streams]):
                    if packet.dts is None:
                        continue
                    packet.stream = streams[packet.stream.index]
                    dst.mux(packet)
    except (av.error.FFmpegError, OSError) as exc:
        raise OutputError(f"{output}: cannot finish the file from {working.name} ({exc})") from exc
    working.unlink()


@dataclass(frozen=True)
class CompleteGops:
    """The part of an unfinished file a new run can keep: its video up to (not incl.) its last keyframe."""

    path: Path
    packets: int  # kept video packets (= frames)
    restart_pts: int  # pts of the first frame to redo, in `time_base`
    time_base: Fraction
    codec: str
    size: tuple[int, int]

    @classmethod
    def read(cls, path: Path) -> CompleteGops | None:
        """None when nothing can be kept (no complete GOP, or the file does not read)."""
        keyframes, count, info = [], 0, None
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                info = (stream.codec_context.name, (stream.codec_context.width, stream.codec_context.height), stream.time_base)
                for packet in container.demux(stream):
                    if packet.dts is None:
                        continue
                    if packet.is_keyframe:
                        keyframes.append((count, packet.pts))
                    count += 1
        except (av.error.FFmpegError, IndexError, OSError) as exc:
            # A file cut off mid-fragment ends in an error after its complete fragments.
            log.debug("%s: read %d packets before %s", path, count, exc)
        if info is None or len(keyframes) < 2:
            return None
        # The last GOP may be cut short (a kill mid-fragment): redo it from its keyframe.
        kept, restart_pts = keyframes[-1]
        return cls(Path(path), kept, restart_pts, info[2], info[0], info[1])

    def packets_to_keep(self) -> Iterator[av.Packet]:
        """The kept video packets in decode order, as an encoder would hand them over (read lazily).

        MP4 and Matroska store H.264/HEVC length-prefixed; the new encoder's stream is Annex B,
        so the kept packets are converted (the muxer converts the whole stream back on writing).
        """
        from av.bitstream import BitStreamFilterContext

        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            name = _TO_ANNEX_B.get(stream.codec_context.name)
            bsf = BitStreamFilterContext(name, stream) if name else None
            sent = 0
            for packet in container.demux(stream):
                if packet.dts is None:
                    continue
                if sent == self.packets:
                    return
                sent += 1
                yield from (bsf.filter(packet) if bsf else [packet])
