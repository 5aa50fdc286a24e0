import numpy as np
import pytest
from PIL import Image

from artify_stream.errors import InputError, OutputError
from artify_stream.images import LoadedImage, read_image, write_image
from tests.conftest import make_picture


def test_exif_orientation_is_honoured(tmp_path):
    rgb = make_picture(20, 40)
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    Image.fromarray(rgb).save(path, exif=exif)
    assert read_image(path).rgb.shape == (40, 20, 3)


def test_alpha_is_kept(tmp_path):
    rgba = np.dstack([make_picture(10, 12), np.tile(np.arange(12, dtype=np.uint8) * 20, (10, 1))])
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    img = read_image(path)
    assert img.alpha is not None and np.array_equal(img.alpha, rgba[..., 3])
    out = tmp_path / "out.png"
    write_image(out, img)
    assert Image.open(out).mode == "RGBA"


@pytest.mark.parametrize("mode", ["L", "CMYK", "I;16", "P"])
def test_grayscale_cmyk_16bit_and_palette_become_rgb(tmp_path, mode):
    base = Image.fromarray(make_picture(16, 16))
    if mode == "I;16":
        arr = (np.asarray(base.convert("L"), dtype=np.uint16) * 257)
        img = Image.fromarray(arr)
        path = tmp_path / "x.png"
    else:
        img = base.convert(mode)
        path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    img.save(path)
    out = read_image(path)
    assert out.rgb.shape == (16, 16, 3) and out.rgb.dtype == np.uint8
    if mode == "I;16":
        # 16-bit values are scaled down, not clipped to white
        assert 0 < out.rgb.mean() < 250


def test_unreadable_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="broken.jpg"):
        read_image(bad)


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    out = tmp_path / "o.jpg"
    out.write_bytes(b"keep")
    with pytest.raises(OutputError, match="unknown image format"):
        write_image(tmp_path / "o.xyz", LoadedImage(make_picture(4, 4)))
    huge = LoadedImage(np.zeros((4, 70000, 3), np.uint8))  # wider than JPEG allows: the encoder fails midway
    with pytest.raises(OutputError, match="o.jpg"):
        write_image(out, huge)
    assert out.read_bytes() == b"keep" and [p.name for p in tmp_path.iterdir()] == ["o.jpg"]
