"""Live sources: webcams (OpenCV), network streams (PyAV: RTSP/RTMP/HTTP/UDP) and files in real time.

Every source yields RGB uint8 frames. A network source that stops sending raises SourceLost
within its timeout (the session reconnects it); a webcam that stops is an InputError.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from artify_stream.errors import InputError
from artify_stream.media_io import display_rotation, frame_rate
from artify_stream.live.urls import is_network_url, redact, scheme


class SourceLost(Exception):
    """A reconnectable source stopped delivering (timeout, disconnect, end of a network stream)."""


#: Protocols whose streams are live by nature (low-latency options apply).
LIVE_PROTOCOLS = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "udp", "srt", "tcp", "rtp"})


END_SLACK_S = 1.0  # how far before its advertised end a stream may stop and still count as ended


class StreamSource:
    """A network stream through PyAV: rtsp:// (TCP or UDP transport), rtmp://, http(s)://, udp:// MPEG-TS."""

    reconnectable = True

    def __init__(self, url: str, transport: str = "tcp", timeout: float = 5.0) -> None:
        self.url, self.transport, self.timeout = url, transport, timeout
        self.name = redact(url)
        self.container = None
        self.end_time: float | None = None  # where an advertised duration ends (s); None: a live stream

    def open(self) -> tuple[int, int, float]:
        options = {}
        if scheme(self.url) in LIVE_PROTOCOLS:
            # Low-latency probing suits live protocols; over http(s) it starves a file's probe
            # (0 frames decoded), and an http source may well be a file.
            options = {"fflags": "nobuffer", "flags": "low_delay"}
        if scheme(self.url).startswith("rtsp"):
            options["rtsp_transport"] = self.transport
        if scheme(self.url) == "udp":
            options |= {"overrun_nonfatal": "1", "fifo_size": "1000000"}
        try:
            # (open, read) timeouts: a silent server is noticed, never waited on forever.
            self.container = av.open(self.url, options=options, timeout=(self.timeout, self.timeout))
            stream = self.container.streams.video[0]
        except IndexError:
            self.close()
            raise InputError(f"{self.name}: has no video stream") from None
        except (av.FFmpegError, OSError) as exc:
            self.close()
            raise SourceLost(f"{self.name}: {self._why(exc)}") from None
        # A stream that knows its duration is a file served over the network: it ends where the
        # duration does. One that stops before (a server gone, a connection reset) is lost.
        self.end_time = None
        if self.container.duration:
            self.end_time = (self.container.start_time or 0) / av.time_base + self.container.duration / av.time_base
        rate = frame_rate(stream)
        return stream.codec_context.width, stream.codec_context.height, float(rate)

    def _why(self, exc: BaseException) -> str:
        if isinstance(exc, av.error.ExitError):  # FFmpeg's words when our timeout interrupts a read
            return f"no data within {self.timeout:g} s"
        return redact(str(exc)) or exc.__class__.__name__

    @property
    def finite(self) -> bool:
        return self.end_time is not None

    def frames(self) -> Iterator[np.ndarray]:
        last = None
        try:
            for frame in self.container.decode(video=0):
                last = frame.time if frame.time is not None else last
                yield frame.to_ndarray(format="rgb24")
        except (av.FFmpegError, OSError, EOFError) as exc:
            raise SourceLost(f"{self.name}: {self._why(exc)}") from None
        if self.end_time is None:
            raise SourceLost(f"{self.name}: the stream ended")
        # The last frame starts one frame before the end; a second's slack covers long frames and
        # B-frame reordering, so only a stop well before the advertised end counts as lost.
        if last is None or last < self.end_time - END_SLACK_S:
            at = "before its first frame" if last is None else f"at {last:.1f} s"
            raise SourceLost(f"{self.name}: the stream stopped {at} of its {self.end_time:.1f} s")

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except (av.FFmpegError, OSError):
                pass
            self.container = None


class FileSource:
    """A video file played at its own pace (`realtime`), optionally looped: a stand-in for a camera."""

    reconnectable = False

    def __init__(self, path: Path, realtime: bool = True, loop: bool = False) -> None:
        self.path, self.realtime, self.loop = Path(path), realtime, loop
        self.name = str(path)
        self.container = None
        self.rotation = 0  # counter-clockwise degrees that turn the stored frames upright (a phone's tag)

    def open(self) -> tuple[int, int, float]:
        try:
            self.container = av.open(str(self.path))
            stream = self.container.streams.video[0]
        except IndexError:
            raise InputError(f"{self.path}: has no video stream") from None
        except (av.FFmpegError, OSError) as exc:
            raise InputError(f"{self.path}: cannot be read as a video ({exc})") from None
        self.rotation = display_rotation(self.path)  # as `artify stylize` turns the same clip
        rate = frame_rate(stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        return (height, width, float(rate)) if self.rotation % 180 else (width, height, float(rate))

    def frames(self) -> Iterator[np.ndarray]:
        offset, start = 0.0, time.monotonic()
        while True:
            last = 0.0
            try:
                for frame in self.container.decode(video=0):
                    t = offset + (frame.time or 0.0)
                    last = t
                    if self.realtime:  # hold each frame until its presentation time
                        delay = start + t - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    rgb = frame.to_ndarray(format="rgb24")
                    yield np.ascontiguousarray(np.rot90(rgb, k=self.rotation // 90)) if self.rotation else rgb
            except (av.FFmpegError, OSError) as exc:
                raise InputError(f"{self.path}: decoding failed ({exc})") from None
            if not self.loop:
                return
            rate = frame_rate(self.container.streams.video[0])
            offset = last + 1 / float(rate)
            self.container.seek(0)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


class WebcamSource:
    """A capture device through OpenCV (V4L2 on Linux, DirectShow/MSMF on Windows, AVFoundation on macOS).

    `device` is an index, a /dev/videoN path, or anything cv2.VideoCapture opens (the tests use a
    recorded clip). Size, fps and pixel format (a FourCC such as MJPG or YUYV) are requests the
    driver may round; the actual values are read back.
    """

    reconnectable = False

    def __init__(self, device: int | str, width: int | None = None, height: int | None = None,
                 fps: float | None = None, pixel_format: str | None = None) -> None:
        self.device, self.width, self.height, self.fps, self.pixel_format = device, width, height, fps, pixel_format
        self.name = f"webcam {device}"
        self.capture = None

    def open(self) -> tuple[int, int, float]:
        device = self.device
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") and str(device).startswith("/dev/video") else cv2.CAP_ANY
        if isinstance(device, str) and device.startswith("/dev/video") and not os.path.exists(device):
            raise InputError(f"{self.name}: no such device (connected webcams: {', '.join(list_video_devices()) or 'none'})")
        capture = cv2.VideoCapture(device, api)
        if not capture.isOpened():
            raise InputError(f"{self.name}: cannot be opened (unplugged, or in use by another program?)")
        if self.pixel_format:
            if len(self.pixel_format) != 4:
                raise InputError(f"{self.name}: pixel format must be a FourCC such as MJPG or YUYV, not {self.pixel_format!r}")
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.pixel_format.upper()))
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, self.width), (cv2.CAP_PROP_FRAME_HEIGHT, self.height),
                            (cv2.CAP_PROP_FPS, self.fps)):
            if value:
                capture.set(prop, value)
        self.capture = capture
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return width, height, float(capture.get(cv2.CAP_PROP_FPS) or self.fps or 30)

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            ok, bgr = self.capture.read()
            if not ok:
                raise InputError(f"{self.name}: stopped delivering frames (unplugged or closed by the driver)")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


def list_video_devices() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("video*"))


def open_source(text: str, *, transport: str = "tcp", timeout: float = 5.0, realtime: bool = True, loop: bool = False,
                width: int | None = None, height: int | None = None, fps: float | None = None,
                pixel_format: str | None = None):
    """SOURCE as the user wrote it: a webcam index or /dev/videoN, a network URL, or a video file."""
    if text.isdigit():
        return WebcamSource(int(text), width, height, fps, pixel_format)
    if text.startswith("/dev/video"):
        return WebcamSource(text, width, height, fps, pixel_format)
    if is_network_url(text):
        if transport not in ("tcp", "udp"):
            raise InputError(f"--transport must be tcp or udp, not {transport!r}")
        return StreamSource(text, transport, timeout)
    path = Path(text)
    if not path.is_file():
        raise InputError(f"{redact(text)}: not found (a webcam index or /dev/videoN, an rtsp/rtmp/http/udp URL, or a video file)")
    return FileSource(path, realtime, loop)
