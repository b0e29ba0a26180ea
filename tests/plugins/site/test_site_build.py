"""The site stage through the real pipeline: real MkDocs builds, real files, links that resolve."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from weike.builder.contracts.model import Severity
from tests.conftest import lecture_md

from tests.plugins.site.conftest import OTHER_COURSE_YML, SEARCH_TITLE

pytestmark = pytest.mark.slow


class PageRefs(HTMLParser):
    """Every URL-bearing attribute of a page, plus <html lang> and the <img> tags."""

    URL_ATTRIBUTES = {"href", "src", "poster", "data", "action", "srcset", "formaction"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.lang = None
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag == "img":
            self.images.append(attrs)
        for name, value in attrs.items():
            if name in self.URL_ATTRIBUTES and value:
                values = [part.strip().split(" ")[0] for part in value.split(",")] if name == "srcset" else [value]
                self.urls.extend((tag, name, v) for v in values)


def parse(path: Path) -> PageRefs:
    refs = PageRefs()
    refs.feed(path.read_text(encoding="utf-8"))
    return refs


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_builds_a_self_contained_site(shared_site):
    built = shared_site
    assert not [d for d in built.result.diagnostics if d.is_error], built.result.diagnostics
    assert sorted(built.result.built) == ["demo", "photo"]
    site = built.site
    for rel in ("index.html", "courses/demo/index.html", "courses/demo/01-lecture-1/index.html",
                "themes/laonian-zhihui/index.html", "levels/village/index.html", "catalogue.json",
                "search/search_index.json"):
        assert (site / rel).is_file(), rel

    # Media are inside the site (hard links to dist/media: no second copy on disk).
    video = site / "media/demo/01-lecture-1.mp4"
    assert os.path.samefile(video, built.delivered["demo/01-lecture-1"].path)
    assert (site / "media/demo/01-lecture-1.jpg").is_file() and (site / "media/demo/01-lecture-1.vtt").is_file()

    # Every local link, picture, video, poster, track, stylesheet and script of every page resolves.
    broken = []
    for page in html_pages(site):
        refs = parse(page)
        page_url = page.relative_to(site).as_posix()
        assert refs.lang and refs.lang.startswith("zh"), page_url
        for tag, attr, value in refs.urls:
            parts = urlsplit(value)
            if parts.scheme or parts.netloc or value.startswith("#"):
                continue
            target = urlsplit(urljoin("http://site/" + page_url, value)).path.lstrip("/")
            target = unquote(target)
            path = site / target
            if not (path.is_file() or (path / "index.html").is_file()):
                broken.append(f"{page_url}: <{tag} {attr}={value}>")
        # Screen readers: every picture says what it shows (or is marked decorative with alt="").
        assert all("alt" in image for image in refs.images), page_url
    assert not broken, broken


def test_lecture_page_video_course_page_facts(shared_site):
    built = shared_site
    lecture = built.html("courses/demo/01-lecture-1")
    video = re.search(r"<video [^>]*>", lecture).group(0)
    assert 'preload="none"' in video and 'poster="../../../media/demo/01-lecture-1.jpg"' in video
    assert '<source src="../../../media/demo/01-lecture-1.mp4" type="video/mp4">' in lecture
    assert '<track kind="subtitles" src="../../../media/demo/01-lecture-1.vtt" srclang="zh"' in lecture
    assert "<track" not in built.html("courses/demo/02-lecture-2")  # no subtitles delivered there
    assert "知识点：</strong>知识点1" in lecture
    assert 'href="../02-lecture-2/" rel="next"' in lecture
    middle = built.html("courses/demo/05-lecture-5")
    assert 'href="../04-lecture-4/" rel="prev"' in middle and 'href="../06-lecture-6/" rel="next"' in middle

    course = built.html("courses/demo")
    assert "张老师" in course and "社区学校教师。" in course  # instructor and bio
    assert "测试县社区教育学院" in course
    assert "0571-88886666" not in course  # contact phones are for officers' tables, not the public
    assert "10 个" in course and "0.5 学时" in course  # 10 one-second lectures
    assert course.count('class="weike-lecture__meta"') == 10
    assert "扫码学习" not in course  # no site_url: a QR code would point nowhere


def test_home_groups_courses_by_theme_and_level(shared_site):
    home = shared_site.html("")
    assert 'href="themes/laonian-zhihui/"' in home and 'href="themes/kexue-suzhi/"' in home
    assert 'href="levels/county/"' in home and 'href="levels/village/"' in home
    assert "共 <strong>2</strong> 门课程" in home
    # Newest first: photo (2024-05-01) before demo (2023-09-01).
    assert home.index('href="courses/photo/"') < home.index('href="courses/demo/"')
    # Navigation lists themes, never every course (that would be quadratic at scale).
    nav = home[home.index('class="md-nav md-nav--primary"'):home.index('class="md-content"')]
    assert "themes/laonian-zhihui/" in nav and "courses/demo/" not in nav


def test_levels_carry_the_forms_labels_on_every_page(built_site):
    """The menu, the level page and the course page all say 县(市、区), as course.yml and the forms do."""
    built = built_site({"courses/photo/course.yml": OTHER_COURSE_YML.replace("level: 村(社区)", "level: 社区")})
    home = built.html("")
    nav = home[home.index('class="md-nav md-nav--primary"'):home.index('class="md-content"')]
    assert "县(市、区)" in nav and "村(社区)" in nav and "县级" not in nav
    assert "<h1>县(市、区)课程</h1>" in built.html("levels/county")
    assert "村(社区)" in built.html("courses/photo") and "村(社区)课程" in built.html("levels/village")


def test_catalogue_json_lists_every_course_and_lecture(shared_site):
    built = shared_site
    data = json.loads((built.site / "catalogue.json").read_text(encoding="utf-8"))
    assert data["course_count"] == 2 and data["lecture_count"] == 20
    photo = next(c for c in data["courses"] if c["slug"] == "photo")
    assert photo["theme"] == "科学素质与互联网学习" and photo["provider"]["level"] == "村(社区)"
    assert "phone" not in photo["provider"] and "contact" not in photo["provider"]
    first = photo["lectures"][0]
    assert first["title"] == SEARCH_TITLE and first["duration"] == 1.0
    for course in data["courses"]:
        assert (built.site / course["url"] / "index.html").is_file()
        for lecture in course["lectures"]:
            assert (built.site / lecture["video"]["url"]).is_file()


def test_search_index_segments_chinese_in_hidden_fields_and_leaves_notes_out(built_site):
    built = built_site({"courses/photo/01-lecture-1/lecture.md":
                        lecture_md(title=SEARCH_TITLE, knowledge_point="构图的三分法", notes="讲义里的独特词语蝴蝶兰。")})
    index = json.loads((built.site / "search/search_index.json").read_text(encoding="utf-8"))
    assert {"keywords", "title_words"} <= set(index["config"]["fields"])
    entry = next(d for d in index["docs"] if d["location"] == "courses/photo/01-lecture-1/")
    # What a reader sees (and copies) is plain; the words are in the hidden fields.
    assert entry["title"] == SEARCH_TITLE and entry["text"] == "课程：手机摄影入门 构图的三分法"
    assert "拍照" in entry["title_words"].split()
    assert "手机" in entry["keywords"].split()  # finer words for searches inside 智能手机
    assert "蝴蝶兰" not in json.dumps(index, ensure_ascii=False)
    # Only the catalogue's own entries: generated pages are not scraped a second time.
    assert len([d for d in index["docs"] if d["location"].startswith("courses/")]) == 22


def test_notes_can_be_indexed_when_the_site_asks(built_site):
    mkdocs_yml = "site_name: 测试站\nextra:\n  weike:\n    search_notes: true\n"
    built = built_site({"mkdocs.yml": mkdocs_yml, "courses/photo/01-lecture-1/lecture.md":
                        lecture_md(title=SEARCH_TITLE, notes="讲义里的独特词语蝴蝶兰。")})
    index = (built.site / "search/search_index.json").read_text(encoding="utf-8")
    assert "蝴蝶兰" in index


def test_unsafe_markup_in_notes_never_reaches_the_site(built_site):
    notes = ("开头。\n\n<script>alert('script-marker')</script>\n\n"
             '<img src="x.png" onerror="alert(\'onerror-marker\')">\n\n'
             "[点我](javascript:jsMarker())\n\n"
             '<a href="JaVaScRiPt:alert(\'js2-marker\')">再点</a> <p onclick="alert(\'click-marker\')">段落</p>\n\n'
             '<img src="https://tracker.example/pixel.png" alt="外部图片">\n\n结尾。')
    built = built_site({"courses/demo/03-lecture-3/lecture.md": lecture_md(title="第3讲", notes=notes)})
    page = built.html("courses/demo/03-lecture-3")
    assert "开头。" in page and "结尾。" in page and "段落" in page
    for html_file in html_pages(built.site):
        text = html_file.read_text(encoding="utf-8")
        for marker in ("script-marker", "onerror", "jsMarker", "js2-marker", "click-marker", "tracker.example"):
            assert marker not in text, (html_file, marker)
        assert "javascript:" not in text.lower(), html_file
    warning = next(d for d in built.result.diagnostics if d.code == "W406")
    assert warning.severity is Severity.WARNING
    assert warning.location.file == "courses/demo/03-lecture-3/lecture.md" and warning.location.line == 5
    # A build skipped because nothing changed still tells the author.
    built.rebuild()
    assert any("inputs unchanged" in line for line in built.result.summary_lines)
    assert [d.location for d in built.result.diagnostics if d.code == "W406"] == [warning.location]


def test_notes_show_pictures_from_the_lecture_folder(built_site, cover_jpeg):
    built = built_site({"courses/demo/02-lecture-2/step.jpg": cover_jpeg,
                        "courses/demo/02-lecture-2/lecture.md": lecture_md(title="第2讲", notes="![第一步](step.jpg)")})
    assert '<img alt="第一步" src="step.jpg">' in built.html("courses/demo/02-lecture-2")
    assert (built.site / "courses/demo/02-lecture-2/step.jpg").is_file()


def test_notes_pictures_are_published_at_a_size_for_phones(built_site, tmp_path):
    """A phone's browser decodes a picture whole whatever size the page shows it at: a 50-megapixel
    photo in the notes cost a phone gigabytes. The site and the offline edition publish one copy,
    at most 1600 px on its longest side, without metadata, made once (the same bytes every build)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (8000, 6000), (200, 80, 20)).save(tmp_path / "photo.jpg", "JPEG", exif=exif)
    Image.new("RGBA", (2400, 300), (0, 0, 0, 0)).save(tmp_path / "banner.png")
    built = built_site({"courses/demo/02-lecture-2/photo.jpg": tmp_path / "photo.jpg",
                        "courses/demo/02-lecture-2/banner.png": tmp_path / "banner.png",
                        "courses/demo/02-lecture-2/lecture.md": lecture_md(
                            title="第2讲", notes="![照片](photo.jpg)\n\n![横幅](banner.png)")})
    published = {}
    for edition in (built.site, built.root / "dist" / "offline"):
        for name, expected in (("photo.jpg", ("JPEG", (1200, 1600), "RGB")),
                               ("banner.png", ("PNG", (1600, 200), "RGBA"))):
            path = edition / "courses/demo/02-lecture-2" / name
            with Image.open(path) as picture:
                assert (picture.format, picture.size, picture.mode) == expected, path
                assert not picture.getexif(), path
            published.setdefault(name, set()).add(path.read_bytes())
    assert all(len(copies) == 1 for copies in published.values())
    first = {name: next(iter(copies)) for name, copies in published.items()}
    from weike.builder.contracts.context import BuildPaths

    for cached in (BuildPaths.for_root(built.root).cache / "site").rglob("*-phone-*"):
        cached.unlink()  # made again from scratch: the same bytes
    (built.site / ".weike-site.json").unlink()
    built.rebuild()
    for name, data in first.items():
        assert (built.site / "courses/demo/02-lecture-2" / name).read_bytes() == data


def test_unchanged_inputs_skip_mkdocs_and_a_change_rebuilds(built_site):
    built = built_site()
    stamp = (built.site / ".weike-site.json").read_text()
    index_mtime = (built.site / "index.html").stat().st_mtime_ns
    built.rebuild()
    assert any("inputs unchanged" in line for line in built.result.summary_lines)
    assert (built.site / "index.html").stat().st_mtime_ns == index_mtime

    lecture = built.root / "courses/demo/02-lecture-2/lecture.md"
    lecture.write_text(lecture_md(title="改过的标题"), encoding="utf-8")
    built.rebuild()
    assert not any("inputs unchanged" in line for line in built.result.summary_lines)
    assert "改过的标题" in built.html("courses/demo/02-lecture-2")
    assert (built.site / ".weike-site.json").read_text() != stamp


def test_site_url_gives_qr_codes_sitemap_and_feed(built_site):
    built = built_site(site_url="https://weike.example.gov.cn/county")
    course = built.html("courses/demo")
    assert '<svg role="img" aria-label="本课程二维码' in course
    assert "https://weike.example.gov.cn/county/courses/demo/" in course
    sitemap = (built.site / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://weike.example.gov.cn/county/courses/photo/01-lecture-1/</loc>" in sitemap
    # home, 2 themes, 2 levels, 学习档案 (weike.plugins.records), courses + lectures
    assert sitemap.count("<loc>") == 1 + 2 + 2 + 1 + 2 * 11
    feed = (built.site / "feed.xml").read_text(encoding="utf-8")
    assert feed.index("手机摄影入门") < feed.index("测试课程")  # newest first
    # The feed link is relative (a copy served from elsewhere asks only itself), and home is "".
    assert '<link rel="alternate" type="application/atom+xml" title="新课程 New courses" href="feed.xml">' \
        in built.html("")


def test_no_site_url_means_no_sitemap_or_feed(built_site):
    built = built_site()
    assert not (built.site / "sitemap.xml").exists() and not (built.site / "feed.xml").exists()
    assert any("site_url" in line for line in built.result.summary_lines)


def test_site_folder_pages_and_overrides_are_merged(built_site):
    built = built_site({
        "site/index.md": "---\ntitle: 示范县社区教育\n---\n\n欢迎来到**示范县**社区学习网。\n",
        "site/about.md": "# 关于本站\n\n本站由示范县社区教育学院维护。\n",
        "site/overrides/partials/copyright.html": '<div class="md-copyright">示范县版权所有</div>\n',
        "site/themes/x.md": "# clash\n",
    })
    home = built.html("")
    assert "欢迎来到<strong>示范县</strong>社区学习网" in home and "示范县版权所有" in home
    assert "本站由示范县社区教育学院维护" in built.html("about")
    assert 'href="about/"' in home  # hand-written pages join the navigation
    clash = next(d for d in built.result.diagnostics if d.code == "W407")
    assert clash.location.file == "site/themes/x.md"


def test_broken_mkdocs_yml_is_reported_and_keeps_the_last_site(built_site):
    built = built_site()
    before = (built.site / "index.html").read_text(encoding="utf-8")
    (built.root / "mkdocs.yml").write_text("site_name: [unclosed\n", encoding="utf-8")
    built.rebuild()
    error = next(d for d in built.result.diagnostics if d.code == "E401")
    assert error.location.file == "mkdocs.yml"
    # The site's own problem: no course is failed for it (the bundles and the table still list them).
    assert built.result.failed == {} and built.result.failed_build()
    assert (built.site / "index.html").read_text(encoding="utf-8") == before
    assert not list(built.site.parent.glob(".tmp-*"))


def test_build_folders_of_killed_builds_are_removed_and_others_kept(built_site):
    from weike.builder.keeping.outputs import folder_mode, temp_name

    built = built_site()
    dist = built.site.parent
    killed = [dist / temp_name("site"), dist / temp_name("site.old"), dist / ".site-tmp-x1y2"]
    someone_elses = dist / temp_name("bundles")
    for folder in (*killed, someone_elses):
        folder.mkdir()
        (folder / "index.html").write_text("half", encoding="utf-8")
    (built.root / "site").mkdir(exist_ok=True)
    (built.root / "site" / "about.md").write_text("# 关于\n", encoding="utf-8")  # a change: the site is rebuilt
    built.rebuild()
    assert [folder for folder in killed if folder.exists()] == []
    assert someone_elses.is_dir()
    assert (built.site / "about" / "index.html").is_file() and built.site.stat().st_mode & 0o777 == folder_mode()


def test_broken_override_template_is_located(built_site):
    built = built_site({"site/overrides/main.html": '{% extends "base.html" %}\n{% block content %}\n{{ oops( }}\n'})
    error = next(d for d in built.result.diagnostics if d.code == "E402")
    assert error.location.file == "site/overrides/main.html" and error.location.line == 3


def test_lecture_without_delivered_media_leaves_its_course_off_the_site(delivered_repo):
    from tests.plugins.site.conftest import build_site

    repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo"))
    del delivered["photo/03-lecture-3"]
    result = build_site(repository.root, delivered)
    assert result.failed == {"photo": "site"} and result.built == ["demo"]
    assert [d.location.file for d in result.diagnostics if d.code == "E405"] == ["courses/photo/03-lecture-3/lecture.md"]
    assert not (dist / "site/courses/photo").exists()
    assert (dist / "site/courses/demo/index.html").is_file()


def test_build_website_alone_reports_e405(delivered_repo, tmp_path):
    from weike.plugins.site.website import build_website

    repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo"))
    del delivered["photo/03-lecture-3"]
    result = build_website(root=repository.root, site_url=None, courses=repository.courses, delivered=delivered,
                           site_dir=tmp_path / "site", work_dir=tmp_path / "work", cache_dir=tmp_path / "cache")
    error = next(d for d in result.diagnostics if d.code == "E405")
    assert error.location.file == "courses/photo/03-lecture-3/lecture.md"
    assert result.published == ("demo",)


def test_invalid_mkdocs_setting_is_e401(built_site):
    built = built_site({"mkdocs.yml": "site_name: 测试\nmarkdown_extensions:\n  - weike_no_such_extension\n"})
    error = next(d for d in built.result.diagnostics if d.code == "E401")
    assert error.location.file == "mkdocs.yml" and "weike_no_such_extension" in error.message_en
    assert not (built.site / "index.html").exists()


def test_qr_codes_are_kept_between_builds_for_current_urls_only(built_site):
    import json

    from weike.plugins.site.qr import QR_CODES_FILE, qr_svg, unpacked_svg

    built = built_site(site_url="https://weike.example.gov.cn/")
    cache = built.root / ".weike/cache/site" / QR_CODES_FILE
    codes = json.loads(cache.read_text(encoding="utf-8"))["codes"]
    url = "https://weike.example.gov.cn/courses/demo/"
    assert set(codes) == {url, "https://weike.example.gov.cn/courses/photo/"}
    assert unpacked_svg(codes[url]) == qr_svg(url) and qr_svg(url) in built.html("courses/demo")

    (built.root / "weike.yml").write_text("site_url: https://new.example.gov.cn/\n", encoding="utf-8")
    built.rebuild()
    codes = json.loads(cache.read_text(encoding="utf-8"))["codes"]
    assert set(codes) == {"https://new.example.gov.cn/courses/demo/", "https://new.example.gov.cn/courses/photo/"}


def test_a_cold_website_build_runs_no_collection_and_a_rebuild_and_a_failed_build_leave_the_collector_on(
        delivered_repo, tmp_path):
    """A cold build's process holds the whole site in memory: every full collection would walk it,
    freeing next to nothing. With thresholds so low that any build collects often, the cold build
    collects not once; the rebuild after an edit collects as ever; and the collector is on after
    each, a failed one too."""
    import gc
    import sys

    from weike.plugins.site.website import SiteBuildFailed, build_website

    repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo"))
    collections: list[int] = []

    def seen(phase: str, info: dict) -> None:  # (a collection the build runs, not the test around it)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code is not build_website.__wrapped__.__code__:
            frame = frame.f_back
        if phase == "start" and frame is not None:
            collections.append(info["generation"])

    def build(**overrides):
        arguments = dict(root=repository.root, site_url=None, courses=repository.courses, delivered=delivered,
                         site_dir=tmp_path / "site", work_dir=tmp_path / "work", cache_dir=tmp_path / "cache")
        arguments.update(overrides)
        return build_website(**arguments)

    thresholds = gc.get_threshold()
    gc.set_threshold(50, 1, 1)
    gc.callbacks.append(seen)
    try:
        cold = build()
        assert cold.rebuilt and collections == [] and gc.isenabled()
        (repository.root / "courses/demo/01-lecture-1/lecture.md").open("a", encoding="utf-8").write("\n补充。\n")
        from weike.builder.repository.loading import load_repository

        repository = load_repository(repository.root)
        build()
        assert collections and gc.isenabled()
        collections.clear()
        (repository.root / "mkdocs.yml").write_text("site_name: [\n", encoding="utf-8")
        with pytest.raises(SiteBuildFailed):
            build(site_dir=tmp_path / "other-site", work_dir=tmp_path / "other-work")
        assert collections == [] and gc.isenabled()
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*thresholds)


def test_a_built_sites_pages_are_freed_by_reference_counting_not_left_to_the_cyclic_collector(
        delivered_repo, tmp_path, monkeypatch):
    """A page and its file point at each other, and a page weike sets up holds a ``render`` bound
    to itself: left so, every page a cold build renders in its own process (thousands at 1,000
    courses) waits for a walk of the collector. Once the build is over those cycles are undone: a
    collection after it finds no sources of the build, no course of the site's model and none of
    the pages filled into frames among its garbage (only those Jinja rendered, which its contexts
    hold)."""
    import gc

    from weike.plugins.site import workers
    from weike.plugins.site.website import build_website

    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 1)  # (the pages shared as a catalogue's are)
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo"))
    gc.collect()
    result = build_website(root=repository.root, site_url=None, courses=repository.courses, delivered=delivered,
                           site_dir=tmp_path / "site", work_dir=tmp_path / "work", cache_dir=tmp_path / "cache")
    assert result.rebuilt and result.pages > 20
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    kinds = {f"{type(thing).__module__}.{type(thing).__qualname__}" for thing in left}
    lectures = [thing.file.src_uri for thing in left if type(thing).__name__ == "Page"
                and thing.file.src_uri.startswith("courses/") and not thing.file.src_uri.endswith("/index.md")]
    # (the first lecture page of a shape is rendered by Jinja to cut its frame: its context holds it)
    assert len(lectures) <= 1, lectures
    held = kinds & {"weike.plugins.site.catalogue.SiteCourse", "weike.plugins.site.catalogue.SiteLecture",
                    "weike.plugins.site.sources.Sources"}
    assert not held, sorted(held)
