"""Face mode against the whole-frame model on the kit's talking-face clips: speed (detection and
tracking included), added latency, flicker of the face region along the input's optical flow,
the seam at the mask's edge, and the jitter of the pasted face.

    python bench/face_mode.py --clips ../shared/data/videos/grid-*.mp4 [--model artify-draw-lite] [--size 640x360]

Every clip is scaled to fit --size (a webcam's 640x360 by default, aspect kept) and run frame by frame, as live
mode does: once whole-frame, once in face mode (the faces through a second engine, of --face-model
or of the same model, as `--faces` builds on the CPU). Figures in one run on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artify_stream.evaluation.flicker import ClipMotion  # noqa: E402
from artify_stream.face_mode import FaceStylizer  # noqa: E402
from artify_stream.evaluation.face_mode_figures import across_ring  # noqa: E402
from artify_stream.face_mode.align import feathered_mask  # noqa: E402
from artify_stream.media_io import read_frames  # noqa: E402
from engines import create_engine  # noqa: E402


def face_region(shape, matrices: list[np.ndarray], size: int) -> np.ndarray:
    """Frame-sized mask (bool) of where faces were pasted (the feathered mask above one half)."""
    region = np.zeros(shape[:2], bool)
    mask = feathered_mask(size)
    for matrix in matrices:
        inverse = cv2.invertAffineTransform(matrix)
        region |= cv2.warpAffine(mask, inverse, (shape[1], shape[0])) > 0.5
    return region


def run(clip: Path, engine, face_engine, size: tuple[int, int]) -> dict:
    def fit(w: int, h: int) -> tuple[int, int]:  # within --size, the clip's own aspect kept
        scale = min(size[0] / w, size[1] / h)
        return int(w * scale) // 4 * 4, int(h * scale) // 4 * 4

    frames = read_frames(clip, fit=fit)
    whole, face_out, t_whole, t_face, eyes_per_frame, matrices = [], [], [], [], [], []
    # Two engines of the model, as `--faces` builds on the CPU: the frame and its faces drawn at once.
    stylizer = FaceStylizer(engine, face_engine)
    for frame in frames:
        batch = np.ascontiguousarray(frame)[None]
        t0 = time.perf_counter()
        whole.append(engine(batch)[0].copy())
        t1 = time.perf_counter()
        face_out.append(stylizer(batch)[0].copy())
        t2 = time.perf_counter()
        t_whole.append((t1 - t0) * 1000)
        t_face.append((t2 - t1) * 1000)
        eyes_per_frame.append([t.eyes.copy() for t in stylizer.tracker.tracks])
        matrices.append([face.matrix for face in stylizer.last_faces])
    motion = ClipMotion.from_frames(frames)
    region = np.zeros(frames[0].shape[:2], bool)
    seams_face, seams_whole = [], []
    size_crop = stylizer.options.crop_size
    for pasted, w, f in zip(matrices, whole, face_out):
        region |= face_region(w.shape, pasted, size_crop)
        for matrix in pasted:  # the seam as `artify evaluate --faces` measures it (face_mode_figures.py)
            seams_face.append(across_ring(f, matrix, size_crop))
            seams_whole.append(across_ring(w, matrix, size_crop))

    def masked(frames_list):
        return [np.where(region[..., None], x, 0).astype(np.uint8) for x in frames_list]

    flicker_in = motion.warping_error(masked(frames))
    eyes = np.array([fe[0].mean(0) for fe in eyes_per_frame if len(fe) == 1])
    jitter = float(np.abs(np.diff(eyes, n=2, axis=0)).mean()) if len(eyes) > 3 else None
    return {
        "clip": clip.name, "frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        "ms_whole_p50": round(float(np.percentile(t_whole[2:], 50)), 1),
        "ms_face_mode_p50": round(float(np.percentile(t_face[2:], 50)), 1),
        "ms_face_mode_p95": round(float(np.percentile(t_face[2:], 95)), 1),
        "added_ms_p50": round(float(np.percentile(np.subtract(t_face, t_whole)[2:], 50)), 1),
        "added_ms_p95": round(float(np.percentile(np.subtract(t_face, t_whole)[2:], 95)), 1),
        "fps_face_mode": round(1000 / float(np.mean(t_face[2:])), 1),
        "frames_with_faces": sum(bool(e) for e in eyes_per_frame),
        "faces": stylizer.summary(),
        "face_flicker_ratio_whole": round(motion.warping_error(masked(whole)) / flicker_in, 2),
        "face_flicker_ratio_face_mode": round(motion.warping_error(masked(face_out)) / flicker_in, 2),
        "seam_delta_e_face_mode": round(float(np.concatenate(seams_face).mean()), 2) if seams_face else None,
        "seam_delta_e_whole_same_ring": round(float(np.concatenate(seams_whole).mean()), 2) if seams_whole else None,
        "eye_jitter_px": round(jitter, 2) if jitter is not None else None,  # mean |2nd difference| of the eye centre
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", type=Path, required=True)
    parser.add_argument("--model", default="artify-draw-lite")
    parser.add_argument("--face-model", default=None, help="the model the face crops go through (default: --model)")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--size", default="640x360", help="WxH every clip is scaled to")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    engine = create_engine(args.model, args.engine, "auto", "cpu")
    face_engine = create_engine(args.face_model or args.model, args.engine, "auto", "cpu")
    print(f"engine: {engine.spec.label()}", file=sys.stderr)
    for clip in args.clips:
        print(json.dumps(run(clip, engine, face_engine, size)))


if __name__ == "__main__":
    main()
