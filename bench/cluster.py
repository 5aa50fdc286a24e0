"""`artify stylize --ray`: scaling from one actor to two, the cost of a segment, the driver's memory.

    python bench/cluster.py [--model artify-draw-lite] [--long-minutes 20] [--out cluster.json]

All on an in-process Ray cluster on this machine (`--ray local`, 2 CPUs), one run:

1. throughput: a 640x360 clip at 25 fps (--seconds, stylized at --size), cut in 2 s segments,
   with one actor of one thread, then two actors of one thread each (the ratio should approach 2x);
2. per-segment overhead: one actor, a small-frame clip sent whole and then in 1 s segments; the
   extra wall time, worker busy time and driver CPU time per extra segment;
3. the driver's memory: VmRSS sampled while a short and a long small-frame clip (--long-minutes)
   go through two actors; flat means the long clip's peak is about the short clip's.

The clips are the bundled sample's frames looped, written here (nothing from the network).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from artify_stream.registry import resolve_model
from engines.formats import BackendChoice, PrecisionChoice
from frontends.engine_for import EngineChoice
from fractions import Fraction
from pathlib import Path

import av

from frontends.cluster.driver import ClusterOptions, RayBatch
from artify_stream.video import VideoOptions

SAMPLE = Path(__file__).resolve().parents[1] / "artify_stream" / "samples" / "big-buck-bunny-5s.mp4"
ENGINE = EngineChoice(BackendChoice.torch, PrecisionChoice.fp32)  # no CPU timing probe: fast to build


def write_looped_clip(path: Path, seconds: float, size: tuple[int, int], fps: int, gop: int) -> int:
    """The sample's frames at `size` (width, height), looped for `seconds`, a keyframe every `gop` frames."""
    with av.open(str(SAMPLE)) as source:
        pictures = [f.reformat(width=size[0], height=size[1], format="yuv420p") for f in source.decode(video=0)]
    count = int(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "sc_threshold": "0", "keyint_min": str(gop)}
        for i in range(count):
            frame = pictures[i % len(pictures)]
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return count


class RssSampler:
    """The driver's resident memory, sampled every `every` s in a thread."""

    def __init__(self, every: float = 0.1) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(every,), daemon=True)

    @staticmethod
    def rss_mib() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def _loop(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(self.rss_mib())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(model: str, clip: Path, out: Path, workers: int, segment_seconds: float, long_side: int | None) -> dict:
    batch = RayBatch(resolve_model(model), ENGINE, VideoOptions(long_side=long_side, overwrite=True),
                     ClusterOptions(address="local", workers=workers, segment_seconds=segment_seconds, local_cpus=2))
    first_frames: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = batch.run(clip, out, on_frames=lambda n, node: first_frames or first_frames.append(time.perf_counter()))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert report.ok, [r.message for r in report.results]
    frames = sum(n.frames for n in report.nodes.values())
    segments = sum(n.segments for n in report.nodes.values())
    return {"workers": workers, "segments": segments, "frames": frames, "wall_s": round(wall, 3),
            "fps": round(frames / wall, 2), "driver_cpu_s": round(cpu, 3),
            "driver_cpu_ms_per_segment": round(cpu / segments * 1000, 2),
            "mib_in": round(clip.stat().st_size / 2**20, 3), "mib_out": round(out.stat().st_size / 2**20, 3),
            # from the first frames back to the end: without the actors' start and engine build
            "working_s": round(time.perf_counter() - first_frames[0], 3) if first_frames else None,
            "nodes": {k: v.to_dict() for k, v in report.nodes.items()}, "engine": report.engine}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="artify-draw-lite")
    ap.add_argument("--seconds", type=float, default=40.0, help="length of the throughput clip")
    ap.add_argument("--size", type=int, default=320, help="long side the throughput clip is stylized at")
    ap.add_argument("--long-minutes", type=float, default=20.0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import ray

    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = tmp / "throughput.mp4"
        write_looped_clip(clip, args.seconds, (640, 360), 25, gop=25)
        warm = tmp / "warm.mp4"  # Ray's own processes are busy for a while after its start: not in the figures
        write_looped_clip(warm, 10, (640, 360), 25, gop=25)
        run(args.model, warm, tmp / "warm-out.mp4", 2, 2.0, args.size)
        one = run(args.model, clip, tmp / "one.mp4", 1, 2.0, args.size)
        two = run(args.model, clip, tmp / "two.mp4", 2, 2.0, args.size)
        figures["throughput"] = {"one_actor": one, "two_actors": two,
                                 "ratio_wall": round(two["fps"] / one["fps"], 3),
                                 "ratio_working": round(one["working_s"] / two["working_s"], 3)}

        small = tmp / "small.mp4"
        write_looped_clip(small, 60, (64, 36), 10, gop=10)
        whole = run(args.model, small, tmp / "whole.mp4", 1, 0, None)
        cut = run(args.model, small, tmp / "cut.mp4", 1, 1.0, None)
        extra = cut["segments"] - whole["segments"]
        figures["per_segment"] = {
            "whole": whole, "cut": cut,
            # wall: what the job takes longer; worker: its busy time (a fresh decoder and encoder per segment)
            "overhead_ms": round((cut["wall_s"] - whole["wall_s"]) / extra * 1000, 2),
            "worker_ms": round((sum(n["busy_s"] for n in cut["nodes"].values())
                                - sum(n["busy_s"] for n in whole["nodes"].values())) / extra * 1000, 2),
            "driver_cpu_ms": round((cut["driver_cpu_s"] - whole["driver_cpu_s"]) / extra * 1000, 2)}

        memory = {}
        for minutes in (2.0, args.long_minutes):
            long_clip = tmp / f"long-{minutes:g}.mp4"
            write_looped_clip(long_clip, minutes * 60, (64, 36), 10, gop=20)
            with RssSampler() as rss:
                before = rss.rss_mib()
                result = run(args.model, long_clip, tmp / "long-out.mp4", 2, 2.0, None)
            memory[f"{minutes:g}_min"] = {"frames": result["frames"], "segments": result["segments"],
                                          "fps": result["fps"], "rss_before_mib": round(before, 1),
                                          "rss_peak_mib": round(max(rss.samples, default=before), 1),
                                          "input_mib": round(long_clip.stat().st_size / 2**20, 2)}
        figures["driver_memory"] = memory
    ray.shutdown()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
