"""The parts beyond the paper: representations, extra losses, the frame change, the epoch pick."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from artify_stream.errors import ConfigError
from trainer import losses as L
from trainer.config import TrainConfig
from trainer.critics import build_critics, frozen
from trainer.gan_step import Training
from trainer.discriminator import Discriminator
from trainer.representations import box_filter, guided_filter, random_gray_weights, superpixel_flatten, surface, texture
from trainer.selection import best_epoch
from trainer.temporal import FrameChange, RandomFrameChange
from tests.conftest import make_picture


def picture_batch(n=2, size=48):
    return torch.stack([torch.from_numpy(make_picture(size, size, seed=s)).permute(2, 0, 1).float() / 255 for s in range(n)])


def test_box_filter_matches_pooling_with_shrunk_borders():
    x = torch.rand(2, 3, 20, 23)
    ref = F.avg_pool2d(x, 7, stride=1, padding=3, count_include_pad=False)
    assert torch.allclose(box_filter(x, 3), ref, atol=1e-6)


def test_surface_smooths_texture_but_keeps_a_step_edge():
    step = torch.full((1, 3, 32, 32), 0.3)
    step[..., 16:] = 0.7
    noisy = step + 0.03 * torch.randn(step.shape, generator=torch.Generator().manual_seed(0))
    smooth = surface(noisy)
    assert smooth[..., 1:9].std() < 0.3 * noisy[..., 1:9].std()  # texture gone (away from the edge)
    assert (smooth[..., 20:].mean() - smooth[..., :12].mean()) > 0.35  # the edge stays
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(guided_filter(flat, flat, 2, 0.01), flat, atol=1e-5)


def test_texture_is_a_weighted_gray_near_luma():
    w = random_gray_weights(torch.Generator().manual_seed(0))
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    assert torch.allclose(w, torch.tensor([0.299, 0.587, 0.114]), atol=0.1)
    x = picture_batch()
    g = texture(x, w)
    assert g.shape == (2, 1, 48, 48)
    assert torch.allclose(g, (x * w.view(1, 3, 1, 1)).sum(1, keepdim=True))


@pytest.mark.parametrize("method", ["slic", "felzenszwalb"])
@pytest.mark.parametrize("colouring", ["mean", "adaptive"])
def test_superpixels_flatten_to_few_colours(method, colouring):
    x = picture_batch()
    x = (x + 0.03 * torch.randn_like(x)).clamp(0, 1)  # texture inside the shapes
    flat = superpixel_flatten(x, method, segments=30, colouring=colouring)
    assert flat.shape == x.shape
    for before, after in zip(x, flat):
        colours = lambda t: len(np.unique((t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8).reshape(-1, 3), axis=0))  # noqa: E731
        assert colours(after) < 0.05 * colours(before)
        assert (after - before).abs().mean() < 0.1  # the picture is still there


def test_meanshift_flattening_keeps_a_thin_dark_line():
    x = torch.full((1, 3, 32, 32), 0.6)
    x += 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))  # texture in a flat region
    x[..., 15:17, :] = 0.05  # a 2 px ink line
    flat = superpixel_flatten(x.clamp(0, 1), "meanshift")
    assert flat[..., :10, :].std() < 0.5 * x[..., :10, :].std()  # the texture flattens
    assert flat[..., 15:17, :].mean() < 0.1  # the line stays dark
    slic = superpixel_flatten(x.clamp(0, 1), "slic", segments=4, colouring="mean")
    assert slic[..., 15:17, :].mean() > flat[..., 15:17, :].mean()  # superpixels average it away


@pytest.mark.parametrize("scope", ["all", "scenes"])
def test_structure_scoped_to_scenes_flattens_only_the_draws_without_a_face(scope):
    """With `structure_scope="scenes"` the structure term costs texture in a scene's output and
    leaves a portrait's (its eyes and skin are the face terms' to hold) alone."""
    texture = 0.5 + 0.1 * torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    fake = texture.clamp(0, 1).requires_grad_()
    config = TrainConfig(structure_weight=1.0, structure_space="pixels", superpixel="meanshift",
                         structure_scope=scope, face_share=0.5)
    trainer = SimpleNamespace(config=config, content=None)  # the pixel form needs no backbone
    scene = torch.tensor([False, True])  # a portrait, then a scene
    cost = Training._structure_term(trainer, fake, fake.detach(), scene)
    cost.backward()
    portrait_grad, scene_grad = fake.grad.abs().sum(dim=(1, 2, 3))
    assert cost > 0 and scene_grad > 0
    assert (portrait_grad == 0) if scope == "scenes" else (portrait_grad > 0)
    no_scene = Training._structure_term(trainer, fake, fake.detach(), torch.tensor([False, False]))
    assert (no_scene == 0) if scope == "scenes" else (no_scene > 0)


def test_structure_scope_is_checked():
    with pytest.raises(ConfigError, match="structure_scope"):
        TrainConfig(structure_scope="faces")
    with pytest.raises(ConfigError, match="needs face_share"):
        TrainConfig(structure_weight=1.0, structure_scope="scenes")  # scenes are known only where faces were looked for
    with pytest.raises(ConfigError, match="scene_scale needs face_share"):
        TrainConfig(scene_scale=(0.5, 1.0))
    with pytest.raises(ConfigError, match="scene_scale must be"):
        TrainConfig(scene_scale=(1.0, 0.5), face_share=0.5)


def test_adaptive_colouring_keeps_a_busy_segment_median():
    from trainer.representations import _fill

    rgb = np.full((4, 4, 3), 0.2, np.float32)
    rgb[0, :3] = 1.0  # 3 of 16 bright pixels: a busy segment
    out = _fill(rgb, np.zeros((4, 4), np.int64), "adaptive")
    assert np.allclose(out, 0.2)  # std > 40 grey levels: the median, not the washed mean
    assert np.allclose(_fill(rgb, np.zeros((4, 4), np.int64), "mean"), rgb.mean((0, 1)))


def test_gan_loss_forms_prefer_the_right_labels():
    high, low = torch.full((2, 1, 4, 4), 3.0), torch.full((2, 1, 4, 4), -3.0)
    for kind in ("bce", "lsgan", "hinge"):
        good = L.discriminator_loss(high, low, low, kind=kind)
        bad = L.discriminator_loss(low, high, high, kind=kind)
        assert good < bad, kind
        assert L.generator_adversarial_loss(high, kind) < L.generator_adversarial_loss(low, kind), kind
    assert L.discriminator_loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), kind="lsgan") == 0


def test_tv_colour_and_style_losses():
    x = picture_batch()
    assert L.total_variation(torch.full_like(x, 0.5)) == 0 and L.total_variation(x) > 0
    assert L.colour_loss(x, x) == 0
    grey = x.mean(1, keepdim=True).expand_as(x)
    assert L.colour_loss(grey, x) > L.colour_loss(x * 0.98, x)  # losing colour costs more than a slight dimming
    f = torch.rand(2, 8, 6, 6)
    assert L.gray_style_loss(f, f) == 0 and L.gray_style_loss(f, f.roll(1, -1)) < 1e-6  # Gram ignores position
    assert L.gray_style_loss(f, 2 * f) > 0


def test_frame_change_is_small_and_the_same_for_both_sides():
    torch.manual_seed(0)
    x = picture_batch(3, 64)
    change = RandomFrameChange(x, FrameChange(shift_px=3, scale=0.05, rotate_deg=2, noise_std=0.0))
    warped = change.warp(x)
    assert warped.shape == x.shape
    assert 0 < (warped - x).abs().mean() < 0.2
    # a generator that commutes with the change (identity) has zero temporal loss
    assert L.temporal_loss(change.changed_input(x), change.warp(x)) < 1e-6
    noisy = RandomFrameChange(x, FrameChange(noise_std=0.05))
    assert 0.02 < (noisy.changed_input(x) - noisy.warp(x)).std() < 0.08


def test_critics_one_per_view_and_frozen_means_no_weight_grads():
    critics = build_critics({"rgb": 1.0, "texture": 1.0}, width=8, spectral_norm=True, lr=1e-3, betas=(0.5, 0.99),
                            device=torch.device("cpu"))
    assert critics["texture"].module.flat[0].in_channels == 1 and critics["rgb"].module.flat[0].in_channels == 3
    x = picture_batch().requires_grad_()
    with frozen(critics["rgb"].module):
        critics["rgb"].module(x).mean().backward()
    assert x.grad is not None
    assert all(p.grad is None for p in critics["rgb"].module.parameters())
    assert all(p.requires_grad for p in critics["rgb"].module.parameters())


def test_lightness_only_critics_cannot_tell_a_recoloured_picture_apart():
    """critic_colour=lightness: the same drawing in the cartoons' peach or the photo's own colours
    looks the same to every D, so the palette is no cue for G to copy."""
    critics = build_critics({"rgb": 1.0, "projected": 1.0}, width=8, spectral_norm=True, lr=1e-3, betas=(0.5, 0.99),
                            device=torch.device("cpu"), lightness_only=True)
    gray_weights = random_gray_weights()
    drawing = 0.3 + 0.4 * picture_batch()  # room for new hues without clipping
    from artify_stream.generator import luma

    rolled = drawing.roll(1, dims=1)
    recoloured = luma(drawing) + rolled - luma(rolled)  # new hues, the same lightness
    same_luma = torch.allclose(luma(recoloured), luma(drawing), atol=1e-5)
    for critic in critics.values():
        seen, seen_recoloured = critic.view(drawing, gray_weights), critic.view(recoloured, gray_weights)
        assert seen.shape == drawing.shape
        assert torch.allclose(seen[:, 0], seen[:, 2])
        assert same_luma and torch.allclose(seen, seen_recoloured, atol=0.02)
    rgb = build_critics({"rgb": 1.0}, width=8, spectral_norm=True, lr=1e-3, betas=(0.5, 0.99), device=torch.device("cpu"))
    assert not torch.allclose(rgb["rgb"].view(drawing, gray_weights), rgb["rgb"].view(recoloured, gray_weights), atol=0.02)


def test_spectral_norm_discriminator_has_no_batch_norm():
    d = Discriminator(3, 8, spectral_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert d(torch.rand(2, 3, 16, 16)).shape == (2, 1, 4, 4)


def test_best_epoch_prefers_targets_then_score_and_skips_init():
    rec = lambda e, met, score: {"epoch": e, "eval/targets_met": met, "eval/cartoon_score": score}  # noqa: E731
    records = [rec(1, 5, 3.0), rec(2, 3, 1.0), rec(3, 4, 0.5), rec(4, 4, 0.9), rec(5, 2, 2.0)]
    assert best_epoch(records, first_ranked=1) == 4  # epoch 1 (init, photo-like) never ships
    assert best_epoch(records[:1], first_ranked=1) == 1  # nothing adversarial yet: the latest
    assert best_epoch([], first_ranked=0) is None


def test_a_student_ships_the_epoch_closest_to_its_teacher():
    from trainer.selection import closest_to_teacher, teacher_gap

    teacher = {"edge_f1": 0.8, "colour_ratio": 0.5, "flatness_gain": 0.15, "saturation_ratio": 1.0, "flicker_ratio": 0.6}
    flatter = dict(teacher, colour_ratio=0.4)  # "more cartoon" is still not its teacher
    assert teacher_gap(teacher, teacher) == 0 and round(teacher_gap(flatter, teacher), 3) == 0.2
    assert teacher_gap(dict(teacher, flicker_ratio=0.5), teacher) == 0  # flickering less is no gap
    rec = lambda e, met, gap: {"epoch": e, "eval/targets_met": met, "eval/teacher_gap": gap}  # noqa: E731
    assert closest_to_teacher([rec(1, 6, 0.3), rec(2, 6, 0.05), rec(3, 5, 0.0), rec(4, 6, 0.05)]) == 2
    assert closest_to_teacher([]) is None


def test_blotch_loss_charges_patches_on_even_skin_but_not_ink_along_edges():
    even = torch.full((1, 3, 32, 32), 0.25)  # evenly lit dark skin
    patches = even.clone()
    patches[:, :, 4:12, 4:12] = 0.85  # a peach patch where the photo has none
    edged = even.clone()
    edged[:, :, :, 16:] = 0.8  # the photo has an edge here ...
    inked = edged.clone()
    inked[:, :, :, 15:17] = 0.0  # ... so a line along it costs (almost) nothing
    assert L.blotch_loss(even, even).item() == 0.0
    assert L.blotch_loss(patches, even).item() > 0.03
    assert L.blotch_loss(inked, edged).item() < 0.2 * L.blotch_loss(patches, even).item()

def test_face_spread_costs_patches_on_cheeks_and_forehead_not_an_even_face():
    import torch

    photo = torch.full((2, 3, 64, 64), 0.3)
    assert L.face_spread_loss(photo.clone(), photo) == 0
    patchy = photo.clone()
    patchy[:, :, 32:40, 14:23] = 0.05  # a dark patch on the left cheek (canonical crop)
    assert L.face_spread_loss(patchy, photo) > 0.01
    darker = photo * 0.5  # evenly darker: no patch
    assert L.face_spread_loss(darker, photo) == 0


def test_face_steps_cost_a_flat_patch_on_a_soft_highlight_not_the_highlight_itself():
    import torch

    # A dark face with a soft highlight on the left cheek (canonical crop): a gentle slope up and down.
    ramp = torch.cat([torch.linspace(0.2, 0.35, 8), torch.linspace(0.35, 0.2, 8)])
    photo = torch.full((2, 3, 64, 64), 0.2)
    photo[:, :, 30:42, 12:28] = ramp
    assert L.face_steps_loss(photo.clone(), photo) == 0  # the photo's own shading
    assert L.face_steps_loss(torch.full_like(photo, 0.2), photo) == 0  # flattened away: fine
    patch = torch.full_like(photo, 0.2)
    patch[:, :, 32:40, 16:24] = 0.45  # drawn as a lighter flat patch with hard borders
    assert L.face_steps_loss(patch, photo) > 0.002
    assert L.face_steps_loss(patch, photo) > 20 * L.face_steps_loss(photo * 1.1, photo)


def test_contrast_stretch_gives_every_face_the_same_spread():
    import torch

    from artify_stream.face_mode.align import CANONICAL_FACE
    from artify_stream.generator import luma

    torch.manual_seed(0)
    dark = 0.1 + 0.12 * torch.rand(1, 1, 64, 64).expand(1, 3, 64, 64)  # a dark face, lightness spread 0.035
    _, stretched = L.contrast_stretched(dark, dark)
    x0, y0, x1, y1 = (int(v * 64) for v in CANONICAL_FACE)
    assert abs(float(luma(stretched)[..., y0:y1, x0:x1].std()) - 0.15) < 0.01


def test_face_marks_cost_eyes_and_mouth_left_out_not_ink_drawn_on_them():
    from artify_stream.face_mode.align import CANONICAL_EYES, CANONICAL_MARKS

    size = 128
    photo = torch.full((1, 3, size, size), 0.35)  # a dark face: eyes and mouth a little darker still
    for x, y in CANONICAL_EYES * size:
        photo[..., int(y) - 3:int(y) + 3, int(x) - 6:int(x) + 6] = 0.2
    photo[..., int(0.74 * size):int(0.77 * size), int(0.4 * size):int(0.6 * size)] = 0.22
    photo += 0.01 * torch.randn(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    inked = photo.clone()
    inked[photo < 0.3] = 0.0  # the same marks as black ink on a flat, lighter skin
    inked[photo >= 0.3] = 0.6
    erased = torch.full_like(photo, 0.6) + 0.01 * torch.randn_like(photo)  # flat skin: no eyes, no mouth
    x0, y0, x1, y1 = (int(v * size) for v in CANONICAL_MARKS[0])
    moved = inked.clone()
    moved[..., y0:y1, x0:x1] = torch.roll(inked[..., y0:y1, x0:x1], 8, dims=-2)  # an eye drawn 8 px off
    assert L.face_marks_loss(photo, photo).item() < 0.01
    assert L.face_marks_loss(inked, photo).item() < 0.4  # the nose box is blank in this drawing: 1 of its 4 terms
    assert L.face_marks_loss(erased, photo).item() > 0.8
    assert L.face_marks_loss(inked, photo) < L.face_marks_loss(moved, photo)
