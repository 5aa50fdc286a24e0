"""Small random changes of a photo for the temporal-consistency loss.

Compound regularization (Wang et al., AAAI 2020): between two video frames a region moves a
little, grows or shrinks a little, and picks up new sensor noise. A generator whose output
of a changed photo equals the same change applied to its output does not flicker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class FrameChange:
    """Bounds of the random change: shift (pixels), scale, rotation (degrees), noise (std on [0, 1])."""

    shift_px: float = 4.0
    scale: float = 0.05
    rotate_deg: float = 2.0
    noise_std: float = 0.02


class RandomFrameChange:
    """One random affine warp per image; `warp` applies it to any batch the same way."""

    def __init__(self, batch: torch.Tensor, change: FrameChange, generator: torch.Generator | None = None) -> None:
        n, _, h, w = batch.shape
        u = lambda: torch.rand(n, generator=generator) * 2 - 1  # noqa: E731
        scale = 1 + u() * change.scale
        angle = u() * math.radians(change.rotate_deg)
        # affine_grid works in [-1, 1] coordinates: a shift of s pixels is 2s/size.
        tx, ty = u() * 2 * change.shift_px / w, u() * 2 * change.shift_px / h
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        self.grid = F.affine_grid(theta.to(batch.device), [n, 1, h, w], align_corners=False)
        self.noise = torch.randn(batch.shape, generator=generator).to(batch.device) * change.noise_std

    def warp(self, batch: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(batch.float(), self.grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def changed_input(self, photo: torch.Tensor) -> torch.Tensor:
        return (self.warp(photo) + self.noise).clamp(0, 1)
