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




def edition_pages(offline: Path) -> dict[str, tuple[int, int]]:
    """Each page of the edition by its path: its inode and time (a page rewritten changes them)."""
    return {p.relative_to(offline).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in offline.rglob("index.html")}


def edition_files(offline: Path) -> dict[str, bytes]:
    """Each file of the edition by its path, its bytes (less the edition's own stamp)."""
    return {p.relative_to(offline).as_posix(): p.read_bytes() for p in sorted(offline.rglob("*"))
            if p.is_file() and p.name != ".weike-offline.json"}


def count_offline_pages(monkeypatch) -> list[str]:
    """The pages the offline edition rewrites from now on (their paths), as a list."""
    from weike.plugins.site.offline import edition

    made: list[str] = []
    real_offline_page = edition.offline_page

    def counted_offline_page(html: str, *, page_rel: str, **given) -> str:
        made.append(page_rel)
        return real_offline_page(html, page_rel=page_rel, **given)

    monkeypatch.setattr(edition, "offline_page", counted_offline_page)
    return made


def test_every_link_of_every_page_names_a_file_of_the_edition(shared_site):
    built = shared_site
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


def test_the_edition_carries_only_the_search_its_pages_load(shared_site):
    """weike's search reads its shards (``search/p/``, ``search/d/``, the manifest in ``search.js``)
    as scripts, which a ``file://`` page may load: Material's index, its ``file://`` script form and
    the iframe-worker shim its search worker needed are neither written nor named by any page."""
    built = shared_site
    offline = built.root / "dist" / "offline"
    for rel in ("search/search_index.json", "search/search_index.js", "assets/weike/offline"):
        assert not (offline / rel).exists(), rel
    assert list((offline / "search/p").glob("*.js")) and list((offline / "search/d").glob("*.js"))
    assert "__weikeSearch.manifest(" in (offline / "assets/weike/search.js").read_text(encoding="utf-8")
    for page in offline.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "iframe-worker" not in html and "search_index" not in html, page.relative_to(offline)


def test_subtitles_are_inside_the_lecture_page(shared_site):
    built = shared_site
    offline = built.root / "dist" / "offline"
    lecture = (offline / "courses/demo/01-lecture-1/index.html").read_text(encoding="utf-8")
    track = re.search(r'<track\b[^>]*\ssrc="data:text/vtt;base64,([^"]*)"', lecture)
    assert track, "the track must not name a file: browsers refuse <track> files from file://"
    vtt = (built.root / "dist/media/demo/01-lecture-1.vtt").read_bytes()
    assert base64.b64decode(track.group(1)) == vtt


def test_guide_media_hard_links_and_what_is_left_out(shared_site):
    built = shared_site
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


def test_guide_asks_a_volunteer_only_for_what_a_usb_stick_allows(shared_site):
    """The volunteer has the stick and phones: no weike, no Python, no README, no command line."""
    built = shared_site
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
    built.rebuild()  # files touched are files changed, for the build as for the check
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


def test_a_site_that_could_not_be_built_leaves_the_previous_edition(built_site):
    """The offline stage rewrites the site its stage built in this build: with none (a broken
    mkdocs.yml), the edition stays as it was, like the site, and only the site's error is reported."""
    built = built_site()
    offline = built.root / "dist" / "offline"
    files, pages = edition_files(offline), edition_pages(offline)
    assert "offline" in built.result.stage_seconds  # timed as a stage of its own, after the site
    assert list(built.result.stage_seconds).index("offline") == list(built.result.stage_seconds).index("site") + 1
    (built.root / "mkdocs.yml").write_text("site_name: [unclosed\n", encoding="utf-8")
    built.rebuild()
    assert [d.code for d in built.result.diagnostics if d.is_error] == ["E401"]
    assert built.result.failed == {} and "offline" in built.result.stage_seconds
    assert edition_files(offline) == files and edition_pages(offline) == pages
    lines = [line for line in built.result.summary_lines if line.startswith("offline:")]
    assert lines == ["offline: 网站没有构建，dist/offline 保持上次的版本 "
                     "(the site was not built: the previous offline edition stays)"]


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

    before = edition_pages(offline)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n离线版也要更新。\n", encoding="utf-8")
    built.rebuild()
    after = edition_pages(offline)
    assert sorted(rel for rel in after if after[rel] != before[rel]) == ["courses/demo/01-lecture-1/index.html"]
    assert "离线版也要更新" in (offline / "courses/demo/01-lecture-1/index.html").read_text(encoding="utf-8")
    incremental = edition_files(offline)
    shutil.rmtree(offline)
    built.rebuild()
    assert edition_files(offline) == incremental


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


def navigated_away(request) -> bool:
    """Chromium gives up a page's pending loads when it leaves the page (ERR_ABORTED): not a missing file."""
    return request.failure == "net::ERR_ABORTED"


@pytest.mark.slow
def test_offline_edition_works_from_file_urls_on_a_phone(shared_offline_site, browser):
    built = shared_offline_site
    offline = built.root / "dist" / "offline"
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    requests, errors, intercepted, failed = [], [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A file a page names that the edition lacks (a "404" from file://) fails its request; a load
    # the tap's navigation cut short (a poster further down the page) is not a missing file.
    page.on("requestfailed", lambda request: failed.append(request.url) if not navigated_away(request) else None)

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
    assert outside == [] and intercepted == [] and failed == []
    assert errors == []
    # The search loaded its shards from the edition, and nothing of Material's search.
    assert any("/search/p/" in url for url in requests) and any("/search/d/" in url for url in requests)
    assert not any("search_index" in url or "iframe-worker" in url for url in requests)
    assert all(posixpath.normpath(unquote(urlsplit(url).path)).startswith(offline.resolve().as_posix())
               for url in requests if url.startswith("file:"))


@pytest.mark.slow
def test_a_query_typed_while_a_file_page_loads_is_answered(shared_site, browser):
    """search.js, written as a plain tag when the reader typed before it ran, loads from file:// too."""
    from tests.plugins.site.test_site_search_shards import EARLY_READER

    built = shared_site
    offline = built.root / "dist" / "offline"
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.add_init_script(f"({EARLY_READER})({json.dumps('拍照')})")
    page = context.new_page()
    failed, errors = [], []
    page.on("requestfailed", lambda request: failed.append(request.url) if not navigated_away(request) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto((offline / "index.html").as_uri())
        result = page.locator(".md-search-result__link", has_text=SEARCH_TITLE[:2]).first
        result.wait_for(state="attached", timeout=15_000)
        assert result.get_attribute("href").split("?")[0].endswith("courses/photo/01-lecture-1/index.html")
        assert page.evaluate("[...document.scripts].some(s => /search\\.js$/.test(s.src) && !s.async)")
    finally:
        context.close()
    assert failed == [] and errors == []


@pytest.mark.slow
def test_learning_aids_work_from_file_urls_on_a_phone(shared_offline_site, browser):
    offline = shared_offline_site.root / "dist" / "offline"
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


def test_links_to_the_root_remembered_from_page_to_page_are_rewritten_as_on_each_page(tmp_path):
    from weike.plugins.site.offline.edition import offline_page

    folders = frozenset({"", "about", "courses/a", "courses/a/l1", "courses/b", "courses/b/l1"})
    links = ["../../../", "../../../about/", "../../../courses/b/#top", "../../../courses/b/l1/?x=1",
             "../../../../outside/", "../../", "../l1/", "../../../assets/x.css", "../../../../../", "./",
             "../../../media/a%20b.mp4", "../../../abou%74/", "../../../courses/./a/../b/"]
    html = "".join(f'<a href="{link}">x</a>\n<img src="{link}">\n' for link in links)
    pages = ["courses/a/l1/index.html", "courses/b/l1/index.html", "courses/a/index.html", "index.html",
             "courses/b/index.html", "about/index.html"]
    rooted: dict = {}
    remembered = [offline_page(html, page_rel=page, source_site=tmp_path, folders=folders, rooted=rooted)
                  for page in pages]
    assert rooted  # the pages shared their links to the root
    assert remembered == [offline_page(html, page_rel=page, source_site=tmp_path, folders=folders) for page in pages]
    assert '<a href="../../../about/index.html">' in remembered[0]
    assert '<a href="../../../../outside/">' in remembered[1]


def hostile_frame_pages() -> list[tuple[str, str]]:
    """(page, html) of pages at several depths sharing a frame cut where the offline edition cuts
    pages, with links of every kind in the frame and in hostile bodies (a body's link running across
    a cut, a cut's text inside a link, a newline before ``href``, ``</script>``, data: URLs)."""
    links = ['../../../', '../../../about/', '../../../courses/b/#top', '../../../courses/b/l1/?x=1', '#top',
             '../../../../outside/', '../', '../l1/', './', '', '?q=1', '/abs/', 'https://x.cn/a/',
             'data:text/html,<article>', '../../../assets/x.css', '../../../courses/./a/../b/', 'l1/',
             '../../../abou%74/', '../../../media/a%20b.mp4']
    # Links that name the same path from every page as deep (three folders), and some that do not.
    from_the_root = ['../../..', '../../..#top', '../../..?q', '../../..x', '../../..x/', '../../../../up/', '#t',
                     '', '?q=1', '/abs/', 'https://x.cn/', 'data:image/png;base64,AAA=', '../../../about/']
    frame = ['<head><meta name="description" content="D">', '<link rel="canonical" href="https://x.cn/P/">',
             '<link rel="icon" href="../../../assets/x.css">', '<title>T</title>',
             '<link rel="stylesheet" href="../../../assets/x.css">\n<script>a="</script>',
             '<link rel="preload" as="image" href="../../../media/a%20b.mp4"></head>',
             '<div class="md-header__topic" data-md-component="header-topic">T</div>',
             '<label class="md-header__button md-icon" for="__search"><a href="../../../about/">s</a>'
             + "".join(f'<a href="{link}">r</a>' for link in from_the_root) + '</label>',
             '<div class="md-sidebar">' + "".join(f'<a href="{link}">n</a>\n' for link in links) + '</div>',
             '<article>BODY', '</article><a href="../../../">home</a><a href="https://x.cn/">x</a><a href="../../..">'
             '<script id="__config" type="application/json">{"base": "../../..", "features": '
             '["navigation.instant", "navigation.top"]}</script>']
    bodies = ['<a href="../l1/">prev</a><img\nsrc="../../../media/a%20b.mp4">',
              '<a href="x <article y">a cut inside a link</a><a\thref="../">up</a>',
              '<a href="../../../about/</article>">across</a> <a title="</article>" href="l1/">t</a>',
              '<a href="<link rel="icon">',  # a value left open: the rest of the page is its value
              '<p>no link</p> href="../" src=\'../\' <a href = "../">not matched</a>',
              '<a href="data:text/html,<script>x</script>">d</a><a href="?x=1#y">q</a>',
              '<a href="../../..#top">r</a><a href="../../..?q">r</a><a href="../../..x">r</a><a href="../..">r</a>']
    pages = ["courses/a/l1/index.html", "courses/b/l1/index.html", "courses/a/index.html", "index.html",
             "courses/b/index.html", "about/index.html", "courses/a/l2/index.html", "about/x/y/index.html"]
    made = []
    for number, page in enumerate(pages * 3):
        body = bodies[number % len(bodies)]
        made.append((page, "".join(frame).replace("BODY", body).replace("<title>T", f"<title>T{number}")))
    return made


def test_the_frame_rewritten_once_gives_every_page_as_rewritten_whole(tmp_path):
    from weike.plugins.site.offline.edition import FrameParts, offline_page, page_parts

    folders = frozenset({"", "about", "courses/a", "courses/a/l1", "courses/a/l2", "courses/b", "courses/b/l1",
                         "about/x/y"})
    frame = FrameParts()
    for page, html in hostile_frame_pages():
        assert "".join(page_parts(html)) == html
        whole_targets: set[str] = set()
        parts_targets: set[str] = set()
        whole = offline_page(html, page_rel=page, source_site=tmp_path, folders=folders, targets=whole_targets)
        assert offline_page(html, page_rel=page, source_site=tmp_path, folders=folders, targets=parts_targets,
                            rooted={}, frame=frame) == whole, page
        assert parts_targets == whole_targets
    assert frame._rewrites  # the frame's parts were taken from the memo
    # A part holding a link from the page's own folder is never remembered (on a page three
    # folders deep, "../" and "l1/" are such links; on the home page every link is from the root).
    assert {depth for depth, _ in frame._rewrites} >= {0, 3}
    assert not any('href="../"' in part or 'href="l1/"' in part for depth, part in frame._rewrites if depth == 3)


def test_a_cold_edition_records_its_files_as_reading_them_back_would(built_site, monkeypatch):
    """A cold edition records each page from the bytes it wrote (in worker processes) and each
    linked file from the site's record: the same records as hashing the folder's files."""
    from weike.plugins.site import manifest, workers
    from weike.plugins.site.offline.edition import STAMP_FILE

    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 1)
    monkeypatch.setattr(workers, "available_cores", lambda: 3)
    built = built_site()
    offline = built.root / "dist" / "offline"
    recorded = manifest.stamp_manifest(manifest.read_stamp_file(offline, STAMP_FILE)).written
    assert recorded == manifest.record_all(offline, stamp_file=STAMP_FILE, skip=("media",))
    assert "courses/demo/01-lecture-1/index.html" in recorded and GUIDE in recorded


def test_a_page_is_never_cut_inside_a_link():
    from weike.plugins.site.offline.edition import page_parts

    html = '<p><a href="x <article y">a</a> <a\nhref="</article>">b</a></p><article>c</article>d'
    parts = page_parts(html)
    assert "".join(parts) == html
    assert parts == ['<p><a href="x <article y">a</a> <a\nhref="</article>">b</a></p>', "<article>c", "</article>d"]


def test_a_course_added_or_removed_rewrites_only_the_pages_that_show_it(built_site, monkeypatch):
    """Which links name a page folder changes when a course comes or goes; only the pages whose
    links reach its folders are rewritten (a hand-written page the site did not touch among them),
    and the edition equals a cold one."""
    from tests.plugins.site.conftest import OTHER_COURSE_YML

    # On the same shelf (theme and level) as the other course: the navigation stays as it is.
    same_shelf = (OTHER_COURSE_YML.replace("theme: 科学素质与互联网学习", "theme: 老年智慧生活")
                  .replace("level: 村(社区)", "level: 县(市、区)"))
    about = "# 关于我们\n\n看看[摄影课](../courses/photo/)。\n"
    built = built_site({"site/about.md": about, "courses/photo/course.yml": same_shelf})
    offline = built.root / "dist" / "offline"
    photo, parked = built.root / "courses/photo", built.root.parent / "parked-photo"

    from weike.plugins.site.offline import edition

    made = count_offline_pages(monkeypatch)
    monkeypatch.setattr(edition, "render_processes", lambda count: 1)  # every page made in this process
    # The notes edit keeps about/ (its record carried over), which the removal after it must remake.
    for step in ("removed", "added", "notes", "removed again"):
        made.clear()
        site_before = {p.relative_to(built.site).as_posix(): p.stat().st_mtime_ns
                       for p in built.site.rglob("index.html")}
        before = edition_pages(offline)
        if step.startswith("removed"):
            shutil.move(photo, parked)
        elif step == "added":
            shutil.move(parked, photo)
        else:
            notes = built.root / "courses/demo/01-lecture-1/lecture.md"
            notes.write_text(notes.read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")
        built.rebuild()
        site_after = {p.relative_to(built.site).as_posix(): p.stat().st_mtime_ns
                      for p in built.site.rglob("index.html")}
        in_site = {rel for rel in site_after if site_after[rel] != site_before.get(rel)}
        after = edition_pages(offline)
        rewritten = {rel for rel in after if after[rel] != before.get(rel)}
        # The site left about/ as it was (the same bytes); its link to the course changed meaning.
        assert "about/index.html" not in in_site, step
        expected = in_site if step == "notes" else in_site | {"about/index.html"}
        assert rewritten == expected, step
        assert sorted(made) == sorted(rel for rel in expected if rel in after), step
        link = 'href="../courses/photo/"' if step.startswith("removed") else 'href="../courses/photo/index.html"'
        assert link in (offline / "about/index.html").read_text(encoding="utf-8"), step
        # A cold edition beside it is the same; the incremental one (and its record) goes on.
        incremental = edition_files(offline)
        kept = offline.with_name("offline-incremental")
        os.replace(offline, kept)
        built.rebuild()
        assert edition_files(offline) == incremental, step
        shutil.rmtree(offline)
        os.replace(kept, offline)


def test_the_sites_record_lists_the_same_files_and_folders_as_a_walk(built_site):
    """The edition lists the site from what the site stage published (walking only media/): the
    same files, in the same order, and the same page folders as a walk of the whole site."""
    from weike.plugins.site.manifest import read_stamp_file, stamp_manifest
    from weike.plugins.site.offline.edition import _site_listing

    built = built_site({"site/about.md": "# 关于我们\n\n介绍。\n"})
    recorded = stamp_manifest(read_stamp_file(built.site, ".weike-site.json")).written
    walked, walked_folders = _site_listing(built.site, frozenset({"about"}))
    listed, listed_folders = _site_listing(built.site, frozenset({"about"}), recorded)
    assert [rel for rel, _, _ in listed] == [rel for rel, _, _ in walked]
    assert listed_folders == walked_folders
    assert any(rel.startswith("media/") for rel, _, _ in listed) and "about" in listed_folders


def test_a_page_deleted_from_the_edition_is_made_again_alone(built_site, monkeypatch):
    """The site is kept (nothing changed), so the edition walks it instead of taking the site
    stage's records: its files are identified the same way, and only the missing page is made."""
    built = built_site()
    offline = built.root / "dist" / "offline"
    built.rebuild()  # the edition as a rebuild leaves it (made from the site stage's records)
    made = count_offline_pages(monkeypatch)
    page = offline / "courses/demo/01-lecture-1/index.html"
    good = page.read_bytes()
    page.unlink()
    built.rebuild()
    assert made == ["courses/demo/01-lecture-1/index.html"]
    assert page.read_bytes() == good




def test_an_edit_lists_and_records_none_of_the_editions_media(built_site, monkeypatch):
    """The edition's media are the site's files hard-linked: a notes edit neither lists them with a
    stat (the folder's own listing, by inode, tells them) nor identifies a subtitle track anew,
    and the stamp holds only pages and the other files; the edition still equals a cold one."""
    from weike.plugins.site import manifest
    from weike.plugins.site.offline import edition

    built = built_site()
    offline = built.root / "dist" / "offline"
    listed: list[str] = []
    real_present_files = manifest.present_files

    def counted_present_files(folder, **given):
        found = real_present_files(folder, **given)
        if Path(folder) == offline:
            listed.extend(found)
        return found

    identified: list[Path] = []
    real_identity = edition._identity
    monkeypatch.setattr(manifest, "present_files", counted_present_files)
    monkeypatch.setattr(edition, "_identity", lambda path: identified.append(path) or real_identity(path))
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n只记页面。\n", encoding="utf-8")
    built.rebuild()
    assert listed and not [rel for rel in listed if rel.startswith("media/")]
    assert identified == []
    stamp = json.loads((offline / ".weike-offline.json").read_text(encoding="utf-8"))
    assert "courses/demo/01-lecture-1/index.html" in stamp["files"]
    assert not [rel for rel in stamp["files"] if rel.startswith("media/")]
    incremental = edition_files(offline)
    shutil.rmtree(offline)
    built.rebuild()
    assert edition_files(offline) == incremental


@pytest.mark.parametrize("edit", ["nothing", "notes"])
def test_a_media_file_deleted_replaced_or_added_in_the_edition_is_put_right(built_site, edit):
    """Not in the stamp, the edition's media are still checked on every build: one deleted, one
    replaced by other bytes, one replaced by a folder, one that is no file of the site: each is
    put right, with or without an edit to the site, and each video is the site's file again (one inode)."""
    built = built_site()
    offline, site = built.root / "dist" / "offline", built.site
    built.rebuild()  # (the edition as a rebuild leaves it)
    gone, defaced = offline / "media/demo/01-lecture-1.mp4", offline / "media/photo/01-lecture-1.mp4"
    assert gone.is_file() and defaced.is_file()
    gone.unlink()
    defaced.unlink()
    defaced.write_bytes(b"not a video")
    stray = offline / "media/demo/stray.mp4"
    stray.write_bytes(b"left behind")
    (offline / "media/gone-course").mkdir()
    (offline / "media/gone-course/01.mp4").write_bytes(b"a course no longer published")
    in_the_way = offline / "media/demo/02-lecture-2.mp4"
    in_the_way.unlink()
    in_the_way.mkdir()
    (in_the_way / "inside.txt").write_text("a folder where a video goes", encoding="utf-8")
    if edit == "notes":
        notes = built.root / "courses/photo/01-lecture-1/lecture.md"
        notes.write_text(notes.read_text(encoding="utf-8") + "\n再看一遍。\n", encoding="utf-8")
    built.rebuild()
    for path in (gone, defaced, in_the_way):
        assert os.stat(path).st_ino == os.stat(site / path.relative_to(offline)).st_ino
    assert not stray.exists() and not (offline / "media/gone-course").exists()


def test_a_lecture_delivered_again_is_linked_into_the_edition_and_equals_a_cold_one(built_site, media):
    """A new video for a lecture: the site places the new file, and the edition links that file
    (the site's inode) in place of the old one; the edition equals a cold one."""
    from tests.plugins.site.conftest import deliver_long_clip

    built = built_site()
    offline = built.root / "dist" / "offline"
    built.rebuild()
    video = deliver_long_clip(built, media)
    built.rebuild()
    placed = offline / "media/demo/01-lecture-1.mp4"
    assert os.stat(placed).st_ino == os.stat(built.site / "media/demo/01-lecture-1.mp4").st_ino
    assert placed.read_bytes() == video.read_bytes()
    incremental = edition_files(offline)
    shutil.rmtree(offline)
    built.rebuild()
    assert edition_files(offline) == incremental


def test_a_rebuilt_edition_publishes_what_it_wrote_without_reading_it_back(built_site, monkeypatch):
    """A course removed or added renumbers search files and remakes pages: the edition publishes
    them with what it knew when writing or linking them (no file of its build folder read back to
    be hashed), and its stamp records what hashing the folder would."""
    from weike.plugins.site import manifest
    from weike.plugins.site.offline.edition import STAMP_FILE

    built = built_site()
    offline = built.root / "dist" / "offline"
    photo, parked = built.root / "courses/photo", built.root.parent / "parked-photo"
    hashed: list[Path] = []
    real_sha256_file = manifest.sha256_file

    def counted_sha256_file(path):
        hashed.append(Path(path))
        return real_sha256_file(path)

    monkeypatch.setattr(manifest, "sha256_file", counted_sha256_file)
    for step in ("removed", "added"):
        hashed.clear()
        if step == "removed":
            shutil.move(photo, parked)
        else:
            shutil.move(parked, photo)
        built.rebuild()
        assert (offline / "courses/photo/index.html").is_file() == (step == "added")
        published = [path for path in hashed if any(part.endswith("~offline") for part in path.parts)]
        assert hashed and not published, step  # (the site's own files still are, for now)
        recorded = manifest.stamp_manifest(manifest.read_stamp_file(offline, STAMP_FILE)).written
        assert recorded == manifest.record_all(offline, stamp_file=STAMP_FILE, skip=("media",)), step
