"""Live latency and memory: a generated source played in real time through the live session.

    python bench/live.py [--seconds 60] [--model artify-draw] [--engine auto] [--size 640] [--source 720p]

Reports end-to-end latency p50/p95 (capture -> written to the sink), fps in and out, drops, and
every 10 s the process's resident memory and the window's latency p95: memory at the end vs after
the warm-up, vs the first sample (10 s in) and vs after the first minute, and latency early vs late
(creep), for long soaks. The sink records to a
temporary MP4 (x264 zerolatency), so encoding is part of the path.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from artify_stream.live import LiveOptions, run_live
from artify_stream.live.sinks import EncodedSink
from artify_stream.live.sources import FileSource
from engines import create_engine
from engines.shapes import parse_size


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_source(path: Path, seconds: int = 4, fps: int = 30, size: tuple[int, int] = (720, 1280)) -> None:
    """A moving gradient with shapes: enough motion that the encoder and engine do real work."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(fps)}
        for i in range(seconds * fps):
            img = np.stack([(xx + 8 * i) % 256, (yy + 4 * i) % 256, np.full((h, w), 96)], -1).astype(np.uint8)
            cx = (i * 20) % w
            img[h // 3 : 2 * h // 3, cx : cx + w // 10] = (240, 200, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


class Sampler:
    """Every `every` seconds: elapsed time, RSS, and the latency p95 and fps of the window since the last sample."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.rows, self.t0 = every, [], time.monotonic()
        self.next = self.t0 + every
        self.seen = 0

    def __call__(self, stats) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        snap = stats.snapshot()
        window = snap["recent_latency_ms"] or {}
        self.rows.append({"t_s": round(now - self.t0, 1), "rss_mib": round(rss_mib(), 1),
                          "latency_p95_ms": window.get("p95"), "fps_out": snap["fps_out"]})
        self.next = now + self.every


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--model", default="artify-draw")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", type=int, default=LiveOptions.long_side, help="stylized long side")
    ap.add_argument("--source", default="720p", help="source size: 720p, 1080p or HxW (30 fps)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between memory/latency samples")
    args = ap.parse_args()
    engine = create_engine(args.model, args.engine, args.precision, args.device)
    size = parse_size(args.source)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.mp4"
        write_source(source, size=size)
        # Warm up (first calls allocate, compile or build) before the memory baseline.
        run_live(FileSource(source, realtime=True, loop=True), [EncodedSink(f"{tmp}/warm.mp4")], engine,
                 LiveOptions(duration=3, long_side=args.size))
        start_mib = rss_mib()
        sampler = Sampler(args.every)
        stats = run_live(FileSource(source, realtime=True, loop=True), [EncodedSink(f"{tmp}/out.mp4")], engine,
                         LiveOptions(duration=args.seconds, long_side=args.size, stats_every=1.0), on_stats=sampler)
        end_mib = rss_mib()
    after_first_minute = next((r["rss_mib"] for r in sampler.rows if r["t_s"] >= 60), None)
    p95s = [r["latency_p95_ms"] for r in sampler.rows if r["latency_p95_ms"] is not None]
    third = max(1, len(p95s) // 3)
    print(json.dumps({
        "engine": engine.spec.label(), "why": engine.reason, "source": f"{size[1]}x{size[0]} @ 30 fps, real time",
        "stylized_long_side": args.size, **stats, "rss_mib_start": round(start_mib, 1), "rss_mib_end": round(end_mib, 1),
        # The first sample is the settled baseline: the run's own source, sink and encoder threads
        # allocate in its first seconds (after the warm-up's were freed), a leak grows after it.
        "rss_mib_first_sample": sampler.rows[0]["rss_mib"] if sampler.rows else None,
        "rss_end_vs_first_sample": round(end_mib / sampler.rows[0]["rss_mib"], 4) if sampler.rows else None,
        "rss_end_vs_start": round(end_mib / start_mib, 4),
        "rss_mib_after_first_minute": after_first_minute,
        "rss_end_vs_first_minute": round(end_mib / after_first_minute, 4) if after_first_minute else None,
        "latency_p95_first_third_ms": round(float(np.median(p95s[:third])), 1) if p95s else None,
        "latency_p95_last_third_ms": round(float(np.median(p95s[-third:])), 1) if p95s else None,
        "samples": sampler.rows,
    }, indent=2))


if __name__ == "__main__":
    main()
