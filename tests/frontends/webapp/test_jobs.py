"""The page's work without Gradio: compare, webcam stats, result folders, the model shelf."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artify_stream.errors import InputError
from frontends.webapp import jobs
from frontends.webapp.config import AppConfig
from frontends.webapp.shelf import ModelShelf
from tests.conftest import make_picture
from tests.frontends.webapp.conftest import ENGINE, TINY_NAME


@pytest.fixture(scope="module")
def shelf(app_models) -> ModelShelf:
    return ModelShelf(app_models, ENGINE)


def test_the_shelf_offers_bundled_models_first_then_the_folders_and_nothing_else(shelf, app_models):
    assert shelf.names[0] == "artify-draw" and shelf.names[-1] == TINY_NAME
    with pytest.raises(InputError, match="is not offered here"):
        shelf.path(str(app_models / f"{TINY_NAME}.safetensors"))


def test_compare_runs_every_model_and_the_opencv_filter(shelf, tmp_path: Path):
    Image.fromarray(make_picture(64, 96, seed=2)).save(tmp_path / "p.png")
    rows = jobs.compare_photo(shelf, tmp_path / "p.png", 256, AppConfig())
    assert [r.name for r in rows] == ["photo", *shelf.names, jobs.COMPARE_BASELINE]
    assert all(r.image.shape == (64, 96, 3) and 0 <= r.figures["p_cartoon"] <= 1 for r in rows)
    assert rows[0].figures["edge_f1"] == 1.0  # the photo against itself


def test_webcam_frames_come_back_stylized_with_their_speed(shelf):
    cam = jobs.WebcamStylizer(shelf)
    assert cam(None, TINY_NAME, 256) == (None, "waiting for the camera")
    frame = make_picture(120, 160)
    for _ in range(3):
        out, stats = cam(frame, TINY_NAME, 80)
    assert out.shape == (60, 80, 3) and not np.array_equal(out, frame[::2, ::2])
    assert stats.endswith("ms per frame in the model") and " fps" in stats


def test_job_folders_keep_only_the_latest_and_vanish_on_close(tmp_path: Path):
    folders = jobs.JobFolders(keep=2, root=tmp_path)
    made = [folders.new() for _ in range(4)]
    assert [p.exists() for p in made] == [False, False, True, True]
    folders.close()
    assert not folders.root.exists()


SAMPLE = Path(__file__).resolve().parents[3] / "artify_stream" / "samples" / "astronaut-eileen-collins.jpg"
LITE = "artify-draw-lite"  # a real model: a random tiny one paints every crop the same flat grey


def _needs_dlib(shelf) -> None:
    if shelf.faces_problem:
        pytest.skip(shelf.faces_problem)


def test_face_mode_on_a_photo_pastes_the_face_and_counts_it(shelf, tmp_path: Path):
    _needs_dlib(shelf)
    folders = jobs.JobFolders(keep=2, root=tmp_path)
    plain = jobs.stylize_photo(shelf, LITE, SAMPLE, 512, AppConfig(), folders)
    faced = jobs.stylize_photo(shelf, LITE, SAMPLE, 512, AppConfig(), folders, faces=True)
    assert faced.engine_line.endswith("; face mode: 1 face") and "face mode" not in plain.engine_line
    assert faced.file.name.endswith("-faces.png") and faced.after.shape == plain.after.shape
    changed = np.abs(faced.after.astype(int) - plain.after).max(2) > 8
    # only the face (upper middle of the portrait) differs, not the frame's bottom or left edge
    assert changed.mean() > 0.01 and not changed[-40:, :].any() and not changed[:, :30].any()
    Image.fromarray(make_picture(64, 96, seed=2)).save(tmp_path / "noface.png")
    none = jobs.stylize_photo(shelf, LITE, tmp_path / "noface.png", 256, AppConfig(), folders, faces=True)
    assert none.engine_line.endswith("; face mode: 0 faces")  # no face is an answer, not an error
    folders.close()


def test_face_mode_on_a_clip_tracks_the_face(shelf, tmp_path: Path):
    _needs_dlib(shelf)
    from tests.media import write_clip_of

    rgb = np.asarray(Image.open(SAMPLE).convert("RGB"))
    frames = [np.ascontiguousarray(rgb[i:i + 256, 40 + i:296 + i]) for i in range(0, 16, 2)]
    write_clip_of(tmp_path / "face.mp4", frames)
    folders = jobs.JobFolders(keep=2, root=tmp_path)
    result = jobs.stylize_clip(shelf, LITE, tmp_path / "face.mp4", 256, AppConfig(), folders, faces=True)
    assert result.frames == len(frames) and result.summary().endswith("; face mode: 1 face")
    folders.close()


def test_webcam_face_mode_says_how_many_faces_are_in_view(shelf):
    _needs_dlib(shelf)
    rgb = np.array(Image.open(SAMPLE).convert("RGB"))  # writable, as the browser's frames are
    cam = jobs.WebcamStylizer(shelf)
    for _ in range(3):
        out, stats = cam(rgb, LITE, 384, faces=True)
    assert stats.endswith("in the model and face mode; 1 face in view") and out.shape[2] == 3
    out, stats = cam(np.full((120, 160, 3), 90, np.uint8), LITE, 256, faces=True)
    assert stats.endswith("; 0 faces in view")
