"""Losses as small pure functions.

The paper's: content L1 on backbone features and the edge-promoting adversarial loss (real
cartoons real; edge-smoothed cartoons and G(photo) fake). Beyond it, each behind a config switch:
LSGAN and hinge adversarial forms, total variation, AnimeGANv2's YUV colour loss and grayscale
style (Gram) loss, and the compound-regularization temporal loss.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from artify_stream.errors import ConfigError
from trainer.config import GAN_LOSSES


def content_loss(features_out: torch.Tensor, features_photo: torch.Tensor) -> torch.Tensor:
    """L1 between backbone features of G(photo) and of the photo (or any target image)."""
    return F.l1_loss(features_out.float(), features_photo.float())


def _check_kind(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ConfigError(f"unknown adversarial loss {kind!r}; choose one of {GAN_LOSSES}")


def _real_term(kind: str, logits: torch.Tensor) -> torch.Tensor:
    _check_kind(kind)
    logits = logits.float()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    if kind == "lsgan":
        return (logits - 1).pow(2).mean()
    return F.relu(1 - logits).mean()  # hinge


def _fake_term(kind: str, logits: torch.Tensor) -> torch.Tensor:
    _check_kind(kind)
    logits = logits.float()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
    if kind == "lsgan":
        return logits.pow(2).mean()
    return F.relu(1 + logits).mean()  # hinge


def discriminator_loss(real: torch.Tensor, *fakes: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """D's loss: `real` logits should say real, each of `fakes` fake (edge-promoting: smoothed cartoons and G(photo))."""
    return _real_term(kind, real) + sum(_fake_term(kind, f) for f in fakes)


def generator_adversarial_loss(generated: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """G wants D to call G(photo) a real cartoon."""
    _check_kind(kind)
    if kind == "hinge":
        return -generated.float().mean()
    return _real_term(kind, generated)


def total_variation(rgb: torch.Tensor) -> torch.Tensor:
    """Anisotropic L1 total variation: favours piecewise-flat images and keeps sharp steps."""
    rgb = rgb.float()
    return (rgb[..., 1:, :] - rgb[..., :-1, :]).abs().mean() + (rgb[..., :, 1:] - rgb[..., :, :-1]).abs().mean()


def edge_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the lightness steps (next pixel right and down) of output and target: a blurred
    line costs as much as a missing one, where plain pixel L1 barely notices either."""
    a, b = rgb_to_yuv(output)[:, :1], rgb_to_yuv(target)[:, :1]
    return (F.l1_loss(a[..., :, 1:] - a[..., :, :-1], b[..., :, 1:] - b[..., :, :-1])
            + F.l1_loss(a[..., 1:, :] - a[..., :-1, :], b[..., 1:, :] - b[..., :-1, :]))


def rgb_to_yuv(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 YUV of RGB in [0, 1]."""
    m = rgb.new_tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])
    return torch.einsum("ij,njhw->nihw", m, rgb.float())


def colour_loss(output: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """AnimeGANv2: L1 on Y, Huber on U and V: keep the photo's colours, let brightness restyle."""
    a, b = rgb_to_yuv(output), rgb_to_yuv(photo)
    return F.l1_loss(a[:, :1], b[:, :1]) + F.smooth_l1_loss(a[:, 1:], b[:, 1:])


def region_colour_loss(output: torch.Tensor, photo: torch.Tensor, cell: int = 8) -> torch.Tensor:
    """L1 between the YUV means of `cell` x `cell` regions of output and photo: each region keeps
    the photo's colour (skin stays the person's own), while the edges and texture inside it are free
    to restyle; a thin ink line hardly moves a region's mean, so lines are not averaged away."""
    a = F.avg_pool2d(rgb_to_yuv(output), cell)
    b = F.avg_pool2d(rgb_to_yuv(photo), cell)
    return F.l1_loss(a, b)


def local_spread(luma: torch.Tensor, window: int = 8) -> torch.Tensor:
    """Standard deviation of lightness in window x window cells (stride window/2): how patchy a region is."""
    mean = F.avg_pool2d(luma, window, stride=window // 2)
    square = F.avg_pool2d(luma * luma, window, stride=window // 2)
    return (square - mean * mean).clamp_min(1e-6).sqrt()


def blotch_loss(output: torch.Tensor, photo: torch.Tensor, window: int = 8, slack: float = 0.02,
                ratio: float = 1.5) -> torch.Tensor:
    """Lightness spread the output adds where the photo has none: black-and-peach patches on evenly lit
    (dark) skin, a mossy forest turned into black blobs. A cell may be `ratio` times as spread as the
    photo is in it or a neighbouring cell (plus `slack`): cells at the photo's edges are spread
    already, so ink along real edges costs nothing; patches on evenly lit skin do."""
    from artify_stream.generator import luma

    allowed = F.max_pool2d(local_spread(luma(photo.float()), window), 3, stride=1, padding=1)
    added = local_spread(luma(output.float()), window) - ratio * allowed - slack
    return added.clamp_min(0.0).mean()


def _boxes(images: torch.Tensor, boxes) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, pixels): the pixels of unit-coordinate boxes (x0, y0, x1, y1), side by side."""
    h, w = images.shape[-2:]
    return torch.cat([images[..., int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)].flatten(2) for x0, y0, x1, y1 in boxes], 2)


def face_spread_loss(output: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """On aligned face crops: the lightness spread over cheeks and forehead beyond the photo's, so
    the skin is not broken into dark and light patches (what `artify evaluate` measures per skin tone)."""
    from artify_stream.face_mode.align import CANONICAL_SKIN
    from artify_stream.generator import luma

    out, ref = _boxes(luma(output.float()), CANONICAL_SKIN), _boxes(luma(photo.float()), CANONICAL_SKIN)
    return (out.std(2) - ref.std(2)).clamp_min(0.0).mean()


def face_steps_loss(output: torch.Tensor, photo: torch.Tensor, ratio: float = 1.5, slack: float = 0.02) -> torch.Tensor:
    """On aligned face crops: hard lightness steps over cheeks and forehead where the photo's
    shading is soft. A highlight on dark skin is a gentle slope in the photo; drawn as a lighter
    flat patch it is a step at the patch's border, which this prices (the spread terms do not: two
    flat levels can spread no more than the photo's slope). A step may be `ratio` times the photo's
    steepest nearby (5 px) plus `slack`."""
    from artify_stream.face_mode.align import CANONICAL_SKIN
    from artify_stream.generator import luma

    def steps(images: torch.Tensor) -> torch.Tensor:
        lightness = luma(images.float())
        dx = F.pad((lightness[..., :, 1:] - lightness[..., :, :-1]).abs(), (0, 1, 0, 0))
        dy = F.pad((lightness[..., 1:, :] - lightness[..., :-1, :]).abs(), (0, 0, 0, 1))
        return torch.maximum(dx, dy)

    allowed = ratio * F.max_pool2d(steps(photo), 5, stride=1, padding=2) + slack
    return _boxes((steps(output) - allowed).clamp_min(0.0), CANONICAL_SKIN).mean()


def face_marks_loss(output: torch.Tensor, photo: torch.Tensor, sigma: float = 1 / 40) -> torch.Tensor:
    """On aligned face crops: 1 - the correlation of the lightness detail (lightness minus its blur,
    `sigma` x the crop) of output and photo over each eye with its brow, the nose's tip and the mouth.
    A correlation, so ink may be as strong as the style likes and a dark face's features count as
    much as a pale one's; what costs is an eye, brow or mouth not drawn where the photo has it."""
    from torchvision.transforms.functional import gaussian_blur

    from artify_stream.face_mode.align import CANONICAL_MARKS
    from artify_stream.generator import luma

    s = max(sigma * output.shape[-1], 0.5)
    kernel = 2 * int(3 * s) + 1

    def detail(images: torch.Tensor) -> torch.Tensor:
        lightness = luma(images.float())
        return lightness - gaussian_blur(lightness, [kernel, kernel], [s, s])

    out, ref = detail(output), detail(photo)
    losses = []
    for box in CANONICAL_MARKS:
        o, r = _boxes(out, (box,)).flatten(1), _boxes(ref, (box,)).flatten(1)
        o, r = o - o.mean(1, keepdim=True), r - r.mean(1, keepdim=True)
        losses.append(1 - (o * r).sum(1) / (o.norm(dim=1) * r.norm(dim=1)).clamp_min(1e-6))
    return torch.stack(losses, 1).mean()


def contrast_stretched(output: torch.Tensor, photo: torch.Tensor, spread: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and photo under the same per-image affine that gives the photo's face a lightness spread
    of `spread`: a dark face's eyes, brows and mouth weigh as much in a feature loss as a pale face's."""
    from artify_stream.face_mode.align import CANONICAL_FACE
    from artify_stream.generator import luma

    face = _boxes(luma(photo.float()), (CANONICAL_FACE,))
    mean, std = face.mean(2, keepdim=True)[..., None], face.std(2, keepdim=True)[..., None].clamp_min(0.02)
    gain = spread / std
    return (output.float() - mean) * gain + 0.5, (photo.float() - mean) * gain + 0.5


def gram(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    f = features.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def gray_style_loss(features_out_gray: torch.Tensor, features_cartoon_gray: torch.Tensor) -> torch.Tensor:
    """AnimeGANv2: L1 between Gram matrices of backbone features of grayscale output and cartoons."""
    return F.l1_loss(gram(features_out_gray), gram(features_cartoon_gray))


def temporal_loss(output_of_changed: torch.Tensor, changed_output: torch.Tensor) -> torch.Tensor:
    """Compound regularization: G(T(x) + noise) should equal T(G(x))."""
    return F.l1_loss(output_of_changed.float(), changed_output.float())
