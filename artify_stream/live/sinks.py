"""Live sinks: a virtual camera (pyvirtualcam), network streams (RTSP/RTMP/UDP), a file, a preview window.

Every sink is opened before the stream starts, so an unavailable one (no v4l2loopback device,
no OBS virtual camera, a media server that refuses) is an error that says how to get it.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from artify_stream.errors import OutputError
from artify_stream.live.urls import is_network_url, redact, scheme
from artify_stream.media_io import EncoderSettings, add_video_encoder, finish_output, open_output
from artify_stream.outputs import check_output, partial_path

MS = Fraction(1, 1000)


class EncodedSink:
    """H.264 (x264, zerolatency) into a network stream or a file; timestamps are capture times in ms.

    A file is recorded as NAME.partial.EXT (fragmented MP4/MOV, flushed every second), so a
    killed session leaves a playable recording there; a clean stop turns it into NAME.EXT.
    """

    FORMATS = {"rtsp": "rtsp", "rtsps": "rtsp", "rtmp": "flv", "rtmps": "flv", "udp": "mpegts", "srt": "mpegts", "tcp": "mpegts"}

    def __init__(self, target: str, codec: str = EncoderSettings.codec, bitrate: int | None = None, timeout: float = 5.0) -> None:
        self.target, self.codec, self.bitrate, self.timeout = target, codec, bitrate, timeout
        self.network = is_network_url(target)
        self.name = redact(target)
        self.container = None
        self._first: float | None = None
        self._last_pts = -1

    def _settings(self) -> EncoderSettings:
        x264 = self.codec.startswith("libx264")
        return EncoderSettings(codec=self.codec, crf=None, bitrate=self.bitrate, preset="ultrafast",
                               keyframe_seconds=1.0, extra=(("tune", "zerolatency"), ("bf", "0")) if x264 else ())

    def _open_container(self):
        if not self.network:
            return open_output(partial_path(Path(self.target)), Path(self.target))
        fmt = self.FORMATS.get(scheme(self.target))
        options: dict[str, str] = {}
        if fmt == "rtsp":
            options["rtsp_transport"] = "tcp"
        if fmt == "mpegts" and scheme(self.target) == "udp":
            options["pkt_size"] = "1316"  # 7 TS packets: one UDP datagram under any MTU
        return av.open(self.target, "w", format=fmt, options=options, timeout=(self.timeout, self.timeout))

    def open(self, width: int, height: int, fps: float) -> None:
        if not self.network and not Path(self.target).parent.is_dir():
            raise OutputError(f"{self.target}: folder does not exist")
        try:
            self.container = self._open_container()
            self.stream = add_video_encoder(self.container, self._settings(), Fraction(max(1, round(fps))),
                                            (width, height), MS, Path(self.target))
            self.container.start_encoding()  # connects and writes the header now, before the stream starts
        except (av.FFmpegError, OSError, ValueError, OutputError) as exc:
            self.close(failed=True)
            raise OutputError(f"{self.name}: cannot {'publish' if self.network else 'write'} ({redact(str(exc))})"
                              + (self._how_to() if self.network else "")) from None

    def _how_to(self) -> str:
        kind = scheme(self.target)
        if kind.startswith("rtsp") or kind.startswith("rtmp"):
            return f"; is a media server (MediaMTX, nginx-rtmp, OBS) listening and accepting {kind} publishing there?"
        return "; check the address and port"

    def write(self, rgb: np.ndarray, capture_time: float) -> None:
        if self._first is None:
            self._first = capture_time
        pts = max(int((capture_time - self._first) * 1000), self._last_pts + 1)
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = pts, MS
        try:
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.name}: writing failed ({redact(str(exc))})") from None

    def close(self, failed: bool = False) -> None:
        if self.container is None:
            return
        try:
            if not failed:
                for packet in self.stream.encode(None):
                    self.container.mux(packet)
        except (av.FFmpegError, OSError):
            failed = failed or self.network
        finally:
            try:
                self.container.close()
            except (av.FFmpegError, OSError):
                pass
            self.container = None
        if not self.network:
            partial = partial_path(Path(self.target))
            if self._first is None:
                partial.unlink(missing_ok=True)  # nothing was recorded
            elif partial.exists():
                finish_output(partial, Path(self.target))


class VirtualCameraSink:
    """pyvirtualcam: the v4l2loopback device on Linux, OBS's virtual camera on Windows and macOS."""

    def __init__(self, device: str | None = None, backend: str | None = None) -> None:
        self.device, self.backend = device, backend
        self.name = f"virtual camera {device or ''}".strip()
        self.camera = None

    def open(self, width: int, height: int, fps: float) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise OutputError("the virtual camera needs pyvirtualcam: pip install 'artify-stream[live]'") from None
        try:
            self.camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                              device=self.device, backend=self.backend)
        except (RuntimeError, ValueError, OSError) as exc:
            raise OutputError(f"{self.name}: not available ({exc}); {vcam_how_to()}") from None
        self.name = f"virtual camera {self.camera.device}"

    def write(self, rgb: np.ndarray, capture_time: float) -> None:
        self.camera.send(rgb)

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None


def vcam_how_to() -> str:
    if sys.platform.startswith("linux"):
        return ("load v4l2loopback: sudo apt install v4l2loopback-dkms && "
                "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=Artify")
    return "install OBS Studio (28 or newer), start its Virtual Camera once, then stop it"


class PreviewSink:
    """An OpenCV window; closing it or pressing q ends the session."""

    def __init__(self) -> None:
        self.name = "preview window"
        self.closed_by_user = False

    def open(self, width: int, height: int, fps: float) -> None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise OutputError("preview: no display here (DISPLAY is not set); use --to vcam or a stream instead")
        import cv2

        cv2.namedWindow("artify", cv2.WINDOW_NORMAL)

    def write(self, rgb: np.ndarray, capture_time: float) -> None:
        import cv2

        cv2.imshow("artify", rgb[..., ::-1])
        if cv2.waitKey(1) & 0xFF == ord("q") or cv2.getWindowProperty("artify", cv2.WND_PROP_VISIBLE) < 1:
            self.closed_by_user = True

    def close(self) -> None:
        import cv2

        cv2.destroyAllWindows()


def make_sink(text: str, codec: str = EncoderSettings.codec, bitrate: int | None = None, vcam_backend: str | None = None,
              overwrite: bool = False):
    """SINK as the user wrote it: vcam[:DEVICE], preview, rtsp:// / rtmp:// / udp:// URL, or a file path."""
    if text == "vcam" or text.startswith("vcam:"):
        return VirtualCameraSink(text.partition(":")[2] or None, vcam_backend)
    if text == "preview":
        return PreviewSink()
    if is_network_url(text):
        if scheme(text) not in EncodedSink.FORMATS:
            raise OutputError(f"{redact(text)}: cannot publish to {scheme(text)}:// (use rtsp, rtmp, udp, srt or tcp)")
        return EncodedSink(text, codec, bitrate)
    path = Path(text)
    if not path.suffix:
        raise OutputError(f"{text}: not a sink (use vcam, preview, an rtsp/rtmp/udp URL, or a file such as out.mp4)")
    check_output(path, overwrite)
    if partial_path(path).exists() and not overwrite:
        raise OutputError(f"{partial_path(path)}: an unfinished recording (from a session that was killed) is there; "
                          "move it away to keep it, or pass --overwrite")
    return EncodedSink(str(path), codec, bitrate)
