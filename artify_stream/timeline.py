"""Timestamps that only go forward: re-timing a source whose clock jumps back.

Two recordings joined into one MPEG-TS (`cat a.ts b.ts`), or a camera whose clock restarted,
carry timestamps that jump back mid-file; a muxer refuses them. As FFmpeg does for such
inputs, a jump back in any stream's decode time shifts every later packet of every stream by
one offset, so the second part follows the first and audio stays in sync with video.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction


@dataclass
class MonotonicClock:
    """Adjusts demuxed packets in place; `jumps` holds where (output seconds) each jump was mended."""

    offset: Fraction = Fraction(0)  # seconds added to every packet from here on
    jumps: list[float] = field(default_factory=list)
    _last: dict[int, tuple[Fraction, Fraction]] = field(default_factory=dict)  # per stream: (decode time, end)

    def adjust(self, packet) -> None:
        if packet.dts is None:
            return
        tb = packet.time_base
        at = packet.dts * tb + self.offset
        last = self._last.get(packet.stream.index)
        if last is not None and at <= last[0]:  # decode times must rise: the source's clock went back
            self.offset += last[1] - at  # the new part starts where the old one ended
            self.jumps.append(float(last[1]))
            at = last[1]
        shift = round(self.offset / tb)
        if shift:
            packet.dts += shift
            if packet.pts is not None:
                packet.pts += shift
        self._last[packet.stream.index] = (at, at + _duration(packet))


def _duration(packet) -> Fraction:
    """A packet's duration; MPEG-TS video states none, so a frame interval at the stream's rate."""
    if packet.duration:
        return packet.duration * packet.time_base
    rate = getattr(packet.stream, "average_rate", None) or getattr(packet.stream, "guessed_rate", None)
    return 1 / Fraction(rate) if rate else packet.time_base


@dataclass
class Retiming:
    """A whole file's re-timing, worked out once by demuxing its streams (no decoding), so that
    readers of one stream at a time (the cluster's segment cutter, its audio joiner) shift each
    packet exactly as one reader of all of them (`MonotonicClock`, the one-process pipeline) does.

    `shifts[stream index]` lists (n, shift): from that stream's n-th packet with a decode time on,
    its timestamps move by `shift` ticks of its time base."""

    shifts: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    jumps: list[float] = field(default_factory=list)

    @classmethod
    def scan(cls, container, streams: list) -> Retiming:
        """Demux `streams` of an open container in file order (the same streams the pipeline copies)."""
        clock, shifts, counts = MonotonicClock(), {}, {}
        for packet in container.demux(*streams):
            if packet.dts is None:
                continue
            index = packet.stream.index
            number = counts.get(index, 0)
            counts[index] = number + 1
            before = packet.dts
            clock.adjust(packet)
            runs = shifts.setdefault(index, [])
            if packet.dts - before != (runs[-1][1] if runs else 0):
                runs.append((number, packet.dts - before))
        return cls({i: runs for i, runs in shifts.items() if runs}, clock.jumps)

    def shifter(self, stream_index: int) -> StreamShifter:
        return StreamShifter(list(self.shifts.get(stream_index, [])))


@dataclass
class StreamShifter:
    """Applies one stream's shifts to its packets, read in file order."""

    runs: list[tuple[int, int]]
    _count: int = 0
    _shift: int = 0

    def adjust(self, packet) -> None:
        if packet.dts is None:
            return
        while self.runs and self.runs[0][0] <= self._count:
            self._shift = self.runs.pop(0)[1]
        self._count += 1
        if self._shift:
            packet.dts += self._shift
            if packet.pts is not None:
                packet.pts += self._shift
