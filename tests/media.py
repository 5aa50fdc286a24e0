"""Test clips made with PyAV: video with AAC audio, VFR timestamps, odd sizes, rotation tags."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.conftest import make_picture


def write_clip(
    path: Path,
    frames: int = 20,
    size: tuple[int, int] = (48, 64),  # (height, width)
    fps: int = 10,
    audio: bool = False,
    vfr: bool = False,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    codec: str = "libx264",
    gop: int | None = None,  # a keyframe every `gop` frames, and only there
    audio_tags: dict[str, str] | None = None,  # e.g. language and title
    audio_disposition: int = 0,  # av.stream.Disposition flags, e.g. comment
) -> list[int]:
    """Write a clip; returns the video pts (in 1/1000 s) of each frame."""
    height, width = size
    pts_list = []
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = Fraction(1, 1000)
        video.codec_context.time_base = Fraction(1, 1000)
        if gop:
            video.codec_context.gop_size = gop
            video.options = {"sc_threshold": "0", "keyint_min": str(gop)}
        if rotation:
            video.set_display_rotation(rotation)
        if audio:
            sound = out.add_stream("aac", rate=48000)
            sound.layout = "mono"
            sound.metadata.update(audio_tags or {})
            if audio_disposition:
                sound.disposition = audio_disposition
        t = 0
        for i in range(frames):
            rgb = make_picture(height, width, seed=i)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            pts_list.append(t)
            out.mux(video.encode(frame))
            t += (1000 // fps) * (1 + (i % 3 == 0)) if vfr else 1000 // fps
        out.mux(video.encode(None))
        if audio:
            samples = int(48000 * t / 1000)
            tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000) * 0.3).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[None, start : start + 1024]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return pts_list


def write_clip_of(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    """Write the given RGB frames (all one even size) as an H.264 clip."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        for rgb in frames:
            out.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        out.mux(video.encode(None))


def probe(path: Path) -> dict:
    """Frame pts (ms), audio packet payloads, rotation and durations of a file."""
    info: dict = {"video_pts": [], "audio_packets": [], "rotation": 0}
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info["size"] = (v.codec_context.height, v.codec_context.width)
        streams = [v] + list(c.streams.audio)
        for packet in c.demux(*streams):
            if packet.stream.type == "audio":
                if packet.dts is not None:  # the end-of-stream marker carries no data
                    info["audio_packets"].append((packet.pts, bytes(packet)))
            else:  # video: the end-of-stream marker flushes the decoder's delayed frames
                for frame in packet.decode():
                    info["video_pts"].append(round(float(frame.pts * frame.time_base) * 1000))
                    info["rotation"] = frame.rotation or 0
        info["duration"] = c.duration / 1e6 if c.duration else None
        info["video_duration"] = float(v.duration * v.time_base) if v.duration else None
    info["video_pts"].sort()
    return info


def write_pan_clip(path: Path, frames: int = 8, size: tuple[int, int] = (48, 64), step: int = 2, fps: int = 10) -> None:
    """A picture sliding right `step` px a frame: real, measurable motion (write_clip's frames are unrelated)."""
    height, width = size
    wide = make_picture(height, width + frames * step, seed=7)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "12"}
        for i in range(frames):
            left = (frames - i) * step
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(wide[:, left : left + width]), format="rgb24")
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def damage_video_packets(src: Path, dst: Path, indices: range, seed: int = 1) -> list[float]:
    """Copy `src` with the bytes of the video packets at `indices` (decode order) replaced by noise,
    as a bad sector or a dropped network chunk would; returns those packets' times in seconds."""
    with av.open(str(src)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
        spots = [(packets[i].pos, packets[i].size, float(packets[i].pts * packets[i].time_base)) for i in indices]
    data = bytearray(Path(src).read_bytes())
    noise = np.random.default_rng(seed)
    for pos, size, _ in spots:
        data[pos : pos + size] = noise.integers(0, 256, size, dtype=np.uint8).tobytes()
    Path(dst).write_bytes(bytes(data))
    return [t for _, _, t in spots]


def cut_with_edit_list(src: Path, dst: Path, start_s: float) -> int:
    """What `ffmpeg -ss START -i SRC -c copy DST` writes: the video copied from the keyframe before
    START, times shifted so START is 0, and an MP4 edit list hiding the frames before it. Returns the
    number of frames the edit list hides."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        packets = [p for p in inp.demux(vin) if p.dts is not None]
        cut = int(start_s / vin.time_base)
        key = max(p.pts for p in packets if p.is_keyframe and p.pts <= cut)
        hidden = 0
        for p in packets:
            if p.pts < key:
                continue
            hidden += p.pts < cut
            p.pts, p.dts, p.stream = p.pts - cut, p.dts - cut, vout
            out.mux(p)
    return hidden


def prophoto_icc() -> bytes:
    """A minimal ICC v2 display profile with ProPhoto RGB's primaries (D50) and a 1.8 gamma: a
    wide-gamut camera profile of the kind that looks wrong when ignored (none ships with Pillow)."""
    import struct

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    def text(t: str) -> bytes:  # textDescriptionType, ASCII part only
        ascii_ = t.encode() + b"\0"
        return b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 12 + b"\0" * 67

    gamma = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", round(1.8 * 256)) + b"\0\0"
    tags = [(b"desc", text("ProPhoto-like test profile")), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.7977, 0.2880, 0.0)), (b"gXYZ", xyz(0.1352, 0.7119, 0.0)),
            (b"bXYZ", xyz(0.0313, 0.0001, 0.8249)), (b"rTRC", gamma), (b"gTRC", gamma), (b"bTRC", gamma),
            (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table.append(sig + struct.pack(">II", offset + len(data), len(body)))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp"
              + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data
