"""Acceptance: one hostile course repository, checked and built for real.

Course content is written by many people and published on a public website, in spreadsheets
provincial officers open, in zips loaded into national platforms and LMSs, and in terminals and
CI logs. This repository plants every attack the audit found (and the ones that already held, so
they keep holding). ``weike check`` must name each at its file and line without a traceback; a
real ``weike build`` (real ffmpeg, MkDocs, zips, XLSX) must publish the course that is merely
unpleasant, refuse the ones that are not, and leave nothing hostile in any output: the pages,
the search in Chromium, the SCORM pages in Chromium, every XLSX, every zip and the terminal.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

from tests.conftest import COURSE_YML, bomb_png, lecture_md, write_tree

pytestmark = pytest.mark.slow

#: In every file outside the repository that a course links to: it must appear in no output.
SECRET = "机密SECRET-7f3a"
#: The word every hostile field of the published course contains, so one search shows them all.
BAIT = "毒药"
TERMINAL_ATTACK = r"\e[2J\e[1;32m检查通过 all OK\e[0m\e]52;c;ZWNobyBoaQ==\a"
SITE_URL = "https://weike.example.gov.cn/county/"

#: Hostile, yet within every length limit (a title is one line of 40 characters at most, E118).
PUBLISHED_YML = f"""\
title: "=HYPERLINK(1,\\"{BAIT}\\")<svg/onload=alert(1)>"
summary: "{BAIT}<script>alert('summary')</script><img src=x onerror=window.pwned='summary'>"
theme: 老年智慧生活
cover: cover.jpg
created: 2023-09-01
instructors:
  - name: "\\t=1+1"
    bio: "<b onmouseover=alert('bio')>+SUM(1,1)</b>"
provider:
  name: "+cmd|' /C calc'!A0"
  level: 县(市、区)
  region: "@SUM(1+1)"
  contact: "=1+1"
  phone: "+86-571-88886666"  # starts like a formula, and is a number an officer can dial
rights:
  public_good: true
  no_copyright_dispute: true
  share_to_national_platforms: true
tags: ["<svg onload=alert('tag')>"]
"""

PUBLISHED_NOTES = f"""\
{BAIT}讲义 `<img src=x onerror=alert('notes-code')>` &lt;img src=x onerror=window.pwned='entity'&gt;

<script>alert('script')</script>
<img src="x" onerror="window.pwned='notes'">
[点我](javascript:alert('link')) ![外部](https://evil.example/track.png) ![外链](outside.png)
"""

#: The GBK subtitles of the published course (an encoding weike reads).
GBK_SRT = "1\r\n00:00:00,000 --> 00:00:00,900\r\n字幕测试\r\n".encode("gbk")
BIG5_SRT = ("1\r\n00:00:00,000 --> 00:00:00,500\r\n打開聊天視窗\r\n\r\n"
            "2\r\n00:00:00,500 --> 00:00:00,900\r\n點擊右上角的加號\r\n").encode("big5")
ALIAS_BOMB = "---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\ntitle: *b\n---\n"


def hostile_repository(root: Path, outside: Path, media: Path, cover: Path) -> None:
    outside.mkdir(parents=True)
    (outside / "secret.md").write_text(lecture_md(title=SECRET, knowledge_point=SECRET, notes=SECRET), "utf-8")
    (outside / "secret.yml").write_text(COURSE_YML.replace("测试课程", SECRET), "utf-8")
    (outside / "secret.srt").write_text(f"1\n00:00:00,000 --> 00:00:00,900\n{SECRET}\n", "utf-8")
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Comment", SECRET.encode().hex())  # the bytes carry the secret: a copy is found
    Image.new("RGB", (64, 64), (200, 30, 30)).save(outside / "secret.png", pnginfo=text)
    (outside / "cover.jpg").write_bytes(cover.read_bytes())
    escaped = outside / "escaped"  # a whole course, linked in as a course folder
    write_tree(escaped, {"course.yml": COURSE_YML.replace("测试课程", SECRET), "cover.jpg": cover,
                         "01-a/lecture.md": lecture_md(title=SECRET), "01-a/video.mp4": media,
                         "02-b/lecture.md": lecture_md(title=SECRET), "02-b/video.mp4": media})

    files: dict = {
        "weike.yml": f"min_lectures: 2\nprovince: \"=1+2\"\nsite_url: {SITE_URL}\n",
        "mkdocs.yml": "site_name: 测试\nextra:\n  weike:\n    search_notes: true\n",
        # Unpleasant but acceptable: published, with everything escaped or defused.
        "courses/published/course.yml": PUBLISHED_YML,
        "courses/published/cover.jpg": cover,
        "courses/published/01-fapiao/lecture.md": (
            f"---\ntitle: \"{BAIT}发票\\u202egpj.exe\"\n"
            f"knowledge_point: \"{BAIT}<img src=x onerror=window.pwned='kp'>\"\n---\n\n{PUBLISHED_NOTES}"),
        "courses/published/01-fapiao/video.mp4": media,
        "courses/published/01-fapiao/video.srt": GBK_SRT,
        "courses/published/02-sum/lecture.md": lecture_md(title='"@SUM(A1)"', knowledge_point='"-1+1"'),
        "courses/published/02-sum/video.mp4": media,
        # Refused: each lecture or file plants one attack.
        "courses/evil/course.yml": (COURSE_YML.replace("theme: 老年智慧生活", f'theme: "{TERMINAL_ATTACK}"')
                                    .replace("cover: cover.jpg", "cover: bomb.png")),
        "courses/evil/bomb.png": bomb_png(),
        "courses/evil/01-big5/lecture.md": lecture_md(),
        "courses/evil/01-big5/video.mp4": media,
        "courses/evil/01-big5/video.srt": BIG5_SRT,
        "courses/evil/03-parent/lecture.md": lecture_md(extra="media: ../../../../etc/passwd\n"),
        "courses/evil/04-absolute/lecture.md": lecture_md(extra="media: /etc/passwd\n"),
        "courses/evil/05-alias/lecture.md": ALIAS_BOMB,
        "courses/evil/06-huge/lecture.md": "---\ntitle: 大\nknowledge_point: 大\n---\n" + "大" * 400_000,
        "courses/evil/07-image/lecture.md": lecture_md(extra="image: bomb.png\n"),
        "courses/evil/07-image/bomb.png": bomb_png(),
        "courses/evil/07-image/video.mp4": media,
        "courses/evil/08-sublink/lecture.md": lecture_md(),
        "courses/evil/08-sublink/video.mp4": media,
        "courses/evil/09-notes/lecture.md": lecture_md(notes="正文\n第二行\x1b]52;c;ZWNobyBoaQ==\x07\n"),
        "courses/evil/09-notes/video.mp4": media,
        "courses/coverlink/course.yml": COURSE_YML,
        "courses/coverlink/01-a/lecture.md": lecture_md(), "courses/coverlink/01-a/video.mp4": media,
        "courses/coverlink/02-b/lecture.md": lecture_md(), "courses/coverlink/02-b/video.mp4": media,
        "courses/ymllink/01-a/lecture.md": lecture_md(), "courses/ymllink/01-a/video.mp4": media,
    }
    write_tree(root, files)
    links = {
        "courses/evil/02-outside/lecture.md": outside / "secret.md",
        "courses/evil/08-sublink/video.srt": outside / "secret.srt",
        "courses/published/01-fapiao/outside.png": outside / "secret.png",
        "courses/coverlink/cover.jpg": outside / "cover.jpg",
        "courses/ymllink/course.yml": outside / "secret.yml",
        "courses/escaped": escaped,
    }
    for rel, target in links.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(target, target_is_directory=target.is_dir())


#: Every problem planted, as ``weike check`` must name it: (code, file:line).
EXPECTED = {
    ("E013", "courses/evil/course.yml:3:8"),  # the terminal attack in theme
    ("E106", "courses/evil/course.yml:4:8"),  # decompression-bomb cover
    ("E214", "courses/evil/01-big5/video.srt"),  # Big5, named
    ("E206", "courses/evil/02-outside/lecture.md:1:1"),  # lecture.md linked from outside
    ("E206", "courses/evil/03-parent/lecture.md:4:8"),  # media: ../..
    ("E206", "courses/evil/04-absolute/lecture.md:4:8"),  # media: /etc/passwd
    ("E003", "courses/evil/05-alias/lecture.md:2:4"),  # YAML alias bomb
    ("E002", "courses/evil/06-huge/lecture.md"),  # over the size limit
    ("E213", "courses/evil/07-image/lecture.md:4:8"),  # decompression-bomb picture
    ("E206", "courses/evil/08-sublink/lecture.md:1:1"),  # subtitles linked from outside
    ("E013", "courses/evil/09-notes/lecture.md:7:4"),  # OSC 52 in the notes
    ("E206", "courses/coverlink/course.yml:4:8"),  # cover linked from outside
    ("E206", "courses/ymllink/course.yml:1:1"),  # course.yml linked from outside
    ("E206", "courses/escaped"),  # a course folder linked from outside courses/
    ("W014", "courses/published/01-fapiao/lecture.md:2:8"),  # right-to-left override in a title
    ("W406", "courses/published/01-fapiao/lecture.md:5"),  # notes sanitised (site stage)
}
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def run_weike(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "weike.builder", *args], capture_output=True, text=True,
                          encoding="utf-8", env={**os.environ, "NO_COLOR": "1"}, timeout=600)


def terminal_is_clean(done: subprocess.CompletedProcess) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "DecompressionBomb" not in output, output
    assert not _HIDDEN.findall(output.replace("\n", "")), [c for c in _HIDDEN.findall(output.replace("\n", ""))]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, media, cover_jpeg):
    base = tmp_path_factory.mktemp("hostile")
    root = base / "repo"
    hostile_repository(root, base / "outside", media("landscape.mp4"), cover_jpeg)
    check = run_weike("check", str(root), "--format", "json")
    built = run_weike("build", str(root))
    return root, check, built


def located(diagnostic: dict) -> str:
    where = diagnostic["file"]
    if diagnostic["line"] is not None:
        where += f":{diagnostic['line']}"
        if diagnostic["column"] is not None:
            where += f":{diagnostic['column']}"
    return where


def test_check_names_every_planted_problem_at_its_place(hostile):
    _, check, _ = hostile
    assert check.returncode == 1
    terminal_is_clean(check)
    found = {(d["code"], located(d)) for d in json.loads(check.stdout)["diagnostics"]}
    assert EXPECTED - {e for e in EXPECTED if e[0] == "W406"} <= found, sorted(found)
    big5 = next(d for d in json.loads(check.stdout)["diagnostics"] if d["code"] == "E214")
    assert "big5" in big5["message"]
    assert not [d for d in json.loads(check.stdout)["diagnostics"]
                if d["file"].startswith("courses/published/") and d["severity"] == "error"]
    for fmt in ("text", "github", "codequality"):
        terminal_is_clean(run_weike("check", str(hostile[0]), "--format", fmt))


def test_build_publishes_only_the_acceptable_course_and_prints_nothing_hostile(hostile):
    root, _, built = hostile
    assert built.returncode == 1  # the refused courses
    terminal_is_clean(built)
    for code, where in EXPECTED:
        assert f"{where}: " in built.stdout and code in built.stdout, (code, where)
    site = root / "dist/site"
    assert (site / "courses/published/index.html").is_file()
    assert not any((site / "courses" / slug).exists() for slug in ("evil", "coverlink", "ymllink", "escaped"))
    assert sorted(p.name for p in (root / "dist/bundles/smartedu").glob("*.zip")) == ["published.zip"]


def every_output_file(root: Path):
    """(name, bytes) of every file under dist/, and of every member of every zip there."""
    for path in sorted((root / "dist").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            yield str(path.relative_to(root)), data
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        yield f"{path.relative_to(root)}!{info.filename}", archive.read(info)


def test_nothing_from_outside_the_repository_is_published(hostile):
    root, _, _ = hostile
    leaked = [name for name, data in every_output_file(root)
              if SECRET.encode() in data or SECRET.encode().hex().encode() in data]
    assert leaked == []


def test_zip_member_names_have_no_invisible_characters(hostile):
    root, _, _ = hostile
    names = []
    for archive_path in sorted((root / "dist/bundles").rglob("*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            names += archive.namelist()
    assert "01_毒药发票gpj.exe.mp4" in names and "02_@SUM(A1).mp4" in names
    assert not [n for n in names if any(unicodedata.category(c) in ("Cc", "Cf") for c in n)]
    assert not [n for n in names if n.startswith("/") or ".." in n.split("/")]


def test_every_spreadsheet_holds_authored_text_as_text(hostile):
    root, _, _ = hostile
    books = {name: data for name, data in every_output_file(root) if name.endswith(".xlsx")}
    assert any("社区教育品牌项目汇总表" in name for name in books)
    assert any(name.endswith("!课程信息.xlsx") for name in books)
    for name, data in books.items():
        texts = []
        for sheet in load_workbook(io.BytesIO(data)).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        texts.append(cell.value)
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            assert not [n for n in package.namelist() if "<f>" in package.read(n).decode("utf-8", "replace")]
        assert "=1+1" in texts, name  # the contact, as written, as text
        if name.endswith("!课程信息.xlsx"):
            assert any(text.startswith("=HYPERLINK(") for text in texts) and "@SUM(A1)" in texts


def test_search_index_holds_escaped_text(hostile):
    root, _, _ = hostile
    index = json.loads((root / "dist/site/search/search_index.json").read_text(encoding="utf-8"))
    ours = [doc for doc in index["docs"] if doc["location"].startswith("courses/")]
    assert ours and any("notes-code" in doc["text"] for doc in ours)  # the notes are indexed
    for doc in ours:
        for field in ("title", "text", "keywords"):
            assert "<" not in doc.get(field, "") and ">" not in doc.get(field, ""), doc


def html_pages(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.html"))


@pytest.fixture(scope="module")
def scorm_pages(hostile, tmp_path_factory):
    root, _, _ = hostile
    folder = tmp_path_factory.mktemp("scorm") / "published"
    with zipfile.ZipFile(root / "dist/bundles/scorm/published.zip") as archive:
        archive.extractall(folder)
    return folder


def test_site_search_and_scorm_pages_run_nothing_hostile_in_chromium(hostile, scorm_pages, browser, serve):
    """Every page of the site and of the SCORM package in Chromium, served under a path prefix
    from another origin than site_url: no dialog, no planted handler, no request elsewhere; and a
    search that lists every hostile field runs nothing either."""
    root, _, _ = hostile
    site = root / "dist/site"
    base = serve(site.parent) + "site/"
    scorm_base = serve(scorm_pages.parent) + "published/"
    origins = {"{0.scheme}://{0.netloc}".format(urlsplit(url)) for url in (base, scorm_base)}
    context = browser.new_context(viewport={"width": 390, "height": 844})
    outside, dialogs, errors = [], [], []

    def guard(route):
        if any(route.request.url.startswith(origin + "/") for origin in origins):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        visits = [base + p.relative_to(site).as_posix() for p in html_pages(site)]
        scos = [scorm_base + p.relative_to(scorm_pages).as_posix() for p in html_pages(scorm_pages)
                if p.name == "index.html" and p.parent != scorm_pages]
        assert len(visits) >= 7 and len(scos) == 2  # home, theme, level, course, 2 lectures, 404
        visits += scos
        for url in visits:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.pwned") is None, url
        page.set_viewport_size({"width": 1280, "height": 900})  # the search field shows in the header
        page.goto(base)
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.locator(".md-search__input").fill(BAIT)
        page.locator(".md-search__input").press("End")
        page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
        page.wait_for_timeout(500)  # any broken <img> fires its onerror at once
        shown = page.locator(".md-search-result").inner_text().replace("\u200b", "")
        assert "onerror=window.pwned='kp'" in shown and "notes-code" in shown
        assert page.evaluate("window.pwned") is None
    finally:
        context.close()
    assert dialogs == [] and outside == []
