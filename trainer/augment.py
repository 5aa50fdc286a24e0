"""Differentiable augmentation of everything a discriminator sees (DiffAugment, Zhao et al., NeurIPS 2020).

With a small cartoon set, D memorizes its reals; augmenting real *and* fake images alike, with
ops that gradients pass through, keeps D from overfitting without leaking the augmentation into
G's outputs. Images are RGB in [0, 1]; every op draws its own random parameters per image.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from trainer.config import DIFF_AUGMENT_OPS as POLICIES


def _color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    rand = lambda: torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype)  # noqa: E731
    x = x + (rand() - 0.5) * 0.5  # brightness (the paper's +-0.5 on [-1, 1])
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (rand() * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (rand() + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = (gy.unsqueeze(0) + ty).clamp(-1, h)  # -1 and h index the zero padding
    gx = (gx.unsqueeze(0) + tx).clamp(-1, w)
    padded = F.pad(x, (1, 1, 1, 1))
    index = ((gy + 1) * (w + 2) + (gx + 1)).view(n, 1, -1).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, index).view_as(x)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    inside = ((gy.unsqueeze(0) - cy).abs() < ch // 2) & ((gx.unsqueeze(0) - cx).abs() < cw // 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def parse_policy(policy: str) -> tuple[str, ...]:
    """"color,translation,cutout" -> its ops; "" -> none. Unknown names are an error."""
    ops = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in ops if p not in _OPS]
    if unknown:
        raise ValueError(f"unknown DiffAugment ops {unknown}; choose from {POLICIES}")
    return ops


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    for op in parse_policy(policy):
        x = _OPS[op](x)
    return x
