"""Live-test fixtures: a real GStreamer RTSP server on 127.0.0.1, loopback ports, a collecting sink."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")
CLIP_FPS = 15
CLIP_SIZE = (120, 160)  # h, w


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gst_rtsp_missing() -> str | None:
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} not found"
    r = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True)
    return None if r.returncode == 0 else "GStreamer's RTSP server is missing (make test installs gir1.2-gst-rtsp-server-1.0)"


def write_h264_loop(path: Path, frames: int = 30) -> Path:
    """A raw H.264 stream, keyframe every 5 frames: a white bar sweeping across a dark frame."""
    h, w = CLIP_SIZE
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"g": "5", "bf": "0", "tune": "zerolatency"}
        for i in range(frames):
            img = np.full((h, w, 3), 30, np.uint8)
            x = (i * 5) % (w - 20)
            img[:, x:x + 20] = 230
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


class RtspServer:
    def __init__(self, clip: Path) -> None:
        self.clip, self.port = clip, free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/clip"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([SYSTEM_PYTHON, str(SERVER), str(self.clip), str(CLIP_FPS), str(self.port), "/clip"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"RTSP server did not start: {line} {self.process.stdout.read()}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def rtsp_server_factory():
    """Starts a real RTSP server for a clip (a raw H.264 loop, or an MP4 served as a file); all are stopped after."""
    missing = gst_rtsp_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs it: a missing server there is a broken setup, not a skip
        pytest.skip(missing)
    servers = []

    def start(clip: Path) -> RtspServer:
        server = RtspServer(clip)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def rtsp_server(rtsp_server_factory, tmp_path):
    return rtsp_server_factory(write_h264_loop(tmp_path / "clip.h264"))


class CollectingSink:
    """A sink that keeps what it is given (time written, capture time, frame), for assertions."""

    def __init__(self) -> None:
        self.name = "collector"
        self.size = None
        self.written: list[tuple[float, float, np.ndarray]] = []
        self.closed = False

    def open(self, width: int, height: int, fps: float) -> None:
        self.size = (width, height)

    def write(self, rgb: np.ndarray, capture_time: float) -> None:
        self.written.append((time.monotonic(), capture_time, rgb.copy()))

    def close(self) -> None:
        self.closed = True
