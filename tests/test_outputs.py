"""Never destroy what was there: outputs that are inputs, overwrites, bad targets, bad inputs."""

import logging
import os

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cli import app
from tests.conftest import write_pictures
from tests.media import probe, write_clip

runner = CliRunner()


def artify(*args):
    args = [str(a) for a in args]
    if args[0] == "stylize" and "--engine" not in args:
        args += ["--engine", "torch"]  # engine choice is tested elsewhere; keep these quick
    return runner.invoke(app, args)


def test_an_output_that_is_the_input_is_refused_even_through_a_link(tiny_model, tmp_path):
    clip = tmp_path / "src.mp4"
    write_clip(clip, frames=5)
    before = clip.read_bytes()
    r = artify("stylize", clip, clip, "--model", tiny_model, "--overwrite")
    assert r.exit_code == 1 and "is the input" in r.output
    link = tmp_path / "link.mp4"
    link.symlink_to(clip)
    r = artify("stylize", clip, link, "--model", tiny_model, "--overwrite")
    assert r.exit_code == 1 and "is the input" in r.output
    assert clip.read_bytes() == before
    (photo,) = write_pictures(tmp_path / "p", 1, suffix=".jpg")
    photo_bytes = photo.read_bytes()
    for extra in ([], ["--overwrite"]):
        r = artify("stylize", photo, photo, "--model", tiny_model, *extra)
        assert r.exit_code == 1 and "is the input" in r.output
    assert photo.read_bytes() == photo_bytes


def test_an_output_folder_that_is_the_input_folder_is_refused(tiny_model, tmp_path):
    write_pictures(tmp_path / "in", 2)
    r = artify("stylize", tmp_path / "in", tmp_path / "in", "--model", tiny_model)
    assert r.exit_code == 1 and "is the input folder" in r.output


def test_pack_model_follows_the_overwrite_rule(tiny_model, tmp_path):
    (photo,) = write_pictures(tmp_path, 1, suffix=".jpg")
    before = photo.read_bytes()
    r = artify("pack-model", tiny_model, photo)
    assert r.exit_code == 1 and ".safetensors" in r.output
    assert photo.read_bytes() == before
    packed = tmp_path / "packed.safetensors"
    assert artify("pack-model", tiny_model, packed).exit_code == 0
    r = artify("pack-model", tiny_model, packed)
    assert r.exit_code == 1 and "--overwrite" in r.output
    assert artify("pack-model", tiny_model, packed, "--overwrite").exit_code == 0
    r = artify("pack-model", tiny_model, tiny_model, "--overwrite")
    assert r.exit_code == 1 and "is the input" in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: a read-only folder cannot be made here")
def test_pack_model_to_a_read_only_folder_is_one_line(tiny_model, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        r = artify("pack-model", tiny_model, locked / "m.safetensors")
        assert r.exit_code == 1 and "not writable" in r.output
    finally:
        locked.chmod(0o700)


def test_pack_model_to_a_path_below_a_file_is_one_line(tiny_model, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    r = artify("pack-model", tiny_model, afile / "m.safetensors")
    assert r.exit_code == 1 and "afile" in r.output and isinstance(r.exception, SystemExit)  # mapped, not raised


def test_truncated_faststart_input_says_which_frames_are_missing(tiny_model, tmp_path):
    import av

    src = tmp_path / "fast.mp4"
    write_clip(src, frames=60, size=(48, 64))
    fast = tmp_path / "faststart.mp4"
    with av.open(str(src)) as i, av.open(str(fast), "w", options={"movflags": "+faststart"}) as o:
        s = o.add_stream_from_template(i.streams.video[0])
        for p in i.demux(i.streams.video[0]):
            if p.dts is not None:
                p.stream = s
                o.mux(p)
    data = fast.read_bytes()
    fast.write_bytes(data[: int(len(data) * 0.6)])  # the index is up front, the end is gone
    dst = tmp_path / "out.mp4"
    r = artify("stylize", fast, dst, "--model", tiny_model, "--engine", "torch")
    assert r.exit_code == 1
    assert "the input ended after" in r.output and "of 60 frames" in r.output and "missing" in r.output
    assert 0 < len(probe(dst)["video_pts"]) < 60


@pytest.mark.parametrize("codec, word", [("aac", "audio encoder"), ("mov_text", "subtitle encoder"), ("nope264", "no such encoder")])
def test_a_codec_that_is_not_a_video_encoder_is_one_line(tiny_model, tmp_path, codec, word):
    clip = tmp_path / "c.mp4"
    write_clip(clip, frames=3)
    r = artify("stylize", clip, tmp_path / "o.mp4", "--model", tiny_model, "--codec", codec)
    assert r.exit_code == 1 and word in r.output and not (tmp_path / "o.mp4").exists()


def test_a_tiny_image_error_names_the_file(tiny_model, tmp_path):
    tiny = tmp_path / "dot.png"
    Image.fromarray(np.zeros((3, 2, 3), np.uint8)).save(tiny)
    r = artify("stylize", tiny, tmp_path / "o.png", "--model", tiny_model)
    assert r.exit_code == 1 and "dot.png" in r.output and "too small" in r.output


def test_a_decompression_bomb_fails_alone_in_a_folder(tiny_model, tmp_path, monkeypatch):
    src = tmp_path / "in"
    write_pictures(src, 2)
    # A real oversized PNG (Pillow's limit lowered so the test stays small; the code path is Pillow's own).
    Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(src / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
    r = artify("stylize", src, tmp_path / "out", "--model", tiny_model, "--size", "64")
    assert r.exit_code == 1
    assert "huge.png" in r.output and "too many pixels" in r.output
    assert (tmp_path / "out" / "img_000.png").exists() and (tmp_path / "out" / "img_001.png").exists()


@pytest.mark.parametrize("kind", ["file", "below-a-file"])
def test_an_unusable_engine_cache_warns_and_runs_uncached(tiny_model, tmp_path, kind, caplog):
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a folder")
    cache = blocker if kind == "file" else blocker / "sub"
    (src,) = write_pictures(tmp_path / "in", 1)
    with caplog.at_level(logging.WARNING):  # the CLI's log handler is pytest's here
        r = artify("stylize", src, tmp_path / "o.png", "--model", tiny_model, "--engine", "onnx", "--engine-cache", cache)
    assert r.exit_code == 0, r.output
    assert f"{cache} is not usable" in caplog.text and (tmp_path / "o.png").exists()


def test_a_model_with_nan_weights_or_an_absurd_header_is_refused(tiny_model, tmp_path):
    import json

    import torch
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(tiny_model), framework="pt") as fh:
        header = fh.metadata()
    state = load_file(str(tiny_model))
    state["to_rgb.weight"][0, 0, 0, 0] = float("nan")
    nan_model = tmp_path / "nan.safetensors"
    save_file(state, str(nan_model), metadata=header)
    (src,) = write_pictures(tmp_path / "in", 1)
    r = artify("stylize", src, tmp_path / "o.png", "--model", nan_model)
    assert r.exit_code == 1 and "NaN" in r.output and "nan.safetensors" in r.output
    config = json.loads(header["config"]) | {"base_width": 10**9}
    wide = tmp_path / "wide.safetensors"
    save_file(load_file(str(tiny_model)), str(wide), metadata=header | {"config": json.dumps(config)})
    r = artify("stylize", src, tmp_path / "o.png", "--model", wide)
    assert r.exit_code == 1 and "wide.safetensors" in r.output and "base_width" in r.output
    assert not (tmp_path / "o.png").exists()
    del torch


def test_train_out_that_is_a_file_is_one_line(tmp_path):
    write_pictures(tmp_path / "p", 3)
    afile = tmp_path / "run"
    afile.write_text("x")
    r = artify("train", "--photos", tmp_path / "p", "--cartoons", tmp_path / "p", "--out", afile)
    assert r.exit_code == 1 and "is a file" in r.output
