"""Acceptance in a real headless Chromium over HTTP: video plays at 1280×720, phone layout, Chinese search.

Every request the pages make is recorded; none may leave localhost.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import serving
from tests.plugins.site.conftest import SEARCH_TITLE

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site_url(shared_site):
    assert not [d for d in shared_site.result.diagnostics if d.is_error]
    with serving(shared_site.site) as url:
        yield url


@pytest.fixture
def open_page(browser):
    """``open_page(url, viewport) -> (page, outside_requests)``."""
    contexts = []

    def open_(url: str, viewport=PHONE):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        outside: list[str] = []
        host = urlsplit(url).netloc
        page.on("request", lambda request: outside.append(request.url)
                if urlsplit(request.url).scheme in ("http", "https") and urlsplit(request.url).netloc != host
                else None)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        return page, outside

    yield open_
    for context in contexts:
        context.close()


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_lecture_video_plays_at_720p_on_a_phone(site_url, open_page):
    page, outside = open_page(site_url + "courses/demo/01-lecture-1/")
    assert page.evaluate("document.documentElement.lang").startswith("zh")
    assert no_sideways_scrolling(page)
    video = page.locator("video")
    assert video.get_attribute("preload") == "none" and video.get_attribute("poster")
    # Play it for real: the browser fetches and decodes the delivered MP4.
    page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
    page.wait_for_function(
        "() => { const v = document.querySelector('video');"
        " return v.videoWidth > 0 && v.currentTime > 0.2 && v.readyState >= 2; }", timeout=20_000)
    assert page.evaluate("[document.querySelector('video').videoWidth, document.querySelector('video').videoHeight]") \
        == [1280, 720]
    assert page.evaluate("document.querySelector('video').error") is None
    # The subtitles track loads too.
    page.wait_for_function("() => document.querySelector('track').readyState === 2", timeout=10_000)
    box = video.bounding_box()
    assert box["width"] <= PHONE["width"]
    assert outside == []


def test_home_page_is_chinese_and_fits_a_phone(site_url, open_page):
    page, outside = open_page(site_url)
    assert page.evaluate("document.documentElement.lang").startswith("zh")
    assert no_sideways_scrolling(page)
    assert page.locator(".weike-card").count() == 2
    # Larger text for elderly readers: still no sideways scrolling, and the choice is remembered.
    before = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.get_by_role("button", name="A+ 放大字号").click()
    page.get_by_role("button", name="A+ 放大字号").click()
    after = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert after > before * 1.3
    assert no_sideways_scrolling(page)
    page.reload()
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == after
    for path in ("courses/demo/", "themes/laonian-zhihui/", "levels/village/"):
        other, more_outside = open_page(site_url + path)
        assert no_sideways_scrolling(other), path
        outside += more_outside
    assert outside == []


@pytest.mark.parametrize("query", ["拍照", "手机"])
def test_chinese_search_finds_a_word_inside_a_lecture_title(site_url, open_page, query):
    page, _ = open_page(site_url, viewport={"width": 1280, "height": 900})
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator(".md-search__input").fill(query)
    # Material searches on keyup; a Chinese IME sends one when the word is committed.
    page.locator(".md-search__input").press("End")
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    titles = page.locator(".md-search-result__item h1, .md-search-result__item h2").all_inner_texts()
    assert any(SEARCH_TITLE in title.replace("\u200b", "") for title in titles), titles


def test_browsers_without_resize_observer_get_the_polyfill_from_this_site(site_url, browser):
    # iOS 12 Safari and old Android WebViews lack ResizeObserver; Material would fetch a
    # polyfill from a CDN. Pretend to be such a browser.
    context = browser.new_context(viewport=PHONE)
    context.add_init_script("delete window.ResizeObserver;")
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site_url + "courses/demo/")
    page.wait_for_load_state("networkidle")
    try:
        assert any(url.endswith("/assets/weike/vendor/resize-observer-polyfill-1.5.1.js") for url in requests)
        assert all(url.startswith(site_url) for url in requests if url.startswith("http")), requests
        assert page.evaluate("typeof window.ResizeObserver") == "function"
        assert errors == []
    finally:
        context.close()


def test_video_uses_the_column_width_on_a_computer(site_url, open_page):
    page, _ = open_page(site_url + "courses/demo/01-lecture-1/", viewport={"width": 1280, "height": 900})
    video = page.locator("video").bounding_box()
    column = page.locator(".md-content__inner").bounding_box()
    assert video["width"] >= min(0.9 * column["width"], 48 * 20 * 0.9)
    assert abs(video["width"] / video["height"] - 16 / 9) < 0.05
