"""A real `artify app` server in this process, on a free loopback port, offering a tiny model."""

from __future__ import annotations

import socket
from engines.formats import BackendChoice, PrecisionChoice
from frontends.engine_for import EngineChoice
from pathlib import Path

import pytest

from frontends.webapp.config import AppConfig
from frontends.webapp.shelf import ModelShelf

gradio = pytest.importorskip("gradio", reason="the app extra (gradio) is not installed: pip install -e '.[app]'")

TINY_NAME = "tiny"
ENGINE = EngineChoice(BackendChoice.torch, PrecisionChoice.fp32, "cpu")  # no CPU timing probe: fast to build


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_models(tmp_path_factory) -> Path:
    import torch

    from artify_stream.generator import Generator
    from artify_stream.model_file import save_model_file
    from tests.conftest import TINY

    folder = tmp_path_factory.mktemp("app-models")
    torch.manual_seed(0)
    save_model_file(folder / f"{TINY_NAME}.safetensors", Generator(TINY).eval(), {"epoch": 1})
    return folder


@pytest.fixture(scope="session")
def app_server(app_models):
    """(url, page, config): the page served until the session ends."""
    from frontends.webapp.page import serve

    config = AppConfig(port=free_port(), models_dir=app_models, max_upload_mib=5, max_image_pixels=2_000_000,
                       default_size=256)
    page = serve(config, ModelShelf(app_models, ENGINE), block=False)
    yield f"http://127.0.0.1:{config.port}/", page, config
    page.close()
    page.artify_folders.close()
