"""Learning on a phone, in a real headless Chromium at 390×844: 开始学习 / 继续学习 on the first
screen of a course page, 继续学习 on the home page, 朗读 (read aloud), and search results that copy
as plain text.

Progress is made for real: the tests play the lecture video until the page remembers its place.
Headless Chromium has speech synthesis but no voices; the speaking tests put a stand-in for the
browser's ``speechSynthesis`` into the page (``FAKE_SPEECH`` in conftest), which records what it is asked
to say and finishes an utterance when the test says so.
"""

from __future__ import annotations

import json

import pytest

from tests.plugins.site.conftest import CHINESE_VOICES as CHINESE
from tests.plugins.site.conftest import PHONE, SEARCH_TITLE, open_page, speaking_phone, watch_lecture_until

pytestmark = pytest.mark.slow

COURSE = "courses/demo/"
LECTURE_1 = "courses/demo/01-lecture-1/"
LECTURE_2 = "courses/demo/02-lecture-2/"

ENGLISH = [{"name": "English", "lang": "en-US"}]


@pytest.fixture
def site_url(phone_site):
    return phone_site


def on_first_screen(box) -> bool:
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


# --------------------------------------------------------------------------------------------
# 开始学习 / 继续学习 on the course page
# --------------------------------------------------------------------------------------------


def test_course_page_offers_to_start_on_the_first_screen(site_url, phone):
    page = open_page(phone, site_url + COURSE)
    start = page.locator("a.weike-start__button")
    assert start.inner_text().strip() == "开始学习"
    box = start.bounding_box()
    assert on_first_screen(box) and box["height"] >= 48 and box["width"] >= 200
    # The lecture list itself is well below the first screen: the button is what is there to tap.
    assert page.locator("ol.weike-lectures").bounding_box()["y"] > PHONE["height"]
    start.tap()
    page.wait_for_url("**/" + LECTURE_1)


def test_course_page_offers_to_continue_where_the_learner_stopped(site_url, phone):
    lecture = open_page(phone, site_url + LECTURE_1)
    watch_lecture_until(lecture, 8)
    stopped = int(lecture.evaluate("document.querySelector('video').currentTime"))

    page = open_page(phone, site_url + COURSE)
    start = page.locator("a.weike-start__button")
    assert start.inner_text().strip() == f"继续学习 第 1 讲（从 0:{stopped:02d} 开始）"
    assert on_first_screen(start.bounding_box())
    # The lecture row says where too.
    assert f"上次看到 0:{stopped:02d}" in page.locator("a.weike-lecture").first.inner_text()
    start.tap()
    page.wait_for_url("**/" + LECTURE_1)
    page.wait_for_load_state("networkidle")
    assert page.locator(".weike-resume").is_visible()


def test_after_a_lecture_ends_the_course_page_continues_with_the_next(site_url, phone):
    lecture = open_page(phone, site_url + LECTURE_1)
    watch_lecture_until(lecture, 12, to_the_end=True)
    page = open_page(phone, site_url + COURSE)
    start = page.locator("a.weike-start__button")
    assert start.inner_text().strip() == "继续学习 第 2 讲"
    start.tap()
    page.wait_for_url("**/" + LECTURE_2)


# --------------------------------------------------------------------------------------------
# 继续学习 on the home page
# --------------------------------------------------------------------------------------------


def test_home_page_shows_where_the_learner_stopped(site_url, phone):
    home = open_page(phone, site_url)
    assert not home.locator(".weike-continue").is_visible()  # nothing watched on this phone yet

    lecture = open_page(phone, site_url + LECTURE_1)
    watch_lecture_until(lecture, 8)
    stopped = int(lecture.evaluate("document.querySelector('video').currentTime"))

    home.reload()
    home.wait_for_load_state("networkidle")
    block = home.locator(".weike-continue")
    assert block.is_visible() and on_first_screen(block.bounding_box())
    button = block.locator("a.weike-continue__button")
    assert button.inner_text().strip() == "继续学习 第 1 讲：第1讲"
    assert block.locator(".weike-continue__where").inner_text() == f"《测试课程》，上次看到 0:{stopped:02d}"
    assert button.bounding_box()["height"] >= 48
    button.tap()
    home.wait_for_url("**/" + LECTURE_1)


# --------------------------------------------------------------------------------------------
# 朗读
# --------------------------------------------------------------------------------------------


def test_read_aloud_hides_itself_without_a_chinese_voice(site_url, phone, browser):
    # Headless Chromium has no voices at all.
    for path in (COURSE, LECTURE_2):
        page = open_page(phone, site_url + path)
        assert page.locator(".weike-read").count() == 1
        assert not page.locator(".weike-read").is_visible()
    # Voices, but none Chinese.
    english = speaking_phone(browser, ENGLISH)
    try:
        page = open_page(english, site_url + LECTURE_2)
        assert not page.locator(".weike-read").is_visible()
    finally:
        english.close()


def test_read_aloud_appears_when_a_chinese_voice_arrives_late(site_url, browser):
    context = speaking_phone(browser, [])
    try:
        page = open_page(context, site_url + COURSE)
        assert not page.locator(".weike-read").is_visible()
        page.evaluate(f"window.__speech.addVoices({json.dumps(CHINESE, ensure_ascii=False)})")
        toggle = page.get_by_role("button", name="朗读简介")
        assert toggle.is_visible() and toggle.bounding_box()["height"] >= 48
        toggle.tap()
        assert page.evaluate("window.__speech.said") == ["一门用于测试的课程。"]
        assert page.evaluate("window.__speech.voice") == "普通话"  # Mandarin before Cantonese
    finally:
        context.close()


def test_read_aloud_reads_pauses_resumes_and_stops(site_url, browser):
    context = speaking_phone(browser, CHINESE)
    try:
        page = open_page(context, site_url + LECTURE_2)
        control = page.locator(".weike-read")
        toggle, stop = control.locator(".weike-read__toggle"), control.locator(".weike-read__stop")
        assert toggle.is_visible() and toggle.inner_text() == "朗读讲义" and not stop.is_visible()
        said = lambda: page.evaluate("window.__speech.said")  # noqa: E731

        toggle.tap()  # reading: the first sentence of the notes
        assert said() == ["先打开手机的设置。"] and page.evaluate("window.__speech.lang") == "zh-CN"
        assert toggle.inner_text() == "暂停" and toggle.get_attribute("aria-pressed") == "true" and stop.is_visible()
        page.evaluate("window.__speech.finish()")
        assert said()[-1] == "再找到显示和亮度！"

        toggle.tap()  # paused: the voice stops
        assert toggle.inner_text() == "继续朗读" and page.evaluate("window.__speech.current") is None
        toggle.tap()  # resumed: the interrupted sentence again, then on through the table
        assert said()[-1] == "再找到显示和亮度！" and toggle.inner_text() == "暂停"
        page.evaluate("window.__speech.finish()")
        assert "第一步" in said()[-1] and "打开设置" in said()[-1]
        page.evaluate("while (window.__speech.current) window.__speech.finish()")
        assert toggle.inner_text() == "朗读讲义" and not stop.is_visible()  # done

        toggle.tap()
        stop.tap()
        assert toggle.inner_text() == "朗读讲义" and page.evaluate("window.__speech.current") is None
        assert not stop.is_visible()
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# Search results copy as plain text
# --------------------------------------------------------------------------------------------


def test_search_results_show_and_copy_plain_text(site_url, phone):
    index = json.loads(phone.request.get(site_url + "search/search_index.json").text())
    assert {doc["location"] for doc in index["docs"]} >= {"guide/", "courses/photo/01-lecture-1/"}
    for doc in index["docs"]:
        assert "\u200b" not in doc["title"] + doc["text"], doc["location"]

    page = open_page(phone, site_url)
    page.locator('.md-header__button[for="__search"]').click()
    for query, location, title in (("拍照", "courses/photo/01-lecture-1/", SEARCH_TITLE),
                                   ("指南", "guide/", "学习指南")):
        page.locator(".md-search__input").fill(query)
        result = page.locator(f'.md-search-result__item a[href*="{location}"]').first
        result.wait_for(timeout=15_000)
        shown = result.inner_text()
        assert title in shown and "\u200b" not in shown
