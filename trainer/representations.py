"""The three image representations of White-box Cartoonization (Wang & Yu, CVPR 2020).

surface    an edge-preserving smoothing (guided filter of the image by itself): what a
           discriminator sees to judge flat, smooth shading without texture.
texture    a grayscale made with random channel weights: what a discriminator sees to judge
           strokes and outlines without being fooled by colour.
structure  the image flattened to superpixels (SLIC or Felzenszwalb), each filled with one
           colour: the target that pulls G's output towards flat regions with clean borders. A
           mean-shift flattening (mode seeking in space and colour) is offered beside them: it
           removes variation inside regions but keeps thin dark lines, which superpixels average away.

Images are float tensors in [0, 1], (N, C, H, W).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

#: Luma weights and the half-width of the random range around each (as in White-box).
GRAY_WEIGHTS = (0.299, 0.587, 0.114)
GRAY_JITTER = 0.1


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, the window shrunk at the borders.

    Two 1-D passes (a rectangle's count is the product of its sides' counts): measured 2x
    faster than one 2-D pooling here, and channels-first (pooling channels-last is slower still).
    """
    n, c, h, w = x.shape
    k = 2 * radius + 1
    y = x.float().contiguous().reshape(n * c, 1, h, w)
    y = F.avg_pool2d(y, (k, 1), stride=1, padding=(radius, 0), count_include_pad=False)
    y = F.avg_pool2d(y, (1, k), stride=1, padding=(0, radius), count_include_pad=False)
    return y.reshape(n, c, h, w)


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """He et al.'s guided filter (per channel, gray-guide form): src smoothed along guide's edges."""
    # The four window means in one pass, and the two at the end in another.
    mean_g, mean_s, mean_gs, mean_gg = box_filter(torch.cat([guide, src, guide * src, guide * guide]), radius).chunk(4)
    a = (mean_gs - mean_g * mean_s) / (mean_gg - mean_g * mean_g + eps)
    b = mean_s - a * mean_g
    mean_a, mean_b = box_filter(torch.cat([a, b]), radius).chunk(2)
    return mean_a * guide + mean_b


def surface(rgb: torch.Tensor, radius: int = 5, eps: float = 0.05) -> torch.Tensor:
    """Edge-preserving smoothing; eps 0.05 on [0, 1] is White-box's 0.2 on [-1, 1]."""
    rgb = rgb.float()
    return guided_filter(rgb, rgb, radius, eps)


def random_gray_weights(generator: torch.Generator | None = None) -> torch.Tensor:
    """Channel weights around the luma weights, drawn once per step for every batch alike."""
    base = torch.tensor(GRAY_WEIGHTS)
    jitter = (torch.rand(3, generator=generator) * 2 - 1) * GRAY_JITTER
    weights = (base + jitter).clamp_min(0.01)
    return weights / weights.sum()


def texture(rgb: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) grayscale with the given channel weights."""
    return (rgb.float() * weights.to(rgb.device).view(1, 3, 1, 1)).sum(1, keepdim=True)


def _segments(rgb: np.ndarray, method: str, count: int) -> np.ndarray:
    from skimage.segmentation import felzenszwalb, slic

    if method == "slic":
        return slic(rgb, n_segments=count, compactness=10.0, start_label=0)
    # Felzenszwalb has no segment count: scale the merge threshold with the image area instead.
    h, w = rgb.shape[:2]
    return felzenszwalb(rgb, scale=max(1.0, h * w / count / 4), sigma=0.8, min_size=max(4, h * w // (count * 4)))


def _fill(rgb: np.ndarray, labels: np.ndarray, colouring: str) -> np.ndarray:
    """Each segment in one colour: its mean, or (adaptive) mean, median or a blend by how busy it is."""
    flat_labels = labels.reshape(-1)
    pixels = rgb.reshape(-1, 3).astype(np.float64)
    count = np.bincount(flat_labels).astype(np.float64)
    count[count == 0] = 1
    mean = np.stack([np.bincount(flat_labels, pixels[:, c], minlength=count.size) for c in range(3)], 1) / count[:, None]
    if colouring == "mean":
        return mean[flat_labels].reshape(rgb.shape).astype(np.float32)
    # White-box's adaptive colouring: a busy segment (high std) takes its median, which keeps
    # contrast that a mean would wash out; a calm one its mean; in between, half of each.
    sq = np.stack([np.bincount(flat_labels, pixels[:, c] ** 2, minlength=count.size) for c in range(3)], 1) / count[:, None]
    std = np.sqrt(np.clip(sq - mean**2, 0, None)).mean(1) * 255.0
    starts = np.concatenate([[0], np.cumsum(np.bincount(flat_labels, minlength=count.size))[:-1]])
    median = np.empty_like(mean)
    for c in range(3):
        # Sort by (label, value): the median of a segment sits in the middle of its run.
        by_value = np.lexsort((pixels[:, c], flat_labels))
        median[:, c] = pixels[by_value[np.minimum(starts + (count.astype(np.int64) // 2), flat_labels.size - 1)], c]
    p = np.where(std < 20, 0.0, np.where(std < 40, 0.5, 1.0))[:, None]
    colour = (1 - p) * mean + p * median
    return colour[flat_labels].reshape(rgb.shape).astype(np.float32)


#: Mean-shift flattening: spatial window radius (px) and colour radius (levels of 255).
MEANSHIFT_SPATIAL, MEANSHIFT_COLOUR = 5, 20


def _meanshift(rgb: np.ndarray) -> np.ndarray:
    import cv2

    as_uint8 = (rgb * 255 + 0.5).astype(np.uint8)
    return cv2.pyrMeanShiftFiltering(as_uint8, MEANSHIFT_SPATIAL, MEANSHIFT_COLOUR).astype(np.float32) / 255.0


def superpixel_flatten(rgb: torch.Tensor, method: str = "slic", segments: int = 200, colouring: str = "adaptive") -> torch.Tensor:
    """Each image of the batch flattened (on the CPU; returned on rgb's device): to superpixels
    filled by `colouring`, or by mean shift (`segments` and `colouring` do not apply to it)."""
    images = rgb.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    if method == "meanshift":
        flat = [_meanshift(np.ascontiguousarray(im)) for im in images]
    else:
        flat = [_fill(im, _segments(im, method, segments), colouring) for im in images]
    return torch.from_numpy(np.stack(flat)).permute(0, 3, 1, 2).to(rgb.device)


def xdog_ink(gray: np.ndarray, sigma: float = 0.8, k: float = 1.6, sharpen: float = 20.0, threshold: float = 0.02,
             steepness: float = 10.0) -> np.ndarray:
    """Winnemöller's XDoG line drawing of a uint8 gray image: 1 on paper, falling towards 0 in ink."""
    import cv2

    g = gray.astype(np.float32) / 255.0
    dog = (1 + sharpen) * cv2.GaussianBlur(g, (0, 0), sigma) - sharpen * cv2.GaussianBlur(g, (0, 0), sigma * k)
    return np.clip(np.where(dog >= threshold, 1.0, 1.0 + np.tanh(steepness * (dog - threshold))), 0.0, 1.0)


def cel_colours(rgb: np.ndarray, tones: int = 12) -> np.ndarray:
    """Cel shading: the image's colours quantized to `tones` (k-means in Lab), small islands removed."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    cv2.setRNGSeed(0)  # the same photo always gets the same palette (targets are cached by content)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, labels, centres = cv2.kmeans(lab, tones, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    quantized = centres[labels.ravel()].reshape(rgb.shape).astype(np.uint8)
    return cv2.medianBlur(cv2.cvtColor(quantized, cv2.COLOR_LAB2RGB), 5)


def toon_rendering(rgb: np.ndarray, tones: int = 12, outline_px: int = 2, saturation: float = 1.15) -> np.ndarray:
    """A classical cartoon of a uint8 RGB photo: edge-preserving smoothing, cel-shaded colours (a
    few flat tones whose borders follow the photo's colour contours), a livelier palette, and
    XDoG ink lines `outline_px` wide on top.

    The pseudo-paired target of `init_loss="toon"` and `toon_weight`: it shows G flat colour and
    outlines from the first step. (A superpixel fill, White-box's structure representation, was
    tried first: its region borders are arbitrary, so G averaged them back into gradients.)
    """
    import cv2

    smooth = cv2.bilateralFilter(cv2.bilateralFilter(rgb, 9, 40, 5), 9, 40, 5)
    hsv = cv2.cvtColor(cel_colours(smooth, tones), cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1].astype(np.float32) * saturation, 0, 255).astype(np.uint8)
    flat = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255.0
    ink = xdog_ink(cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY))
    if outline_px > 1:
        ink = cv2.erode(ink, np.ones((outline_px, outline_px), np.uint8))  # widen the dark lines
    return (np.clip(flat * ink[..., None], 0, 1) * 255 + 0.5).astype(np.uint8)
