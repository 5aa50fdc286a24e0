"""Model-free measures of one cartoonization: input and output side by side, uint8 RGB arrays.

Every function takes (H, W, 3) uint8 RGB and returns a float; the definitions are the ones
`artify evaluate --help` and the README state.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Canny hysteresis thresholds (after a 3x3 Gaussian) used for both images: strong edges only,
#: the outlines a cartoon must keep, not skin or fabric texture.
CANNY_LOW, CANNY_HIGH = 100, 200
#: Edges of the output count as matching an input edge within this many pixels.
EDGE_TOLERANCE_PX = 2
#: A pixel is flat when its luminance gradient (Sobel / 8, grey levels per pixel) is below this.
FLAT_GRADIENT = 2.0
#: Tile side for the checkerboard measure (a multiple of 4).
CHECKER_TILE = 32


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma as float32 in [0, 255]."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def canny_edges(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (3, 3), 0)
    return cv2.Canny(gray, CANNY_LOW, CANNY_HIGH) > 0


def edge_f1(photo: np.ndarray, output: np.ndarray, tolerance: int = EDGE_TOLERANCE_PX) -> float:
    """F1 of the output's Canny edges against the photo's, an edge matching within `tolerance` px.

    Precision: share of output edge pixels within `tolerance` of a photo edge; recall: share of
    photo edge pixels within `tolerance` of an output edge. Two edgeless images score 1.
    """
    a, b = canny_edges(photo), canny_edges(output)
    if not a.any() and not b.any():
        return 1.0
    if not a.any() or not b.any():
        return 0.0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    near_a = cv2.dilate(a.astype(np.uint8), disk) > 0
    near_b = cv2.dilate(b.astype(np.uint8), disk) > 0
    precision = float((b & near_a).sum() / b.sum())
    recall = float((a & near_b).sum() / a.sum())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def colours_per_kpx(rgb: np.ndarray) -> float:
    """Distinct colours at 5 bits per channel, per 1000 pixels."""
    q = (rgb >> 3).astype(np.int32)
    codes = (q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2]
    return float(np.unique(codes).size * 1000.0 / codes.size)


def gradient_magnitude(rgb: np.ndarray) -> np.ndarray:
    """Luminance gradient in grey levels per pixel (Sobel 3x3 divided by its gain of 8)."""
    lum = luminance(rgb)
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return np.sqrt(gx * gx + gy * gy)


def flatness(rgb: np.ndarray, threshold: float = FLAT_GRADIENT) -> float:
    """Share of pixels whose luminance gradient is below `threshold` grey levels per pixel."""
    return float((gradient_magnitude(rgb) < threshold).mean())


def saturation(rgb: np.ndarray) -> float:
    """Mean HSV saturation in [0, 1]."""
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].mean() / 255.0)


def contrast(rgb: np.ndarray) -> float:
    """RMS contrast: standard deviation of the luminance, in grey levels."""
    return float(luminance(rgb).std())


def checkerboard(rgb: np.ndarray, tile: int = CHECKER_TILE) -> float:
    """Amplitude (grey levels) of the period-2 and period-4 pattern stride-2 up-convolutions leave.

    The luminance minus its 4x4 box mean keeps those periods; in each `tile` x `tile` block the
    16 phase means (y mod 4, x mod 4) of that residual are taken, and the part of their energy
    that the block's own noise does not explain is averaged over blocks. ~0 for a clean image;
    a pattern of amplitude a scores about a.
    """
    lum = luminance(rgb)
    h, w = (lum.shape[0] // tile) * tile, (lum.shape[1] // tile) * tile
    if h == 0 or w == 0:
        return 0.0
    # An even 4-wide box has zeros at 1/4 and 1/2 cycles per pixel: subtracting it keeps exactly them.
    residual = lum - cv2.blur(lum, (4, 4), borderType=cv2.BORDER_REFLECT)
    r = residual[:h, :w].reshape(h // tile, tile // 4, 4, w // tile, tile // 4, 4)
    phase = r.mean(axis=(1, 4))  # (tiles_y, 4, tiles_x, 4)
    phase = phase - phase.mean(axis=(1, 3), keepdims=True)
    energy = (phase**2).mean(axis=(1, 3))
    samples = (tile // 4) ** 2  # pixels behind each phase mean
    noise = r.var(axis=(1, 4)).mean(axis=(1, 3)) / samples * (15.0 / 16.0)
    return float(np.sqrt(max(0.0, float((energy - noise).mean()))))


#: Name -> function of one image; with edge F1 (a pair measure) these are the per-photo figures.
IMAGE_MEASURES = {
    "colours_per_kpx": colours_per_kpx,
    "flatness": flatness,
    "saturation": saturation,
    "contrast": contrast,
    "checkerboard": checkerboard,
}
