"""The page in a real headless Chromium (Debian's), driven by Playwright: what a user clicks.

Nothing downloads a browser: Playwright is pointed at /usr/bin/chromium (`make test` installs it).
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import make_picture
from tests.media import write_clip

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Set to keep the page's screenshot (the README's picture is one): ARTIFY_APP_SCREENSHOT=docs/app.png
SCREENSHOT_ENV = "ARTIFY_APP_SCREENSHOT"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 90_000

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
if not Path(CHROMIUM).is_file():
    reason = "Debian's chromium is not installed (apt-get install chromium; `make test` does)"
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module")
def browser_page(app_server):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_server[0])
        yield page
        browser.close()


def _fetch(url: str, to: Path) -> Path:
    with urllib.request.urlopen(url, timeout=30) as response:
        to.write_bytes(response.read())
    return to


def _download_url(page, base: str, selector: str) -> str:
    href = page.locator(f"{selector} a[href]").first.get_attribute("href")
    return href if href.startswith("http") else base.rstrip("/") + "/" + href.lstrip("/")


def _choose_tiny_model(page) -> None:
    page.get_by_label("Model").click()
    page.get_by_role("option", name="tiny").click()


def test_photo_upload_button_and_download(browser_page, app_server, tmp_path: Path):
    page, base = browser_page, app_server[0]
    _choose_tiny_model(page)
    photo = make_picture(96, 128, seed=5)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    page.locator("#photo-in input[type=file]").set_input_files(str(tmp_path / "photo.png"))
    page.locator("#photo-go").click()
    page.locator("#photo-file a[href]").first.wait_for()
    out = np.asarray(Image.open(_fetch(_download_url(page, base, "#photo-file"), tmp_path / "out.png")).convert("RGB"))
    assert out.shape == photo.shape
    assert np.abs(out.astype(int) - photo).mean() > 5
    assert page.locator("#photo-engine textarea").input_value().startswith("engine: torch fp32 on cpu")
    if os.environ.get(SCREENSHOT_ENV):  # the README's picture: the default model on a bundled sample
        samples = Path(__file__).resolve().parents[3] / "artify_stream" / "samples"
        page.get_by_label("Model").click()
        page.get_by_role("option", name="artify-draw", exact=True).click()
        page.locator("#photo-in input[type=file]").set_input_files(str(samples / "astronaut-eileen-collins.jpg"))
        page.locator("#photo-go").click()
        page.locator("#photo-file a[href*='artify-draw']").first.wait_for()
        page.screenshot(path=os.environ[SCREENSHOT_ENV], full_page=True)
        _choose_tiny_model(page)


def test_face_mode_checkbox_stylizes_the_face_and_says_so(browser_page, app_server, tmp_path: Path):
    page = browser_page
    if app_server[1].artify_shelf.faces_problem:
        pytest.skip(app_server[1].artify_shelf.faces_problem)
    _choose_tiny_model(page)
    samples = Path(__file__).resolve().parents[3] / "artify_stream" / "samples"
    page.locator("#faces input[type=checkbox]").check()
    try:
        page.locator("#photo-in input[type=file]").set_input_files(str(samples / "astronaut-eileen-collins.jpg"))
        page.locator("#photo-go").click()
        page.locator("#photo-file a[href*='tiny-faces']").first.wait_for()
        assert "; face mode: 1 face;" in page.locator("#photo-engine textarea").input_value()
    finally:
        page.locator("#faces input[type=checkbox]").uncheck()


def test_a_bad_photo_shows_an_error_and_a_good_one_still_works(browser_page, app_server, tmp_path: Path):
    page, base = browser_page, app_server[0]
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)  # a PNG signature, then nothing
    page.locator("#photo-in input[type=file]").set_input_files(str(tmp_path / "broken.png"))
    page.locator("#photo-go").click()
    page.get_by_text("broken.png: not a readable image").first.wait_for()
    Image.fromarray(make_picture(64, 80, seed=9)).save(tmp_path / "good.png")
    page.locator("#photo-in input[type=file]").set_input_files(str(tmp_path / "good.png"))
    page.locator("#photo-go").click()
    page.wait_for_function("() => [...document.querySelectorAll('#photo-file a[href]')]"
                           ".some(a => a.href.includes('good-tiny'))")
    href = page.locator("#photo-file a[href*='good-tiny']").first.get_attribute("href")
    url = href if href.startswith("http") else base.rstrip("/") + "/" + href.lstrip("/")
    assert Image.open(_fetch(url, tmp_path / "good-out.png")).size == (80, 64)


def test_clip_upload_keeps_frames_and_audio(browser_page, app_server, tmp_path: Path):
    page = browser_page
    page.get_by_role("tab", name="Clip").click()
    write_clip(tmp_path / "clip.mp4", frames=15, audio=True)
    page.locator("#clip-in input[type=file]").set_input_files(str(tmp_path / "clip.mp4"))
    page.locator("#clip-go").click()
    page.wait_for_function("() => { const v = document.querySelector('#clip-out video'); return v && v.src; }")
    src = page.locator("#clip-out video").first.get_attribute("src")
    url = src if src.startswith("http") else app_server[0].rstrip("/") + "/" + src.lstrip("/")
    with av.open(str(_fetch(url, tmp_path / "out.mp4"))) as container:
        assert container.streams.audio
        assert sum(1 for _ in container.decode(video=0)) == 15
    assert page.locator("#clip-summary textarea").input_value().startswith("15 frames")
