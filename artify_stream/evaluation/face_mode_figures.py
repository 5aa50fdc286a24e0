"""Face mode's own figures, beside the whole-frame ones: does the pasted face show a seam, and are
the aligned face crops cartoons?

Seam: colour pairs straddling the feathered mask's edge (an inner and an outer ellipse, 6% of the
crop inside and outside it, 64 points each) are compared (CIE76 in Lab, 3x3 means) in the face-mode
output and in the whole-frame cartoon at the same frame points. A pasted face that does not match
its surroundings adds difference across the ring; `seam_ratio` <= 1 means it adds none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

RING_POINTS = 64
RING_OFFSET = 0.06  # of the crop size, inside and outside the mask's ellipse


@dataclass
class FaceModeFigures:
    photos: int
    faces: int  # stylized in face mode, over all photos
    seam_face_mode: float  # mean colour difference across the edge ring in the face-mode output
    seam_whole_frame: float  # the same pairs in the whole-frame cartoon
    crop_p_cartoon: float | None  # the judge's P(cartoon) of the aligned cartoon crops

    @property
    def seam_ratio(self) -> float:
        return self.seam_face_mode / max(self.seam_whole_frame, 1e-6)

    def to_dict(self) -> dict:
        return asdict(self) | {"seam_ratio": self.seam_ratio}


def ring_points(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(inner, outer): RING_POINTS canonical-crop points just inside and outside the mask's ellipse."""
    from artify_stream.face_mode.align import MASK_AXES, MASK_CENTRE

    angles = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
    centre = np.array(MASK_CENTRE) * size
    axes = np.array(MASK_AXES) * size
    unit = np.stack([np.cos(angles), np.sin(angles)], 1)
    return centre + unit * (axes - RING_OFFSET * size), centre + unit * (axes + RING_OFFSET * size)


def across_ring(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Per ring point inside the frame: the Lab difference between the inner and the outer pixel."""
    inverse = cv2.invertAffineTransform(matrix)
    lab = cv2.cvtColor(cv2.blur(rgb, (3, 3)).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    h, w = rgb.shape[:2]
    inner, outer = (np.rint(p @ inverse[:, :2].T + inverse[:, 2]).astype(int) for p in ring_points(size))
    inside = (inner.min(1) >= 0) & (outer.min(1) >= 0) & (inner[:, 0] < w) & (outer[:, 0] < w) \
        & (inner[:, 1] < h) & (outer[:, 1] < h)
    a, b = lab[inner[inside, 1], inner[inside, 0]], lab[outer[inside, 1], outer[inside, 0]]
    return np.linalg.norm(a - b, axis=1)


def face_mode_figures(engine, photos: list[np.ndarray], judge=None, face_engine=None) -> FaceModeFigures:
    """`engine` on each photo whole, then in face mode (each photo on its own; the crops through
    `face_engine`, default `engine`)."""
    from artify_stream.face_mode import FaceOptions, FaceStylizer

    stylizer = FaceStylizer(engine, face_engine, options=FaceOptions(stream=False))
    size = stylizer.options.crop_size
    seam, whole, crops = [], [], []
    for photo in photos:
        photo = np.ascontiguousarray(photo)
        plain = np.asarray(engine(photo[None]))[0].copy()
        faced = np.asarray(stylizer(photo[None]))[0].copy()
        for face in stylizer.last_faces:
            seam.append(across_ring(faced, face.matrix, size))
            whole.append(across_ring(plain, face.matrix, size))
            crops.append(face.crop.copy())
    p = float(np.mean(judge.p_cartoon(crops))) if judge is not None and crops else None
    return FaceModeFigures(len(photos), len(crops), _mean(seam), _mean(whole), p)


def _mean(parts: list[np.ndarray]) -> float:
    return float(np.concatenate(parts).mean()) if parts else 0.0
