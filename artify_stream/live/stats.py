"""Live statistics: end-to-end latency percentiles (capture -> written by a sink), fps in and out, drops."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


RECENT = 300


def _percentiles(lat: np.ndarray | None) -> dict | None:
    if lat is None or not len(lat):
        return None
    return {p: round(float(np.percentile(lat, q)), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))} | {
        "max": round(float(lat.max()), 1)}


class LiveStats:
    """Thread-safe counters; latencies kept for the last `window` frames (percentiles stay current)."""

    def __init__(self, window: int = 3000) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.frames_in = 0
        self.frames_out = 0
        self.repeated = 0
        self.dropped = 0
        self.reconnects = 0
        self.sink_dropped: dict[str, int] = {}
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._recent_in: deque[float] = deque(maxlen=120)
        self._recent_out: deque[float] = deque(maxlen=120)

    def captured(self) -> None:
        with self._lock:
            self.frames_in += 1
            self._recent_in.append(time.monotonic())

    def sent(self) -> None:
        """A newly stylized frame went out to the sinks."""
        with self._lock:
            self.frames_out += 1
            self._recent_out.append(time.monotonic())

    def delivered(self, capture_time: float) -> None:
        """A sink finished writing a frame captured at `capture_time`: one latency sample per sink write."""
        now = time.monotonic()
        with self._lock:
            self._latency_ms.append((now - capture_time) * 1000)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    @staticmethod
    def _rate(stamps: deque[float]) -> float:
        if len(stamps) < 2:
            return 0.0
        span = stamps[-1] - stamps[0]
        return (len(stamps) - 1) / span if span > 0 else 0.0

    def snapshot(self) -> dict:
        with self._lock:
            lat = np.array(self._latency_ms) if self._latency_ms else None
            elapsed = time.monotonic() - self.started
            return {
                "seconds": round(elapsed, 2),
                "frames_in": self.frames_in,
                "frames_out": self.frames_out,
                "dropped": self.dropped,
                "repeated": self.repeated,
                "reconnects": self.reconnects,
                "sink_dropped": dict(self.sink_dropped),
                "fps_in": round(self._rate(self._recent_in), 2),
                "fps_out": round(self._rate(self._recent_out), 2),
                "mean_fps_in": round(self.frames_in / elapsed, 2) if elapsed else 0.0,
                "mean_fps_out": round(self.frames_out / elapsed, 2) if elapsed else 0.0,
                "latency_ms": _percentiles(lat),
                # the last ~10 s at 30 fps: shows a creep that the long window would smooth over
                "recent_latency_ms": _percentiles(lat[-RECENT:] if lat is not None else None),
            }

    def line(self) -> str:
        s = self.snapshot()
        lat = s["latency_ms"] or {"p50": 0, "p95": 0}
        return (f"in {s['fps_in']:5.1f} fps  out {s['fps_out']:5.1f} fps  latency p50 {lat['p50']:.0f} ms "
                f"p95 {lat['p95']:.0f} ms  dropped {s['dropped']}  reconnects {s['reconnects']}")
