"""The face-mode contact sheet: what `--faces` does to each photo, row by row.

    python bench/face_mode_sheet.py OUT.jpg PHOTO [PHOTO ...] [--model artify-draw-lite]
        [--face-model NAME] [--engine onnx]

Columns: photo | the whole-frame cartoon | face mode | the first face's aligned cartoon crop (scaled
to the photo's size; black when no face was found). Photos are used at their own size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artify_stream.face_mode import FaceOptions, FaceStylizer  # noqa: E402
from artify_stream.registry import face_model_for, resolve_model  # noqa: E402
from engines import create_engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("photos", type=Path, nargs="+")
    ap.add_argument("--model", default="artify-draw-lite")
    ap.add_argument("--face-model", default=None, help="default: the model's bundled face model, else the model")
    ap.add_argument("--engine", default="onnx", help="face mode on a CPU runs ONNX Runtime (`engine_for`)")
    args = ap.parse_args()
    model = resolve_model(args.model)
    face_model = resolve_model(args.face_model) if args.face_model else (face_model_for(model) or model)
    engine = create_engine(model, args.engine, "auto", "cpu")
    stylizer = FaceStylizer(engine, create_engine(face_model, args.engine, "auto", "cpu"), options=FaceOptions(stream=False))
    rows = []
    for path in args.photos:
        photo = cv2.imread(str(path))
        if photo is None:
            sys.exit(f"{path}: not a readable image")
        rgb = np.ascontiguousarray(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
        whole = np.asarray(engine(rgb[None]))[0]
        faced = np.asarray(stylizer(rgb[None]))[0]
        faces = stylizer.last_faces
        crop = cv2.resize(faces[0].crop, rgb.shape[1::-1], interpolation=cv2.INTER_AREA) if faces else np.zeros_like(rgb)
        rows.append(np.concatenate([rgb, whole, faced, crop], 1))
    sheet = np.concatenate(rows, 0)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out} ({model.name}, faces by {face_model.name})")


if __name__ == "__main__":
    main()
