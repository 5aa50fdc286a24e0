"""Flicker: how much a stylized clip changes beyond what the input's own motion explains.

For each pair of consecutive input frames, DIS optical flow (both directions) tells where every
pixel of frame t+1 was in frame t; pixels failing the forward-backward check (occluded, or
flow that does not invert) are masked out. The warping error of a clip is the mean absolute
difference (grey levels, over RGB) between frame t+1 and frame t warped along that flow, over
the unmasked pixels. Measured on the input it is the floor (noise, lighting, flow error);
the ratio output / input is the flicker ratio: 1 means no more change than the input had.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from artify_stream.errors import InputError
from artify_stream.media_io import read_frames

#: A pair whose forward-backward check keeps less than this share of pixels is a cut: skipped.
MIN_CONSISTENT_SHARE = 0.5


@dataclass(frozen=True)
class PairWarp:
    """Where each pixel of frame t+1 comes from in frame t, and which pixels to trust."""

    map_x: np.ndarray
    map_y: np.ndarray
    mask: np.ndarray  # bool (H, W)


@dataclass
class ClipMotion:
    """A clip's input frames and the flow between consecutive ones, computed once per clip."""

    frames: list[np.ndarray]
    pairs: dict[int, PairWarp]  # t -> warp of frame t onto frame t+1 (cuts left out)

    @classmethod
    def from_frames(cls, frames: list[np.ndarray]) -> ClipMotion:
        if len(frames) < 2:
            raise InputError(f"a flicker measure needs at least 2 frames, got {len(frames)}")
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
        h, w = grays[0].shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        pairs = {}
        for t in range(len(frames) - 1):
            back = dis.calc(grays[t + 1], grays[t], None)  # frame t+1 pixel -> its place in frame t
            fwd = dis.calc(grays[t], grays[t + 1], None)
            map_x, map_y = xx + back[..., 0], yy + back[..., 1]
            fwd_there = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            # Sundaram et al. 2010: the two flows must cancel, up to a tolerance growing with speed.
            mismatch = ((back + fwd_there) ** 2).sum(-1)
            tolerance = 0.01 * ((back**2).sum(-1) + (fwd_there**2).sum(-1)) + 0.5
            inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
            mask = (mismatch <= tolerance) & inside
            if mask.mean() >= MIN_CONSISTENT_SHARE:
                pairs[t] = PairWarp(map_x, map_y, mask)
        if not pairs:
            raise InputError("no two consecutive frames of the clip could be matched (every pair is a cut)")
        return cls(frames, pairs)

    def warping_error(self, frames: list[np.ndarray]) -> float:
        """Mean warping error of `frames` (the input's or a stylization of it) along the input's flow."""
        if len(frames) != len(self.frames):
            raise ValueError(f"expected {len(self.frames)} frames, got {len(frames)}")
        errors = []
        for t, warp in self.pairs.items():
            moved = cv2.remap(frames[t], warp.map_x, warp.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            diff = np.abs(frames[t + 1].astype(np.float32) - moved.astype(np.float32)).mean(-1)
            errors.append(float(diff[warp.mask].mean()))
        return float(np.mean(errors))


def read_clip_frames(path: Path, max_frames: int, long_side: int | None) -> list[np.ndarray]:
    """The first `max_frames` frames of a clip as RGB uint8, downscaled so the long side fits."""
    def fit(w: int, h: int) -> tuple[int, int]:
        scale = min(1.0, long_side / max(w, h)) if long_side else 1.0
        # Multiples of 4: the generator's size, so no padding changes what is measured.
        return max(4, int(w * scale) // 4 * 4), max(4, int(h * scale) // 4 * 4)

    frames = read_frames(path, max_frames=max_frames, fit=fit)
    if len(frames) < 2:
        raise InputError(f"{path}: fewer than 2 frames")
    return frames
