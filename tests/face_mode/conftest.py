"""Face-mode fixtures: frames built from the bundled sample portrait (a real face, dlib's real models)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from artify_stream.face_mode.detect import faces_missing
from artify_stream.image_files import read_image

SAMPLE = Path(__file__).resolve().parents[2] / "artify_stream" / "samples" / "astronaut-eileen-collins.jpg"


@pytest.fixture(autouse=True)
def _needs_dlib():
    if faces_missing():
        pytest.skip(faces_missing())


@pytest.fixture(scope="session")
def head() -> np.ndarray:
    """The portrait's head, 200x200 (the face about 90 px wide: found without upsampling)."""
    rgb = read_image(SAMPLE).rgb
    return np.ascontiguousarray(cv2.resize(rgb[20:200, 80:260], (200, 200), interpolation=cv2.INTER_AREA))


def frame_with(heads: list[tuple[np.ndarray, int, int]], size=(360, 640)) -> np.ndarray:
    """A grey frame with each head pasted at (x, y) (cut by the border where it runs over)."""
    frame = np.full((*size, 3), 110, np.uint8)
    for img, x, y in heads:
        h, w = img.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, size[1]), min(y + h, size[0])
        if x1 > x0 and y1 > y0:
            frame[y0:y1, x0:x1] = img[y0 - y:y1 - y, x0 - x:x1 - x]
    return frame


def invert(frames):
    """A stand-in engine whose output is easy to tell from its input (the test's own, not a model)."""
    return 255 - np.asarray(frames)
