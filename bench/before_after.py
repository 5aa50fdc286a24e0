"""The README's picture: photos a model never trained on, beside each model's output.

    python bench/before_after.py OUT.png PHOTO [PHOTO ...] --model NAME_OR_PATH [--model ...] [--size 256]

Columns: photo | each model, in the order given; rows: the photos (scaled to --size on the long side).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artify_stream.evaluation.inputs import evaluation_image  # noqa: E402
from artify_stream.evaluation.report import save_png  # noqa: E402
from artify_stream.images import read_image  # noqa: E402
from engines import create_engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("photos", type=Path, nargs="+")
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    engines = [create_engine(m, "torch", "fp32", "cpu") for m in args.model]
    rows = []
    for path in args.photos:
        rgb = evaluation_image(read_image(path).rgb, args.size)
        frames = torch.from_numpy(rgb)[None]
        cells = [rgb] + [engine(frames)[0].numpy().copy() for engine in engines]
        h = args.size
        cells = [cv2.resize(c, (round(c.shape[1] * h / c.shape[0]), h), interpolation=cv2.INTER_AREA) for c in cells]
        rows.append(np.hstack(cells))
    width = max(r.shape[1] for r in rows)
    save_png(args.out, np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
