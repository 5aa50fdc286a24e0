"""Shared fixtures: tiny generated images, clips and model files (no data kit needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artify_stream.generator import Generator, GeneratorConfig
from artify_stream.model_file import save_model_file

TINY = GeneratorConfig(residual_blocks=1, first_kernel=3, base_width=8)


def make_picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with a few flat shapes: edges for Canny, texture for the content loss."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1), np.full((h, w), 128.0)], -1)
    for _ in range(3):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(3, max(4, min(h, w) // 3))
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
    return img.astype(np.uint8)


def write_pictures(folder: Path, count: int, size: tuple[int, int] = (40, 48), suffix: str = ".png", seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img_{i:03d}{suffix}"
        Image.fromarray(make_picture(*size, seed=seed + i)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    generator = Generator(TINY)
    # Non-trivial BN statistics so eval mode differs from an identity-ish init.
    generator.train()
    with torch.no_grad():
        generator(torch.rand(2, 3, 16, 16))
    return save_model_file(tmp_path / "tiny.safetensors", generator.eval(), {"epoch": 1, "note": "test"})


@pytest.fixture(scope="session", autouse=True)
def engine_cache_dir(tmp_path_factory) -> Path:
    """Engines built by the tests go to a temporary cache, never the user's (subprocesses inherit it)."""
    import os

    from engines.cache import CACHE_ENV

    folder = tmp_path_factory.mktemp("engine-cache")
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


def sample_frames(h: int, w: int) -> torch.Tensor:
    """Two real photos (the bundled samples, from scikit-image) cropped to h x w, as uint8 NHWC."""
    from artify_stream.image_files import read_image

    samples = Path(__file__).resolve().parents[1] / "artify_stream" / "samples"
    crops = [read_image(samples / name).rgb[:h, :w] for name in ("astronaut-eileen-collins.jpg", "chelsea-cat.jpg")]
    return torch.from_numpy(np.stack(crops))
