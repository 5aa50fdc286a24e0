from artify_stream.live.urls import is_network_url, redact


def test_passwords_never_survive_redaction():
    text = "rtsp://admin:hunter2@10.0.0.5:554/stream1 failed; retry rtmp://u:p%40ss@host/app"
    out = redact(text)
    assert "hunter2" not in out and "p%40ss" not in out
    assert "rtsp://admin:***@10.0.0.5:554/stream1" in out and "rtmp://u:***@host/app" in out
    assert redact("rtsp://10.0.0.5/stream") == "rtsp://10.0.0.5/stream"


def test_network_urls():
    assert all(map(is_network_url, ["rtsp://h/x", "RTMP://h/app", "udp://127.0.0.1:5000", "https://h/x.m3u8"]))
    assert not any(map(is_network_url, ["clip.mp4", "/dev/video0", "0", "file:///x.mp4"]))
