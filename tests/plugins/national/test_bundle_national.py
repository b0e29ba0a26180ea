"""The national-platform bundles (smartedu, ouchn): members, manifest, checksums, sheet, rights gate."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import pytest
from openpyxl import load_workbook
from PIL import Image

from weike.builder.keeping.archive import check_member_name
from weike.plugins.national.bundle import COLUMNS
from tests.plugins.conftest import read_zip, run_build
from tests.conftest import COURSE_YML, SRT, VTT, lecture_md

NATIONAL = ("smartedu", "ouchn")
PLATFORM_TITLES = {"smartedu": "国家智慧教育公共服务平台", "ouchn": "国家开放大学终身教育平台"}


def expected_members(lectures=10):
    names = {"封面.jpg", "课程信息.xlsx", "manifest.json", "SHA256SUMS", "01_第1讲.srt", "01_第1讲.vtt"}
    for number in range(1, lectures + 1):
        names |= {f"{number:02d}_第{number}讲.mp4", f"{number:02d}_第{number}讲.jpg"}
    return names


@pytest.mark.parametrize("target", NATIONAL)
def test_bundle_members_manifest_and_checksums(bundled, target):
    repository, delivered, dist, outcome = bundled()
    path = dist / "bundles" / target / "demo.zip"
    assert path in outcome.outputs
    files = read_zip(path)
    assert set(files) == expected_members()
    for name in files:
        check_member_name(name)

    # Every file the manifest names is in the zip, and every file of the zip is named (bar the two
    # control files), with the right size and digest.
    manifest = json.loads(files["manifest.json"])
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "SHA256SUMS"}
    for name, entry in listed.items():
        assert entry["size"] == len(files[name])
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()

    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest

    course = repository.course("demo")
    first = delivered[course.lectures[0].key]
    assert files["01_第1讲.mp4"] == first.path.read_bytes()
    assert files["01_第1讲.jpg"] == first.poster.read_bytes()
    with Image.open(io.BytesIO(files["封面.jpg"])) as packed, Image.open(course.cover.path) as source:
        assert packed.format == "JPEG" and packed.size == source.size  # 1280 wide already: not resized
    assert files["01_第1讲.vtt"].decode() == VTT
    assert files["01_第1讲.srt"] == first.subtitles_srt.read_bytes() == SRT.encode()  # as the media stage made it


@pytest.mark.parametrize("target", NATIONAL)
def test_manifest_and_spreadsheet_carry_the_same_course_data(bundled, target):
    repository, _, dist, _ = bundled()
    files = read_zip(dist / "bundles" / target / "demo.zip")
    manifest = json.loads(files["manifest.json"])
    assert manifest["target"] == {"name": target, "title": PLATFORM_TITLES[target]}
    course = manifest["course"]
    assert course["title"] == "测试课程" and course["theme"] == "老年智慧生活" and course["created"] == "2023-09-01"
    assert course["provider"]["contact"] == "李老师" and course["cover"] == "封面.jpg"
    assert course["lecture_count"] == 10 and course["duration"] == 10.0
    assert all(course["rights"].values())
    lectures = manifest["lectures"]
    assert [lecture["video"] for lecture in lectures] == [f"{n:02d}_第{n}讲.mp4" for n in range(1, 11)]
    assert lectures[0]["subtitles"] == {"srt": "01_第1讲.srt", "vtt": "01_第1讲.vtt"}
    assert lectures[1]["subtitles"] is None and lectures[1]["form"] == "视频"
    assert manifest["spreadsheet"] == "课程信息.xlsx"

    sheet = load_workbook(io.BytesIO(files["课程信息.xlsx"]))["微课清单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert {"课程名称", "课程简介", "授课人", "授课人简介", "主题", "微课名称", "知识点", "时长", "形式", "文件名"} <= set(COLUMNS)
    assert len(rows) == 11
    by_column = [dict(zip(COLUMNS, row)) for row in rows[1:]]
    first = by_column[0]
    assert first["序号"] == 1 and first["课程名称"] == "测试课程" and first["课程简介"] == "一门用于测试的课程。"
    assert first["授课人"] == "张老师" and first["授课人简介"] == "张老师：社区学校教师。"
    assert first["主题"] == "老年智慧生活" and first["所处层级"] == "县(市、区)" and first["联系电话"] == "0571-88886666"
    assert first["微课名称"] == "第1讲" and first["知识点"] == "知识点1"
    assert first["时长"] == "0分01秒" and first["时长（秒）"] == 1.0 and first["形式"] == "视频"
    assert first["文件名"] == "01_第1讲.mp4" and first["字幕文件"] == "01_第1讲.srt、01_第1讲.vtt"
    assert first["缩略图"] == "01_第1讲.jpg" and first["封面"] == "封面.jpg"
    for row, lecture in zip(by_column, lectures):
        assert (row["序号"], row["微课名称"], row["知识点"], row["文件名"], row["时长（秒）"], row["形式"]) == (
            lecture["number"], lecture["title"], lecture["knowledge_point"], lecture["video"], lecture["duration"],
            lecture["form"])


def test_file_names_follow_lecture_order_and_are_safe_on_windows(delivered_repo):
    from tests.plugins.conftest import run_bundle_stage

    titles = {1: "问：怎么开机?", 2: "CON", 3: "连接 <家里> 的 WiFi / 无线网", 4: "长" * 60}
    files = {}
    for number, title in titles.items():
        files[f"courses/demo/{number:02d}-lecture-{number}/lecture.md"] = lecture_md(
            title=f"'{title}'", knowledge_point=f"知识点{number}")
    repository, delivered, dist = delivered_repo(files=files)
    run_bundle_stage(repository, delivered, dist)
    names = sorted(n for n in read_zip(dist / "bundles/smartedu/demo.zip") if n.endswith(".mp4"))
    assert names[:4] == ["01_问：怎么开机？.mp4", "02_CON.mp4", "03_连接 ＜家里＞ 的 WiFi ／ 无线网.mp4",
                         f"04_{'长' * 40}.mp4"]
    assert names[4:] == [f"{n:02d}_第{n}讲.mp4" for n in range(5, 11)]


def test_zip_entries_have_fixed_metadata(bundled, monkeypatch):
    import zipfile

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    _, _, dist, _ = bundled()
    with zipfile.ZipFile(dist / "bundles/ouchn/demo.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {(i.date_time, i.compress_type, i.external_attr >> 16) for i in infos} == {
        ((2023, 11, 14, 22, 13, 20), zipfile.ZIP_STORED, 0o100644)}


# --------------------------------------------------------------------------------------------
# The rights gate
# --------------------------------------------------------------------------------------------


def closed_course_files(field="share_to_national_platforms"):
    return {"courses/closed/course.yml": COURSE_YML.replace(f"{field}: true", f"{field}: false")
            .replace("title: 测试课程", "title: 不公开的课程")}


@pytest.mark.parametrize("field", ["public_good", "no_copyright_dispute", "share_to_national_platforms"])
def test_rights_gate_refuses_national_bundles_but_not_scorm(buildable_repo, field):
    root = buildable_repo(valid_courses=("closed", "open"), files=closed_course_files(field))
    stale = root / "dist/bundles/smartedu/closed.zip"  # from a build when the course was still cleared
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old bundle")

    result = run_build(root)
    refused = [d for d in result.diagnostics if d.code == "E501"]
    line = next(n for n, text in enumerate(COURSE_YML.splitlines(), start=1) if field in text)
    assert [(d.location.file, d.location.line, d.severity.value) for d in refused] == [
        ("courses/closed/course.yml", line, "error")]  # both targets say it once
    assert result.failed == {"closed": "bundles"} and result.failed_build()
    for target in NATIONAL:
        assert not (root / f"dist/bundles/{target}/closed.zip").exists()
        assert (root / f"dist/bundles/{target}/open.zip").is_file()
    assert (root / "dist/bundles/scorm/closed.zip").is_file()  # an LMS package needs no national consent
    assert result.built == ["open"]


def _phone_photo_relying_on_exif(path):
    """A 4032x3024 phone photo stored sideways with EXIF orientation 6: upright it is portrait,
    red along its top edge and blue along its bottom edge."""
    upright = Image.new("RGB", (3024, 4032), (240, 240, 240))
    upright.paste((220, 0, 0), (0, 0, 3024, 300))
    upright.paste((0, 0, 220), (0, 4032 - 300, 3024, 4032))
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to show"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=80, exif=exif)
    with Image.open(path) as stored:
        assert stored.size == (4032, 3024)


@pytest.mark.parametrize("target", NATIONAL)
def test_bundle_cover_is_upright_sized_and_stripped(bundled, tmp_path, target):
    photo = tmp_path / "phone.jpg"
    _phone_photo_relying_on_exif(photo)
    _, _, dist, _ = bundled(files={"courses/demo/cover.jpg": photo})
    packed = read_zip(dist / "bundles" / target / "demo.zip")["封面.jpg"]
    with Image.open(io.BytesIO(packed)) as cover:
        assert cover.format == "JPEG"
        assert cover.width <= 1280 and cover.height > cover.width  # upright portrait, sensibly sized
        assert cover.getexif().get(0x0112) is None  # no rotation left for a platform to ignore
        rgb = cover.convert("RGB")
        top, bottom = rgb.getpixel((cover.width // 2, 10)), rgb.getpixel((cover.width // 2, cover.height - 10))
    assert top[0] > 150 and top[2] < 80  # red at the top, as the teacher saw it on the phone
    assert bottom[2] > 150 and bottom[0] < 80
    assert len(packed) < photo.stat().st_size


def test_both_platforms_carry_one_cover_encoded_once_per_course(delivered_repo, monkeypatch):
    """Decoding and re-encoding a phone photo is a large part of a bundle: the two national
    targets share it (by the file's identity), and an edited cover is encoded again."""
    from weike.plugins.national import bundle
    from tests.plugins.conftest import run_bundle_stage

    encoded = []
    real = bundle.upright_jpeg

    def upright_jpeg(path, **kwargs):
        encoded.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(bundle, "upright_jpeg", upright_jpeg)
    bundle._cover_jpeg.cache_clear()
    repository, delivered, dist = delivered_repo(valid_courses=("aa", "bb"))
    run_bundle_stage(repository, delivered, dist)
    assert sorted(path.parent.name for path in encoded) == ["aa", "bb"]
    covers = {target: read_zip(dist / "bundles" / target / "aa.zip")["封面.jpg"] for target in NATIONAL}
    assert covers["smartedu"] == covers["ouchn"]

    cover = repository.root / "courses/aa/cover.jpg"
    Image.new("RGB", (320, 180), (200, 30, 30)).save(cover, "JPEG")
    encoded.clear()
    assert bundle.cover_jpeg(repository.courses[0]) != covers["smartedu"]
    assert [path.parent.name for path in encoded] == ["aa"]


def test_covers_are_encoded_on_one_thread_for_every_course(delivered_repo, monkeypatch):
    """The cover is encoded beside the sheet on a thread kept for the process, not a thread
    started and joined for every bundle."""
    from weike.plugins.national import bundle
    from tests.plugins.conftest import run_bundle_stage

    threads = []
    real = bundle.upright_jpeg

    def upright_jpeg(path, **kwargs):
        threads.append(threading.current_thread())  # kept: a thread object is not reused
        return real(path, **kwargs)

    monkeypatch.setattr(bundle, "upright_jpeg", upright_jpeg)
    bundle._cover_jpeg.cache_clear()
    repository, delivered, dist = delivered_repo(valid_courses=("aa", "bb", "cc"))
    run_bundle_stage(repository, delivered, dist)
    assert len(threads) == 3 and len(set(threads)) == 1 and threads[0] is not threading.current_thread()
    for slug in ("aa", "bb", "cc"):
        assert read_zip(dist / "bundles" / "ouchn" / f"{slug}.zip")["封面.jpg"][:2] == b"\xff\xd8"


def test_every_sheet_cell_is_styled_on_its_own(tmp_path):
    """The body cells share one alignment (top, wrapped) and the header its bold, filled style,
    while a cell that reads like a formula alone gets Excel's quote prefix."""
    from weike.plugins.national.bundle import _workbook

    rows = tuple((number, "课程", "=HYPERLINK(\"http://example.invalid\")" if number == 2 else "简介",
                  *([None] * (len(COLUMNS) - 3))) for number in (1, 2, 3))
    sheet = load_workbook(io.BytesIO(_workbook.__wrapped__("样表", rows)))["微课清单"]
    assert all(cell.font.b and cell.fill.fgColor.rgb == "00DDEBF7" and cell.alignment.wrap_text for cell in sheet[1])
    body = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert len(body) == 3 * len(COLUMNS)
    assert all(cell.alignment.vertical == "top" and cell.alignment.wrap_text and not cell.font.b for cell in body)
    assert [cell.coordinate for cell in body if cell.quotePrefix] == ["C3"]
    assert sheet["C3"].value.startswith("=") and sheet["C3"].data_type == "s"
