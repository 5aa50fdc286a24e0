"""The live session: capture thread -> newest-frame stylize stage -> distributor -> a thread per sink.

capture  reads the source into a one-slot mailbox (a newer frame replaces an untaken one: a drop);
         a lost network source is reopened with exponential backoff while the sinks keep running
stylize  (the calling thread) takes the newest frame, resizes it and runs the engine
distribute hands each stylized frame to every sink's one-slot mailbox; while no new frame comes it
         repeats the last one (or a placeholder before the first) at the source's rate, so viewers
         never stall; each sink writes on its own thread, so a stalled sink only drops its own frames
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from artify_stream import signals
from artify_stream.engine_api import TwoStepEngine, as_engine
from artify_stream.frame_path import FrameBatcher, new_array
from artify_stream.errors import ArtifyError, InputError
from artify_stream.live.latest import LatestSlot
from artify_stream.live.sources import SourceLost
from artify_stream.live.stats import LiveStats
from artify_stream.live.urls import redact
from artify_stream.geometry import stylized_size
from artify_stream.stages import Stages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveOptions:
    long_side: int | None = 640  # bound the stylized size: live latency scales with pixels
    duration: float | None = None  # seconds; None runs until Ctrl-C or the end of a file source
    reconnect_initial: float = 0.5  # seconds before the first reconnect; doubles up to reconnect_max
    reconnect_max: float = 8.0
    stats_every: float = 1.0


@dataclass
class _Captured:
    rgb: np.ndarray | None
    time: float  # capture time (time.monotonic); for a repeat, when it was repeated
    repeat: bool = False
    drawing: object = None  # a two-step engine's drawn frame, finished into `rgb` by the distributor


class _SinkFeeder:
    """One thread per sink with its own one-slot mailbox: a slow or stalled sink (a hung RTMP
    server) drops its own frames and never holds up the others."""

    def __init__(self, sink, session: LiveSession) -> None:
        self.sink, self.session = sink, session
        self.slot: LatestSlot[_Captured] = LatestSlot()
        self.thread = threading.Thread(target=self._run, name=f"sink {sink.name}", daemon=True)

    def _run(self) -> None:
        try:
            while True:
                item = self.slot.take(timeout=0.5)
                if item is None:
                    if self.slot.closed:
                        return
                    continue
                self.sink.write(item.rgb, item.time)
                if not item.repeat:
                    self.session.stats.delivered(item.time)
                if getattr(self.sink, "closed_by_user", False):
                    self.session.stop.set()
        except BaseException as exc:  # noqa: BLE001  (re-raised on the calling thread)
            self.session.errors.append(exc)
            self.session.stop.set()


def placeholder(width: int, height: int, text: str = "waiting for the source...") -> np.ndarray:
    frame = np.full((height, width, 3), 40, np.uint8)
    scale = max(0.4, width / 900)
    cv2.putText(frame, text, (max(4, width // 20), height // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (220, 220, 220),
                max(1, round(scale * 2)), cv2.LINE_AA)
    return frame


class LiveSession:
    def __init__(self, source, sinks: list, engine: Callable[[np.ndarray], np.ndarray],
                 options: LiveOptions = LiveOptions(), on_stats: Callable[[LiveStats], None] | None = None) -> None:
        if not sinks:
            raise ArtifyError("live needs at least one sink (--to vcam, --to rtsp://..., --to out.mp4, --to preview)")
        self.source, self.sinks, self.options, self.on_stats = source, sinks, options, on_stats
        self.engine = as_engine(engine)
        self.stats = LiveStats()
        self.stop = threading.Event()
        self.source_done = threading.Event()
        self.errors: list[BaseException] = []
        self.captured: LatestSlot[_Captured] = LatestSlot()
        self.stylized: LatestSlot[_Captured] = LatestSlot()
        self.feeders: list[_SinkFeeder] = []

    # -- threads ---------------------------------------------------------------------------
    def _capture(self) -> None:
        backoff = self.options.reconnect_initial
        first = True
        try:
            while not self.stop.is_set():
                try:
                    if not first:
                        try:
                            self.source.open()
                        except InputError as exc:  # it opened once: a half-started server, not a wrong URL
                            raise SourceLost(str(exc)) from None
                    first = False
                    for rgb in self.source.frames():
                        self.captured.put(_Captured(rgb, time.monotonic()))
                        self.stats.captured()
                        backoff = self.options.reconnect_initial
                        if self.stop.is_set():
                            return
                    return  # a file source ended
                except SourceLost as exc:
                    self.source.close()
                    if self.stop.is_set():
                        return
                    self.stats.count("reconnects")
                    log.warning("%s; reconnecting in %.1f s", redact(str(exc)), backoff)
                    if self.stop.wait(backoff):
                        return
                    backoff = min(backoff * 2, self.options.reconnect_max)
        except BaseException as exc:  # noqa: BLE001  (re-raised on the calling thread)
            self.errors.append(exc)
            self.stop.set()
        finally:
            self.source_done.set()
            self.captured.close()

    def _distribute(self, width: int, height: int, fps: float, feeders: list[_SinkFeeder]) -> None:
        interval = 1.0 / max(fps, 1.0)
        waiting = placeholder(width, height)
        last: _Captured | None = None
        try:
            while not self.stop.is_set():
                item = self.stylized.take(timeout=interval * 1.5)
                if item is None:
                    if self.stylized.closed:
                        return
                    # No new frame in time (slow engine or lost source): keep the sinks fed.
                    item = _Captured(last.rgb if last is not None else waiting, time.monotonic(), repeat=True)
                    self.stats.count("repeated")
                else:
                    self._finish(item)
                    self.stats.sent()
                    last = item
                for feeder in feeders:
                    feeder.slot.put(item)
            # Stopped (the source ended, Ctrl-C, a sink closed): the newest stylized frame still
            # waiting goes out too, so a clip shorter than the threads' start-up is never lost.
            item = self.stylized.take(timeout=0)
            if item is not None:
                self._finish(item)
                self.stats.sent()
                for feeder in feeders:
                    feeder.slot.put(item)
        except BaseException as exc:  # noqa: BLE001
            self.errors.append(exc)
            self.stop.set()

    def _finish(self, item: _Captured) -> None:
        """A two-step engine's frame finished here (face mode: its faces pasted in)."""
        if item.drawing is not None:
            item.rgb, item.drawing = self.engine.finish(item.drawing)[0], None

    # -- the session ---------------------------------------------------------------------
    def run(self) -> dict:
        """Open the source and every sink, stream until stopped; returns the final stats."""
        src_w, src_h, fps = self.source.open()
        width, height = stylized_size(self.source.name, src_w, src_h, 0, self.options.long_side)
        opened = []
        try:
            for sink in self.sinks:
                sink.open(width, height, fps)
                opened.append(sink)
            log.info("live: %s (%dx%d, %.1f fps) -> %s at %dx%d", self.source.name, src_w, src_h, fps,
                     ", ".join(s.name for s in self.sinks), width, height)
            self.feeders = [_SinkFeeder(sink, self) for sink in self.sinks]
            threads = [threading.Thread(target=self._capture, name="capture", daemon=True),
                       threading.Thread(target=self._distribute, args=(width, height, fps, self.feeders),
                                        name="distribute", daemon=True)]
            try:
                Stages.start(threads + [f.thread for f in self.feeders])  # each running, or never started
                self._stylize_loop(width, height)
            finally:
                signals.held(self._wind_up, threads)  # a second Ctrl-C meanwhile takes effect once it is done
        finally:
            self.source.close()
            for sink in reversed(opened):
                try:
                    sink.close()
                except ArtifyError as exc:
                    self.errors.append(exc)
        if self.errors:
            raise self.errors[0]
        return self.snapshot()

    def _wind_up(self, threads: list[threading.Thread]) -> None:
        """Stop every thread that was started; each sink writes what it holds, then ends."""
        self.stop.set()
        self.captured.close()
        self.stylized.close()
        for t in threads:
            if t.ident is not None:
                t.join(timeout=10)
        for feeder in self.feeders:
            feeder.slot.close()
            if feeder.thread.ident is not None:
                feeder.thread.join(timeout=10)

    def snapshot(self) -> dict:
        self.stats.dropped = self.captured.dropped + self.stylized.dropped
        self.stats.sink_dropped = {f.sink.name: f.slot.dropped for f in self.feeders}
        return self.stats.snapshot()

    def _stylize_loop(self, width: int, height: int) -> None:
        deadline = time.monotonic() + self.options.duration if self.options.duration else None
        next_stats = time.monotonic() + self.options.stats_every
        # The frame path every pipeline shares, one frame at a time; a stylized frame is copied once out of
        # the engine's reused buffer into its own array (the sinks read it after the next call).
        batcher: FrameBatcher[float] = FrameBatcher(self.engine, (width, height), 1, into=new_array)
        resized = batcher.buffer[0]  # resized frames land here: the engine has consumed it before the next
        two_step = isinstance(self.engine, TwoStepEngine)
        while not self.stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if self.on_stats and now >= next_stats:
                self.snapshot()
                self.on_stats(self.stats)
                next_stats = now + self.options.stats_every
            item = self.captured.take(timeout=0.1)
            if item is None:
                if self.source_done.is_set():
                    return
                continue
            if item.rgb.shape[:2] == (height, width):
                picture = np.ascontiguousarray(item.rgb)  # no copy
            else:
                picture = cv2.resize(item.rgb, (width, height), dst=resized, interpolation=cv2.INTER_AREA)
            if two_step:  # finished on the distributing thread, beside the drawing of the next frame
                self.stylized.put(_Captured(None, item.time, drawing=self.engine.draw(picture[None])))
                continue
            for stylized, captured_at in batcher.add(picture, item.time):
                self.stylized.put(_Captured(stylized, captured_at))


def run_live(source, sinks: list, engine, options: LiveOptions = LiveOptions(),
             on_stats: Callable[[LiveStats], None] | None = None) -> dict:
    """Stream `source` through `engine` into every sink; returns latency, fps and drop statistics."""
    try:
        return LiveSession(source, sinks, engine, options, on_stats).run()
    except SourceLost as exc:  # the very first open: nothing to keep running yet
        raise InputError(f"{exc} (is the camera or server reachable?)") from None
