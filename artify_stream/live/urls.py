"""Telling sources and sinks apart, and keeping passwords out of every log line and error."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

NETWORK_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "srt", "tcp")
_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]*", re.IGNORECASE)
#: Query parameters that carry a secret (camera and streaming-service forms), matched case-insensitively.
SECRET_PARAMS = re.compile(r"([?&;](?:[a-z_]*pass(?:word|phrase)?|pwd|token|access_token|auth|key|apikey|api_key|secret|"
                           r"sig|signature|credential|session)=)[^&;#\s]*", re.IGNORECASE)


def _redact_url(url: str) -> str:
    head, _, rest = url.partition("://")
    # The user-info ends at the *last* @ before the query: a password may hold @, / or : unencoded.
    query_at = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, query_at)
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        if "/" in user:  # an @ in the path of a URL without user-info: hide it all rather than guess
            user, colon = "", ":"
        rest = (f"{user}:***" if colon else "***") + rest[at:]
    return f"{head}://" + SECRET_PARAMS.sub(lambda m: m[1] + "***", rest)


def redact(text: str) -> str:
    """Hide the credentials of every URL in `text`: the password ('rtsp://cam:***@host'), a lone
    user-info token ('rtsp://***@host'), and secret query parameters ('?token=***')."""
    return _URL_IN_TEXT.sub(lambda m: _redact_url(m[0]), str(text))


def scheme(url: str) -> str:
    return urlsplit(url).scheme.lower() if "://" in url else ""


def is_network_url(text: str) -> bool:
    return scheme(text) in NETWORK_SCHEMES

