"""Telling sources and sinks apart, and keeping passwords out of every log line and error."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

NETWORK_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "srt", "tcp")
_URL_IN_TEXT = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^/@\s:]+):([^/@\s]*)@", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace the password of every URL in `text` with ***: 'rtsp://cam:secret@host' -> 'rtsp://cam:***@host'."""
    return _URL_IN_TEXT.sub(lambda m: f"{m[1]}{m[2]}:***@", str(text))


def scheme(url: str) -> str:
    return urlsplit(url).scheme.lower() if "://" in url else ""


def is_network_url(text: str) -> bool:
    return scheme(text) in NETWORK_SCHEMES

