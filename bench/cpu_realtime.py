"""Real time on a CPU: the bundled models against OpenCV's cartoon filters, in one run.

    python bench/cpu_realtime.py CLIP_640x360 [--models artify-draw,artify-draw-lite,artify-draw-lite@torch:bf16]
        [--markdown]
        [--photos DIR_OR_SPLIT --eval-clip CLIP ...]

For each model (NAME, or NAME@BACKEND:PRECISION for that engine instead of auto's): the engine, its ms/frame at 256x256 and 640x360 (batch 1), and
`artify stylize CLIP` as a user runs it (fps from its --json, peak resident memory of the process).
For each OpenCV filter: the same clip decoded, filtered and encoded by a plain PyAV loop (no torch).
With --photos, `artify evaluate` figures for every method on those photos (and --eval-clip clips) join
the table, so speed and look come from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib(cmd: list[str]) -> tuple[float, str]:
    """Run `cmd` in a child; its peak resident memory (MiB) and stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all children so far)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if proc.returncode:
            raise RuntimeError(err.read()[-2000:])
        return usage.ru_maxrss / 1024, out.read()


def filter_clip(name: str, clip: Path, out: Path) -> dict:
    """Decode, filter with OpenCV, encode (libx264 veryfast crf 20, as artify stylize does)."""
    import av

    from artify_stream.evaluation.baselines import BASELINES

    filter_one = BASELINES[name].filter_one
    frames = 0
    start = time.perf_counter()
    with av.open(str(clip)) as src, av.open(str(out), "w") as dst:
        v = src.streams.video[0]
        v.thread_type = "AUTO"
        s = dst.add_stream("libx264", rate=v.average_rate)
        s.width, s.height, s.pix_fmt = v.codec_context.width, v.codec_context.height, "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        for frame in src.decode(v):
            rgb = filter_one(frame.to_ndarray(format="rgb24"))
            dst.mux(s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            frames += 1
        dst.mux(s.encode(None))
    return {"frames": frames, "fps": round(frames / (time.perf_counter() - start), 2)}


def model_and_engine(method: str) -> tuple[str, str, str]:
    """'NAME' (the auto engine) or 'NAME@BACKEND:PRECISION' (that engine, to compare)."""
    name, _, engine = method.partition("@")
    backend, _, precision = (engine or "auto").partition(":")
    return name, backend, precision or "auto"


def engine_speed(method: str) -> dict:
    import torch

    from engines import create_engine
    from engines.auto import time_engine

    name, backend, precision = model_and_engine(method)
    engine = create_engine(name, backend, precision)
    return {"engine": engine.spec.label(),
            "ms_256": round(time_engine(engine, (256, 256), runs=20), 1),
            "ms_640x360": round(time_engine(engine, (360, 640), runs=20), 1), "threads": torch.get_num_threads()}


def filter_speed(name: str) -> dict:
    import numpy as np

    from artify_stream.evaluation.baselines import BASELINES

    out = {}
    for label, (h, w) in (("ms_256", (256, 256)), ("ms_640x360", (360, 640))):
        rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
        BASELINES[name].filter_one(rgb)
        start = time.perf_counter()
        for _ in range(10):
            BASELINES[name].filter_one(rgb)
        out[label] = round((time.perf_counter() - start) * 100, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clip", type=Path)
    ap.add_argument("--models", default="artify-draw,artify-draw-lite")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--photos", type=Path, help="evaluate on these photos too (a folder or a run's split.json)")
    ap.add_argument("--eval-clip", type=Path, action="append", default=[], help="clips for the flicker ratio")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "NAME", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # one measurement, in its own process (its peak memory is its own)
        kind, name, out = args.child
        result = engine_speed(name) if kind == "engine" else filter_speed(name) if kind == "filter-speed" else \
            filter_clip(name, args.clip, Path(out))
        print(json.dumps(result))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            _, speed = peak_rss_mib([sys.executable, __file__, str(args.clip), "--child", "engine", model, "-"])
            name, backend, precision = model_and_engine(model)
            rss, out = peak_rss_mib([sys.executable, "-m", "cli", "stylize", str(args.clip), f"{tmp}/out.mp4", "--overwrite",
                                     "--model", name, "--engine", backend, "--precision", precision, "--json"])
            report = json.loads(out.strip().splitlines()[-1])
            rows.append({"method": model, **json.loads(speed), "clip_fps": report["fps"], "peak_rss_mib": round(rss)})
            print(json.dumps(rows[-1]), flush=True)
        for name in ("opencv-stylization", "opencv-bilateral"):
            _, speed = peak_rss_mib([sys.executable, __file__, str(args.clip), "--child", "filter-speed", name, "-"])
            rss, out = peak_rss_mib([sys.executable, __file__, str(args.clip), "--child", "clip", name, f"{tmp}/{name}.mp4"])
            rows.append({"method": name, "engine": "OpenCV", **json.loads(speed),
                         "clip_fps": json.loads(out)["fps"], "peak_rss_mib": round(rss)})
            print(json.dumps(rows[-1]), flush=True)
    figures = {}
    if args.photos:
        figures = evaluation_figures(args.models.split(","), args.photos, args.eval_clip)
        print(json.dumps(figures), flush=True)
    if args.markdown:
        print_markdown(rows, figures)


def evaluation_figures(models: list[str], photos: Path, clips: list[Path]) -> dict[str, dict]:
    """`artify evaluate` per model (the OpenCV filters measured beside the first): method -> figures."""
    figures = {}
    for i, method in enumerate(models):
        name, backend, precision = model_and_engine(method)
        cmd = [sys.executable, "-m", "cli", "evaluate", name, "--engine", backend, "--precision", precision,
               "--photos", str(photos), "--json"]
        cmd += [a for clip in clips for a in ("--clip", str(clip))]
        if i == 0:
            cmd += ["--baseline", "opencv-stylization", "--baseline", "opencv-bilateral"]
        _, out = peak_rss_mib(cmd)
        for label, report in json.loads(out).items():
            figures[method if label == name else label] = {**report["summary"], "clip_flicker": [c["flicker_ratio"] for c in report["clips"]]}
            if i == 0 and label == name:  # the input's own figures, as a row of the look table
                given = report["input"]
                figures["input"] = {"p_cartoon": given["judge_p_cartoon"], "cartoon_share": given["judge_cartoon_share"],
                                    "kid_cartoons": given["judge_kid_cartoons"], "kid_photos": given["judge_kid_photos"],
                                    "faces_kept": 1.0, "edge_f1": 1.0, "checkerboard": given["checkerboard"],
                                    "colours_vs_cartoons": given["colours_per_kpx"] / report["cartoon_stats"]["colours_per_kpx"],
                                    "flatness_vs_cartoons": given["flatness"] - report["cartoon_stats"]["flatness"],
                                    "clip_flicker": [1.0 for _ in report["clips"]]}
    return figures


LOOK = (("P(cartoon)", "p_cartoon", "{:.3f}"), ("called cartoons", "cartoon_share", "{:.0%}"),
        ("KID to cartoons", "kid_cartoons", "{:.3f}"), ("KID to photos", "kid_photos", "{:.3f}"),
        ("faces kept", "faces_kept", "{:.0%}"), ("edge F1", "edge_f1", "{:.3f}"),
        ("colours / cartoons'", "colours_vs_cartoons", "{:.2f}"), ("flatness - cartoons'", "flatness_vs_cartoons", "{:+.3f}"),
        ("checkerboard", "checkerboard", "{:.3f}"))


def print_markdown(rows: list[dict], figures: dict | None = None) -> None:
    head = "| method | engine | ms/frame 256 | fps 256 | ms/frame 640x360 | fps 640x360 | clip fps (decode+stylize+encode) | peak RSS MiB |"
    print(head)
    print("|" + " --- |" * 2 + " ---: |" * (head.count("|") - 3))
    for r in rows:
        print(f"| {r['method']} | {r['engine']} | {r['ms_256']} | {1000 / r['ms_256']:.1f} | {r['ms_640x360']} | "
              f"{1000 / r['ms_640x360']:.1f} | {r['clip_fps']} | {r['peak_rss_mib']} |")
    if not figures:
        return
    print()
    print("| method | " + " | ".join(label for label, _, _ in LOOK) + " | flicker ratio per clip |")
    print("| --- |" + " ---: |" * (len(LOOK) + 1))
    for method, r in figures.items():
        cells = [fmt.format(r[key]) if key in r else "-" for _, key, fmt in LOOK]
        print(f"| {method} | " + " | ".join(cells) + f" | {' / '.join(f'{f:.2f}' for f in r['clip_flicker'])} |")


if __name__ == "__main__":
    main()
