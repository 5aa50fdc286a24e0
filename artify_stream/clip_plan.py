"""A clip's contract: what decoding, stylizing and encoding one clip need to agree on.

Made once per clip from its opened container (`plan_clip`), by the one-process pipeline and by the
Ray driver alike; the driver ships it to the workers with each segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from artify_stream.geometry import stylized_size
from artify_stream.media_io import (EncoderSettings, display_rotation, encoder_time_base, expected_frames,
                                    frame_rate)


@dataclass(frozen=True)
class ClipPlan:
    codec: str  # the source's decoder
    extradata: bytes | None
    time_base: Fraction  # of the source's video stream; output timestamps stay in it
    rate: Fraction
    rotation: int  # counter-clockwise degrees turning stored frames upright
    size: tuple[int, int]  # output (width, height), upright
    encoder: EncoderSettings
    batch: int | None = None  # frames per engine call; None: the engine's device decides
    encoder_time_base: Fraction | None = None  # None: the source's (media_io.encoder_time_base says which)
    expected_frames: int | None = None  # as the source's header says; None when it does not

    @property
    def output_time_base(self) -> Fraction:
        """What the encoded packets and the output's video stream count in."""
        return self.encoder_time_base or self.time_base

    @property
    def stored_size(self) -> tuple[int, int]:
        """(width, height) swscale converts to: the stored (unrotated) picture at the output's scale."""
        width, height = self.size
        return (height, width) if self.rotation % 180 else (width, height)


def plan_clip(container, source: Path, output: Path, long_side: int | None, encoder: EncoderSettings,
              batch: int | None = None) -> ClipPlan:
    """The plan of `source`'s first video stream, stylized to `output` (the container decides the
    encoder's time base) with the long side bounded by `long_side`."""
    video = container.streams.video[0]
    rotation = display_rotation(source)
    size = stylized_size(str(source), video.codec_context.width, video.codec_context.height, rotation, long_side)
    extradata = video.codec_context.extradata
    rate = frame_rate(video)
    return ClipPlan(video.codec_context.name, bytes(extradata) if extradata else None, video.time_base, rate, rotation,
                    size, encoder, batch, encoder_time_base(output, video.time_base, rate), expected_frames(video))
