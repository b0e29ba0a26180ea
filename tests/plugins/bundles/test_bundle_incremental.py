"""The bundle stage per edit: a course the check read unchanged is not walked again, and after any
edit every zip (re-opened, member by member, with its entries' dates) is what a cold build makes;
every zip and the sheet inside the national ones carry the course's true source date."""

from __future__ import annotations

import calendar
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.plugins.conftest import run_build
from tests.plugins.site.test_site_incremental import CENTRE_YML as SITE_CENTRE_YML

COURSES = ("aa", "bb", "cc", "dd")
OLDER = calendar.timegm((2029, 1, 2, 3, 4, 6))
#: A brand learning centre listing course aa.
CENTRE_YML = SITE_CENTRE_YML.replace("  - photo", "  - aa")
NEWER = calendar.timegm((2030, 7, 8, 9, 10, 12))


@pytest.fixture(autouse=True)
def no_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def zips(dist: Path) -> dict[str, tuple[bytes, dict[str, tuple[tuple, bytes]]]]:
    """Every bundle: its bytes, and each member re-opened as (date_time, bytes)."""
    found = {}
    for path in sorted((dist / "bundles").rglob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: (info.date_time, archive.read(info)) for info in archive.infolist()}
        found[str(path.relative_to(dist))] = (path.read_bytes(), members)
    return found


def build_bundles(root: Path) -> str:
    """Build the bundles with the stage running (the build stamp would replay a no-change build);
    returns the summary."""
    (root / ".weike/cache/build-stamp.json").unlink(missing_ok=True)
    result = run_build(root, only="bundles")
    assert not result.failed_build(), result.diagnostics
    return "\n".join(result.summary_lines)


def cold(root: Path, tmp_path: Path) -> dict:
    """The repository as it is now, its bundles built cold in a copy (files' times kept)."""
    copy = tmp_path / "cold"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, symlinks=True)
    shutil.rmtree(copy / "dist/bundles")
    shutil.rmtree(copy / ".weike")
    build_bundles(copy)
    return zips(copy / "dist")


def folders_read(summary: str) -> tuple[int, int]:
    found = re.search(r"bundles: (\d+) course folder\(s\) read, (\d+) unchanged since the check", summary)
    assert found, summary
    return int(found[1]), int(found[2])


def written(summary: str, target: str) -> str:
    return re.search(rf"\({target}: (\d+ bundle\(s\) written[^)]*)\)", summary)[1]


def test_an_edit_reads_one_course_folder_and_gives_the_zips_a_cold_build_gives(buildable_repo, media, tmp_path):
    root = buildable_repo(valid_courses=COURSES)
    assert folders_read(build_bundles(root)) == (4, 0)
    assert folders_read(build_bundles(root)) == (0, 4)  # nothing changed: no folder walked

    # A lecture's notes: only its course is read again and packed again.
    notes = root / "courses/aa/02-lecture-2/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n新增的一段讲义。\n", encoding="utf-8")
    summary = build_bundles(root)
    assert folders_read(summary) == (1, 3)
    assert written(summary, "scorm") == "1 bundle(s) written, 3 unchanged"
    assert "新增的一段讲义" in zips(root / "dist")["bundles/scorm/aa.zip"][1]["02-lecture-2/index.html"][1].decode()
    assert zips(root / "dist") == cold(root, tmp_path)

    # A lecture's delivered media and subtitles replaced by the media stage: no course folder
    # changed, yet bb is packed again from the new files.
    shutil.copyfile(media("landscape.mp4"), root / "dist/media/bb/02-lecture-2.mp4")
    (root / "dist/media/bb/01-lecture-1.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n新字幕\n",
                                                        encoding="utf-8")
    summary = build_bundles(root)
    assert folders_read(summary) == (0, 4)
    assert written(summary, "ouchn") == "1 bundle(s) written, 3 unchanged"
    assert "新字幕" in zips(root / "dist")["bundles/scorm/bb.zip"][1]["01-lecture-1/subtitles.vtt"][1].decode()
    assert zips(root / "dist") == cold(root, tmp_path)

    # A course's title, then its cover.
    course_yml = root / "courses/cc/course.yml"
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("title: 测试课程", "title: 改过的课程名"),
                          encoding="utf-8")
    summary = build_bundles(root)
    assert folders_read(summary) == (1, 3)
    assert "改过的课程名" in zips(root / "dist")["bundles/smartedu/cc.zip"][1]["manifest.json"][1].decode()
    assert zips(root / "dist") == cold(root, tmp_path)
    from PIL import Image

    Image.new("RGB", (320, 180), (200, 30, 30)).save(root / "courses/dd/cover.jpg", quality=90)
    summary = build_bundles(root)
    assert folders_read(summary) == (1, 3)
    assert written(summary, "smartedu") == "1 bundle(s) written, 3 unchanged"
    assert zips(root / "dist") == cold(root, tmp_path)

    # A brand learning centre is on no bundle: nothing is read or packed again.
    centre = root / "centres/north/centre.yml"
    centre.parent.mkdir(parents=True)
    centre.write_text(CENTRE_YML, encoding="utf-8")
    summary = build_bundles(root)
    assert folders_read(summary) == (0, 4)
    assert written(summary, "scorm") == "0 bundle(s) written, 4 unchanged"
    assert zips(root / "dist") == cold(root, tmp_path)

    # A damaged memo is no memo: every folder read again, the same zips.
    (root / ".weike/cache/bundles/_course-inputs.json").write_text("{not json", encoding="utf-8")
    summary = build_bundles(root)
    assert folders_read(summary) == (4, 0)
    assert written(summary, "scorm") == "0 bundle(s) written, 4 unchanged"


def entry_dates(data: bytes) -> set[tuple]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.date_time for info in archive.infolist()}


def test_zips_and_their_sheets_carry_the_newest_course_file_date(buildable_repo, tmp_path, monkeypatch):
    root = buildable_repo(valid_courses=("aa", "bb"))
    if not (root / "weike.yml").exists():
        (root / "weike.yml").write_text("# 全省的设置\n", encoding="utf-8")
    for path in [root / "weike.yml", *(root / "courses").rglob("*")]:
        os.utime(path, (OLDER, OLDER))
    os.utime(root / "courses/aa/03-lecture-3/lecture.md", (NEWER, NEWER))
    build_bundles(root)
    built = zips(root / "dist")
    older, newer = (2029, 1, 2, 3, 4, 6), (2030, 7, 8, 9, 10, 12)
    for target in ("ouchn", "smartedu", "scorm"):
        assert {date for date, _ in built[f"bundles/{target}/aa.zip"][1].values()} == {newer}, target
        assert {date for date, _ in built[f"bundles/{target}/bb.zip"][1].values()} == {older}, target
    for target in ("ouchn", "smartedu"):  # the sheet inside: its entries and its properties
        sheet = built[f"bundles/{target}/bb.zip"][1]["课程信息.xlsx"][1]
        assert entry_dates(sheet) == {older}
        with zipfile.ZipFile(io.BytesIO(sheet)) as package:
            assert package.read("docProps/core.xml").decode().count("2029-01-02T03:04:06Z") == 2

    # Only a file's time moves (same bytes): its course's zips follow it, as a cold build dates them.
    os.utime(root / "courses/bb/cover.jpg", (NEWER, NEWER))
    summary = build_bundles(root)
    assert written(summary, "ouchn") == "1 bundle(s) written, 1 unchanged"
    assert {date for date, _ in zips(root / "dist")["bundles/scorm/bb.zip"][1].values()} == {newer}
    assert zips(root / "dist") == cold(root, tmp_path)

    # weike.yml is read for every course: touched later than every course file, it dates them all.
    os.utime(root / "weike.yml", (NEWER + 2, NEWER + 2))
    summary = build_bundles(root)
    assert written(summary, "scorm") == "2 bundle(s) written"
    assert zips(root / "dist") == cold(root, tmp_path)

    # SOURCE_DATE_EPOCH (reproducible builds) dates every entry and every sheet alike.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(calendar.timegm((2031, 5, 6, 7, 8, 10))))
    build_bundles(root)
    for name, (_, members) in zips(root / "dist").items():
        assert {date for date, _ in members.values()} == {(2031, 5, 6, 7, 8, 10)}, name
        if "课程信息.xlsx" in members:
            assert entry_dates(members["课程信息.xlsx"][1]) == {(2031, 5, 6, 7, 8, 10)}


def test_an_edit_looks_at_no_delivered_file_of_any_course(make_repo, media, tmp_path, monkeypatch):
    """The media stage hands each value on with its digest (its fields and its files' identities):
    the bundle stage compares those, formatting no value and stat'ing no poster or subtitles, and
    packs again only the course whose delivery changed, as a cold build packs it."""
    import weike.plugins.bundles.inputs as inputs

    root = make_repo(valid_courses=("aa", "bb"))
    build_bundles(root)
    looked: list[object] = []
    real = inputs._identity
    monkeypatch.setattr(inputs, "_identity", lambda path: looked.append(path) or real(path))
    notes = root / "courses/aa/02-lecture-2/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n新增的一段讲义。\n", encoding="utf-8")
    summary = build_bundles(root)
    assert looked == []
    assert written(summary, "scorm") == "1 bundle(s) written, 1 unchanged"
    # New subtitles for a lecture of bb: bb's delivery changed, bb alone is packed again.
    (root / "courses/bb/01-lecture-1/video.srt").write_text("1\n00:00:00,000 --> 00:00:00,800\n新字幕\n",
                                                           encoding="utf-8")
    summary = build_bundles(root)
    assert looked == []
    assert written(summary, "scorm") == "1 bundle(s) written, 1 unchanged"
    assert "新字幕" in zips(root / "dist")["bundles/scorm/bb.zip"][1]["01-lecture-1/subtitles.vtt"][1].decode()
    monkeypatch.undo()
    assert zips(root / "dist") == cold(root, tmp_path)
