"""The canonical face crop: eyes level at fixed places, room for hair above and the chin below.

A similarity transform (rotation, scale, shift) takes the two eye centres to CANONICAL_EYES in a
`size` x `size` crop; its inverse puts the stylized crop back, blended through a feathered mask
so no edge shows.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Eye centres in a unit crop: 32% of the width apart, 40% down (hair above, chin and neck below).
CANONICAL_EYES = np.array([[0.34, 0.40], [0.66, 0.40]], np.float32)
#: Skin in a unit canonical crop, boxes (x0, y0, x1, y1): both cheeks below the eyes, the forehead above the brows.
CANONICAL_SKIN = ((0.22, 0.50, 0.36, 0.62), (0.64, 0.50, 0.78, 0.62), (0.38, 0.10, 0.62, 0.18))
#: The face itself in a unit canonical crop (brows to chin, cheek to cheek): what face terms look at.
#: Where a face is told apart, boxes in a unit canonical crop: each eye with its brow, the nose's
#: tip, the mouth (dlib's 68 points on 12 aligned held-back portraits: brows 0.29-0.35 down, eyes
#: 0.37-0.41, nose tip to 0.64, mouth 0.70-0.80).
CANONICAL_MARKS = ((0.18, 0.25, 0.48, 0.46), (0.52, 0.25, 0.82, 0.46), (0.38, 0.52, 0.62, 0.66), (0.30, 0.66, 0.70, 0.84))
CANONICAL_FACE = (0.20, 0.25, 0.80, 0.85)


def alignment(eyes: np.ndarray, size: int) -> np.ndarray:
    """2x3 matrix taking frame coordinates to the canonical crop (eyes: image-left eye first)."""
    src, dst = eyes.astype(np.float32), CANONICAL_EYES * size
    d_src, d_dst = src[1] - src[0], dst[1] - dst[0]
    scale = np.hypot(*d_dst) / max(np.hypot(*d_src), 1e-6)
    angle = np.arctan2(d_src[1], d_src[0]) - np.arctan2(d_dst[1], d_dst[0])
    c, s = scale * np.cos(-angle), scale * np.sin(-angle)
    rot = np.array([[c, -s], [s, c]], np.float32)
    shift = dst.mean(0) - rot @ src.mean(0)
    return np.hstack([rot, shift[:, None]]).astype(np.float32)


def aligned_crop(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    # Reflected borders: a face cut by the frame's edge still gives a whole crop to stylize.
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


#: The pasted face's ellipse in a unit canonical crop: centre (x, y) and half-axes (over face and hair).
MASK_CENTRE = (0.5, 0.47)
MASK_AXES = (0.40, 0.46)


def feathered_mask(size: int, feather: float = 0.12, scale: float = 1.0) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the MASK ellipse (`scale` x its axes), its edge blurred by
    `feather` x size."""
    mask = np.zeros((size, size), np.float32)
    centre = (int(size * MASK_CENTRE[0]), int(size * MASK_CENTRE[1]))
    axes = (int(size * MASK_AXES[0] * scale), int(size * MASK_AXES[1] * scale))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    k = max(3, int(size * feather) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)


def paste(canvas: np.ndarray, crop: np.ndarray, mask: np.ndarray, matrix: np.ndarray,
          within: np.ndarray | None = None) -> np.ndarray:
    """Blend `crop` (canonical) into `canvas` (frame) in place through `mask`, by the inverse of
    `matrix`; only the face's bounding rectangle is touched. `within` (frame-sized, 0..1) limits it."""
    h, w = canvas.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    size = crop.shape[0]
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float32)
    frame_corners = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.floor(frame_corners.min(0)).astype(int)
    x1, y1 = np.ceil(frame_corners.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return canvas
    local = inverse.copy()
    local[:, 2] -= (x0, y0)
    region = (x1 - x0, y1 - y0)
    face = cv2.warpAffine(crop, local, region, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, local, region, flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    if within is not None:
        alpha = alpha * within[y0:y1, x0:x1, None]
    patch = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (patch + alpha * (face.astype(np.float32) - patch) + 0.5).astype(np.uint8)
    return canvas
