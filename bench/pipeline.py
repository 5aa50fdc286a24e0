"""Pipeline benchmark: each stage alone and the whole threaded pipeline, on one clip, in one run.

    python bench/pipeline.py [CLIP] [--model artify-draw] [--engine auto] [--batch 4]

Prints decode-only, stylize-only (engine on preloaded frames), encode-only and pipeline fps,
and the pipeline's fps as a fraction of the slowest stage alone (goal: >= 0.90).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from artify_stream.geometry import output_size
from artify_stream.video import VideoOptions, VideoPipeline
from engines import create_engine

DEFAULT_CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "grid-talking-faces-3speakers-9s.mp4"


def decode_only(clip: Path, limit: int) -> tuple[float, list]:
    frames = []
    t0 = time.perf_counter()
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in c.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == limit:
                break
    return len(frames) / (time.perf_counter() - t0), frames


def stylize_only(engine, frames: list, batch: int) -> tuple[float, list]:
    out = []
    engine(torch.from_numpy(frames[0])[None])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(frames), batch):
        chunk = torch.from_numpy(np.stack(frames[i : i + batch]))
        out.extend(np.array(f) for f in engine(chunk).numpy())  # engines reuse their output buffer
    return len(frames) / (time.perf_counter() - t0), out


def encode_only(frames: list, options: VideoOptions, rate) -> float:
    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with av.open(str(Path(tmp) / "e.mp4"), "w") as out:
            s = out.add_stream(options.codec, rate=rate)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"crf": str(options.crf), "preset": options.preset}
            s.codec_context.thread_type = "FRAME"
            for rgb in frames:
                out.mux(s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            out.mux(s.encode(None))
        return len(frames) / (time.perf_counter() - t0)




def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--model", default="artify-draw")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    engine = create_engine(args.model, backend=args.engine, precision=args.precision, device=args.device)
    options = VideoOptions(batch=args.batch, overwrite=True)
    with av.open(str(args.clip)) as c:
        v = c.streams.video[0]
        rate, size = v.average_rate, (v.codec_context.width, v.codec_context.height)
        total = v.frames
    assert output_size(*size, 0, None) == size, "use an even-sized clip so stages see the same frames"
    dec_fps, frames = decode_only(args.clip, total or 10**9)
    sty_fps, styled = stylize_only(engine, frames, args.batch)
    enc_fps = encode_only(styled, options, rate)
    with tempfile.TemporaryDirectory() as tmp:
        report = VideoPipeline(engine, options).run(args.clip, Path(tmp) / "out.mp4")
    slowest = min(dec_fps, sty_fps, enc_fps)
    row = {
        "clip": args.clip.name, "size": f"{size[0]}x{size[1]}", "frames": len(frames), "engine": args.engine,
        "precision": args.precision, "batch": args.batch, "decode_fps": round(dec_fps, 1),
        "stylize_fps": round(sty_fps, 2), "encode_fps": round(enc_fps, 1), "pipeline_fps": round(report.fps, 2),
        "pipeline_vs_slowest": round(report.fps / slowest, 3), "torch_threads": torch.get_num_threads(),
    }
    if args.json:
        print(json.dumps(row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pipeline benchmark: {row['clip']} {row['size']}, {row['frames']} frames")
    for key in row:
        table.add_column(key)
    table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


if __name__ == "__main__":
    main()
