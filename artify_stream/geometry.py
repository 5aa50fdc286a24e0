"""Frame geometry shared by still images, the file pipeline and live mode."""

from __future__ import annotations

import numpy as np

from artify_stream.errors import InputError

MIN_SIDE = 4  # two stride-2 stages need at least 4 pixels


def check_stylizable(name: str, size: tuple[int, int], source_size: tuple[int, int], long_side: int | None) -> None:
    """InputError naming the input (and --size, when the bound is what made it small) unless
    `size` (width, height) is at least MIN_SIDE on both sides."""
    if min(size) >= MIN_SIDE:
        return
    least = f"{MIN_SIDE}x{MIN_SIDE} pixels at least"
    if long_side and min(source_size) >= MIN_SIDE:
        raise InputError(f"{name}: --size {long_side} makes its {source_size[0]}x{source_size[1]} pictures "
                         f"{size[0]}x{size[1]}, too small to stylize ({least}); pass a larger --size")
    raise InputError(f"{name}: its {source_size[0]}x{source_size[1]} pictures are too small to stylize ({least})")


def stylized_size(name: str, width: int, height: int, rotation: int, long_side: int | None) -> tuple[int, int]:
    """output_size, checked: the error names the file or stream it is about."""
    size = output_size(width, height, rotation, long_side)
    displayed = (height, width) if rotation % 180 else (width, height)
    check_stylizable(name, size, displayed, long_side)
    return size


def box_iou(a: tuple, b: tuple) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


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
