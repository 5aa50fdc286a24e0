"""Are the faces still faces? A real face detector run on the input and on the output.

The detector is OpenCV's Viola-Jones Haar cascade `haarcascade_frontalface_default.xml`, whose
trained weights ship inside the opencv-python wheel (cv2.data): nothing to download. A face
is kept when the output has a detection overlapping the input's (IoU >= 0.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

CASCADE = "haarcascade_frontalface_default.xml"
MATCH_IOU = 0.3
#: Faces smaller than this share of the short side are not counted (the cascade's noise floor).
MIN_FACE_SHARE = 0.15


@lru_cache(maxsize=1)
def _detector() -> cv2.CascadeClassifier:
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    if detector.empty():  # opencv-python 5 ships no cascades
        raise RuntimeError(f"OpenCV's {CASCADE} is missing: install opencv-python < 5")
    return detector


def detect_faces(rgb: np.ndarray) -> np.ndarray:
    """Face boxes (x, y, w, h) found in a uint8 RGB image."""
    gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    side = int(min(rgb.shape[:2]) * MIN_FACE_SHARE)
    boxes = _detector().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    return np.asarray(boxes, dtype=np.int64).reshape(-1, 4)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def _face_lab(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Mean CIELAB (L in 0-100) of the middle half of a face box: skin, mostly, not hair or background."""
    x, y, w, h = box
    patch = rgb[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    lab = cv2.cvtColor(patch.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return lab.reshape(-1, 3).mean(0)


@dataclass
class FaceFigures:
    found: int  # faces found in the inputs
    kept: int  # of those, found again at the same place in the outputs
    lightness_shift: float  # mean L* change of the face centres, output - input (skin made paler: > 0)
    colour_shift: float  # mean CIE76 delta E of the face centres' colour

    @property
    def share(self) -> float | None:
        return self.kept / self.found if self.found else None


def face_figures(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> FaceFigures:
    """Faces found, kept, and how far the model moved their colour (a cartoon may restyle a face,
    but not change the person's skin tone)."""
    found = kept = 0
    shifts = []
    for photo, output in zip(inputs, outputs):
        before, after = detect_faces(photo), detect_faces(output)
        found += len(before)
        kept += sum(any(_iou(face, other) >= MATCH_IOU for other in after) for face in before)
        shifts += [_face_lab(output, face) - _face_lab(photo, face) for face in before]
    lightness = float(np.mean([d[0] for d in shifts])) if shifts else 0.0
    colour = float(np.mean([np.linalg.norm(d) for d in shifts])) if shifts else 0.0
    return FaceFigures(found, kept, lightness, colour)


def faces_kept(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> tuple[int, int]:
    """(faces found in the inputs, of those, found again at the same place in the outputs)."""
    figures = face_figures(inputs, outputs)
    return figures.found, figures.kept
