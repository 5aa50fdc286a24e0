"""`artify live` through the real CLI entry point."""

import json

from tests.live.conftest import free_port
from tests.media import probe, write_clip
from tests.waiting import frames_recorded, wait_until
from tests.test_cli_stylize import artify


def test_live_file_to_recording_with_json_stats(tiny_model, tmp_path):
    clip, out = tmp_path / "cam.mp4", tmp_path / "rec.mp4"
    write_clip(clip, frames=30, fps=30, size=(48, 64))
    r = artify("live", clip, "--to", out, "--model", tiny_model, "--engine", "torch", "--precision", "fp32", "--json")
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["frames_in"] == 30 and stats["frames_out"] > 0 and set(stats["latency_ms"]) >= {"p50", "p95", "p99"}
    assert probe(out)["size"] == (48, 64)


def test_live_errors_are_one_line_and_hide_passwords(tiny_model, tmp_path):
    clip = tmp_path / "cam.mp4"
    write_clip(clip, frames=5, size=(48, 64))
    r = artify("live", clip, "--to", "vcam", "--model", tiny_model)
    assert r.returncode == 1 and "v4l2loopback" in r.stderr and "Traceback" not in r.stderr
    url = f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/cam"
    r = artify("live", url, "--to", tmp_path / "x.mp4", "--model", tiny_model, "--timeout", "1")
    assert r.returncode == 1 and "hunter2" not in r.stderr and "admin:***@127.0.0.1" in r.stderr
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.glob("x.*")) and not list(tmp_path.glob(".x*"))


def test_ctrl_c_ends_the_session_with_a_playable_recording(tiny_model, tmp_path):
    import signal
    import subprocess
    import sys

    clip, out = tmp_path / "cam.mp4", tmp_path / "rec.mp4"
    write_clip(clip, frames=30, fps=30, size=(48, 64))
    process = subprocess.Popen([sys.executable, "-m", "cli", "live", str(clip), "--loop", "--to", str(out),
                                "--model", str(tiny_model), "--engine", "torch", "--precision", "fp32"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "rec.partial.mp4"
    wait_until(lambda: frames_recorded(partial) > 10 or process.poll() is not None, 120, "11 frames recorded")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert len(probe(out)["video_pts"]) > 10  # finished and renamed: it plays
    assert not list(tmp_path.glob("rec.partial*"))
