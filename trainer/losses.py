"""Losses as small pure functions: content L1 and the edge-promoting adversarial loss."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def content_loss(features_out: torch.Tensor, features_photo: torch.Tensor) -> torch.Tensor:
    """L1 between backbone features of G(photo) and of the photo."""
    return F.l1_loss(features_out.float(), features_photo.float())


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(
    real_cartoon: torch.Tensor, smoothed_cartoon: torch.Tensor, generated: torch.Tensor
) -> torch.Tensor:
    """Edge-promoting: real cartoons are real; edge-smoothed cartoons and G(photo) are fake."""
    return _bce(real_cartoon, 1.0) + _bce(smoothed_cartoon, 0.0) + _bce(generated, 0.0)


def generator_adversarial_loss(generated: torch.Tensor) -> torch.Tensor:
    """G wants D to call G(photo) a real cartoon."""
    return _bce(generated, 1.0)
