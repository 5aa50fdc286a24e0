"""On the driver: encoded segments muxed in order into one output, by stream copy.

The output is written as the one-process pipeline writes it (`partial_video`): NAME.partial.EXT
(fragmented MP4), the GOPs an earlier run left kept first, the source's audio and subtitle
packets copied once and interleaved by time, then finished (+faststart) and renamed. Segments
may arrive in any order; each waits until those before it are written.
"""

from __future__ import annotations

import math
from fractions import Fraction

import av

from artify_stream.clip_plan import ClipPlan
from artify_stream.output_slot import OutputSlot
from artify_stream.segments.cut import EncodedSegment, PacketData
from artify_stream.errors import OutputError
from artify_stream.media_io import CopiedStreams, add_video_encoder, open_input, open_output
from artify_stream.timeline import Retiming
from artify_stream.video import VideoReport


class SegmentJoiner:
    """Use: `write(segment)` as they come (any order), then `close(interrupted)`; `abandon()` on an error."""

    def __init__(self, slot: OutputSlot, plan: ClipPlan, report: VideoReport, retiming: Retiming | None = None) -> None:
        """`slot` is claimed (its lock held since before its kept GOPs were read); it is settled or
        abandoned here."""
        self.slot, self.output, self.spec, self.report = slot, slot.output, plan, report
        source, output, spec, keep = slot.source, slot.output, plan, slot.keep
        self.next_index = 0
        self.waiting: dict[int, EncodedSegment] = {}
        self._last_dts: Fraction | None = None
        try:
            self._copied_source = open_input(source)
            self._out = open_output(slot.working, output)
            self._video = add_video_encoder(self._out, spec.encoder, spec.rate, spec.size, spec.output_time_base, output)
            # Never fed: it gives the stream its parameters, which are the workers' (same encoder and settings).
            self._video.codec_context.flags |= av.codec.context.Flags.global_header
            self._video.codec_context.open()
            self._copied = CopiedStreams(self._copied_source, self._out, output)
            streams = [self._copied_source.streams[i] for i in self._copied]
            self._copied_packets = self._read_copied(streams, retiming) if streams else iter(())
            self._next_copied = next(self._copied_packets, None)
            if keep is not None:
                for packet in keep.packets_to_keep():
                    self._mux_video(packet)
                    report.kept_frames += 1
                report.frames = report.kept_frames
        except BaseException:
            self.abandon()
            raise

    def _read_copied(self, streams: list, retiming: Retiming | None):
        """The copied streams' packets in file order, shifted as the video was (`Retiming`)."""
        shifters = {s.index: retiming.shifter(s.index) for s in streams} if retiming else {}
        for packet in self._copied_source.demux(*streams):
            if packet.dts is None:
                continue
            if shifters:
                shifters[packet.stream.index].adjust(packet)
            yield packet

    @property
    def buffered(self) -> int:
        return len(self.waiting)

    def write(self, segment: EncodedSegment) -> int:
        """Keeps `segment`; writes it and every waiting one that now follows; returns frames written."""
        if segment.extradata != self._video.codec_context.extradata:
            raise OutputError(f"{self.output}: a worker's encoder made other stream headers than the driver's "
                              "(different FFmpeg builds on the nodes?)")
        self.waiting[segment.index] = segment
        written = 0
        while self.next_index in self.waiting:
            ready = self.waiting.pop(self.next_index)
            for data in ready.packets:
                self._mux_video(self._monotonic(data))
            self.report.frames += ready.frames
            written += ready.frames
            self.next_index += 1
        return written

    def close(self, interrupted: bool = False) -> None:
        """Finish the file (all copied packets on a complete run) and settle it like the one-process run."""
        self.report.interrupted = interrupted
        try:
            if not interrupted:
                self._mux_copied(None)
            self._out.close()
        except (av.error.FFmpegError, OSError) as exc:
            self.abandon()
            raise OutputError(f"{self.output}: cannot finish the file ({exc})") from exc
        finally:
            self._copied_source.close()
        self.report.partial = self.slot.finish(interrupted, self.report.frames)

    def abandon(self) -> None:
        """An error: this run's working file goes (an earlier run's partial stays)."""
        for closing in (getattr(self, "_out", None), getattr(self, "_copied_source", None)):
            try:
                if closing is not None:
                    closing.close()
            except (av.error.FFmpegError, OSError):
                pass
        self.slot.abandon()

    def _monotonic(self, data: PacketData) -> av.Packet:
        """Each segment's encoder starts its dts a few frames before its first pts; at a seam that can
        meet the previous segment's last dts: lift it by one tick (it stays <= pts)."""
        time_base = self.spec.output_time_base
        packet = data.packet(time_base)
        if self._last_dts is not None and packet.dts is not None and packet.dts * time_base <= self._last_dts:
            lifted = math.floor(self._last_dts / time_base) + 1
            if packet.pts is not None and lifted > packet.pts:
                raise OutputError(f"{self.output}: cannot join segment timestamps (dts {lifted} > pts {packet.pts})")
            packet.dts = lifted
        return packet

    def _mux_video(self, packet: av.Packet) -> None:
        if packet.dts is not None:
            when = packet.dts * packet.time_base
            self._mux_copied(when)
            self._last_dts = when
        packet.stream = self._video
        self._out.mux(packet)

    def _mux_copied(self, until: Fraction | None) -> None:
        """Copied audio/subtitle packets up to `until` (all of them for None), in their order."""
        while self._next_copied is not None and (until is None or self._next_copied.dts * self._next_copied.time_base <= until):
            self._copied.mux(self._out, self._next_copied)
            self._next_copied = next(self._copied_packets, None)
