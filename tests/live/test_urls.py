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


def test_every_credential_form_a_camera_accepts_is_hidden():
    cases = {
        "rtsp://user:p@ssw0rd@host/x": ("p@ssw0rd", "ssw0rd"),
        "rtsp://:secret@host/x": ("secret",),
        "rtsp://admin:pa%40ss%3Aword@10.0.0.2:554/stream1": ("pa%40ss", "word"),
        "rtsp://tokenonly@host/live": ("tokenonly",),
        "rtsp://u:pa/ss@host/x": ("pa/ss", "ss@"),
        "rtsp://host/live?user=a&password=hunter2&channel=1": ("hunter2",),
        "https://cdn.example/hls.m3u8?token=abc123&sig=deadbeef": ("abc123", "deadbeef"),
        "rtmp://live.example/app?key=streamkey42": ("streamkey42",),
        "srt://10.0.0.9:9000?mode=caller&passphrase=longsecret1": ("longsecret1",),  # SRT encryption
    }
    for url, secrets in cases.items():
        for text in (url, f"cannot open '{url}': refused", f"{url} and rtsp://o:other@h2/y"):
            shown = redact(text)
            assert not any(s in shown for s in secrets), (url, shown)
            assert "other@" not in shown
    assert redact("rtsp://host/live?user=a&password=x&channel=1").endswith("channel=1")
    assert redact("rtsp://cam:secret@10.0.0.5/s") == "rtsp://cam:***@10.0.0.5/s"
