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
