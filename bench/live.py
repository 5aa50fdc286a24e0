"""Live latency: a 720p 30 fps source played in real time through the live session.

    python bench/live.py [--seconds 60] [--model artify-small] [--engine auto] [--size 640]

Reports end-to-end latency p50/p95 (capture -> written to the sink), fps in and out, drops,
and the process's resident memory after warm-up and at the end (it should stay flat).
The sink records to a temporary MP4 (x264 zerolatency), so encoding is part of the path.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import av
import numpy as np

from artify_stream.live import LiveOptions, run_live
from artify_stream.live.sinks import EncodedSink
from artify_stream.live.sources import FileSource
from engines import create_engine


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
            img[h // 3 : 2 * h // 3, cx : cx + 120] = (240, 200, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--model", default=None)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", type=int, default=LiveOptions.long_side)
    args = ap.parse_args()
    engine = create_engine(args.model, args.engine, args.precision, args.device)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source-720p30.mp4"
        write_source(source)
        # Warm up (first calls allocate, compile or build) before the memory baseline.
        run_live(FileSource(source, realtime=True, loop=True), [EncodedSink(f"{tmp}/warm.mp4")], engine,
                 LiveOptions(duration=3, long_side=args.size))
        start_mib = rss_mib()
        stats = run_live(FileSource(source, realtime=True, loop=True), [EncodedSink(f"{tmp}/out.mp4")], engine,
                         LiveOptions(duration=args.seconds, long_side=args.size))
        end_mib = rss_mib()
    print(json.dumps({"engine": engine.spec.label(), "why": engine.reason, "source": "1280x720 @ 30 fps, real time",
                      "stylized_long_side": args.size, **stats, "rss_mib_start": round(start_mib, 1),
                      "rss_mib_end": round(end_mib, 1)}, indent=2))


if __name__ == "__main__":
    main()
