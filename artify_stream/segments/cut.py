"""A clip cut at keyframes into segments of compressed packets, the unit of work on the cluster.

The driver demuxes the source once, lazily, and ships each segment's video packets (bytes and
timestamps, no re-encode) with the clip's `ClipPlan`; a worker decodes, stylizes and encodes
them (`stylize_segment`) and ships the encoded packets back; the joiner muxes them in order.
Packets rather than a container in transit: every timestamp stays in the source's own time base,
exactly, and nodes need no shared folder. A segment starts at a keyframe, so it decodes alone
(closed GOPs: what x264, phones and cameras write; an open-GOP source shows up as missing frames,
which `check_frames` turns into a clear error).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from artify_stream.errors import InputError
from artify_stream.timeline import Retiming, StreamShifter

#: Long enough that a segment's fixed costs (a fresh decoder and encoder, one round trip) stay small
#: beside its work, short enough that a 2-minute clip spreads over several workers.
DEFAULT_SEGMENT_SECONDS = 10.0


@dataclass(frozen=True)
class PacketData:
    """One compressed packet, in its stream's time base."""

    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool
    hidden: bool = False  # before an MP4 edit list's start: decoded as a reference, never shown

    @classmethod
    def of(cls, packet: av.Packet) -> PacketData:
        return cls(bytes(packet), packet.pts, packet.dts, packet.is_keyframe, packet.is_discard)

    def packet(self, time_base: Fraction) -> av.Packet:
        packet = av.Packet(self.data)
        packet.pts, packet.dts, packet.time_base = self.pts, self.dts, time_base
        packet.is_keyframe = self.keyframe
        return packet


@dataclass
class Segment:
    index: int
    packets: list[PacketData]
    frames: int  # frames it must give: its packets with pts >= skip_before
    skip_before: int | None = None  # pts (source time base) already in the output from an earlier run


@dataclass
class EncodedSegment:
    """What a worker sends back: the encoded packets (output time base = the source's)."""

    index: int
    packets: list[PacketData]
    frames: int
    extradata: bytes | None
    seconds: float = 0.0
    node: str = ""
    worker: str = ""
    damaged_at: list[float] = field(default_factory=list)  # seconds of the packets that did not decode


@dataclass
class SegmentPlan:
    """The segments of one clip, cut lazily as they are asked for."""

    source: Path
    seconds: float  # 0: the whole clip is one segment
    skip_before: int | None = None
    retiming: Retiming | None = None  # where the source's clock jumps back: shifts its packets as one process does
    count: int = field(default=0, init=False)
    hidden: int = field(default=0, init=False)  # packets before an edit list's start, seen so far

    def __iter__(self) -> Iterator[Segment]:
        try:
            with av.open(str(self.source)) as container:
                video = container.streams.video[0]
                shifter = self.retiming.shifter(video.index) if self.retiming else None
                yield from self._cut(container.demux(video), video.time_base, shifter)
        except av.error.FFmpegError as exc:
            raise InputError(f"{self.source}: corrupt video data ({exc})") from exc

    def _cut(self, packets, time_base: Fraction, shifter: StreamShifter | None = None) -> Iterator[Segment]:
        limit = None if self.seconds <= 0 else self.seconds / time_base  # in pts units
        current: list[PacketData] = []
        start_pts = None
        for packet in packets:
            if packet.dts is None and packet.pts is None:
                continue  # a flush packet
            if shifter is not None:
                shifter.adjust(packet)
            data = PacketData.of(packet)
            self.hidden += data.hidden
            if (data.keyframe and current and limit is not None and start_pts is not None and data.pts is not None
                    and data.pts - start_pts >= limit):
                yield from self._segment(current)
                current = []
            if not current:
                start_pts = data.pts
            current.append(data)
        if current:
            yield from self._segment(current)

    def _segment(self, packets: list[PacketData]) -> Iterator[Segment]:
        skip = self.skip_before
        wanted = sum(1 for p in packets if not p.hidden and (skip is None or p.pts is None or p.pts >= skip))
        if wanted == 0:
            return  # all of it is in the output already
        self.count += 1
        yield Segment(self.count - 1, packets, wanted, skip)


def check_frames(source: Path, segment: Segment, encoded: EncodedSegment) -> None:
    """Every frame back, unless damaged packets took some (the report counts those)."""
    if encoded.frames != segment.frames and not encoded.damaged_at:
        raise InputError(f"{source}: segment {segment.index + 1} decoded {encoded.frames} of its {segment.frames} "
                         "frames (an open-GOP or damaged stream?); --segment-seconds 0 sends the clip whole")
