"""--keep-colours: the drawing's light and dark, the photo's colours."""

import cv2
import numpy as np

from artify_stream.colour_transfer import KeepColours, keep_colours
from artify_stream.evaluation.fidelity import colour_error, hue_kept
from tests.conftest import make_picture
from tests.test_cli_stylize import artify


def peach_painter(frames):
    """Issue 30's failure as an engine: every region one peach tone, kept only as light and dark."""
    frames = np.asarray(frames)
    gray = frames.astype(np.float32).mean(-1, keepdims=True) / 255.0
    return (gray * np.array([255, 205, 170], np.float32)).astype(np.uint8)


def test_the_photo_keeps_its_colours_and_the_drawing_its_light_and_dark():
    photo = make_picture(96, 128, seed=4)
    photo[:48, :64] = (200, 20, 20)  # a red bird's worth of red
    painted = peach_painter(photo[None])[0]
    kept = KeepColours(peach_painter)(photo[None])[0]
    assert hue_kept(photo, painted) is False and hue_kept(photo, kept)
    assert colour_error(photo, kept) < colour_error(photo, painted) / 2
    luma = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(int)  # noqa: E731
    assert np.abs(luma(kept) - luma(painted)).mean() < 2  # the drawing's shading, not the photo's
    half = keep_colours(photo, painted, mix=0.5)
    assert colour_error(photo, kept) < colour_error(photo, half) < colour_error(photo, painted)


def test_cli_keep_colours(tiny_model, tmp_path):
    from PIL import Image

    src = tmp_path / "in.png"
    Image.fromarray(make_picture(48, 64, seed=2)).save(src)
    r = artify("stylize", src, tmp_path / "out.png", "--model", tiny_model, "--keep-colours")
    assert r.returncode == 0 and "colours kept from the photo (--keep-colours)" in r.stderr, r.stderr
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (48, 64, 3)
