"""Classical OpenCV cartoon filters, with the engine interface, to measure the model against.

opencv-stylization  `cv2.stylization` (edge-preserving smoothing + edge darkening), OpenCV's defaults
opencv-bilateral    the classic cartoon filter: repeated bilateral filtering at half size for flat
                    colour, adaptive-threshold edges of a median-blurred gray for the outlines
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from artify_stream.engine_api import EngineSpec


def opencv_stylization(rgb: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(cv2.stylization(bgr, sigma_s=60, sigma_r=0.45), cv2.COLOR_BGR2RGB)


def bilateral_cartoon(rgb: np.ndarray, passes: int = 5) -> np.ndarray:
    h, w = rgb.shape[:2]
    small = cv2.pyrDown(rgb)
    for _ in range(passes):
        small = cv2.bilateralFilter(small, 9, 9, 7)
    colour = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 7)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2)
    return cv2.bitwise_and(colour, colour, mask=edges)


class FrameFilter:
    """A per-image filter behind the engine interface: uint8 (N, H, W, 3) in and out, NumPy or torch
    as given (NumPy needs no torch: the baselines' own memory figures stay their own)."""

    def __init__(self, name: str, filter_one: Callable[[np.ndarray], np.ndarray]) -> None:
        self.name = name
        self.filter_one = filter_one
        self.spec = EngineSpec(name, precision="uint8")
        self.reason = "a classic OpenCV filter, for comparison"

    def input_buffer(self, shape: tuple[int, int, int, int]) -> np.ndarray:
        return np.empty(shape, dtype=np.uint8)

    def __call__(self, frames):
        given = frames if isinstance(frames, np.ndarray) else frames.cpu().numpy()
        out = np.stack([self.filter_one(np.ascontiguousarray(f)) for f in given])
        if isinstance(frames, np.ndarray):
            return out
        import torch

        return torch.from_numpy(out)


BASELINES: dict[str, FrameFilter] = {
    "opencv-stylization": FrameFilter("opencv-stylization", opencv_stylization),
    "opencv-bilateral": FrameFilter("opencv-bilateral", bilateral_cartoon),
}
