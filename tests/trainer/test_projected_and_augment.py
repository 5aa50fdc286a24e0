"""Beyond the paper: the projected discriminator, DiffAugment, the feature anchor, fine-tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from artify_stream.errors import ConfigError
from trainer.augment import diff_augment, parse_policy
from trainer.config import PRESETS, TrainConfig
from trainer.projected import ProjectedDiscriminator


def test_projected_discriminator_weighs_each_scale_alike_and_trains_only_its_heads():
    d = ProjectedDiscriminator((2, 4, 10), width=16)
    assert d(torch.rand(2, 3, 64, 64)).shape == (2, 3 * 16)
    trainable = {n.split(".")[0] for n, p in d.named_parameters() if p.requires_grad}
    assert trainable == {"heads"}  # the backbone and the random channel mixers stay fixed


def test_projected_discriminator_passes_gradients_back_to_the_image():
    d = ProjectedDiscriminator((4,), width=8)
    image = torch.rand(1, 3, 64, 64, requires_grad=True)
    d(image).mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_diff_augment_keeps_shape_differs_per_call_and_is_differentiable():
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    a, b = diff_augment(x, "color,translation,cutout"), diff_augment(x, "color,translation,cutout")
    assert a.shape == x.shape and not torch.equal(a, b)
    a.sum().backward()
    assert x.grad is not None
    assert torch.equal(diff_augment(x, ""), x)
    with pytest.raises(ValueError, match="blur"):
        parse_policy("color,blur")


def test_translation_moves_content_and_fills_with_zeros():
    torch.manual_seed(0)
    x = torch.ones(8, 1, 16, 16)
    moved = diff_augment(x, "translation")
    assert (moved == 0).any() and moved.max() == 1  # a shifted border of zeros, nothing invented


def test_draw_preset_is_valid_and_round_trips_through_config_json(tmp_path: Path):
    config = PRESETS["draw"]
    assert config.projected_weight > 0 and config.diff_augment and "projected" in config.discriminators
    config.save(tmp_path / "config.json")
    again = TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text()))
    assert again == config and isinstance(again.projected_taps, tuple)


def test_bad_switch_values_are_config_errors():
    with pytest.raises(ConfigError, match="diff_augment"):
        TrainConfig(diff_augment="colour")
    with pytest.raises(ConfigError, match="projected_taps"):
        TrainConfig(projected_taps=(16,))


def test_region_colour_anchor_forgives_ink_lines_and_punishes_a_colour_shift():
    from trainer.losses import region_colour_loss

    photo = torch.full((1, 3, 64, 64), 0.5)
    photo[:, 0] = 0.4  # a brownish skin tone
    inked = photo.clone()
    inked[..., 30:32, :] = 0.0  # a 2 px black outline across it
    paler = photo + 0.15
    assert region_colour_loss(inked, photo) < region_colour_loss(paler, photo) / 2
    assert region_colour_loss(photo, photo) == 0


def test_set_values_are_typed_by_the_config_field():
    from trainer.distill_config import DistillConfig

    assert TrainConfig.parse_setting("projected_taps=2,4") == ("projected_taps", (2, 4))
    assert TrainConfig.parse_setting("init-from=") == ("init_from", "")
    assert TrainConfig.parse_setting("d_lr=none") == ("d_lr", None)
    assert DistillConfig.parse_setting("init_from=artify-toon-lite") == ("init_from", "artify-toon-lite")
    with pytest.raises(ConfigError, match="is not a"):
        TrainConfig.parse_setting("epochs=many")
    with pytest.raises(ConfigError, match="KEY one of"):
        TrainConfig.parse_setting("no_such_field=1")
