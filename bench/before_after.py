"""The README's picture and the look sheets: photos a model never trained on, beside each model's output.

    python bench/before_after.py OUT.jpg PHOTO [PHOTO ...] --model NAME_OR_PATH [--model ...] \
        [--baseline opencv-stylization] [--clip CLIP ...] [--cartoons DIR] [--size 256]

Columns: photo | each model, in the order given | each OpenCV baseline | a kit cartoon (with
--cartoons: one per row, drawn from the avatar, emoji and clip-art families, seeded). Rows: the
photos, then the middle frame of each clip. Every cell is the same square, so nothing is padded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artify_stream.evaluation.baselines import BASELINES  # noqa: E402
from artify_stream.evaluation.flicker import read_clip_frames  # noqa: E402
from artify_stream.evaluation.inputs import evaluation_image, photo_paths  # noqa: E402
from artify_stream.evaluation.report import save_png, square_tile  # noqa: E402
from artify_stream.image_files import read_image  # noqa: E402
from engines import create_engine  # noqa: E402

#: Film frames are 3D renders, not drawings: the sheet's cartoon column leaves them out.
NOT_DRAWN = ("bbb-",)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("photos", type=Path, nargs="+")
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--baseline", action="append", default=[], choices=sorted(BASELINES))
    ap.add_argument("--clip", type=Path, action="append", default=[])
    ap.add_argument("--cartoons", type=Path, default=None)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    engines = [create_engine(m, "torch", "fp32", "cpu") for m in args.model]
    inputs = [evaluation_image(read_image(path).rgb, args.size) for path in args.photos]
    for clip in args.clip:
        frames = read_clip_frames(clip, 48, args.size)
        inputs.append(frames[len(frames) // 2])
    cartoons = []
    if args.cartoons:
        pool = [p for p in photo_paths(args.cartoons) if not p.name.startswith(NOT_DRAWN)]
        picks = np.random.default_rng(0).choice(len(pool), len(inputs), replace=False)
        cartoons = [read_image(pool[i]).rgb for i in picks]
        print("kit cartoons shown (credit them):", " ".join(pool[i].name for i in picks))
    rows = []
    for i, rgb in enumerate(inputs):
        frames = torch.from_numpy(np.ascontiguousarray(rgb))[None]
        cells = [rgb] + [engine(frames)[0].numpy().copy() for engine in engines]
        cells += [BASELINES[name].filter_one(rgb) for name in args.baseline]
        cells += [cartoons[i]] if cartoons else []
        rows.append(np.hstack([square_tile(c, args.size) for c in cells]))
    save_png(args.out, np.vstack(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
