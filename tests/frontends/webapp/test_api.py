"""Both API endpoints through `gradio_client`, against the real server; bad uploads are messages."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import make_picture
from tests.media import write_clip
from tests.frontends.webapp.conftest import TINY_NAME

pytest.importorskip("gradio_client", reason="gradio_client is not installed: pip install -e '.[app]'")


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server[0], verbose=False)


def _frames_and_audio(path: str) -> tuple[int, bool]:
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0)), bool(container.streams.audio)


def test_stylize_image_returns_a_cartoon_of_the_inputs_size(client, tmp_path: Path):
    from gradio_client import handle_file

    photo = make_picture(90, 120, seed=3)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    (_, _), cartoon, engine = client.predict(handle_file(str(tmp_path / "photo.png")), TINY_NAME, 256,
                                             api_name="/stylize_image")
    out = np.asarray(Image.open(cartoon).convert("RGB"))
    assert out.shape == photo.shape  # 120 px is below the 256 bound: never upscaled
    assert np.abs(out.astype(int) - photo).mean() > 5  # not the input handed back
    assert engine.startswith("engine: torch fp32 on cpu")


def test_stylize_video_keeps_frames_and_audio(client, tmp_path: Path):
    from gradio_client import handle_file

    write_clip(tmp_path / "clip.mp4", frames=12, audio=True)
    result, summary = client.predict(handle_file(str(tmp_path / "clip.mp4")), TINY_NAME, 256,
                                     api_name="/stylize_video")
    path = result["video"] if isinstance(result, dict) else result
    assert _frames_and_audio(path) == (12, True)
    assert summary.startswith("12 frames")


@pytest.mark.parametrize("name, content, expected", [
    ("notes.png", b"not an image at all", "notes.png: not a readable image"),
    ("notes.txt", b"hello", "notes.txt: not an image file this app reads"),
])
def test_a_bad_photo_is_a_message_and_the_next_request_works(client, tmp_path: Path, name, content, expected):
    from gradio_client import handle_file

    (tmp_path / name).write_bytes(content)
    with pytest.raises(Exception, match=expected):
        client.predict(handle_file(str(tmp_path / name)), TINY_NAME, 256, api_name="/stylize_image")
    Image.fromarray(make_picture(40, 48)).save(tmp_path / "ok.png")
    assert client.predict(handle_file(str(tmp_path / "ok.png")), TINY_NAME, 256, api_name="/stylize_image")[1]


def test_a_huge_photo_is_refused_before_decoding(client, tmp_path: Path):
    from gradio_client import handle_file

    Image.new("L", (3000, 1000)).save(tmp_path / "wide.png")  # 3 MP, over the test app's 2 MP
    with pytest.raises(Exception, match="wide.png: 3000x1000 is 3 megapixels, over this app's 2 MP limit"):
        client.predict(handle_file(str(tmp_path / "wide.png")), TINY_NAME, 256, api_name="/stylize_image")


def test_a_truncated_clip_is_a_message(client, tmp_path: Path):
    from gradio_client import handle_file

    write_clip(tmp_path / "whole.mp4", frames=30)
    data = (tmp_path / "whole.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception, match="cut.mp4"):
        client.predict(handle_file(str(tmp_path / "cut.mp4")), TINY_NAME, 256, api_name="/stylize_video")


def test_a_model_path_typed_into_a_request_is_refused(client, tmp_path: Path, app_models: Path):
    from gradio_client import handle_file

    Image.fromarray(make_picture(40, 48)).save(tmp_path / "ok.png")
    with pytest.raises(Exception, match="is not offered here"):
        client.predict(handle_file(str(tmp_path / "ok.png")), str(app_models / f"{TINY_NAME}.safetensors"), 256,
                       api_name="/stylize_image")
