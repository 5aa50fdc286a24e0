"""What the bundled FFmpeg (through PyAV) and OpenCV can do here, for `artify info`."""

from __future__ import annotations

import av
import cv2


def ffmpeg_codecs() -> dict[str, list[str]]:
    """Names of the video and audio encoders and decoders of PyAV's FFmpeg."""
    found: dict[str, list[str]] = {"video_encoders": [], "video_decoders": [], "audio_encoders": [], "audio_decoders": []}
    for name in sorted(av.codecs_available):
        for mode, kind in (("w", "encoders"), ("r", "decoders")):
            try:
                codec = av.Codec(name, mode)
            except (av.FFmpegError, ValueError):
                continue
            if codec.type in ("video", "audio"):
                found[f"{codec.type}_{kind}"].append(name)
    return found


def media_report() -> dict:
    return {
        "pyav": av.__version__,
        "ffmpeg": getattr(av, "ffmpeg_version_info", "unknown"),
        "opencv": cv2.__version__,
        **ffmpeg_codecs(),
    }
