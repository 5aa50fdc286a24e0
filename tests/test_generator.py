import pytest
import torch
from torch import nn

from artify_stream.errors import ConfigError
from artify_stream.generator import Generator, GeneratorConfig, ResidualBlock, ResizeConv
from artify_stream.fused import FusedStylizer


def test_paper_layout():
    g = Generator()
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    # flat 7x7 64, down 128 and 256 (stride 2), 10 res blocks of two 3x3 256 convs, up 128 and 64, 7x7 to RGB
    assert (convs[0].kernel_size, convs[0].out_channels, convs[0].stride) == ((7, 7), 64, (1, 1))
    assert [(c.out_channels, c.stride, c.kernel_size) for c in convs[1:3]] == [(128, (2, 2), (3, 3)), (256, (2, 2), (3, 3))]
    assert sum(isinstance(m, ResidualBlock) for m in g.modules()) == 10
    res_convs = convs[3:23]
    assert all(c.out_channels == 256 and c.kernel_size == (3, 3) for c in res_convs)
    ups = convs[23:25]
    assert all(isinstance(c, nn.ConvTranspose2d) and c.stride == (2, 2) for c in ups)
    assert [c.out_channels for c in ups] == [128, 64]
    assert (convs[25].kernel_size, convs[25].out_channels) == ((7, 7), 3)
    assert len(convs) == 26  # no extra convs after the residual blocks
    # BN + ReLU after every conv but the last
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 25


def test_configurable_like_table_one():
    g = Generator(GeneratorConfig(residual_blocks=8, first_kernel=3, base_width=16))
    assert sum(isinstance(m, ResidualBlock) for m in g.modules()) == 8
    assert g.flat[0].kernel_size == (3, 3) and g.flat[0].out_channels == 16


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
@pytest.mark.parametrize("h,w", [(32, 32), (33, 47), (30, 18), (5, 7)])
def test_any_size_keeps_shape(h, w, upsample):
    g = Generator(GeneratorConfig(residual_blocks=1, base_width=8, upsample=upsample)).eval()
    frames = torch.randint(0, 256, (2, h, w, 3), dtype=torch.uint8)
    with torch.no_grad():
        y = FusedStylizer(g)(frames)
    assert y.shape == frames.shape and y.dtype == torch.uint8


def test_resize_convolution_and_separable_switches():
    g = Generator(GeneratorConfig(residual_blocks=2, base_width=8, upsample="resize", separable=True, last_kernel=3))
    assert sum(isinstance(m, ResizeConv) for m in g.modules()) == 2
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in g.modules())
    depthwise = [m for m in g.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 2 + 4 + 2  # down, residual and up 3x3 convs; the 7x7 stem stays dense
    assert g.to_rgb.kernel_size == (3, 3)
    dense = Generator(GeneratorConfig(residual_blocks=2, base_width=8))
    assert sum(p.numel() for p in g.parameters()) < 0.5 * sum(p.numel() for p in dense.parameters())


def test_resize_convolution_leaves_no_checkerboard_on_a_flat_input():
    """Odena et al.: transposed stride-2 convs paint a period-2 pattern even on flat input."""
    torch.manual_seed(0)
    flat = torch.full((1, 3, 128, 128), 0.8)  # not 0.5: the generator centres its input to 0 first
    for upsample, has_pattern in (("transposed", True), ("resize", False)):
        g = Generator(GeneratorConfig(residual_blocks=0, base_width=8, upsample=upsample)).eval()
        with torch.no_grad():
            y = g(flat)[..., 48:80, 48:80]  # beyond the zero padding's reach
        phases = torch.stack([y[..., i::4, j::4].mean() for i in range(4) for j in range(4)])
        assert ((phases.max() - phases.min()) > 1e-4) == has_pattern, upsample


def test_strided_ends_run_no_conv_at_full_resolution():
    """The CPU-speed student: every conv sees at most half the photo's pixels, the output keeps its size."""
    cfg = GeneratorConfig(residual_blocks=1, first_kernel=3, base_width=8, upsample="resize", separable=True,
                          last_kernel=3, strided_ends=True)
    g = Generator(cfg).eval()
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[-2:])) for m in g.modules()
             if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        frames = torch.randint(0, 256, (1, 36, 52, 3), dtype=torch.uint8)
        assert FusedStylizer(g)(frames).shape == frames.shape
    for hook in hooks:
        hook.remove()
    assert tuple(seen[0]) == (36, 52)  # the stride-2 stem reads the photo
    assert all(h <= 18 and w <= 26 for h, w in seen[1:]), seen  # every other conv: half resolution or less
    assert isinstance(g.to_rgb, nn.ConvTranspose2d) and g.to_rgb.kernel_size == (4, 4) and g.to_rgb.stride == (2, 2)


@pytest.mark.parametrize("lite", [{}, {"separable": True, "upsample": "resize"},
                                  {"separable": True, "upsample": "resize", "strided_ends": True}],
                         ids=["dense", "separable", "strided-ends"])
def test_every_parameter_gets_a_gradient(lite):
    g = Generator(GeneratorConfig(residual_blocks=2, base_width=8, **lite))
    g(torch.rand(2, 3, 16, 16)).mean().backward()
    for name, p in g.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("bad", [dict(first_kernel=4), dict(residual_blocks=-1), dict(base_width=0),
                                 dict(base_width=10**9), dict(upsample="bicubic"), dict(last_kernel=2)])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(ConfigError):
        GeneratorConfig(**bad)


def test_config_from_a_header_is_type_checked():
    cfg = GeneratorConfig(residual_blocks=3, upsample="resize", separable=True)
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg
    for bad in ({"base_width": "64"}, {"separable": 1}, {"residual_blocks": True}, {"depth": 3}):
        with pytest.raises(ConfigError):
            GeneratorConfig.from_dict(bad)


def test_photo_chroma_keeps_the_photos_hues_whatever_the_weights_draw():
    """A red bird stays red: with photo_chroma the network only draws lightness."""
    torch.manual_seed(0)
    photo = torch.full((1, 3, 32, 32), 0.4)
    photo[:, 0, :, :16] = 0.6  # a red left half, a blue right half (muted: no channel clips)
    photo[:, 2, :, 16:] = 0.6
    own = Generator(GeneratorConfig(residual_blocks=1, base_width=8)).eval()
    kept = Generator(GeneratorConfig(residual_blocks=1, base_width=8, photo_chroma=4)).eval()
    kept.load_state_dict(own.state_dict())
    with torch.no_grad():
        drawn, coloured = own(photo), kept(photo)
    from artify_stream.generator import luma

    # Same lightness where nothing clips; the chroma (RGB minus luma) is the photo's away from the border.
    inner = (slice(None), slice(None), slice(4, 28), slice(2, 12))
    chroma = (coloured - luma(coloured))[inner].mean(dim=(2, 3))
    photo_chroma = (photo - luma(photo))[inner].mean(dim=(2, 3))
    assert torch.allclose(chroma, photo_chroma, atol=0.03)
    assert coloured[0, 0, 10, 5] > coloured[0, 2, 10, 5] and coloured[0, 2, 10, 28] > coloured[0, 0, 10, 28]
    assert torch.allclose(luma(coloured), luma(drawn).clamp(0, 1), atol=0.15)


def test_photo_chroma_adds_no_weights_and_checks_its_block():
    plain, kept = GeneratorConfig(), GeneratorConfig(photo_chroma=4)
    assert plain.same_weights_as(kept) and not plain.same_weights_as(GeneratorConfig(base_width=32))
    assert Generator(plain).state_dict().keys() == Generator(kept).state_dict().keys()
    with pytest.raises(ConfigError, match="photo_chroma"):
        GeneratorConfig(photo_chroma=3)
    assert Generator(GeneratorConfig(residual_blocks=0, base_width=4, photo_chroma=16))(torch.rand(1, 3, 20, 36)).shape == (1, 3, 20, 36)


def test_chroma_edges_keep_a_colour_on_its_object_where_blocks_bleed_it_around():
    """A red shutter on a grey wall: block means tint the wall around it pink; the edge-aware
    colour stops at the shutter's edge and keeps the shutter as red."""
    from artify_stream.generator import luma, with_photo_chroma

    photo = torch.full((1, 3, 64, 64), 0.6)
    photo[:, :, 20:44, 20:44] = torch.tensor([0.7, 0.15, 0.15])[:, None, None]  # darker and red
    drawn = photo.clone()  # a drawing that only copies the lightness
    redness = lambda out: (out[:, 0] - out[:, 1])[0]  # noqa: E731
    blocks, edges = (with_photo_chroma(drawn, photo, 16, edges=e) for e in (False, True))
    wall = torch.zeros(64, 64, dtype=torch.bool)
    wall[16:48, 16:48] = True
    wall[20:44, 20:44] = False  # a 4 px ring of wall around the shutter
    assert redness(blocks)[wall].mean() > 0.15 and redness(edges)[wall].mean() < redness(blocks)[wall].mean() / 3
    shutter = (slice(24, 40), slice(24, 40))
    assert redness(edges)[shutter].mean() > redness(blocks)[shutter].mean() > 0.2
    assert torch.allclose(luma(edges), luma(photo), atol=0.02)  # the lightness is still the drawing's


def test_chroma_edges_add_no_weights_and_run_at_any_size():
    plain, edged = GeneratorConfig(photo_chroma=16), GeneratorConfig(photo_chroma=16, chroma_edges=True)
    assert plain.same_weights_as(edged) and GeneratorConfig.from_dict(edged.to_dict()) == edged
    net = Generator(GeneratorConfig(residual_blocks=0, base_width=4, photo_chroma=16, chroma_edges=True))
    assert net(torch.rand(1, 3, 20, 36)).shape == (1, 3, 20, 36)
