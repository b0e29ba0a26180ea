"""The offline edition: ``dist/offline`` opened by double-clicking, and its zip.

The acceptance test opens ``dist/offline/index.html`` through a ``file://`` URL in a real
Chromium on a phone viewport, with no server: home -> course -> lecture by tapping, the video
plays and seeks, the subtitle track has cues, a Chinese search finds a lecture, and no request
leaves ``file://``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.plugins.site.conftest import (
    CHINESE_VOICES,
    SEARCH_TITLE,
    showing_cue_style,
    speaking_phone,
    watch_lecture_until,
)

PHONE = {"width": 390, "height": 844}
GUIDE = "使用说明.txt"
ZIP_NAME = "社区教育微课-离线版.zip"


def offline_mkdocs(offline: str) -> str:
    return f"site_name: 社区教育微课\nextra:\n  weike:\n    offline:\n{offline}"


def relative_links(html: str) -> list[str]:
    return [url for url in re.findall(r'\s(?:href|src)="([^"]*)"', html)
            if url and not url.startswith(("#", "/", "data:")) and not re.match(r"^[a-z][a-z0-9+.-]*:", url)]


# --------------------------------------------------------------------------------------------
# The folder and the zip
# --------------------------------------------------------------------------------------------


def test_every_link_of_every_page_names_a_file_of_the_edition(built_site):
    built = built_site()
    offline = built.root / "dist" / "offline"
    pages = sorted(offline.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for url in relative_links(html):
            target = (page.parent / unquote(url.partition("#")[0].partition("?")[0])).resolve()
            # A folder would open as a bare "Index of" listing from file://.
            assert target.is_file(), f"{page.relative_to(offline)}: {url}"
            assert target.is_relative_to(offline.resolve()), url
    # The lecture page's own links: previous/next and the course name a page file.
    lecture = (offline / "courses/demo/02-lecture-2/index.html").read_text(encoding="utf-8")
    assert 'href="../01-lecture-1/index.html"' in lecture
    assert 'href="../../../index.html"' in lecture


def test_search_index_is_a_script_and_its_locations_are_page_files(built_site):
    built = built_site()
    offline = built.root / "dist" / "offline"
    script = (offline / "search/search_index.js").read_text(encoding="utf-8")
    assert script.startswith("var __index = ")
    index = json.loads(script.removeprefix("var __index = "))
    locations = [doc["location"] for doc in index["docs"]]
    assert "courses/photo/01-lecture-1/index.html" in locations
    for location in locations:
        assert (offline / location.partition("#")[0]).is_file(), location
    # Every page loads the worker shim from the edition, before Material's bundle.
    home = (offline / "index.html").read_text(encoding="utf-8")
    shim = home.index('src="assets/weike/offline/iframe-worker-1.0.4.js"')
    assert shim < home.index("assets/javascripts/bundle.")
    assert (offline / "assets/weike/offline/iframe-worker-1.0.4.js").is_file()


def test_search_index_script_holds_no_line_separator_and_no_closing_tag(built_site):
    """U+2028/U+2029 end a line inside a string literal in the JavaScript of older phones' browsers
    (a syntax error: no search at all), and ``</script>`` would end an inline script."""
    from tests.conftest import lecture_md

    # A title is one line (E224); the knowledge point may hold any character.
    built = built_site({"courses/photo/01-lecture-1/lecture.md": lecture_md(
        knowledge_point='"智能手机\\u2028拍照\\u2029技巧 构图</script><script>alert(1)</script>"')})
    offline = built.root / "dist" / "offline"
    script = (offline / "search/search_index.js").read_text(encoding="utf-8")
    assert "\u2028" not in script and "\u2029" not in script and "</" not in script
    index = json.loads(script.removeprefix("var __index = "))
    texts = [doc["text"].replace("\u200b", "") for doc in index["docs"]]  # less the segmenting spaces
    assert any("智能手机\u2028拍照\u2029技巧" in text for text in texts)  # escaped, not lost


def test_subtitles_are_inside_the_lecture_page(built_site):
    built = built_site()
    offline = built.root / "dist" / "offline"
    lecture = (offline / "courses/demo/01-lecture-1/index.html").read_text(encoding="utf-8")
    track = re.search(r'<track\b[^>]*\ssrc="data:text/vtt;base64,([^"]*)"', lecture)
    assert track, "the track must not name a file: browsers refuse <track> files from file://"
    vtt = (built.root / "dist/media/demo/01-lecture-1.vtt").read_bytes()
    assert base64.b64decode(track.group(1)) == vtt


def test_the_worker_shim_runs_before_materials_bundle_which_a_script_writes(built_site):
    """The site writes Material's bundle from a script after the stylesheets: the shim still goes first."""
    built = built_site()
    lecture = (built.root / "dist/offline/courses/demo/01-lecture-1/index.html").read_text(encoding="utf-8")
    shim = lecture.find('<script src="../../../assets/weike/offline/iframe-worker')
    writer = lecture.find('<script id="__weike_scripts">document.write(')
    assert 0 <= shim < writer and "bundle." in lecture[writer:]


def test_guide_media_hard_links_and_what_is_left_out(built_site):
    built = built_site()
    dist = built.root / "dist"
    offline = dist / "offline"
    guide = (offline / GUIDE).read_bytes()
    assert guide.startswith("\ufeff".encode()) and b"\r\n" in guide
    text = guide.decode("utf-8-sig")
    assert "双击“index.html”" in text and "2 门课程" in text
    video = offline / "media/demo/01-lecture-1.mp4"
    assert os.stat(video).st_ino == os.stat(dist / "media/demo/01-lecture-1.mp4").st_ino
    for name in ("404.html", "sitemap.xml", "feed.xml", ".weike-site.json"):
        assert not (offline / name).exists(), name
    assert not list(offline.rglob("*.map"))


def guide_sections(text: str) -> dict[str, str]:
    """使用说明.txt by section: "一" -> its text."""
    parts = re.split(r"^([一二三四五六七八九])、", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_guide_asks_a_volunteer_only_for_what_a_usb_stick_allows(built_site):
    """The volunteer has the stick and phones: no weike, no Python, no README, no command line."""
    built = built_site()
    text = (built.root / "dist/offline" / GUIDE).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    sections = guide_sections(text)
    # No step anywhere asks for software the volunteer does not have.
    for command in ("weike share", "--lan", "python", "命令"):
        assert command not in text.lower(), command
    # Opening it: a computer (index.html), Android and iPhone each told what works for them.
    opening = sections["一"]
    assert "index.html" in opening and "安卓" in opening
    assert "苹果手机" in opening and "iPhone" in opening
    # The Wi-Fi share: set up by county staff (where they find how), then phones of both kinds scan.
    wifi = sections["四"]
    assert "县" in wifi and "工作人员" in wifi and "设置" in wifi
    assert "README" in wifi and "在教学站用Wi-Fi播放" in wifi  # where the staff find how
    assert "安卓" in wifi and "苹果手机" in wifi and "二维码" in wifi


def pack(root: Path) -> int:
    from weike.builder.cli import main

    return main(["offline", str(root)])


def test_zip_holds_exactly_the_folder_and_is_byte_identical_when_rebuilt(built_site, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    built = built_site()
    # The catalogue's sources, one of them newer: the zip's entries carry its time, not 1980-01-01.
    for path in [built.root / "weike.yml", built.root / "mkdocs.yml", *(built.root / "courses").rglob("*")]:
        if path.exists():
            os.utime(path, (1_800_000_000, 1_800_000_000))
    os.utime(built.root / "courses/demo/course.yml", (1_900_000_000, 1_900_000_000))  # 2030-03-17 17:46:40
    offline = built.root / "dist" / "offline"
    archive = offline / ZIP_NAME
    assert not archive.exists()  # packed on request only
    assert pack(built.root) == 0
    first = hashlib.sha256(archive.read_bytes()).hexdigest()
    with zipfile.ZipFile(archive) as opened:
        names = {info.filename: info for info in opened.infolist()}
        on_disk = {path.relative_to(offline).as_posix() for path in offline.rglob("*")
                   if path.is_file() and path.name not in (ZIP_NAME, ".weike-offline.json")}
        assert {name.removeprefix("社区教育微课-离线版/") for name in names} == on_disk
        assert all(name.startswith("社区教育微课-离线版/") for name in names)
        member = "社区教育微课-离线版/courses/demo/01-lecture-1/index.html"
        assert opened.read(member) == (offline / "courses/demo/01-lecture-1/index.html").read_bytes()
        assert {info.date_time for info in names.values()} == {(2030, 3, 17, 17, 46, 40)}
    # An unchanged rebuild keeps it; rebuilt from scratch (dist/offline removed) and packed: the same bytes.
    built.rebuild()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == first
    shutil.rmtree(offline)
    built.rebuild()
    assert pack(built.root) == 0
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == first
    # SOURCE_DATE_EPOCH (reproducible builds) dates every entry.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert pack(built.root) == 0
    with zipfile.ZipFile(archive) as opened:
        assert {info.date_time for info in opened.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_an_edit_removes_the_zip_that_no_longer_matches(built_site):
    built = built_site()
    assert pack(built.root) == 0
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n新的讲义。\n", encoding="utf-8")
    built.rebuild()
    assert not (built.root / "dist/offline" / ZIP_NAME).exists()
    lines = [line for line in built.result.summary_lines if line.startswith("offline:")]
    assert lines and "weike offline" in lines[0]


def test_offline_without_an_edition_is_a_usage_error(tmp_path):
    from weike.builder.cli import main

    (tmp_path / "courses").mkdir()
    assert main(["offline", str(tmp_path)]) == 2


def test_build_summary_reports_the_zip_and_its_size(built_site):
    built = built_site()
    assert pack(built.root) == 0
    built.rebuild()
    size_mb = (built.root / "dist/offline" / ZIP_NAME).stat().st_size / 1_000_000
    lines = [line for line in built.result.summary_lines if line.startswith("offline:")]
    assert lines and ZIP_NAME in lines[0] and f"{size_mb:.1f} MB" in lines[0]


def test_an_edit_rewrites_only_its_pages_and_equals_a_cold_edition(built_site):
    built = built_site()
    offline = built.root / "dist" / "offline"

    def pages() -> dict[str, tuple[int, int]]:
        return {p.relative_to(offline).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in offline.rglob("index.html")}

    def files() -> dict[str, bytes]:
        return {p.relative_to(offline).as_posix(): p.read_bytes() for p in sorted(offline.rglob("*"))
                if p.is_file() and p.name != ".weike-offline.json"}

    before = pages()
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n离线版也要更新。\n", encoding="utf-8")
    built.rebuild()
    after = pages()
    assert sorted(rel for rel in after if after[rel] != before[rel]) == ["courses/demo/01-lecture-1/index.html"]
    assert "离线版也要更新" in (offline / "courses/demo/01-lecture-1/index.html").read_text(encoding="utf-8")
    incremental = files()
    shutil.rmtree(offline)
    built.rebuild()
    assert files() == incremental


def test_chosen_courses_only_and_an_unknown_one_warns(built_site):
    built = built_site({"mkdocs.yml": offline_mkdocs("      courses: [photo, nosuch]\n")})
    offline = built.root / "dist" / "offline"
    assert (offline / "courses/photo/index.html").is_file()
    assert not (offline / "courses/demo").exists() and not (offline / "media/demo").exists()
    home = (offline / "index.html").read_text(encoding="utf-8")
    assert home.count('class="weike-card"') == 1
    # The public site keeps both courses.
    assert (built.site / "courses/demo/index.html").is_file()
    warnings = [d for d in built.result.diagnostics if d.code == "W408"]
    assert len(warnings) == 1 and "nosuch" in warnings[0].message_en


def test_disabled_edition_is_removed(built_site):
    built = built_site()
    assert (built.root / "dist/offline/index.html").is_file()
    (built.root / "mkdocs.yml").write_text(offline_mkdocs("      enabled: false\n"), encoding="utf-8")
    built.rebuild()
    assert not (built.root / "dist/offline").exists()


def test_offline_urls():
    from weike.plugins.site.offline.edition import offline_url

    folders = frozenset({"", "courses/a", "courses/a/l1", "about"})
    assert offline_url("../../..", "courses/a/l1", folders) == "../../../index.html"
    assert offline_url("../l1/", "courses/a/l2", folders) == "../l1/index.html"
    assert offline_url("./", "courses/a", folders) == "./index.html"
    assert offline_url("about/#part", "", folders) == "about/index.html#part"
    assert offline_url("../media/x.mp4", "courses", folders) == "../media/x.mp4"
    assert offline_url("https://example.org/", "", folders) == "https://example.org/"
    assert offline_url("#top", "", folders) == "#top"
    assert offline_url("../../../..", "courses/a/l1", folders) == "../../../.."  # outside the edition


# --------------------------------------------------------------------------------------------
# Acceptance: a real Chromium, file://, a phone
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_offline_edition_works_from_file_urls_on_a_phone(offline_site, browser):
    built = offline_site()
    offline = built.root / "dist" / "offline"
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    requests, errors, intercepted = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))

    def refuse(route):
        intercepted.append(route.request.url)
        route.abort()

    # Anything that is not a file of the edition (or an inline data: URL) is stopped and recorded.
    context.route(lambda url: urlsplit(url).scheme not in ("file", "data"), refuse)
    try:
        page.goto((offline / "index.html").as_uri())
        # Home -> course -> lecture, by tapping.
        page.locator(".weike-card", has_text="测试课程").tap()
        page.wait_for_url("**/courses/demo/index.html")
        page.locator(".weike-lectures a").first.tap()
        page.wait_for_url("**/courses/demo/01-lecture-1/index.html")
        assert "Index of" not in page.content()

        # The video plays, then seeks to 8 s of its 12.
        page.evaluate("const v = document.querySelector('video'); v.muted = true; v.play()")
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return v.currentTime > 0.2 && v.readyState >= 2; }", timeout=20_000)
        assert page.evaluate("document.querySelector('video').duration") == pytest.approx(12, abs=0.2)
        page.evaluate("document.querySelector('video').currentTime = 8")
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return !v.seeking && v.currentTime >= 8; }", timeout=10_000)
        assert page.evaluate("document.querySelector('video').error") is None

        # The subtitle track loaded, with the cue of the delivered WebVTT.
        page.wait_for_function("() => { const t = document.querySelector('video').textTracks[0];"
                               " return t && t.cues && t.cues.length > 0; }", timeout=10_000)
        assert page.evaluate("document.querySelector('video').textTracks[0].cues[0].text") == "字幕测试"

        # The text-size control works and is remembered from file:// too.
        before = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        page.get_by_role("button", name="A+ 放大字号").tap()
        after = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert after > before
        page.reload()
        assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == after

        # A Chinese search finds a lecture of the other course, and its result opens the page file.
        page.locator("label.md-header__button[for='__search']").tap()
        page.locator(".md-search__input").fill("拍照")
        page.locator(".md-search__input").press("End")
        result = page.locator(".md-search-result__item", has_text=SEARCH_TITLE[:2]).first
        result.wait_for(timeout=15_000)
        titles = page.locator(".md-search-result__item h1, .md-search-result__item h2").all_inner_texts()
        assert any(SEARCH_TITLE in title.replace("\u200b", "") for title in titles), titles
        page.locator(".md-search-result__link", has_text=SEARCH_TITLE[:2]).first.tap()
        page.wait_for_url("**/courses/photo/01-lecture-1/index.html*")
    finally:
        context.close()
    outside = [url for url in requests if urlsplit(url).scheme not in ("file", "data")]
    assert outside == [] and intercepted == []
    assert errors == []
    assert all(posixpath.normpath(unquote(urlsplit(url).path)).startswith(offline.resolve().as_posix())
               for url in requests if url.startswith("file:"))


@pytest.mark.slow
def test_learning_aids_work_from_file_urls_on_a_phone(offline_site, browser):
    offline = offline_site().root / "dist" / "offline"
    context = speaking_phone(browser, CHINESE_VOICES)
    try:
        page = context.new_page()
        page.goto((offline / "courses/demo/01-lecture-1/index.html").as_uri())
        # Large subtitles (the cues are inside the page, as a data: URL).
        assert float(showing_cue_style(page)["font-size"].removesuffix("px")) >= 18
        # 朗读 with the phone's voice: nothing to fetch.
        page.get_by_role("button", name="朗读讲义").tap()
        assert page.evaluate("window.__speech.said") == ["讲义正文。"]
        page.get_by_role("button", name="停止").tap()
        # Where the learner stopped, on the home page and the course page.
        watch_lecture_until(page, 5)  # of 12 s: the last 5 are not worth offering
        page.goto((offline / "index.html").as_uri())
        button = page.locator("a.weike-continue__button")
        assert button.inner_text().strip() == "继续学习 第 1 讲：第1讲"
        button.tap()
        page.wait_for_url("**/courses/demo/01-lecture-1/index.html")
        page.goto((offline / "courses/demo/index.html").as_uri())
        start = page.locator("a.weike-start__button")
        assert start.inner_text().strip().startswith("继续学习 第 1 讲（从 0:0")
        start.tap()
        page.wait_for_url("**/courses/demo/01-lecture-1/index.html")
    finally:
        context.close()


def test_instant_loading_is_turned_off_in_the_edition(built_site):
    # navigation.instant fetches pages with XHR, which browsers refuse from file://.
    built = built_site({"mkdocs.yml": "site_name: 社区教育微课\ntheme:\n  name: material\n  features:\n"
                                      "    - navigation.instant\n    - navigation.top\n"})

    def features(html: str) -> list:
        config = re.search(r'<script id="__config" type="application/json">(.*?)</script>', html, re.S)
        return json.loads(config.group(1))["features"]

    assert "navigation.instant" in features((built.site / "index.html").read_text(encoding="utf-8"))
    offline = (built.root / "dist/offline/courses/demo/01-lecture-1/index.html").read_text(encoding="utf-8")
    assert features(offline) == ["navigation.top"]


def test_the_edition_leaves_weikes_own_files_as_they_were(built_site):
    """The worker shim is copied from weike's package, never hard-linked: a link changes the installed
    file's ctime, which the check's course memo reads as weike's code having changed (every course
    checked again by the next build), and an edit in the edition would edit weike itself."""
    from weike.plugins.site.offline.edition import ASSETS_DIR

    shipped = sorted(ASSETS_DIR.iterdir())
    before = {path.name: (path.stat().st_ino, path.stat().st_ctime_ns, path.stat().st_nlink) for path in shipped}
    built = built_site()
    offline = built.root / "dist/offline"
    copies = [path for path in offline.rglob("*") if path.is_file() and path.name in before]
    assert copies, "the edition carries the worker shim"
    assert {path.stat().st_ino for path in copies}.isdisjoint(inode for inode, _, _ in before.values())
    assert {path.name: (path.stat().st_ino, path.stat().st_ctime_ns, path.stat().st_nlink) for path in shipped} == before
