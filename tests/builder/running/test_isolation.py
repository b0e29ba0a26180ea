"""One teacher's file never stops the other courses.

Each crash kind the issue found (a 1,000-level nested list, a 20000x20000 cover, impossible
dates, control characters reaching the spreadsheet and the feed, a plugin raising on one course)
is reported against its course at file:line by ``weike check``; ``weike build`` carries on with
the other courses. A course that fails a rule still gets its good lectures delivered.
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from weike.builder.cli import main
from weike.builder.contracts.model import Severity
from weike.builder.repository.loading import load_repository
from weike.builder.running.checking import run_check
from tests.conftest import COURSE_YML, lecture_md

#: 1,000 list levels, each item indented two spaces deeper than the one before.
DEEP_LIST = "".join("  " * level + "- 一层\n" for level in range(1000))
#: lecture.md: 4 front-matter lines and a blank line, so the notes start on line 6.
NOTES_FIRST_LINE = 6


def course_yml(title: str, **replace: str) -> str:
    text = COURSE_YML.replace("title: 测试课程", f"title: {title}")
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="session")
def oversized_cover(tmp_path_factory) -> Path:
    """A 20000x20000 PNG: 48 KB on disk, 400 million pixels decoded (a decompression bomb)."""
    from PIL import Image

    path = tmp_path_factory.mktemp("bomb") / "cover.png"
    Image.new("1", (20000, 20000)).save(path)
    return path


def crash_kinds(oversized_cover: Path) -> dict:
    """Files that turn the courses good, nested, bomb, baddate and badtime into one crash kind each."""
    return {
        "courses/good/course.yml": course_yml("好课程"),
        "courses/nested/course.yml": course_yml("嵌套课程"),
        "courses/nested/03-lecture-3/lecture.md": lecture_md(title="第3讲", knowledge_point="知识点3",
                                                             notes=DEEP_LIST),
        "courses/bomb/course.yml": course_yml("大图课程", **{"cover: cover.jpg": "cover: cover.png"}),
        "courses/bomb/cover.png": oversized_cover,
        "courses/baddate/course.yml": course_yml("日期课程", **{"2023-09-01": "2023-02-30"}),
        "courses/badtime/course.yml": course_yml("时间课程", **{"2023-09-01": "2023-09-15 25:61:00"}),
        # Escaped in YAML, so the value itself holds the control characters.
        "courses/control/course.yml": course_yml('"控制\\x01字符\\x0b课程"'),
    }


EXPECTED_PROBLEMS = {
    ("E005", "courses/baddate/course.yml", 5),
    ("E005", "courses/badtime/course.yml", 5),
    ("E106", "courses/bomb/course.yml", 4),
    ("E220", "courses/nested/03-lecture-3/lecture.md", None),  # the line: see test_deep_list_line
}


# --------------------------------------------------------------------------------------------
# Each crash kind, reported by weike check at its line
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["2023-02-30", "2023-09-15 25:61:00", "2023-13-01"])
def test_impossible_date_is_e005_at_its_line(make_repo, capsys, written):
    root = make_repo({"courses/c/course.yml": course_yml("课程", **{"2023-09-01": written})}, valid_courses=("c",))
    assert main(["check", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "courses/c/course.yml:5:10: error E005" in out and written in out
    assert "internal error" not in err and "Traceback" not in out + err


def test_oversized_cover_is_e106_at_its_line(make_repo, oversized_cover, capsys):
    root = make_repo({"courses/c/course.yml": course_yml("课程", **{"cover: cover.jpg": "cover: cover.png"}),
                      "courses/c/cover.png": oversized_cover}, valid_courses=("c",))
    assert main(["check", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "courses/c/course.yml:4:8: error E106" in out
    assert err == ""


def test_cover_is_decoded_in_full(make_repo, cover_jpeg, tmp_path):
    """A JPEG whose header is fine but whose picture data stops half way fails the check (E106),
    not the thumbnail or the still picture in the build."""
    data = cover_jpeg.read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    root = make_repo({"courses/c/cover.jpg": truncated}, valid_courses=("c",))
    found = [(d.code, d.location.line) for d in run_check(root).diagnostics if d.is_error]
    assert found == [("E106", 4)]


def test_remembered_verdicts_follow_edits(make_repo, cover_jpeg, tmp_path):
    """The check remembers picture and notes verdicts per file; fixing (or breaking) a file is
    seen at the next check."""
    data = cover_jpeg.read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    root = make_repo({"courses/c/cover.jpg": truncated}, valid_courses=("c",))

    def errors() -> list[str]:
        return sorted(d.code for d in run_check(root).diagnostics if d.is_error)

    assert errors() == ["E106"]
    (root / "courses/c/cover.jpg").write_bytes(data)
    assert errors() == []
    notes = root / "courses/c/04-lecture-4/lecture.md"
    notes.write_text(lecture_md(title="第4讲", knowledge_point="k", notes=DEEP_LIST), encoding="utf-8")
    assert errors() == ["E220"]
    notes.write_text(lecture_md(title="第4讲", knowledge_point="k"), encoding="utf-8")
    assert errors() == []


def test_deep_list_is_e219_at_the_line_where_it_gets_too_deep(make_repo, capsys):
    from weike.plugins.notes import MAX_NOTES_NESTING

    notes = "开头一段。\n\n" + DEEP_LIST
    root = make_repo({"courses/c/05-lecture-5/lecture.md": lecture_md(title="第5讲", knowledge_point="k", notes=notes)},
                     valid_courses=("c",))
    assert main(["check", str(root)]) == 1
    out, err = capsys.readouterr()
    match = re.search(r"courses/c/05-lecture-5/lecture\.md:(\d+): error E220", out)
    assert match, out
    # The line named is the first one by which the HTML nests too deep, measured here with
    # Python-Markdown and lxml directly.
    upto = int(match.group(1)) - NOTES_FIRST_LINE + 1
    lines = notes.splitlines(keepends=True)
    assert _html_depth("".join(lines[:upto])) > MAX_NOTES_NESTING >= _html_depth("".join(lines[:upto - 1]))
    assert "Traceback" not in out + err


def _html_depth(markdown_text: str) -> int:
    import markdown
    from lxml import html

    root = html.fragment_fromstring(markdown.markdown(markdown_text, extensions=["sane_lists"]), create_parent="div")
    return max(len(list(element.iterancestors())) for element in root.iter())


@pytest.mark.parametrize("notes", [
    DEEP_LIST,
    "<div>" * 5000 + "深" + "</div>" * 5000 + "\n",
    ">" * 400 + " 引用\n",
], ids=["list", "tags", "quotes"])
def test_render_notes_refuses_nesting_every_later_reader_would_choke_on(notes, tmp_path):
    from weike.plugins.notes import NotesTooDeep, render_notes

    with pytest.raises(NotesTooDeep):
        render_notes(notes, lecture_folder=tmp_path, course_folder=tmp_path)


def test_ordinary_nesting_renders(tmp_path):
    from weike.plugins.notes import render_notes

    notes = "".join("    " * level + "- 第{}层\n".format(level + 1) for level in range(6))
    html = render_notes(notes, lecture_folder=tmp_path, course_folder=tmp_path).html
    assert html.count("<ul>") == 6


# --------------------------------------------------------------------------------------------
# Control characters that reach the outputs cannot break them
# --------------------------------------------------------------------------------------------


def test_control_characters_cannot_break_the_feed(delivered_repo):
    from weike.plugins.site.catalogue import Catalogue, SiteCourse, feed_xml, site_lectures

    repository, delivered, _ = delivered_repo(valid_courses=("c",))
    course = dataclasses.replace(repository.courses[0], title="控制\x01字符\x0b课程", summary="简介\x1f")
    catalogue = Catalogue(courses=(SiteCourse(course=course, lectures=site_lectures(course, delivered),
                                              cover_size=(640, 360)),), site_url="https://weike.example.cn/")
    feed = etree.fromstring(feed_xml(catalogue, site_name="微课"))  # raises if not well-formed
    titles = feed.findall(".//{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
    assert [t.text for t in titles] == ["控制字符课程"]


def test_control_characters_cannot_break_the_spreadsheets_or_the_scorm_manifest(delivered_repo, tmp_path):
    from weike.plugins.national.bundle import metadata_workbook, lecture_entries
    from weike.plugins.scorm import manifest_xml
    from weike.plugins.province.summary_table import summary_workbook

    repository, delivered, _ = delivered_repo(valid_courses=("c",))
    course = dataclasses.replace(repository.courses[0], title="控制\x01字符课程",
                                 lectures=tuple(dataclasses.replace(lecture, title=f"第\x02{n}讲")
                                                for n, lecture in enumerate(repository.courses[0].lectures, 1)))
    path = tmp_path / "table.xlsx"
    summary_workbook([course], repository.config).save(path)
    assert load_workbook(path).active.cell(row=6, column=2).value == "控制字符课程"
    sheet = tmp_path / "sheet.xlsx"
    sheet.write_bytes(metadata_workbook(course, lecture_entries(course, delivered), None))
    assert load_workbook(sheet).active.max_row == 1 + len(course.lectures)
    manifest = etree.fromstring(manifest_xml(course, {lec.slug: ["a.html"] for lec in course.lectures}))
    assert "第1讲" in etree.tostring(manifest, encoding="unicode")


# --------------------------------------------------------------------------------------------
# A plugin raising inside one course's work
# --------------------------------------------------------------------------------------------

RAISING_CHECK = textwrap.dedent("""
    from weike.builder.contracts.hookspecs import hookimpl

    @hookimpl
    def weike_check_course(course, config):
        if course.slug == "bad":
            raise KeyError("no such field")
        return []
""")


def test_plugin_raising_in_check_is_reported_against_that_course(make_repo, capsys):
    root = make_repo({"plugins/county_rules.py": RAISING_CHECK,
                      "courses/bad/course.yml": course_yml("坏课程", **{"一门用于测试的课程。": "长" * 120})},
                     valid_courses=("good", "bad"))
    assert main(["check", str(root)]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"^courses/bad/course\.yml:1:1: error E901 .*local:county_rules.*KeyError", out, re.M), out
    # The other plugins' findings about that course are kept.
    assert "courses/bad/course.yml:2:10: error E102" in out
    assert "courses/good" not in out
    assert "Traceback" not in out + err and err == ""


RAISING_TARGET = textwrap.dedent("""
    from weike.plugins.bundles.target import BundleTarget
    from weike.builder.contracts.hookspecs import hookimpl
    from weike.builder.keeping.archive import ArchiveMember

    def pack(*, course, delivered, config):
        if course.slug == "bad":
            raise RecursionError("maximum recursion depth exceeded")
        return [ArchiveMember.from_bytes("readme.txt", course.slug.encode())]

    @hookimpl
    def weike_bundle_targets():
        return [BundleTarget(name="county", title="县平台", description="test target",
                             check=lambda **kwargs: [], pack=pack)]
""")


@pytest.mark.slow
def test_plugin_raising_in_a_bundle_stage_costs_only_that_course(make_repo, media, capsys):
    root = make_repo({"plugins/county_target.py": RAISING_TARGET,
                      "courses/bad/course.yml": course_yml("坏课程")}, valid_courses=("good", "bad"))
    assert main(["build", str(root), "--quiet", "--only", "bundles"]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"^courses/bad/course\.yml:1:1: error E901 .*local:county_target.*RecursionError", out, re.M), out
    assert "Traceback" not in out + err
    bundles = root / "dist/bundles"
    assert zipfile.ZipFile(bundles / "county/good.zip").read("readme.txt") == b"good"
    assert not (bundles / "county/bad.zip").exists()
    # The other targets pack both courses: the failure is the county target's alone.
    assert (bundles / "scorm/bad.zip").is_file() and (bundles / "scorm/good.zip").is_file()


@pytest.mark.slow
def test_a_course_the_site_cannot_render_is_left_off_and_the_others_published(delivered_repo, tmp_path):
    """The site's net under the check: a course whose pages fail (here: notes nested too deep,
    handed to the site without a check) is E901 for that course; the rest of the site is built."""
    from weike.plugins.site.website import build_website

    repository, delivered, _ = delivered_repo(valid_courses=("fine", "deep"))
    deep = repository.course("deep")
    lectures = list(deep.lectures)
    lectures[2] = dataclasses.replace(lectures[2], notes=DEEP_LIST)
    courses = [repository.course("fine"), dataclasses.replace(deep, lectures=tuple(lectures), title="深课程")]
    result = build_website(root=repository.root, site_url="https://weike.example.cn/", courses=courses,
                           delivered=delivered, site_dir=tmp_path / "site", work_dir=tmp_path / "work",
                           cache_dir=tmp_path / "cache")
    errors = [d for d in result.diagnostics if d.is_error]
    assert [(d.code, d.location.file) for d in errors] == [("E901", "courses/deep/course.yml")]
    assert "weike.plugins.site" in errors[0].message_en and "NotesTooDeep" in errors[0].message_en
    assert result.published == ("fine",)
    site = tmp_path / "site"
    assert (site / "courses/fine/index.html").is_file() and not (site / "courses/deep").exists()
    catalogue = json.loads((site / "catalogue.json").read_text(encoding="utf-8"))
    assert [c["slug"] for c in catalogue["courses"]] == ["fine"]
    assert "深课程" not in (site / "index.html").read_text(encoding="utf-8")
    etree.parse(str(site / "feed.xml"))


# --------------------------------------------------------------------------------------------
# The acceptance test: one course of each crash kind plus one good course
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_course_of_each_crash_kind_and_a_good_one(make_repo, oversized_cover, capsys):
    files = crash_kinds(oversized_cover)
    files["weike.yml"] = "site_url: https://weike.example.cn/\n"
    root = make_repo(files, valid_courses=("good", "nested", "bomb", "baddate", "badtime", "control"))

    assert main(["check", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and err == ""
    # Control characters in a title are refused at loading or, where they get through,
    # kept out of every XML output: either way they crash nothing.
    found = {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics
             if d.is_error and not d.location.file.startswith("courses/control/")}
    assert {(code, file) for code, file, _ in found} == {(code, file) for code, file, _ in EXPECTED_PROBLEMS}
    assert EXPECTED_PROBLEMS - {p for p in EXPECTED_PROBLEMS if p[2] is None} <= found
    for code, file, line in found:
        assert f"{file}:{line}" in out and code in out

    assert main(["build", str(root), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    for slug in ("nested", "bomb", "baddate", "badtime"):
        assert f"courses/{slug}: 在检查阶段失败 (failed at check)" in out
    dist = root / "dist"
    # The good course: delivered, on the site, in every bundle, in the summary table.
    assert len(list((dist / "media/good").glob("*.mp4"))) == 10
    assert (dist / "site/courses/good/index.html").is_file()
    catalogue = json.loads((dist / "site/catalogue.json").read_text(encoding="utf-8"))
    published = [c["slug"] for c in catalogue["courses"]]
    assert "good" in published and set(published) <= {"good", "control"}
    feed = etree.parse(str(dist / "site/feed.xml"))  # well-formed, whatever the titles held
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", etree.tostring(feed, encoding="unicode"))
    for target in ("smartedu", "ouchn", "scorm"):
        assert sorted(p.stem for p in (dist / "bundles" / target).glob("*.zip")) == sorted(published)
    table = load_workbook(dist / "reports/社区教育品牌项目汇总表.xlsx").active
    listed = [table.cell(row=row, column=2).value for row in range(6, 6 + len(published))]
    assert "好课程" in listed and set(listed) <= {"好课程", "控制字符课程"}


# --------------------------------------------------------------------------------------------
# Keep going on media (defect 4)
# --------------------------------------------------------------------------------------------


def _media_duration(path: Path) -> float:
    from pymediainfo import MediaInfo

    general = next(t for t in MediaInfo.parse(path).tracks if t.track_type == "General")
    return float(general.duration) / 1000


@pytest.mark.slow
def test_good_lectures_of_a_failing_course_are_delivered_and_cached(make_repo, media, cover_jpeg):
    """Four broken lectures and an overlong summary: the six good lectures are delivered (and
    cached), the four are not, and the course stays off the site, out of the bundles and the table."""
    overlong = course_yml("有问题的课程", **{"一门用于测试的课程。": "长" * 120})
    folder = "courses/mixed"
    files = {
        f"{folder}/course.yml": overlong,
        f"{folder}/02-lecture-2/video.mp4": b"",  # E211: empty
        f"{folder}/04-lecture-4/lecture.md": "---\ntitle: [不对, 的类型]\nknowledge_point: k\n---\n",  # E005
        f"{folder}/06-lecture-6/video.mp4": b"not a video at all" * 10,  # E211: not media
        f"{folder}/08-lecture-8/lecture.md": lecture_md(title="第8讲", knowledge_point="k",
                                                        extra="media: missing.mp4\n"),  # E205
    }
    root = make_repo(files, valid_courses=("mixed", "fine"))
    broken = {"02-lecture-2", "04-lecture-4", "06-lecture-6", "08-lecture-8"}

    assert main(["build", str(root), "--quiet"]) == 1
    dist, source = root / "dist", media("landscape.mp4")
    delivered = {p.stem for p in (dist / "media/mixed").glob("*.mp4")}
    assert delivered == {f"{n:02d}-lecture-{n}" for n in range(1, 11)} - broken
    for name in delivered:
        assert abs(_media_duration(dist / "media/mixed" / f"{name}.mp4") - _media_duration(source)) < 0.2
    manifest = json.loads((dist / "media/manifest.json").read_text(encoding="utf-8"))
    assert {key for key in manifest["lectures"] if key.startswith("mixed/")} == {f"mixed/{n}" for n in delivered}
    store = root / ".weike/cache"
    cached = {record["cache_key"] for record in manifest["lectures"].values()}
    assert cached and all(any(store.rglob(f"*{key}*")) for key in cached)
    # The course itself stays out until it is fixed; the other course is published.
    assert not (dist / "site/courses/mixed").exists() and (dist / "site/courses/fine/index.html").is_file()
    assert not list(dist.glob("bundles/*/mixed.zip")) and (dist / "bundles/scorm/fine.zip").is_file()


def test_which_lectures_of_a_failing_course_go_to_the_media_stage(make_repo):
    from weike.builder.running.checking import check_repository
    from weike.builder.running.pipeline import courses_for_media
    from weike.builder.running.plugin_manager import get_plugin_manager

    root = make_repo({
        "courses/c/course.yml": course_yml("课程", **{"cover: cover.jpg": "cover: nowhere.jpg"}),
        "courses/c/03-lecture-3/lecture.md": lecture_md(title="第3讲", knowledge_point="k", extra="form: 电影\n"),
    }, valid_courses=("c", "ok"))
    repository = load_repository(root)
    diagnostics = check_repository(repository, get_plugin_manager(root))
    failed = {"c": "check"}
    chosen = {course.slug: course for course in courses_for_media(repository.courses, diagnostics, failed=failed)}
    assert [lecture.slug for lecture in chosen["c"].lectures] == [
        f"{n:02d}-lecture-{n}" for n in range(1, 11) if n != 3]
    assert chosen["c"].cover is None  # E105: not shown as any audio lecture's still picture
    assert chosen["ok"] == repository.course("ok")
    # An error outside every course folder (weike.yml) holds every failing course back.
    config_error = dataclasses.replace(diagnostics[0], location=dataclasses.replace(
        diagnostics[0].location, file="weike.yml"), severity=Severity.ERROR)
    assert [c.slug for c in courses_for_media(repository.courses, [*diagnostics, config_error],
                                              failed=failed)] == ["ok"]


@pytest.mark.slow
def test_a_held_back_lecture_keeps_its_earlier_delivered_file(make_repo):
    root = make_repo(valid_courses=("c",))
    assert main(["build", str(root), "--quiet", "--only", "media"]) == 0
    earlier = root / "dist/media/c/02-lecture-2.mp4"
    kept = earlier.read_bytes()
    (root / "courses/c/02-lecture-2/lecture.md").write_text("---\ntitle: [坏, 的]\nknowledge_point: k\n---\n",
                                                             encoding="utf-8")
    assert main(["build", str(root), "--quiet", "--only", "media"]) == 1
    assert earlier.read_bytes() == kept
    manifest = json.loads((root / "dist/media/manifest.json").read_text(encoding="utf-8"))
    assert "c/02-lecture-2" in manifest["lectures"] and len(manifest["lectures"]) == 10


def test_a_rule_that_raises_after_others_made_their_products_blames_only_itself(make_repo):
    """The check asks every plugin again, one by one, when one raises: the plugins that had already
    handed their products forward (rendered notes, probes) make them again without fault, and
    the build is still handed them."""
    from weike.builder.contracts.context import Made
    from weike.builder.running.checking import check_repository
    from weike.builder.running.plugin_manager import get_plugin_manager

    root = make_repo({"plugins/late_crash.py": (
        "from weike.builder.contracts.hookspecs import hookimpl\n\n\n"
        "@hookimpl(trylast=True)  # after the built-in rules have made the notes and the probes\n"
        "def weike_check_course(course):\n"
        "    if course.slug == 'bad':\n"
        "        raise ValueError('boom')\n")}, valid_courses=("bad", "good"))
    made = Made()
    diagnostics = check_repository(load_repository(root), get_plugin_manager(root), paths=None, made=made)
    crashes = [d for d in diagnostics if d.code == "E901"]
    assert len(crashes) == 1 and "late_crash" in crashes[0].message_en
    assert {key.split("/")[0] for key in made.of("notes")} == {"bad", "good"}
    assert len(made.of("notes")) == 20 and len(made.of("media-probe")) == 20
