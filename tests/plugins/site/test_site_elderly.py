"""The site for elderly learners on phones, measured in a real headless Chromium.

适老化 (MIIT ageing-friendly rules, as far as they apply to a web page): text >= 18 px, line
height >= 1.3, contrast >= 4.5:1 computed from the computed colours, tap targets >= 48 px tall,
a large play control; search that finds any substring and starts without an extra key press;
Lighthouse's accessibility failures (dialog name, label in name, cover priority); 继续观看.
"""

from __future__ import annotations

import pytest

from tests.plugins.site.conftest import open_page as open_
from tests.plugins.site.conftest import showing_cue_style

pytestmark = pytest.mark.slow

PHOTO_COURSE = "手机摄影入门"
#: Every page type: home, course, lecture (lecture 2's notes hold a table and code), theme,
#: level and a hand-written page.
PAGES = ("", "courses/demo/", "courses/demo/01-lecture-1/", "courses/demo/02-lecture-2/", "themes/laonian-zhihui/",
         "levels/county/", "guide/")

#: Every visible element with text of its own, with its font size, line height and the contrast
#: of its colour against the background it is painted on (alpha composited up to the page).
MEASURE_TEXT = """
(scope) => {
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, below) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]); };
  const background = element => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const luminance = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const out = [];
  const inside = scope || ".md-main *, .md-footer *, .md-header *";
  for (const e of document.querySelectorAll(inside)) {
    const own = [...e.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim()).map(n => n.textContent.trim()).join(" ");
    if (!own || !e.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || e.closest("[hidden], .md-sidebar, script, style, svg")) continue;
    if (!scope && e.closest(".md-search")) continue;
    const style = getComputedStyle(e);
    const bg = background(e);
    const fg = over(parse(style.color), bg);
    const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const size = parseFloat(style.fontSize);
    out.push({text: own.slice(0, 30), tag: e.tagName, cls: e.className && e.className.baseVal === undefined ? e.className : "",
              size, lineHeight: style.lineHeight === "normal" ? 0 : parseFloat(style.lineHeight) / size,
              contrast: (l1 + 0.05) / (l2 + 0.05)});
  }
  return out;
}
"""

#: Links and buttons a finger must hit (links inside running text of the notes are exempt, as in WCAG 2.5.8).
MEASURE_TARGETS = """
() => [...document.querySelectorAll(".md-content a, .md-content button")]
  .filter(e => e.checkVisibility() && !e.closest(".weike-notes, [hidden]"))
  .map(e => { const r = e.getBoundingClientRect(); return {text: e.textContent.trim().slice(0, 30), height: r.height, width: r.width}; })
"""


@pytest.fixture
def site_url(phone_site):
    return phone_site


# --------------------------------------------------------------------------------------------
# 8. Search
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["手机", "机上", "上放大"])
def test_pasted_query_finds_any_substring_and_names_the_course(site_url, phone, query):
    page = open_(phone, site_url)
    page.locator('.md-header__button[for="__search"]').click()  # the magnifier a phone shows
    # fill() sends an input event and no key: a paste, an IME candidate or a voice keyboard.
    page.locator(".md-search__input").fill(query)
    lecture = page.locator('.md-search-result__item a[href*="courses/photo/01-lecture-1/?"]')
    lecture.first.wait_for(timeout=15_000)
    assert PHOTO_COURSE in lecture.first.inner_text().replace("\u200b", "")


# --------------------------------------------------------------------------------------------
# 9. Lighthouse's accessibility and priority findings
# --------------------------------------------------------------------------------------------


def test_search_dialog_has_an_accessible_name(site_url, phone):
    page = open_(phone, site_url)
    assert page.get_by_role("dialog", name="查找", include_hidden=True).count() == 1


def test_text_size_buttons_labels_contain_their_visible_text(site_url, phone):
    page = open_(phone, site_url + "courses/demo/")
    buttons = page.locator("[data-weike-text-step]")
    assert buttons.count() == 3
    for i in range(3):
        button = buttons.nth(i)
        assert button.inner_text().strip() in button.get_attribute("aria-label")


def test_cover_and_poster_are_fetched_first(site_url, phone):
    course = open_(phone, site_url + "courses/demo/")
    assert course.evaluate("document.querySelector('img.weike-cover').fetchPriority") == "high"
    lecture = open_(phone, site_url + "courses/demo/01-lecture-1/")
    poster = lecture.evaluate("new URL(document.querySelector('video').poster, location).href")
    preloads = lecture.evaluate("[...document.querySelectorAll('link[rel=preload][as=image]')]"
                                ".map(l => [l.href, l.fetchPriority])")
    assert [poster, "high"] in preloads


# --------------------------------------------------------------------------------------------
# 10. 适老化
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_text_is_large_spaced_and_contrasted_on_a_phone(site_url, phone, path):
    page = open_(phone, site_url + path)
    texts = page.evaluate(MEASURE_TEXT)
    assert len(texts) > 6
    small = [t for t in texts if t["size"] < 17.5]
    tight = [t for t in texts if t["lineHeight"] < 1.295]  # 1.3 computes as 1.2999…
    faint = [t for t in texts if t["contrast"] < 4.5]
    assert (small, tight, faint) == ([], [], [])


def test_search_results_are_large_spaced_and_contrasted_on_a_phone(site_url, phone):
    page = open_(phone, site_url)
    page.locator('.md-header__button[for="__search"]').click()
    page.locator(".md-search__input").fill("手机")
    page.locator(".md-search-result__item").nth(1).wait_for(timeout=15_000)
    # The results slide and fade in on a phone: measure them once they are fully shown.
    page.wait_for_function("() => document.querySelector('.md-search-result h1')"
                           ".checkVisibility({opacityProperty: true, visibilityProperty: true})", timeout=10_000)
    texts = page.evaluate(MEASURE_TEXT, ".md-search-result *")
    # The count line, and each result's title and text.
    assert {"H1", "P"} <= {t["tag"] for t in texts} and any(t["cls"] == "md-search-result__meta" for t in texts)
    small = [t for t in texts if t["size"] < 17.5]
    tight = [t for t in texts if t["lineHeight"] < 1.295]
    faint = [t for t in texts if t["contrast"] < 4.5]
    assert (small, tight, faint) == ([], [], [])


def test_subtitles_are_large_and_contrasted_on_a_phone(site_url, phone):
    page = open_(phone, site_url + "courses/demo/01-lecture-1/")
    style = showing_cue_style(page)
    assert float(style["font-size"].removesuffix("px")) >= 18
    # White on at least 80 % black, over the brightest picture (white): far above 4.5:1.
    assert style["color"] == "rgb(255, 255, 255)"
    alpha = float(style["background-color"].rstrip(")").split(",")[3])
    assert style["background-color"].startswith("rgba(0, 0, 0,") and alpha >= 0.8


@pytest.mark.parametrize("path", PAGES)
def test_links_and_buttons_are_at_least_48_px_tall(site_url, phone, path):
    page = open_(phone, site_url + path)
    targets = page.evaluate(MEASURE_TARGETS)
    assert len(targets) >= 3
    assert [t for t in targets if t["height"] < 47.5] == []


def test_lecture_page_has_a_large_play_control_that_plays(site_url, phone):
    page = open_(phone, site_url + "courses/demo/01-lecture-1/")
    play = page.locator(".weike-play")
    box = play.bounding_box()
    assert box["width"] >= 64 and box["height"] >= 64
    video = page.locator("video").bounding_box()
    # In the middle of the picture.
    assert abs((box["x"] + box["width"] / 2) - (video["x"] + video["width"] / 2)) < 2
    page.evaluate("document.querySelector('video').muted = true")
    play.click()
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2", timeout=20_000)
    assert not play.is_visible()


def test_home_page_has_a_real_heading_live_tiles_and_a_footer(site_url, phone):
    page = open_(phone, site_url)
    assert page.locator(".md-content h1").all_inner_texts() == ["社区教育微课"]
    tiles = page.locator(".weike-tiles li")
    assert tiles.count() > 0
    assert "0 门课程" not in " ".join(tiles.all_inner_texts())
    assert page.locator(".weike-tiles a.weike-tile").count() == tiles.count()
    assert page.locator(".md-footer-meta").inner_text().strip()


def test_lecture_list_shows_lazy_posters(site_url, phone):
    page = open_(phone, site_url + "courses/demo/")
    rows = page.locator("ol.weike-lectures > li")
    posters = page.locator("ol.weike-lectures img.weike-lecture__poster")
    assert rows.count() >= 2 and posters.count() == rows.count()
    for i in range(posters.count()):
        assert posters.nth(i).get_attribute("loading") == "lazy"
    # The first posters are on screen: they load, and they are real pictures.
    page.wait_for_function("() => document.querySelector('img.weike-lecture__poster').naturalWidth > 0",
                           timeout=10_000)


def test_lecture_page_offers_to_continue_where_the_learner_stopped(site_url, phone):
    url = site_url + "courses/demo/01-lecture-1/"
    page = open_(phone, url)
    assert not page.locator(".weike-resume").is_visible()
    page.evaluate("(() => { const v = document.querySelector('video'); v.muted = true; v.currentTime = 8; v.play(); })()")
    page.wait_for_function("() => document.querySelector('video').currentTime > 8.5", timeout=20_000)
    page.evaluate("document.querySelector('video').pause()")
    stopped = page.evaluate("document.querySelector('video').currentTime")
    page.reload()
    page.wait_for_load_state("networkidle")
    resume = page.locator(".weike-resume")
    assert resume.is_visible() and "继续观看" in resume.inner_text()
    assert f"0:{int(stopped):02d}" in resume.inner_text()
    page.evaluate("document.querySelector('video').muted = true")
    resume.click()
    page.wait_for_function("() => { const v = document.querySelector('video'); return !v.paused && v.currentTime > 0; }",
                           timeout=20_000)
    assert abs(page.evaluate("document.querySelector('video').currentTime") - stopped) < 2.5
    # Another lecture has its own place (none yet).
    other = open_(phone, site_url + "courses/demo/02-lecture-2/")
    assert not other.locator(".weike-resume").is_visible()
