import pytest

from artify_stream.errors import ConfigError
from engines.shapes import ShapeRange, parse_size, size_label


def test_named_square_and_explicit_sizes():
    assert parse_size("720p") == (720, 1280)
    assert parse_size("1080P") == (1080, 1920)
    assert parse_size("256") == (256, 256)
    assert parse_size(" 97 x 130 ") == (97, 130)
    assert size_label((720, 1280)) == "720p" and size_label((97, 130)) == "97x130"


@pytest.mark.parametrize("bad", ["abc", "720x", "x100", "1:2"])
def test_bad_sizes_say_what_to_write(bad):
    with pytest.raises(ConfigError, match="HxW"):
        parse_size(bad)


def test_sizes_under_4_pixels_are_refused():
    with pytest.raises(ConfigError, match="at least 4"):
        parse_size("2x100")


def test_static_and_ranged_shapes():
    static = ShapeRange.parse("720x1280", max_batch=4)
    assert static.is_static and static.nhwc() == ((1, 720, 1280, 3), (4, 720, 1280, 3), (4, 720, 1280, 3))
    assert static.covers(3, 720, 1280) and not static.covers(5, 720, 1280) and not static.covers(1, 720, 1279)
    ranged = ShapeRange.parse("256x256:720p:1080p", max_batch=2)
    assert not ranged.is_static and ranged.covers(2, 500, 300) and not ranged.covers(1, 200, 300)
    assert ranged.label() == "256x256:720x1280:1080x1920@b2"
    with pytest.raises(ConfigError, match="min <= opt <= max"):
        ShapeRange.parse("720p:256:1080p")
    with pytest.raises(ConfigError, match="MIN:OPT:MAX"):
        ShapeRange.parse("256:720p")
