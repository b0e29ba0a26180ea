"""A portrait phone photo as a cover is shown whole on the cards (fit with a fill), in real Chromium.

The source has a vivid green band along its top edge and a magenta band along its bottom edge
(where a school's name and a caption sit in a real photo). A centre crop to 16:9 loses both; the
rendered card must show both, read back from a screenshot's pixels.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
GREEN, MAGENTA = (0, 220, 0), (220, 0, 220)


def _portrait_cover(path):
    picture = Image.new("RGB", (720, 1280), (250, 250, 250))
    picture.paste(GREEN, (0, 0, 720, 90))
    picture.paste(MAGENTA, (0, 1280 - 90, 720, 1280))
    picture.save(path, "JPEG", quality=90)


def _has(pixels, colour_test) -> bool:
    return any(colour_test(pixel) for pixel in pixels)


def test_portrait_cover_is_shown_whole_on_its_card(built_site, serve, browser, tmp_path):
    cover = tmp_path / "portrait.jpg"
    _portrait_cover(cover)
    built = built_site(files={"courses/demo/cover.jpg": cover})
    assert not [d for d in built.result.diagnostics if d.is_error]
    url = serve(built.site)
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        image = page.locator(".weike-card", has_text="测试课程").locator("img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        shot = Image.open(io.BytesIO(image.screenshot())).convert("RGB")
    finally:
        context.close()
    width, height = shot.size
    band = max(3, height // 8)
    top = [shot.getpixel((x, y)) for y in range(band) for x in range(width)]
    bottom = [shot.getpixel((x, y)) for y in range(height - band, height) for x in range(width)]
    middle = [shot.getpixel((x, height // 2)) for x in range(width)]
    vivid_green = lambda p: p[1] > 170 and p[0] < 90 and p[2] < 90  # noqa: E731
    vivid_magenta = lambda p: p[0] > 170 and p[2] > 170 and p[1] < 90  # noqa: E731
    assert _has(top, vivid_green), "the top edge of the photo is cut away"
    assert _has(bottom, vivid_magenta), "the bottom edge of the photo is cut away"
    assert not _has(middle, vivid_green) and not _has(middle, vivid_magenta)
    # Shown whole, not stretched: the picture's own white spans about 9/16 of 9/16 of the card's width.
    white = [p for p in middle if min(p) > 230]
    assert 0.2 * width < len(white) < 0.45 * width
