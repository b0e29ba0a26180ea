"""Hostile course text typed into Material's search stays text, in a real headless Chromium.

Material inserts search results into the page as HTML. Every title, knowledge point, summary and
(with ``search_notes``) note text is authored by someone, so a search that shows it must neither
open a dialog nor run an event handler; the results still show the text the author typed.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import COURSE_YML

pytestmark = pytest.mark.slow

#: The word every hostile field contains, so one search shows them all.
BAIT = "毒药"
HOSTILE_COURSE_TITLE = BAIT + "课<svg onload=alert('course-title')>"  # within the 40-character title (E118)
HOSTILE_SUMMARY = BAIT + "简介<img src=x onerror=window.weikeXss='summary'>"
HOSTILE_LECTURE_TITLE = BAIT + "标题<svg onload=alert('lecture-title')>"
HOSTILE_KNOWLEDGE_POINT = BAIT + "知识<img src=x onerror=window.weikeXss='knowledge-point'>"
#: Notes: an escaped code span and an entity are harmless on the page, but their *text* is markup.
HOSTILE_NOTES = (BAIT + "讲义 `<img src=x onerror=alert('notes-code')>`\n\n"
                 + BAIT + " &lt;img src=x onerror=window.weikeXss='notes-entity'&gt;\n")


def hostile_files(search_notes: bool) -> dict:
    course_yml = (COURSE_YML.replace("title: 测试课程", f"title: \"{HOSTILE_COURSE_TITLE}\"")
                  .replace("summary: 一门用于测试的课程。", f"summary: \"{HOSTILE_SUMMARY}\""))
    front = f"knowledge_point: \"{HOSTILE_KNOWLEDGE_POINT}\"\n"
    return {
        "courses/demo/course.yml": course_yml,
        "courses/demo/01-lecture-1/lecture.md": (
            f"---\ntitle: \"{HOSTILE_LECTURE_TITLE}\"\n{front}---\n\n{HOSTILE_NOTES}"),
        "mkdocs.yml": ("site_name: 测试\nextra:\n  weike:\n    search_notes: "
                       + ("true" if search_notes else "false") + "\n"),
    }


@pytest.mark.parametrize("search_notes", [False, True], ids=["notes-not-indexed", "notes-indexed"])
def test_searching_hostile_text_runs_nothing(built_site, serve, browser, search_notes):
    built = built_site(hostile_files(search_notes))
    assert not [d for d in built.result.diagnostics if d.is_error], built.result.diagnostics
    index = json.loads((built.site / "search/search_index.json").read_text(encoding="utf-8"))
    assert any("notes-code" in doc["text"] for doc in index["docs"]) is search_notes
    url = serve(built.site)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        dialogs, errors = [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.locator(".md-search__input").fill(BAIT)
        page.locator(".md-search__input").press("End")
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=15_000)
        # Let every result render (and any planted handler fire: a broken <img> errors at once).
        page.wait_for_timeout(500)
        shown = page.locator(".md-search-result").inner_text().replace("\u200b", "")
        assert dialogs == []
        assert page.evaluate("window.weikeXss") is None
        assert page.locator(".md-search-result img, .md-search-result svg[onload]").count() == 0
        # The results show what the authors typed, as text.
        for text in (HOSTILE_COURSE_TITLE, HOSTILE_LECTURE_TITLE):
            assert text in shown, shown
        assert "onerror=window.weikeXss='knowledge-point'" in shown
        assert ("notes-code" in shown) is search_notes
        assert errors == []
    finally:
        context.close()
