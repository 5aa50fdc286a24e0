"""Damaged and unusual inputs, two writers at once, credentials in URLs: a matrix against the real command.

    python bench/input_matrix.py [--markdown] [--only CLASS]

Each case runs `artify` in a fresh temporary folder and is judged by what a user can see: the
exit code, the last line printed, what was left on disk, and (for URLs) whether a secret was
printed. `right` is the verdict of the case's own rule; the summary counts them per class.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stops_matrix import files  # noqa: E402
from tests.conftest import TINY, make_picture, write_pictures  # noqa: E402
from tests.media import (cut_with_edit_list, damage_video_packets, probe, prophoto_icc,  # noqa: E402
                         write_clip)

SECRET = "s3cr3t"


@dataclass
class Row:
    kind: str
    case: str
    exit: int
    message: str
    left: str
    right: bool


def run(*args: str, timeout: float = 180) -> tuple[int, str, str]:
    """The real command: (exit code, the line a user would read last, everything printed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=timeout)
    text = done.stderr + done.stdout
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(("engine:", "[", "{"))]
    lines = [ln for ln in lines if ln[0] not in "┏┃┡│└━─╭╰"]
    errors = [ln for ln in lines if "error" in ln]
    last = (errors or lines or [""])[-1][:200] + (" TRACEBACK" if "Traceback" in text else "")
    return done.returncode, last, text


def start_job(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def frames_in(path: Path) -> int:
    try:
        return len(probe(path)["video_pts"])
    except Exception:  # noqa: BLE001
        return -1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", help="run one class of cases")
    args = ap.parse_args()
    import torch

    from artify_stream.generator import Generator
    from artify_stream.model_file import save_model_file

    base = Path(tempfile.mkdtemp(prefix="artify-inputs-"))
    torch.manual_seed(0)
    model = save_model_file(base / "tiny.safetensors", Generator(TINY).eval(), {})
    engine = ["--model", str(model), "--engine", "torch", "--precision", "fp32"]
    rows: list[Row] = []

    def case(kind: str, name: str, setup: Callable[[Path], object], command: Callable[[Path], list],
             rule: Callable[[int, str, Path], bool]) -> None:
        """`rule(exit code, everything printed, folder)` says whether the outcome is right."""
        if args.only and args.only != kind:
            return
        folder = Path(tempfile.mkdtemp(dir=base))
        setup(folder)
        code, message, text = run(*map(str, command(folder)))
        try:
            right = bool(rule(code, text, folder))
        except Exception:  # noqa: BLE001  (a rule that cannot even read the result: wrong)
            right = False
        rows.append(Row(kind, name, code, message, files(folder), right))
        print(json.dumps(rows[-1].__dict__), flush=True)

    def stylize(src: str, dst: str, *extra) -> Callable[[Path], list]:
        return lambda d: ["stylize", str(d / src), str(d / dst), *engine, *extra]

    nothing = lambda d: None  # noqa: E731

    # ---- URL forms: the password is never printed ------------------------------------------
    port = free_port()  # nothing listens: every open fails fast with a message that names the URL
    urls = [
        f"rtsp://admin:{SECRET}@127.0.0.1:{port}/live", f"rtsp://admin:p@{SECRET}@127.0.0.1:{port}/x",
        f"rtsp://:{SECRET}@127.0.0.1:{port}/x", f"rtsp://{SECRET}@127.0.0.1:{port}/x",
        f"rtsp://admin:{SECRET}%40x@127.0.0.1:{port}/x", f"rtsp://admin:a%3A{SECRET}@127.0.0.1:{port}/x",
        f"rtsp://admin:{SECRET}/x@127.0.0.1:{port}/y", f"rtsp://admin:{SECRET}:x@127.0.0.1:{port}/y",
        f"rtsp://127.0.0.1:{port}/live?token={SECRET}", f"rtsp://127.0.0.1:{port}/live?user=a&password={SECRET}",
        f"rtsp://127.0.0.1:{port}/live?auth={SECRET}&x=1", f"rtsps://admin:{SECRET}@127.0.0.1:{port}/live",
        f"rtmp://admin:{SECRET}@127.0.0.1:{port}/app/key", f"http://admin:{SECRET}@127.0.0.1:{port}/video.mjpg",
        f"srt://127.0.0.1:{port}?passphrase={SECRET}", f"RTSP://ADMIN:{SECRET}@127.0.0.1:{port}/LIVE",
        f"rtsp://admin:{SECRET}@[::1]:{port}/live", f"rtsp://admin:{SECRET}@127.0.0.1:{port}/live#frag",
    ]
    for url in urls:
        shown = url.replace(SECRET, "***")
        case("credentials", f"live {shown}", nothing,
             lambda d, url=url: ["live", url, "--to", str(d / "rec.mp4"), *engine, "--timeout", "1"],
             lambda code, msg, d: code != 0 and SECRET not in msg and not (d / "rec.mp4").exists())
    for url in urls[:4]:  # as an output URL too
        shown = url.replace(SECRET, "***")
        case("credentials", f"live file -> {shown}", lambda d: write_clip(d / "c.mp4", frames=5),
             lambda d, url=url: ["live", str(d / "c.mp4"), "--to", url, *engine],
             lambda code, msg, d: SECRET not in msg)

    # ---- two writers at once ---------------------------------------------------------------
    def two_at_once(inputs: Callable[[Path], None], command: Callable[[Path], list],
                    outputs: dict[str, int]) -> tuple[Callable, Callable, Callable]:
        """A case's setup, command and rule: setup writes `inputs` and starts a first job with a
        head start; the case's command is the second. Right: each job finished or said another job
        was writing, and every output is complete."""
        first: list[subprocess.Popen] = []

        def setup(d: Path) -> None:
            inputs(d)
            first.append(start_job(*map(str, command(d))))
            time.sleep(4)  # torch imported and writing when the second starts

        def rule(code: int, text: str, d: Path) -> bool:
            first_code = first[0].wait(240)
            first_text = first[0].stderr.read()
            said = lambda c, t: c == 0 or (c == 1 and "another artify job is writing it" in t)  # noqa: E731
            return (said(code, text) and said(first_code, first_text) and 0 in (code, first_code)
                    and all(frames_in(d / name) == n for name, n in outputs.items()))
        return setup, command, rule

    def long_clip(d: Path) -> None:
        write_clip(d / "in.mp4", frames=1500, size=(96, 128), fps=30, audio=True)  # still being written at 4 s

    def three_clips(d: Path) -> None:
        (d / "src").mkdir()
        for name in "abc":
            write_clip(d / "src" / f"{name}.mp4", frames=150, size=(96, 128), fps=30, audio=True)

    case("concurrent", "a second job on an output being written",
         *two_at_once(long_clip, lambda d: ["stylize", d / "in.mp4", d / "out.mp4", *engine], {"out.mp4": 1500}))
    case("concurrent", "two folder jobs into one folder",
         *two_at_once(three_clips, lambda d: ["stylize", d / "src", d / "out", *engine],
                      {f"out/{n}.mp4": 150 for n in "abc"}))

    # ---- damaged streams -------------------------------------------------------------------
    for where, packets in (("start", range(1, 4)), ("middle", range(100, 103)), ("end", range(195, 198)),
                           ("a long stretch", range(80, 120)), ("one packet", range(60, 61))):
        def damaged(d: Path, packets=packets) -> None:
            write_clip(d / "clean.mp4", frames=200, size=(96, 128), fps=25, audio=True, gop=25)
            damage_video_packets(d / "clean.mp4", d / "in.mp4", packets)
            (d / "clean.mp4").unlink()
        case("damaged", f"damaged packets at the {where}", damaged, stylize("in.mp4", "out.mp4"),
             lambda code, msg, d: code == 1 and "damaged video packets at" in msg
             and 0 < frames_in(d / "out.mp4") < 200)
    case("damaged", "truncated to half", lambda d: (write_clip(d / "c.mp4", frames=60), (d / "in.mp4").write_bytes(
        (d / "c.mp4").read_bytes()[: (d / "c.mp4").stat().st_size // 2]), (d / "c.mp4").unlink()),
        stylize("in.mp4", "out.mp4"), lambda code, msg, d: code == 1 and "in.mp4" in msg and not (d / "out.mp4").exists())
    case("damaged", "zero-byte .mp4", lambda d: (d / "in.mp4").write_bytes(b""), stylize("in.mp4", "out.mp4"),
         lambda code, msg, d: code == 1 and "in.mp4" in msg)
    case("damaged", "text file named .mp4", lambda d: (d / "in.mp4").write_text("hello"), stylize("in.mp4", "out.mp4"),
         lambda code, msg, d: code == 1 and "in.mp4" in msg)

    # ---- edit lists --------------------------------------------------------------------------
    for start in (0.3, 1.4, 2.9):
        def cut(d: Path, start=start) -> None:
            write_clip(d / "whole.mp4", frames=100, fps=25, gop=25, audio=False)
            cut_with_edit_list(d / "whole.mp4", d / "in.mp4", start)
            (d / "whole.mp4").unlink()
        case("edit lists", f"cut at {start} s with an edit list", cut, stylize("in.mp4", "out.mp4"),
             lambda code, msg, d: code == 0 and frames_in(d / "out.mp4") == frames_in(d / "in.mp4"))

    # ---- timestamps that jump back -------------------------------------------------------------
    def joined(d: Path, parts: int = 2, suffix: str = ".ts") -> None:
        data = b""
        for i in range(parts):
            write_clip(d / f"p{i}{suffix}", frames=20 + 10 * i, fps=10, audio=True)
            data += (d / f"p{i}{suffix}").read_bytes()
            (d / f"p{i}{suffix}").unlink()
        (d / "in.ts").write_bytes(data)
    for parts in (2, 3):
        case("timestamps", f"{parts} recordings joined into one .ts", lambda d, parts=parts: joined(d, parts),
             stylize("in.ts", "out.mp4"), lambda code, msg, d, parts=parts: code == 0 and "re-timed" in msg
             and frames_in(d / "out.mp4") == sum(20 + 10 * i for i in range(parts)))
    case("timestamps", "joined .ts -> .mkv", joined, stylize("in.ts", "out.mkv"),
         lambda code, msg, d: code == 0 and frames_in(d / "out.mkv") == 50)
    case("timestamps", "one .ts (ADTS audio) -> .mp4", lambda d: write_clip(d / "in.ts", frames=30, audio=True),
         stylize("in.ts", "out.mp4"), lambda code, msg, d: code == 0 and len(probe(d / "out.mp4")["audio_packets"]) > 0)

    # ---- stream metadata -------------------------------------------------------------------
    def tagged(d: Path) -> None:
        import av.stream
        write_clip(d / "in.mkv", frames=10, audio=True, audio_tags={"language": "fra", "title": "Commentaire"},
                   audio_disposition=av.stream.Disposition.comment | av.stream.Disposition.default)

    def audio_kept(path: Path) -> bool:
        from artify_stream.media_io import stream_title

        with av.open(str(path)) as c:
            a = c.streams.audio[0]
            return (a.metadata.get("language") == "fra" and stream_title(a) == "Commentaire"
                    and (bool(a.disposition & av.stream.Disposition.comment) or path.suffix == ".mov"))  # MOV has no role
    for suffix in (".mkv", ".mp4", ".mov"):
        case("metadata", f"audio language, title, commentary -> {suffix}", tagged, stylize("in.mkv", f"out{suffix}"),
             lambda code, msg, d, suffix=suffix: code == 0 and audio_kept(d / f"out{suffix}"))

    # ---- colour profiles -------------------------------------------------------------------
    for suffix in (".jpg", ".png", ".tif", ".webp"):
        def wide(d: Path, suffix=suffix) -> None:
            grey = np.full((32, 32, 3), 128, np.uint8)
            Image.fromarray(grey).save(d / f"in{suffix}", icc_profile=prophoto_icc())
        case("colour", f"ProPhoto grey {suffix} read as sRGB", wide, lambda d, s=suffix: [
            "stylize", d / f"in{s}", d / "out.png", *engine, "--side-by-side"],
            lambda code, msg, d: code == 0 and abs(int(np.asarray(Image.open(d / "out.png"))[16, 8, 0]) - 146) <= 3)

    # ---- animations --------------------------------------------------------------------------
    def gif(d: Path) -> None:
        frames = [Image.fromarray(make_picture(24, 32, seed=i)) for i in range(10)]
        frames[0].save(d / "in.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    # Pillow merges identical consecutive frames (the tiny test model draws nearly the same picture
    # for each), adding their times: the animation's length is what must survive.
    case("animation", "animated GIF -> GIF (1.0 s)", gif, stylize("in.gif", "out.gif"),
         lambda code, msg, d: code == 0 and _animation_ms(d / "out.gif") == 1000)
    case("animation", "animated GIF -> WebP", gif, stylize("in.gif", "out.webp"),
         lambda code, msg, d: code == 0 and Image.open(d / "out.webp").n_frames >= 1)
    case("animation", "animated GIF -> PNG", gif, stylize("in.gif", "out.png"),
         lambda code, msg, d: code == 1 and "animation of 10 frames" in msg and not (d / "out.png").exists())
    case("animation", "still GIF -> PNG", lambda d: Image.fromarray(make_picture(24, 32)).save(d / "in.gif"),
         stylize("in.gif", "out.png"), lambda code, msg, d: code == 0 and (d / "out.png").exists())

    # ---- sizes -------------------------------------------------------------------------------
    case("sizes", "1000x2 clip", lambda d: write_clip(d / "in.mp4", frames=3, size=(2, 1000), pix_fmt="yuv444p"),
         stylize("in.mp4", "out.mp4"), lambda code, msg, d: code != 0 and "in.mp4" in msg)
    case("sizes", "--size 4", lambda d: write_clip(d / "in.mp4", frames=3), stylize("in.mp4", "out.mp4", "--size", "4"),
         lambda code, msg, d: (code == 0 and frames_in(d / "out.mp4") == 3) or (code != 0 and "--size" in msg))
    case("sizes", "3x2 image", lambda d: Image.fromarray(np.zeros((2, 3, 3), np.uint8)).save(d / "in.png"),
         stylize("in.png", "out.png"), lambda code, msg, d: code == 1 and "in.png" in msg)
    case("sizes", "4x4 image", lambda d: Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(d / "in.png"),
         stylize("in.png", "out.png"), lambda code, msg, d: code == 0 and Image.open(d / "out.png").size == (4, 4))
    case("sizes", "odd 97x61 clip", lambda d: write_clip(d / "in.mp4", frames=5, size=(61, 97), pix_fmt="yuv444p"),
         stylize("in.mp4", "out.mp4"), lambda code, msg, d: code == 0 and frames_in(d / "out.mp4") == 5)

    # ---- encoders and containers ----------------------------------------------------------------
    clip = lambda d: write_clip(d / "in.mp4", frames=10, audio=True)  # noqa: E731
    # A clear refusal is right where the container cannot hold a stream (WebM takes no AAC, no H.264).
    refused = lambda code, msg, d, out: code == 1 and "format does not support" in msg and not (d / out).exists()  # noqa: E731
    for codec, out, outcome in (("mjpeg", "out.avi", "ok"), ("mpeg4", "out.avi", "ok"), ("libx265", "out.mkv", "ok"),
                                ("libvpx-vp9", "out.mkv", "ok"), ("libvpx-vp9", "out.webm", "refused"),
                                ("aac", "out.mp4", "error"), ("nonsense", "out.mp4", "error")):
        case("encoders", f"--codec {codec} -> {out} (AAC audio)", clip, stylize("in.mp4", out, "--codec", codec),
             lambda code, msg, d, outcome=outcome, out=out: (code == 0 and frames_in(d / out) == 10) if outcome == "ok"
             else refused(code, msg, d, out) if outcome == "refused"
             else (code != 0 and "codec" in msg.lower() and not (d / out).exists()))
    for suffix in (".mkv", ".mov", ".avi", ".ts", ".webm", ".m4v"):
        case("containers", f"mp4 with audio -> {suffix}", clip, stylize("in.mp4", f"out{suffix}"),
             lambda code, msg, d, suffix=suffix: refused(code, msg, d, f"out{suffix}") if suffix == ".webm"
             else code == 0 and frames_in(d / f"out{suffix}") == 10)
    for fmt in ("yuv420p10le", "yuv444p", "yuvj420p"):
        case("containers", f"{fmt} input", lambda d, fmt=fmt: write_clip(d / "in.mp4", frames=5, pix_fmt=fmt),
             stylize("in.mp4", "out.mp4"), lambda code, msg, d: code == 0 and frames_in(d / "out.mp4") == 5)
    for rotation in (90, 180, 270):
        case("containers", f"rotation {rotation}", lambda d, r=rotation: write_clip(d / "in.mp4", frames=3, rotation=r),
             stylize("in.mp4", "out.mp4"), lambda code, msg, d, r=rotation: code == 0 and probe(d / "out.mp4")["size"]
             == ((64, 48) if r % 180 else (48, 64)))
    case("containers", "VFR clip", lambda d: write_clip(d / "in.mp4", frames=20, vfr=True), stylize("in.mp4", "out.mp4"),
         lambda code, msg, d: code == 0 and probe(d / "out.mp4")["video_pts"] == probe(d / "in.mp4")["video_pts"])
    case("containers", "an .mp4 with audio only", _audio_only, stylize("in.mp4", "out.mp4"),
         lambda code, msg, d: code == 1 and "no video stream" in msg and not (d / "out.mp4").exists())

    # ---- images --------------------------------------------------------------------------------
    picture = make_picture(30, 40)
    images = {
        "CMYK JPEG": lambda d: Image.fromarray(picture).convert("CMYK").save(d / "in.jpg"),
        "16-bit PNG": lambda d: Image.fromarray((picture[..., 0].astype(np.uint16) * 257)).save(d / "in.png"),
        "palette PNG": lambda d: Image.fromarray(picture).convert("P").save(d / "in.png"),
        "RGBA PNG": lambda d: Image.fromarray(np.dstack([picture, np.full((30, 40), 128, np.uint8)])).save(d / "in.png"),
        "grey JPEG": lambda d: Image.fromarray(picture[..., 0]).save(d / "in.jpg"),
        "BMP": lambda d: Image.fromarray(picture).save(d / "in.bmp"),
        "TIFF": lambda d: Image.fromarray(picture).save(d / "in.tif"),
        "WebP": lambda d: Image.fromarray(picture).save(d / "in.webp"),
    }
    for name, make in images.items():
        def setup_image(d: Path, make=make) -> None:
            make(d)
        source = lambda d: next(p for p in d.iterdir() if p.stem == "in")  # noqa: E731
        case("images", name, setup_image, lambda d: ["stylize", source(d), d / "out.png", *engine],
             lambda code, msg, d: code == 0 and Image.open(d / "out.png").size == (40, 30))
    case("images", "truncated JPEG", lambda d: (Image.fromarray(picture).save(d / "a.jpg"), (d / "in.jpg").write_bytes(
        (d / "a.jpg").read_bytes()[:200])), stylize("in.jpg", "out.png"),
        lambda code, msg, d: code == 1 and "in.jpg" in msg and not (d / "out.png").exists())
    case("images", "zero-byte PNG", lambda d: (d / "in.png").write_bytes(b""), stylize("in.png", "out.png"),
         lambda code, msg, d: code == 1 and "in.png" in msg)
    case("images", "EXIF-rotated JPEG", lambda d: Image.fromarray(picture).save(d / "in.jpg", exif=_exif(6)),
         stylize("in.jpg", "out.png"), lambda code, msg, d: code == 0 and Image.open(d / "out.png").size == (30, 40))

    # ---- folders and partial files ---------------------------------------------------------
    case("folders", "a user's own interview.partial.mp4 in the input", lambda d: (
        (d / "in").mkdir(), write_clip(d / "in" / "interview.partial.mp4", frames=5)),
        lambda d: ["stylize", d / "in", d / "out", *engine],
        lambda code, msg, d: code == 0 and frames_in(d / "out" / "interview.partial.mp4") == 5)
    case("folders", "our own unfinished partial in the input", lambda d: (
        (d / "in").mkdir(), write_clip(d / "in" / "a.mp4", frames=5), write_clip(d / "in" / "talk.partial.mp4", frames=5),
        (d / "in" / ".talk.partial.mp4.artify").touch()), lambda d: ["stylize", d / "in", d / "out", *engine],
        lambda code, msg, d: code == 0 and not (d / "out" / "talk.partial.mp4").exists()
        and (d / "out" / "a.mp4").exists())
    case("folders", "a folder with a broken file among good ones", lambda d: (
        write_pictures(d / "in", 2), (d / "in" / "bad.png").write_text("x")),
        lambda d: ["stylize", d / "in", d / "out", *engine],
        lambda code, msg, d: code == 1 and len(list((d / "out").glob("*.png"))) == 2)
    case("folders", "an empty folder", lambda d: (d / "in").mkdir(), lambda d: ["stylize", d / "in", d / "out", *engine],
         lambda code, msg, d: code == 1 and "no image or video" in msg)

    # ---- outputs -------------------------------------------------------------------------------
    case("outputs", "output exists, no --overwrite", lambda d: (clip(d), write_clip(d / "out.mp4", frames=3)),
         stylize("in.mp4", "out.mp4"), lambda code, msg, d: code == 1 and "--overwrite" in msg
         and frames_in(d / "out.mp4") == 3)
    case("outputs", "output is a folder", lambda d: (clip(d), (d / "out.mp4").mkdir()), stylize("in.mp4", "out.mp4"),
         lambda code, msg, d: code == 1 and "folder" in msg)
    case("outputs", "output below a file", lambda d: (clip(d), (d / "f").write_text("x")),
         stylize("in.mp4", "f/out.mp4"), lambda code, msg, d: code == 1 and "out.mp4" in msg)
    case("outputs", "unknown image suffix", lambda d: write_pictures(d, 1), stylize("img_000.png", "out.xyz"),
         lambda code, msg, d: code != 0 and not (d / "out.xyz").exists())

    # ---- models and options --------------------------------------------------------------------
    pic = lambda d: write_pictures(d, 1)  # noqa: E731
    opts = [("--model no-such-model", ["--model", "no-such-model"], "no-such-model"),
            ("--crf 99", [*engine, "--crf", "99"], "--crf"), ("--batch 0", [*engine, "--batch", "0"], "--batch"),
            ("--precision fp8", [*engine[:4], "--precision", "fp8"], "fp8"),
            ("--engine nonsense", ["--model", str(model), "--engine", "nonsense"], "nonsense")]
    for name, extra, named in opts:
        case("options", name, pic, lambda d, extra=extra: ["stylize", d / "img_000.png", d / "o.png", *extra],
             lambda code, msg, d, named=named: code != 0 and named in msg and "Traceback" not in msg)
    case("options", "a model file that is a text file", lambda d: (pic(d), (d / "m.safetensors").write_text("x")),
         lambda d: ["stylize", d / "img_000.png", d / "o.png", "--model", d / "m.safetensors", "--engine", "torch"],
         lambda code, msg, d: code == 1 and "m.safetensors" in msg)

    # ---- live sources ----------------------------------------------------------------------------
    case("live", "a file that does not exist", nothing, lambda d: ["live", d / "nope.mp4", "--to", d / "r.mp4", *engine],
         lambda code, msg, d: code == 1 and "nope.mp4" in msg)
    case("live", "webcam 9 (none here)", nothing, lambda d: ["live", "9", "--to", d / "r.mp4", *engine],
         lambda code, msg, d: code == 1 and "TRACEBACK" not in msg)
    case("live", "phone clip rotated 90 -> recording", lambda d: write_clip(d / "in.mp4", frames=10, rotation=90),
         lambda d: ["live", d / "in.mp4", "--to", d / "r.mp4", *engine],
         lambda code, msg, d: code == 0 and probe(d / "r.mp4")["size"] == (64, 48))

    print_table(rows, args.markdown)


def _audio_only(d: Path) -> None:
    with av.open(str(d / "in.mp4"), "w") as out:
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for start in range(0, 48000, 1024):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))


def _animation_ms(path: Path) -> int:
    from PIL import ImageSequence

    with Image.open(path) as image:
        return sum(int(frame.info.get("duration", 0)) for frame in ImageSequence.Iterator(image))


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def print_table(rows: list[Row], markdown: bool) -> None:
    by_kind = Counter(r.kind for r in rows)
    right = Counter(r.kind for r in rows if r.right)
    print(f"\n{sum(right.values())} of {len(rows)} right: " + ", ".join(f"{k} {right[k]}/{n}" for k, n in by_kind.items()))
    if markdown:
        print("| class | case | exit | right | message | left on disk |\n| --- | --- | ---: | :---: | --- | --- |")
        for r in rows:
            message = r.message.replace("|", "/")
            print(f"| {r.kind} | {r.case} | {r.exit} | {'yes' if r.right else '**no**'} | {message} | {r.left} |")


if __name__ == "__main__":
    main()
