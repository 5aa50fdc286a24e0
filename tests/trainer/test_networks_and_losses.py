import pytest
import torch
from torch import nn

from artify_stream.errors import InputError
from trainer.content import build_content_features
from trainer.discriminator import Discriminator
from trainer.losses import content_loss, discriminator_loss, generator_adversarial_loss


def test_discriminator_layout_and_patch_output():
    d = Discriminator()
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert (convs[0].kernel_size, convs[0].out_channels, convs[0].stride) == ((3, 3), 32, (1, 1))
    assert [c.stride for c in convs].count((2, 2)) == 2
    assert convs[-1].out_channels == 1
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert d(torch.rand(2, 3, 32, 36)).shape == (2, 1, 8, 9)


def test_edge_promoting_loss_prefers_the_right_labels():
    high, low = torch.full((2, 1, 4, 4), 5.0), torch.full((2, 1, 4, 4), -5.0)
    good = discriminator_loss(high, low, low)  # real cartoons real, smoothed and generated fake
    bad = discriminator_loss(low, high, high)
    assert good < 0.1 < bad
    assert generator_adversarial_loss(high) < generator_adversarial_loss(low)
    a = torch.rand(2, 8, 4, 4)
    assert content_loss(a, a) == 0 and content_loss(a, a + 1) == pytest.approx(1.0)


def test_an_unknown_adversarial_loss_is_an_error_not_hinge():
    from artify_stream.errors import ConfigError

    logits = torch.zeros(1, 1, 2, 2)
    for call in (lambda: discriminator_loss(logits, logits, kind="wgan"),
                 lambda: generator_adversarial_loss(logits, kind="wgan")):
        with pytest.raises(ConfigError, match="wgan"):
            call()


def test_efficientnet_lite0_loads_offline_from_its_package_frozen():
    c = build_content_features("efficientnet-lite0", None)
    assert c.info.name == "efficientnet-lite0" and len(c.info.weights_sha256) == 64
    assert not any(p.requires_grad for p in c.parameters())
    c.train()
    assert not c.body.training
    f = c(torch.rand(1, 3, 64, 64))
    assert f.shape == (1, 112, 4, 4)


def test_vgg16_needs_a_local_weights_path(tmp_path):
    with pytest.raises(InputError, match="--vgg-weights"):
        build_content_features("vgg16", None)
    with pytest.raises(InputError, match="not found"):
        build_content_features("vgg16", tmp_path / "vgg16.pth")


def test_vgg16_loads_torchvision_layout_weights(tmp_path):
    from torchvision.models import vgg16

    path = tmp_path / "vgg16.pth"
    torch.save(vgg16(weights=None).state_dict(), path)
    c = build_content_features("vgg16", path)
    assert c.info.layer == "features.relu4_3"
    assert c(torch.rand(1, 3, 32, 32)).shape == (1, 512, 4, 4)
