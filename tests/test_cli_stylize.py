"""`artify stylize` on images and folders, through the Typer app (CliRunner: exit codes and output)."""

from types import SimpleNamespace

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from cli import app
from tests.conftest import write_pictures
from tests.media import write_clip


def artify(*args):
    """Run the app in-process; `stderr` holds everything printed (Rich writes to stderr)."""
    args = [str(a) for a in args]
    if args[0] == "stylize" and "--engine" not in args:
        args += ["--engine", "torch"]  # engine choice is tested in tests/engines; keep these quick
    result = CliRunner().invoke(app, args)
    return SimpleNamespace(returncode=result.exit_code, stderr=result.output, stdout=result.stdout)


def test_one_image_with_size_bound(tiny_model, tmp_path):
    (src,) = write_pictures(tmp_path / "in", 1, size=(30, 50))
    out = tmp_path / "out.png"
    r = artify("stylize", src, out, "--model", tiny_model, "--size", 25)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (25, 15)
    r = artify("stylize", src, out, "--model", tiny_model)
    assert r.returncode == 1 and "overwrite" in r.stderr


def test_folder_is_mirrored_and_broken_files_reported(tiny_model, tmp_path):
    src = tmp_path / "in"
    write_pictures(src, 2)
    write_pictures(src / "nested" / "deeper", 1, suffix=".jpg")
    (src / "nested" / "broken.png").write_bytes(b"garbage")
    out = tmp_path / "out"
    r = artify("stylize", src, out, "--model", tiny_model)
    assert r.returncode == 1
    assert "broken.png" in r.stderr
    assert (out / "img_000.png").exists() and (out / "nested" / "deeper" / "img_000.jpg").exists()
    assert not (out / "nested" / "broken.png").exists()
    # a second run skips what exists instead of overwriting it
    marker = out / "img_000.png"
    before = marker.stat().st_mtime_ns
    r = artify("stylize", src, out, "--model", tiny_model)
    assert marker.stat().st_mtime_ns == before
    assert "skipped" in r.stderr


def test_output_differs_from_input_and_is_deterministic(tiny_model, tmp_path):
    (src,) = write_pictures(tmp_path / "in", 1)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert artify("stylize", src, a, "--model", tiny_model).returncode == 0
    assert artify("stylize", src, b, "--model", tiny_model).returncode == 0
    x, y = np.asarray(Image.open(a)), np.asarray(Image.open(b))
    assert np.array_equal(x, y)
    assert not np.array_equal(x, np.asarray(Image.open(src)))


def test_missing_input_and_unknown_model_are_one_line_errors(tiny_model, tmp_path):
    r = artify("stylize", tmp_path / "nope.png", tmp_path / "o.png", "--model", tiny_model)
    assert r.returncode == 1 and "nope.png" in r.stderr and "Traceback" not in r.stderr
    (src,) = write_pictures(tmp_path / "in", 1)
    r = artify("stylize", src, tmp_path / "o.png", "--model", "no-such-model")
    assert r.returncode == 1 and "unknown model" in r.stderr and "Traceback" not in r.stderr


def test_side_by_side_puts_input_left_of_output(tiny_model, tmp_path):
    (src,) = write_pictures(tmp_path / "in", 1, size=(20, 30))
    out = tmp_path / "sbs.png"
    assert artify("stylize", src, out, "--model", tiny_model, "--side-by-side").returncode == 0
    pic = np.asarray(Image.open(out))
    assert pic.shape == (20, 60, 3)
    assert np.array_equal(pic[:, :30], np.asarray(Image.open(src)))


def test_frames_too_small_are_an_error_naming_the_clip_and_the_option(tiny_model, tmp_path):
    thin, wide = tmp_path / "thin.mp4", tmp_path / "wide.mp4"
    write_clip(thin, frames=3, size=(2, 1000))
    write_clip(wide, frames=3, size=(180, 320))
    r = artify("stylize", thin, tmp_path / "out-thin.mp4", "--model", tiny_model)
    assert r.returncode == 1 and f"{thin}: its 1000x2 pictures are too small" in r.stderr
    r = artify("stylize", wide, tmp_path / "out-wide.mp4", "--model", tiny_model, "--size", "4")
    assert r.returncode == 1 and f"{wide}: --size 4 makes its 320x180 pictures 4x2" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thin.mp4", "tiny.safetensors", "wide.mp4"]  # nothing left
