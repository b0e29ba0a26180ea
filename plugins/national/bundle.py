"""What the two national-platform targets share: the rights gate and the bundle layout.

国家智慧教育公共服务平台 and 国家开放大学终身教育平台 publish no import format; provinces hand
over MP4 files with declaration spreadsheets. So each bundle holds what an operator needs to load
a course by hand or by script, flat at the zip root::

    01_微课名称.mp4  01_微课名称.jpg (thumbnail)  01_微课名称.srt / .vtt (when subtitled)  ...
    封面.jpg         课程信息.xlsx (附件2's fields, one row per microlecture)
    manifest.json    (the same data, plus every file's size and SHA-256)
    SHA256SUMS       (added by the bundle stage)

A course is bundled only when all three attestations of 附件2 are true (the rights gate, E501, is
:func:`weike.plugins.rules.rights_not_cleared`, which the province's 附件3 applies too).

Not a plugin itself: the target modules :mod:`~weike.plugins.national.smartedu` and
:mod:`~weike.plugins.national.ouchn` each declare one target with it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from copy import copy
from dataclasses import dataclass
from pathlib import Path


from weike.builder import __version__
from weike.builder.keeping.archive import ArchiveMember, safe_name_component
from weike.builder.keeping.fingerprint import package_versions
from weike.plugins.bundles import BundleTarget
from weike.builder.contracts.model import RIGHTS_KEYS, Course, DeliveredMedia, Diagnostic, Lecture, WeikeConfig
from weike.builder.keeping.xmltext import xml_text
from weike.plugins.pictures import upright_jpeg
from weike.plugins.national.sheet import metadata_sheet_writer
from weike.plugins.rules import rights_not_cleared
from weike.plugins.spreadsheets import workbook_bytes

MANIFEST_NAME = "manifest.json"
SPREADSHEET_NAME = "课程信息.xlsx"
COVER_STEM = "封面"
#: Longest lecture title kept in a file name: short enough for Windows paths once unzipped.
TITLE_CHARS_IN_NAME = 40

#: Columns of the metadata sheet: 附件2's fields, then the files that carry them.
COLUMNS: tuple[str, ...] = (
    "序号", "课程名称", "课程简介", "授课人", "授课人简介", "主题", "创建日期",
    "开课机构", "所处层级", "所在地区", "联系人", "联系电话",
    "微课名称", "知识点", "时长", "时长（秒）", "形式", "文件名", "字幕文件", "缩略图", "封面",
)
_WIDE_COLUMNS = {"课程简介": 40, "授课人简介": 40, "知识点": 30, "微课名称": 24, "文件名": 30, "字幕文件": 30}


# --------------------------------------------------------------------------------------------
# The rights gate (附件2: 公益属性、无版权纠纷、同意开放共享)
# --------------------------------------------------------------------------------------------


def check_national_course(*, course: Course, delivered: Mapping[str, DeliveredMedia],
                          config: WeikeConfig) -> list[Diagnostic]:
    found = rights_not_cleared(course)
    return [found] if found else []


# --------------------------------------------------------------------------------------------
# File names and the data both the sheet and manifest.json carry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LectureEntry:
    """One microlecture as the bundle presents it: its position, data and file names."""

    number: int
    lecture: Lecture
    media: DeliveredMedia
    video: str
    poster: str | None
    srt: str | None
    vtt: str | None

    @property
    def form(self) -> str:
        return self.lecture.form or ("音频" if self.media.from_audio else "视频")

    @property
    def duration(self) -> float:
        return round(self.media.duration, 2)


def lecture_entries(course: Course, delivered: Mapping[str, DeliveredMedia]) -> list[LectureEntry]:
    """Lectures in course order, numbered from 1 and named ``NN_微课名称`` (safe on Windows)."""
    width = max(2, len(str(len(course.lectures))))
    entries = []
    for number, lecture in enumerate(course.lectures, start=1):
        media = delivered[lecture.key]
        stem = safe_name_component(f"{number:0{width}d}_{lecture.title or lecture.slug}",
                                   max_chars=width + 1 + TITLE_CHARS_IN_NAME)
        entries.append(LectureEntry(
            number=number, lecture=lecture, media=media, video=f"{stem}.mp4",
            poster=f"{stem}.jpg" if media.poster else None,
            srt=f"{stem}.srt" if media.subtitles_srt else None,
            vtt=f"{stem}.vtt" if media.subtitles else None,
        ))
    return entries


def cover_name(course: Course) -> str | None:
    """``封面.jpg``: the bundles carry :func:`cover_jpeg` of the author's picture, always a JPEG."""
    if course.cover is None or course.cover.path is None:
        return None
    return COVER_STEM + ".jpg"


#: A phone photo is 4032 px wide; platforms show covers at most ~1280 px.
BUNDLE_COVER_MAX_WIDTH = 1280


def cover_jpeg(course: Course) -> bytes:
    """The cover upright (its EXIF rotation applied: a platform may ignore it), at most 1280 px
    wide, EXIF stripped (a phone photo's tags carry where it was taken)."""
    path = course.cover.path
    stat = os.stat(path)
    return _cover_jpeg(os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)


@functools.lru_cache(maxsize=16)
def _cover_jpeg(path: str, *identity: int) -> bytes:
    # Cached by the file's identity (size, mtime, inode, ctime): both national targets pack the
    # same cover for a course, and decoding and re-encoding a photo is a large part of a bundle.
    return upright_jpeg(Path(path), max_width=BUNDLE_COVER_MAX_WIDTH)


@functools.cache
def _cover_thread() -> ThreadPoolExecutor:
    """The one thread that encodes covers beside the sheets, for the whole process: a pool per
    bundle started and joined a thread per course (and waited for the scheduler each time)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="weike-cover")


def format_duration(seconds: float) -> str:
    """``6分05秒``: how officers write a lecture's length."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}分{rest:02d}秒"


def _instructor_names(course: Course) -> str:
    return "、".join(person.name or "" for person in course.instructors)


def _instructor_bios(course: Course) -> str:
    return "\n".join(f"{person.name}：{person.bio}" for person in course.instructors)


def metadata_rows(course: Course, entries: list[LectureEntry], cover: str | None) -> list[tuple]:
    """The sheet's rows, one per microlecture, in :data:`COLUMNS` order."""
    provider = course.provider
    return [
        (entry.number, course.title, course.summary, _instructor_names(course), _instructor_bios(course),
         course.theme, course.created.isoformat() if course.created else None,
         provider.name, provider.level, provider.region, provider.contact, provider.phone,
         entry.lecture.title, entry.lecture.knowledge_point, format_duration(entry.duration), entry.duration,
         entry.form, entry.video, "、".join(n for n in (entry.srt, entry.vtt) if n) or None, entry.poster, cover)
        for entry in entries
    ]


#: In the bundle stage's cache folder: the two sample sheets openpyxl wrote (sheet.py).
SHEET_SAMPLES_FILE = "_national-sheet-samples.bin"


def metadata_workbook(course: Course, entries: list[LectureEntry], cover: str | None, *,
                      dated: _dt.datetime | None = None, cache: Path | None = None) -> bytes:
    """课程信息.xlsx, created and modified ``dated`` (the bundle's source date) like its zip entries
    (``cache``: the bundle stage's cache folder, where the sheet writer keeps its samples)."""
    samples = Path(cache) / SHEET_SAMPLES_FILE if cache is not None else None
    return _workbook(f"{course.title} 课程信息", tuple(metadata_rows(course, entries, cover)), dated, samples)


@functools.lru_cache(maxsize=16)
def _workbook(title: str, rows: tuple[tuple, ...], dated: _dt.datetime | None = None,
              samples: Path | None = None) -> bytes:
    # Cached by content: both national targets pack the same sheet for a course. Written straight
    # from the rows with the bytes openpyxl gives (sheet.py), unless a cell needs openpyxl's care.
    writer = metadata_sheet_writer(_openpyxl_workbook, len(COLUMNS), samples=samples)
    if writer is not None:
        data = writer.write(xml_text(title), tuple(tuple(xml_text(value) for value in row) for row in rows), dated)
        if data is not None:
            return data
    return _openpyxl_workbook(title, rows, dated)


def _openpyxl_workbook(title: str, rows: tuple[tuple, ...], dated: _dt.datetime | None = None) -> bytes:
    """The sheet as openpyxl makes it: the reference the direct writer is proven against."""
    # Imported here, when a bundle is packed, not by every weike command that loads the plugins.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.properties.creator = f"weike {__version__}"
    workbook.properties.title = xml_text(title)
    sheet = workbook.active
    sheet.title = "微课清单"
    sheet.append(COLUMNS)
    for row in rows:
        # openpyxl refuses text XML cannot hold (control characters): never one course's crash.
        sheet.append(tuple(xml_text(value) for value in row))
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    header_font = Font(bold=True)
    header_alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for cell in sheet[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = header_alignment
    # One alignment for every body cell: set on the first, its style indices copied to the rest
    # (as openpyxl's own sheet copier does). Setting ``cell.alignment`` on each cell hashes the
    # style object into the workbook's list every time, a third of the sheet's cost.
    body_alignment = Alignment(vertical="top", wrap_text=True)
    styled = None
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if styled is None:
                cell.alignment = body_alignment
                styled = cell._style
            else:
                cell._style = copy(styled)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDE_COLUMNS.get(column, 12)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    return workbook_bytes(workbook, made=dated)


def manifest_data(*, course: Course, entries: list[LectureEntry], cover: str | None, platform: tuple[str, str],
                  files: list[ArchiveMember]) -> dict:
    """manifest.json: the sheet's data with structure, and every other file's size and SHA-256."""
    provider = course.provider
    return {
        "format": "weike-national-bundle",
        "format_version": 1,
        "generator": f"weike {__version__}",
        "target": {"name": platform[0], "title": platform[1]},
        "course": {
            "slug": course.slug,
            "title": course.title,
            "summary": course.summary,
            "theme": course.theme,
            "created": course.created.isoformat() if course.created else None,
            "instructors": [{"name": p.name, "bio": p.bio} for p in course.instructors],
            "provider": {"name": provider.name, "level": provider.level, "region": provider.region,
                         "contact": provider.contact, "phone": provider.phone},
            "rights": {key: getattr(course.rights, key) for key in RIGHTS_KEYS},
            "tags": list(course.tags),
            "cover": cover,
            "lecture_count": len(entries),
            "duration": round(sum(entry.duration for entry in entries), 2),
        },
        "lectures": [
            {"number": e.number, "slug": e.lecture.slug, "title": e.lecture.title,
             "knowledge_point": e.lecture.knowledge_point, "form": e.form, "duration": e.duration,
             "video": e.video, "poster": e.poster, "subtitles": {"srt": e.srt, "vtt": e.vtt} if e.vtt else None}
            for e in entries
        ],
        "spreadsheet": SPREADSHEET_NAME,
        "files": [{"path": m.name, "size": m.size, "sha256": m.sha256} for m in sorted(files, key=lambda m: m.name)],
    }


# --------------------------------------------------------------------------------------------
# The target
# --------------------------------------------------------------------------------------------


def pack_national_bundle(*, course: Course, delivered: Mapping[str, DeliveredMedia],
                         platform: tuple[str, str], dated: _dt.datetime | None = None,
                         cache: Path | None = None) -> list[ArchiveMember]:
    """The members of one course's bundle for ``platform`` = (target name, platform title); the
    sheet dated ``dated`` (the bundle's source date; ``cache``: the bundle stage's cache folder)."""
    entries = lecture_entries(course, delivered)
    cover = cover_name(course)
    files: list[ArchiveMember] = []
    # Pillow decodes and encodes the cover without the GIL: on another core, while the sheet is
    # written and the lectures' files are listed; it is waited for last.
    cover_bytes = _cover_thread().submit(cover_jpeg, course) if cover is not None else None
    try:
        workbook = metadata_workbook(course, entries, cover, dated=dated, cache=cache)
        for entry in entries:
            media = entry.media
            # The media stage hashed the MP4 already; the zip writer verifies it while copying.
            files.append(ArchiveMember.from_file(entry.video, media.path, size=media.size, sha256=media.sha256))
            if entry.poster:
                files.append(ArchiveMember.from_file(entry.poster, media.poster))
            # The upload forms ask for SRT, the web players want WebVTT: the media stage made both.
            if entry.vtt:
                files.append(ArchiveMember.from_file(entry.vtt, media.subtitles))
            if entry.srt:
                files.append(ArchiveMember.from_file(entry.srt, media.subtitles_srt))
    except BaseException:
        if cover_bytes is not None:  # nothing of this course left running behind its failure
            cover_bytes.exception()
        raise
    if cover_bytes is not None:
        files.append(ArchiveMember.from_bytes(cover, cover_bytes.result()))
    files.append(ArchiveMember.from_bytes(SPREADSHEET_NAME, workbook))
    manifest = manifest_data(course=course, entries=entries, cover=cover, platform=platform, files=files)
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    return [*files, ArchiveMember.from_bytes(MANIFEST_NAME, text.encode("utf-8"))]


def national_bundle_inputs(*, course: Course, config: WeikeConfig) -> list[str]:
    """Besides the course folder and this package: the libraries whose output is in the zip (the
    spreadsheet, the re-encoded cover)."""
    return [f"{name} {version}" for name, version in package_versions("openpyxl", "pillow")]


def national_platform_target(*, name: str, title: str) -> BundleTarget:
    """The bundle target for one national platform; the layout is the same for both."""
    description = (f"{title}：按顺序命名的 MP4（NN_微课名称.mp4）、缩略图、字幕（SRT、WebVTT）、封面、"
                   f"课程信息.xlsx（附件2 字段）、manifest.json、SHA256SUMS；三项承诺都为 true 的课程才打包")

    def pack(*, course: Course, delivered: Mapping[str, DeliveredMedia], config: WeikeConfig,
             dated: _dt.datetime | None = None, cache: Path | None = None) -> list[ArchiveMember]:
        return pack_national_bundle(course=course, delivered=delivered, platform=(name, title), dated=dated,
                                    cache=cache)

    return BundleTarget(name=name, title=title, description=description, pack=pack, check=check_national_course,
                        inputs=national_bundle_inputs)
