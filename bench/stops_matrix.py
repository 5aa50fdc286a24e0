"""The bad-input and interruption matrix, played against the real `artify` command.

    python bench/stops_matrix.py [--model PATH] [--markdown]

Each case runs in a fresh temporary folder; the table says the exit code, the last line the
user saw, and what was left on disk afterwards. (The tests assert the same behaviour; this prints it.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import TINY, write_pictures  # noqa: E402
from tests.media import probe, write_clip  # noqa: E402


def run(*args, signal_after: float | None = None, sig=signal.SIGINT, wait_for: Path | None = None,
        timeout: float = 120) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if signal_after is not None:
        deadline = time.monotonic() + 60
        while wait_for is not None and not (wait_for.exists() and wait_for.stat().st_size > 20000) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(signal_after)
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    lines = [ln.strip() for ln in (err + out).splitlines() if ln.strip() and not ln.startswith(("engine:", "[", "{"))]
    lines = [ln for ln in lines if ln[0] not in "┏┃┡│└━─╭╰"]  # the folder summary's table frame
    errors = [ln for ln in lines if "error" in ln or "too many" in ln]
    if "Traceback" in err:
        lines.append("TRACEBACK")
    return proc.returncode, ((errors or lines)[-1] if lines else "")[:200]


def files(folder: Path) -> str:
    found = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in (".mp4", ".jpg", ".png", ".safetensors", ".mkv") and "model" not in p.parts[-2:-1]:
            note = ""
            if p.suffix == ".mp4":
                try:
                    note = f" ({len(probe(p)['video_pts'])} frames)"
                except Exception:  # noqa: BLE001
                    note = " (unreadable)"
            found.append(p.relative_to(folder).as_posix() + note)
    return ", ".join(found) or "nothing"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    import torch

    from artify_stream.generator import Generator
    from artify_stream.model_file import save_model_file

    rows = []
    base = Path(tempfile.mkdtemp(prefix="artify-matrix-"))
    torch.manual_seed(0)
    model = save_model_file(base / "tiny.safetensors", Generator(TINY).eval(), {})
    clip = base / "clip.mp4"
    write_clip(clip, frames=900, size=(360, 640), fps=30, audio=True)  # long enough to be stopped mid-way
    common = ["--model", model, "--engine", "torch", "--precision", "fp32", "--batch", "1"]

    def case(name: str, setup, *cmd, shown: str | None = None, **kw) -> None:
        folder = Path(tempfile.mkdtemp(dir=base))
        setup(folder)
        code, message = run(*[str(c).format(d=folder, clip=clip) for c in cmd], **{k: (Path(str(v).format(d=folder))
                            if k == "wait_for" else v) for k, v in kw.items()})
        rows.append({"case": name, "exit": code, "message": message, "left on disk": files(folder)})
        print(json.dumps(rows[-1]), flush=True)

    nothing = lambda d: None  # noqa: E731
    old = lambda d: write_clip(d / "out.mp4", frames=50, size=(96, 128))  # noqa: E731
    copy = lambda d: (d / "src.mp4").write_bytes(clip.read_bytes())  # noqa: E731
    case("Ctrl-C mid-clip", nothing, "stylize", "{clip}", "{d}/out.mp4", *common, signal_after=0.5,
         wait_for="{d}/out.partial.mp4")
    case("SIGTERM mid-clip", nothing, "stylize", "{clip}", "{d}/out.mp4", *common, signal_after=0.5, sig=signal.SIGTERM,
         wait_for="{d}/out.partial.mp4")
    case("--overwrite then Ctrl-C (old 50-frame out.mp4)", old, "stylize", "{clip}", "{d}/out.mp4", *common,
         "--overwrite", signal_after=0.5, wait_for="{d}/out.partial.mp4")
    case("--no-partial then Ctrl-C", nothing, "stylize", "{clip}", "{d}/out.mp4", *common, "--no-partial",
         signal_after=0.5, wait_for="{d}/out.partial.mp4")
    case("SIGKILL mid-clip", nothing, "stylize", "{clip}", "{d}/out.mp4", *common, signal_after=0.5,
         sig=signal.SIGKILL, wait_for="{d}/out.partial.mp4")

    def interrupted_before(d):
        run("stylize", clip, d / "out.mp4", *common, signal_after=0.5, wait_for=d / "out.partial.mp4")

    case("the same command after a Ctrl-C (continues)", interrupted_before, "stylize", "{clip}", "{d}/out.mp4", *common)
    case("Ctrl-C in the first 0.3 s", nothing, "stylize", "{clip}", "{d}/out.mp4", *common, signal_after=0.3)
    case("src.mp4 -> src.mp4 --overwrite", copy, "stylize", "{d}/src.mp4", "{d}/src.mp4", *common, "--overwrite")

    def photo(d):
        write_pictures(d, 1, suffix=".jpg")

    case("cat.jpg -> cat.jpg --overwrite", photo, "stylize", "{d}/img_000.jpg", "{d}/img_000.jpg", *common, "--overwrite")
    case("pack-model over a photo", photo, "pack-model", model, "{d}/img_000.jpg")
    case("folder -> the same folder", lambda d: write_pictures(d, 2), "stylize", "{d}", "{d}", *common)

    def bomb(d):
        write_pictures(d / "in", 2)
        Image.fromarray(np.zeros((16000, 12000, 3), np.uint8)).save(d / "in" / "huge.png", compress_level=1)

    case("decompression bomb in a folder (--size 64)", bomb, "stylize", "{d}/in", "{d}/out", *common, "--size", "64")
    case("--engine-cache is a file", lambda d: (write_pictures(d, 1), (d / "cachefile").write_text("x")), "stylize",
         "{d}/img_000.png", "{d}/o.png", "--model", model, "--engine", "onnx", "--engine-cache", "{d}/cachefile")
    case("pack-model below a file", lambda d: (d / "f").write_text("x"), "pack-model", model, "{d}/f/m.safetensors")
    case("train --out is a file", lambda d: (write_pictures(d / "p", 3), (d / "run").write_text("x")), "train",
         "--photos", "{d}/p", "--cartoons", "{d}/p", "--out", "{d}/run")
    def nan_model(d):
        generator = Generator(TINY).eval()
        with torch.no_grad():
            next(generator.parameters())[0] = float("nan")
        save_model_file(d / "nan.safetensors", generator, {})
        write_pictures(d, 1)

    case("model weights hold NaN", nan_model, "stylize", "{d}/img_000.png", "{d}/o.png", "--model", "{d}/nan.safetensors")
    case("--codec aac", nothing, "stylize", "{clip}", "{d}/o.mp4", *common, "--codec", "aac")
    case("3x2 px image", lambda d: Image.fromarray(np.zeros((2, 3, 3), np.uint8)).save(d / "dot.png"), "stylize",
         "{d}/dot.png", "{d}/o.png", *common)

    def truncated(d):
        import av

        with av.open(str(clip)) as i, av.open(str(d / "fast.mp4"), "w", options={"movflags": "+faststart"}) as o:
            s = o.add_stream_from_template(i.streams.video[0])
            for p in i.demux(i.streams.video[0]):
                if p.dts is not None:
                    p.stream = s
                    o.mux(p)
        data = (d / "fast.mp4").read_bytes()
        (d / "fast.mp4").write_bytes(data[: int(len(data) * 0.6)])

    case("truncated faststart input", truncated, "stylize", "{d}/fast.mp4", "{d}/out.mp4", *common)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    case("silent UDP source", nothing, "live", f"udp://127.0.0.1:{port}", "--to", "{d}/rec.mp4", *common[:6],
         "--timeout", "1")
    if args.markdown:
        print("| case | exit | message | left on disk |\n| --- | ---: | --- | --- |")
        for r in rows:
            print(f"| {r['case']} | {r['exit']} | {r['message'].replace('|', '/')} | {r['left on disk']} |")


if __name__ == "__main__":
    main()
