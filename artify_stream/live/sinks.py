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

MS = Fraction(1, 1000)


class EncodedSink:
    """H.264 (x264, zerolatency) into a network stream or a file; timestamps are capture times in ms."""

    FORMATS = {"rtsp": "rtsp", "rtsps": "rtsp", "rtmp": "flv", "rtmps": "flv", "udp": "mpegts", "srt": "mpegts", "tcp": "mpegts"}

    def __init__(self, target: str, codec: str = "libx264", bitrate: int | None = None, timeout: float = 5.0) -> None:
        self.target, self.codec, self.bitrate, self.timeout = target, codec, bitrate, timeout
        self.network = is_network_url(target)
        self.name = redact(target)
        self.container = None
        self._first: float | None = None
        self._last_pts = -1

    def _output_path(self) -> Path:
        final = Path(self.target)
        return final.with_name(f".{final.stem}.partial{final.suffix}")

    def open(self, width: int, height: int, fps: float) -> None:
        options: dict[str, str] = {}
        fmt = self.FORMATS.get(scheme(self.target)) if self.network else None
        if fmt == "rtsp":
            options["rtsp_transport"] = "tcp"
        if fmt == "mpegts" and scheme(self.target) == "udp":
            options["pkt_size"] = "1316"  # 7 TS packets: one UDP datagram under any MTU
        if not self.network:
            final = Path(self.target)
            if not final.parent.is_dir():
                raise OutputError(f"{final}: folder does not exist")
            if final.suffix.lower() in (".mp4", ".mov"):
                # Fragmented MP4: a recording cut off by a crash or a kill still plays.
                options["movflags"] = "frag_keyframe+empty_moov+default_base_moof"
        where = self.target if self.network else str(self._output_path())
        try:
            self.container = av.open(where, "w", format=fmt, options=options, timeout=(self.timeout, self.timeout))
            stream = self.container.add_stream(self.codec, rate=max(1, round(fps)))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.time_base = stream.codec_context.time_base = MS
            if self.bitrate:
                stream.bit_rate = self.bitrate
            if self.codec.startswith("libx264"):
                stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(max(1, round(fps))), "bf": "0"}
            self.stream = stream
            self.container.start_encoding()  # connects and writes the header now, before the stream starts
        except (av.FFmpegError, OSError, ValueError) as exc:
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
            partial = self._output_path()
            if failed and self._first is None:
                partial.unlink(missing_ok=True)
            elif partial.exists():
                os.replace(partial, self.target)


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


def make_sink(text: str, codec: str = "libx264", bitrate: int | None = None, vcam_backend: str | None = None,
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
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists (pass --overwrite to replace it)")
    if not path.suffix:
        raise OutputError(f"{text}: not a sink (use vcam, preview, an rtsp/rtmp/udp URL, or a file such as out.mp4)")
    return EncodedSink(str(path), codec, bitrate)
