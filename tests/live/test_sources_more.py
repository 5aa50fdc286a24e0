"""Sources that looked fine but were not: a clip over HTTP, a silent UDP port; and SIGTERM to `artify live`."""

from __future__ import annotations

import functools
import http.server
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from artify_stream.errors import InputError
from artify_stream.live import LiveOptions, run_live
from artify_stream.live.sources import SourceLost, StreamSource
from engines import create_engine
from tests.live.conftest import CollectingSink, free_port
from tests.media import probe, write_clip
from tests.waiting import frames_recorded, wait_until


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path (Python's own, in a thread)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_clip_over_http_plays_to_its_end_and_stops(http_server, tmp_path, tiny_model):
    write_clip(tmp_path / "clip.mp4", frames=20, size=(48, 64), fps=20)
    source = StreamSource(f"{http_server}/clip.mp4", timeout=5)
    width, height, _ = source.open()
    assert (width, height) == (64, 48)
    assert len(list(source.frames())) == 20  # every frame, then the end (a file has one)
    source.close()
    sink = CollectingSink()
    engine = create_engine(tiny_model, "torch", "fp32", "cpu")
    stats = run_live(StreamSource(f"{http_server}/clip.mp4", timeout=5), [sink], engine, LiveOptions(long_side=None))
    assert stats["frames_in"] == 20 and stats["reconnects"] == 0 and sink.written


def test_a_silent_udp_source_says_no_data_within_the_timeout():
    port = free_port(socket.SOCK_DGRAM)
    source = StreamSource(f"udp://127.0.0.1:{port}", timeout=1.0)
    start = time.monotonic()
    with pytest.raises(SourceLost, match=r"no data within 1 s"):
        source.open()
    assert time.monotonic() - start < 10
    with pytest.raises(InputError, match=r"no data within 1 s") as info:
        run_live(StreamSource(f"udp://127.0.0.1:{port}", timeout=1.0), [CollectingSink()],
                 lambda f: f, LiveOptions(duration=2))
    assert "Immediate exit" not in str(info.value)


def test_sigterm_ends_artify_live_like_ctrl_c(tiny_model, tmp_path):
    clip, out = tmp_path / "cam.mp4", tmp_path / "rec.mp4"
    write_clip(clip, frames=30, fps=30, size=(48, 64))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "live", str(clip), "--loop", "--to", str(out),
                             "--model", str(tiny_model), "--engine", "torch", "--precision", "fp32"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    partial = tmp_path / "rec.partial.mp4"
    wait_until(lambda: frames_recorded(partial) > 10 or proc.poll() is not None, 120, "11 frames recorded")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert len(probe(out)["video_pts"]) > 10 and not (tmp_path / "rec.partial.mp4").exists()
