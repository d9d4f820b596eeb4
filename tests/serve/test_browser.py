"""The explorer in a real headless Chromium (Debian's `chromium`, driven by Playwright):
sliders redraw the picture, uploads show the NLL or a clear error, clicks interpolate.

Playwright's own browser download is not reachable from CI, so the tests use the system
browser at /usr/bin/chromium, which `make test` installs with apt; they skip, with that
one reason, only where it is missing.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.serve.conftest import request

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed (make test installs Debian's chromium with apt as root)",
)

PIXELS = """selector => {
  const canvas = document.querySelector(selector);
  return Array.from(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data);
}"""


@pytest.fixture(scope="module")
def page(server):
    """One browser session for every check: the explorer's page, loaded and ready."""
    from playwright.sync_api import sync_playwright

    url, _ = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        fetched = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.fetched = fetched
        yield page
        browser.close()


def test_the_page_loads_only_from_the_explorer(page, server):
    url, _ = server
    assert page.fetched and all(f.startswith(url) for f in page.fetched), page.fetched
    assert page.locator("canvas.thumb").count() > 2
    assert "VAE on digits" in page.inner_text("#about")


def test_moving_a_slider_redraws_the_decoded_image(page):
    before = page.evaluate(PIXELS, "#decoded")
    assert len(before) == 8 * 8 * 4
    draws = int(page.get_attribute("#decoded", "data-drawn"))
    dim = page.evaluate("info.dims[0]")
    page.locator(f"#slider-{dim}").fill("-2.9")  # fires the input event
    page.wait_for_function(f"Number(document.getElementById('decoded').dataset.drawn) > {draws}")
    after = page.evaluate(PIXELS, "#decoded")
    assert before != after


def test_clicking_two_images_shows_both_interpolations(page):
    page.locator("canvas.thumb").nth(0).click()
    page.locator("canvas.thumb").nth(1).click()
    page.wait_for_selector(".path.slerp canvas")
    assert page.locator(".path.linear canvas").count() == 10
    assert page.locator(".path.slerp canvas").count() == 10


def test_an_uploaded_png_shows_its_nll(page, server, tmp_path):
    url, _ = server
    digit = np.zeros((32, 32), dtype=np.uint8)
    digit[4:28, 12:20] = 255
    path = tmp_path / "one.png"
    Image.fromarray(digit).save(path)
    page.set_input_files("#upload", str(path))
    page.wait_for_function("document.getElementById('nll').textContent.startsWith('NLL')")
    _, answer = request(f"{url}/api/upload", path.read_bytes())  # same seed, same estimate
    assert f"NLL {answer['nll_nats']:.2f} nats" in page.inner_text("#nll")
    assert f"{answer['compressed_bits']} bits" in page.inner_text("#compressed")
    assert page.inner_text("#upload-error") == ""
    assert max(page.evaluate(PIXELS, "#upload-reconstruction")) > 0


def test_an_uploaded_text_file_shows_the_error(page, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a picture\n")
    page.set_input_files("#upload", str(path))
    page.wait_for_function("document.getElementById('upload-error').textContent.length > 0")
    assert "not an image" in page.inner_text("#upload-error")
    assert page.inner_text("#nll") == ""
