"""Frame geometry shared by still images, the file pipeline and live mode."""

from __future__ import annotations

import numpy as np


def output_size(width: int, height: int, rotation: int, long_side: int | None) -> tuple[int, int]:
    """Displayed (rotated) size bounded by long_side, rounded to even for 4:2:0 encoders."""
    if rotation % 180:
        width, height = height, width
    scale = min(1.0, long_side / max(width, height)) if long_side else 1.0
    even = lambda v: max(2, int(round(v * scale / 2)) * 2)  # noqa: E731
    return even(width), even(height)


def fit_long_side(rgb: np.ndarray, long_side: int | None) -> np.ndarray:
    """Downscale (never up) so the long side is at most `long_side`, keeping aspect."""
    import cv2

    if not long_side:
        return rgb
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
