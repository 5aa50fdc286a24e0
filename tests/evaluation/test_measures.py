"""Each measure on images whose answer is known: flat, checkerboard, shifted, washed out."""

import numpy as np
import pytest

from artify_stream.evaluation import measures as M
from tests.conftest import make_picture


def flat(value=(90, 140, 200), size=(64, 64)):
    return np.full((*size, 3), value, np.uint8)


def checker(amplitude, period=2, size=(64, 64), base=128):
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    sign = np.where(((yy // (period // 2)) + (xx // (period // 2))) % 2 == 0, 1, -1)
    return np.repeat((base + amplitude * sign).astype(np.uint8)[..., None], 3, -1)


def test_edge_f1_is_one_for_the_same_image_and_drops_when_edges_go():
    pic = make_picture(64, 64, seed=3)
    assert M.edge_f1(pic, pic) == 1.0
    assert M.edge_f1(flat(), flat()) == 1.0  # no edges in either: nothing was lost
    assert M.edge_f1(pic, flat()) == 0.0
    wide = make_picture(64, 80, seed=3)
    view = lambda dx: np.ascontiguousarray(wide[:, dx : dx + 64])  # noqa: E731 - the scene moved dx px
    assert M.edge_f1(view(0), view(2)) > 0.9 > 0.5 > M.edge_f1(view(0), view(8))  # 2 px is within tolerance


def test_colours_and_flatness_of_known_images():
    assert M.colours_per_kpx(flat()) == pytest.approx(1000 / (64 * 64))
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert M.colours_per_kpx(noise) > 900  # nearly every pixel its own 15-bit colour
    assert M.flatness(flat()) == 1.0
    assert M.flatness(noise) < 0.05
    ramp = np.repeat(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))[..., None], 3, -1)  # 4 levels/px
    assert M.flatness(ramp) < 0.1


def test_saturation_and_contrast_say_when_an_image_is_washed_out():
    pic = make_picture(64, 64, seed=1)
    washed = (pic.astype(np.float32) * 0.4 + 128 * 0.6).astype(np.uint8)
    assert M.saturation(washed) < 0.7 * M.saturation(pic)
    assert M.contrast(washed) == pytest.approx(0.4 * M.contrast(pic), rel=0.05)
    grey = np.repeat(pic[..., :1], 3, -1)
    assert M.saturation(grey) == 0.0
    assert M.contrast(flat()) == 0.0


@pytest.mark.parametrize("period", [2, 4])
def test_checkerboard_reads_the_pattern_amplitude(period):
    assert M.checkerboard(flat()) == 0.0
    assert M.checkerboard(checker(10, period)) == pytest.approx(10, rel=0.05)
    # on a real picture the same pattern adds about its own amplitude; the picture alone is ~0
    pic = make_picture(128, 128, seed=2).astype(np.int16)
    clean = M.checkerboard(pic.astype(np.uint8))
    patterned = np.clip(pic + (checker(6, period, (128, 128)).astype(np.int16) - 128), 0, 255).astype(np.uint8)
    assert clean < 0.5 and M.checkerboard(patterned) > 4
