import numpy as np
import pytest
from PIL import Image

from artify_stream.errors import InputError, OutputError
from artify_stream.image_files import LoadedImage, read_image, write_image
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


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_wide_gamut_profile_is_converted_to_srgb_as_viewers_show_it(tmp_path, suffix):
    from tests.media import prophoto_icc

    pixels = np.zeros((8, 16, 3), np.uint8)
    pixels[:, :8], pixels[:, 8:] = 128, (200, 60, 40)
    path = tmp_path / f"prophoto{suffix}"
    Image.fromarray(pixels).save(path, icc_profile=prophoto_icc(), **({"quality": 100} if suffix == ".jpg" else {}))
    rgb = read_image(path).rgb.astype(int)
    # Grey 128 under a 1.8 gamma is linear 0.289, which sRGB writes as 146; the red gets purer.
    assert np.abs(rgb[:, :6] - 146).max() <= 2  # away from the edge JPEG blurs
    red = rgb[4, 12]
    assert red[0] > 240 and red[1] < 30


def test_an_animated_gif_stays_animated_and_cannot_be_squeezed_into_a_png(tmp_path):
    from artify_stream.stylize_image import stylize_image_file

    frames = [Image.fromarray(make_picture(24, 32, seed=i)) for i in range(6)]
    src = tmp_path / "anim.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=[80, 80, 80, 80, 80, 400], loop=3)
    invert = lambda batch: 255 - batch  # noqa: E731  (a stand-in engine: the point is the frames)
    stylize_image_file(invert, src, tmp_path / "out.gif")
    with Image.open(tmp_path / "out.gif") as out:
        assert out.n_frames == 6 and out.info["loop"] == 3
        durations = []
        for i in range(6):
            out.seek(i)
            durations.append(out.info["duration"])
        assert durations == [80, 80, 80, 80, 80, 400]
        out.seek(5)
        last = np.asarray(out.convert("RGB")).astype(int)
    assert np.abs(last - (255 - np.asarray(frames[5].convert("RGB")).astype(int))).mean() < 40  # its own frame
    with pytest.raises(OutputError, match=r"out\.png: anim\.gif is an animation of 6 frames.*\.gif or \.webp"):
        stylize_image_file(invert, src, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()
