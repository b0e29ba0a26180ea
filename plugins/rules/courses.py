"""The course call's rules (附件2) that need no media decoding, as a built-in plugin.

Every rule has a stable code; ``docs/rules.md`` lists them all. Messages are Chinese with English
beside them, and each points at the line where the value was written (or where it is missing).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
from collections import defaultdict
import functools
import os
from collections.abc import Iterator
from pathlib import Path


from weike.builder.contracts.context import BuildContext, BuildPaths, Made
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.settings import Date, Integer, max_length
from weike.builder.keeping.memo import FileMemo, shared_file_memo
from weike.builder.keeping.prune import MemoPart
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.builder.repository.loading import COURSE_FIELDS, COURSE_SLUG_RE, LECTURE_FIELDS, LECTURE_SLUG_RE
from weike.builder.repository.reading import inside_real_path, leaves_course
from weike.plugins.rules.texts import TextLimit, text_problems
from weike.plugins.notes import MAX_NOTES_NESTING, NotesTooDeep, keep_rendered_notes, render_notes
from weike.plugins.pictures import (
    MAX_PICTURE_PIXELS,
    PictureTooLarge,
    is_placeholder_cover,
    open_picture,
    picture_pixels,
    upright_size,
    write_placeholder_cover,
)
from weike.builder.running.scaffold import PLACEHOLDER
from weike.plugins.rules.contacts import phone_problem
from weike.builder.contracts.model import (
    BIO_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    LECTURE_FORMS,
    LEVEL_CHOICES_HINT,
    PROVIDER_LEVELS,
    RIGHTS_KEYS,
    THEMES,
    AuthoredFile,
    Course,
    Diagnostic,
    Lecture,
    PathProblem,
    Repository,
    Setting,
    SourceLocation,
    WeikeConfig,
)

#: Covers narrower than this look blurred on the catalogue's cards and platform pages.
MIN_COVER_WIDTH = 640
#: Width/height ratios treated as close enough to 16:9 (1.78): 4:3 (1.33) to 21:9 (2.33).
_COVER_RATIO_RANGE = (1.3, 2.4)
#: course.yml's one-line texts by the boxes they fill (E118): the course title and the provider's
#: name one line of 附件3's name column and of a title card, the contacts their cells. (The summary
#: and the bios have the call's own limits, E102 and E103.)
#: The numbers are course.yml's declared ``max_length`` (the editors' schema says the same).
COURSE_TEXT_LIMITS = tuple(
    TextLimit(key=key, label=label, chars=max_length(COURSE_FIELDS, key))
    for key, label in (("title", "课程名称 title"), ("provider.name", "机构名称 provider.name"),
                       ("provider.region", "所在地区 provider.region"),
                       ("provider.contact", "联系人 provider.contact"), ("provider.phone", "联系电话 provider.phone")))
INSTRUCTOR_NAME_LIMIT = TextLimit(key="instructors.N.name", label="授课人姓名 name",
                                  chars=max_length(COURSE_FIELDS, "instructors.name"))
#: lecture.md's title: one line of the site, the bundles' lists and the opening card (E224).
LECTURE_TITLE_LIMIT = TextLimit(key="title", label="微课名称 title", chars=max_length(LECTURE_FIELDS, "title"))
#: What Pillow calls the formats a picture in the notes may have (browsers show them all).
NOTES_PICTURE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")

_FIELD_NAMES = {
    "title": "课程名称 title",
    "summary": "课程简介 summary",
    "theme": "主题 theme",
    "cover": "首页图片 cover",
    "created": "创建日期 created",
    "instructors": "授课人 instructors",
    "provider": "开课机构 provider",
    "provider.name": "机构名称 provider.name",
    "provider.level": "所处层级 provider.level",
    "provider.region": "所在地区 provider.region",
    "provider.contact": "联系人 provider.contact",
    "provider.phone": "联系电话 provider.phone",
    "rights.public_good": "公益属性承诺 rights.public_good",
    "rights.no_copyright_dispute": "无版权纠纷承诺 rights.no_copyright_dispute",
    "rights.share_to_national_platforms": "同意开放共享 rights.share_to_national_platforms",
}


def _missing(owner: Course | Lecture, key: str, label: str) -> Diagnostic:
    return Diagnostic.error("E101" if isinstance(owner, Course) else ("E201" if key == "title" else "E202"),
                  owner.where(key), f"缺少{label}", f"missing required field '{key}'",
                  hint=f"在 {owner.file.rsplit('/', 1)[-1]} 中填写“{key}: …”。")


# --------------------------------------------------------------------------------------------
# Paths written in YAML
# --------------------------------------------------------------------------------------------


def check_authored_file(item: AuthoredFile, *, what: str, what_en: str, missing_code: str) -> Iterator[Diagnostic]:
    """Report a path that leaves the course folder (E206, the core's containment) or names no
    file (``missing_code``)."""
    if (escaped := leaves_course(item, what=what, what_en=what_en)) is not None:
        yield escaped
    elif item.problem is PathProblem.MISSING:
        yield Diagnostic.error(missing_code, item.location, f"找不到{what}文件“{item.declared}”",
                     f"{what_en} file '{item.declared}' not found",
                     hint="检查文件名的拼写和大小写，并确认文件已经提交到仓库。")
    elif item.problem is PathProblem.NOT_A_FILE:
        yield Diagnostic.error(missing_code, item.location, f"{what}“{item.declared}”不是文件",
                     f"{what_en} '{item.declared}' is not a file")


def _decode_picture(path: Path) -> dict:
    """What decoding the whole picture found, every frame of an animation (JSON, so the rules memo
    can keep it)."""
    from PIL import ImageSequence

    try:
        with open_picture(path) as image:
            kind = image.format
            if picture_pixels(image) > MAX_PICTURE_PIXELS:  # frames that together are a bomb
                raise PictureTooLarge(path, image.size)
            image.verify()
        with open_picture(path) as image:  # verify() leaves the image unusable: open it again
            for frame in ImageSequence.Iterator(image):
                frame.load()
    except PictureTooLarge as exc:
        return {"format": None, "problem": "too-many-pixels", "detail": exc.described}
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many types; each means "unreadable"
        return {"format": None, "problem": "unreadable", "detail": type(exc).__name__}
    return {"format": kind, "problem": None, "detail": ""}


def check_image_file(item: AuthoredFile, *, what: str, what_en: str, code: str,
                     memo: FileMemo | None = None, formats: tuple[str, ...] = ("JPEG", "PNG")) -> Iterator[Diagnostic]:
    """A picture must be a JPEG or PNG (or another of ``formats``) that Pillow can decode, all of it.

    Decoded in full (not just its header) because the build decodes it too (thumbnails, the still
    picture of audio lectures): a file that fails there must fail here first, for its course only.
    The verdict is remembered in ``memo`` while the file is unchanged (a full decode costs
    milliseconds: seconds per check for thousands of covers).
    """
    if item.path is None:
        return
    try:
        found = _decode_picture(item.path) if memo is None else memo.remember(_picture_kind(), item.path,
                                                                              _decode_picture)
    except OSError as exc:  # vanished since loading
        found = {"format": None, "problem": "unreadable", "detail": type(exc).__name__}
    if found["problem"] == "too-many-pixels":
        yield Diagnostic.error(code, item.location, f"{what}“{item.path.name}”太大（{found['detail']}，"
                                                    f"上限约 {MAX_PICTURE_PIXELS // 10_000} 万像素），不会被读取",
                               f"{what_en} '{item.path.name}' is too large ({found['detail']}; limit "
                               f"{MAX_PICTURE_PIXELS:,} pixels)",
                               hint="用画图软件把图片缩小到 1280×720 左右再保存。")
        return
    if found["problem"] is not None:
        yield Diagnostic.error(code, item.location, f"{what}“{item.path.name}”无法读取，不是有效的图片",
                     f"{what_en} '{item.path.name}' is not a readable image ({found['detail']})",
                     hint="请使用 JPG 或 PNG 格式的图片，可用画图软件重新保存一次。")
        return
    kind = found["format"]
    if kind not in formats:
        accepted = " 或 ".join("JPG" if f == "JPEG" else f for f in formats)
        yield Diagnostic.error(code, item.location, f"{what}“{item.path.name}”是 {kind} 格式，只接受 {accepted}",
                     f"{what_en} '{item.path.name}' is {kind}; only {', '.join(formats)} are accepted",
                     hint="用画图软件把图片另存为 JPG 或 PNG。")


# --------------------------------------------------------------------------------------------
# Course rules
# --------------------------------------------------------------------------------------------


#: The call's numbers that may change from one year's call to the next (``weike.yml``; the
#: defaults are this year's call, SPEC.md).
CREATED_AFTER = Setting(
    name="created_after", type=Date(), default=_dt.date(2022, 6, 1),
    description="新建课程资源的起始日期：早于它创建的课程不算新资源（E107）",
    description_en="courses created before this date are not new resources (E107)")
MIN_LECTURES = Setting(
    name="min_lectures", type=Integer(minimum=1), default=10,
    description="每门课程至少包含的微课数（E108）", description_en="fewest microlectures a course must have (E108)")
MAX_SUMMARY_CHARS = Setting(
    name="max_summary_chars", type=Integer(minimum=1), default=SUMMARY_MAX_CHARS,
    description="课程简介的字数上限（E102）", description_en="longest course summary in characters (E102)")
MAX_BIO_CHARS = Setting(
    name="max_bio_chars", type=Integer(minimum=1), default=BIO_MAX_CHARS,
    description="授课人简介的字数上限（E103）", description_en="longest instructor introduction in characters (E103)")

#: The weike.yml keys these rules read (``weike_settings``).
SETTINGS = (CREATED_AFTER, MIN_LECTURES, MAX_SUMMARY_CHARS, MAX_BIO_CHARS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CallLimits:
    """This year's call as ``weike.yml`` sets it (each key's default where it is silent)."""

    created_after: _dt.date
    min_lectures: int
    max_summary_chars: int
    max_bio_chars: int

    @classmethod
    def of(cls, config: WeikeConfig) -> CallLimits:
        """The limits ``config`` sets, over the defaults."""
        return cls(**{setting.name: setting.value_in(config.plugin_settings) for setting in SETTINGS})


def check_course_fields(course: Course, config: WeikeConfig, memo: FileMemo | None = None) -> Iterator[Diagnostic]:
    limits = CallLimits.of(config)
    for key in ("title", "summary", "theme", "cover", "created"):
        if course.absent(key, getattr(course, key)):
            yield _missing(course, key, _FIELD_NAMES[key])

    if course.summary is not None and len(course.summary) > limits.max_summary_chars:
        yield Diagnostic.error("E102", course.where("summary"),
                     f"课程简介有 {len(course.summary)} 字，超过 {limits.max_summary_chars} 字上限",
                     f"summary has {len(course.summary)} characters, limit {limits.max_summary_chars}",
                     hint="简介要求 100 字以内，请精简到一两句话。")

    if course.theme is not None and course.theme not in THEMES:
        close = difflib.get_close_matches(course.theme, THEMES, n=1, cutoff=0.3)
        hint = (f"是不是“{close[0]}”？" if close else "") + "可选主题：" + "、".join(THEMES)
        yield Diagnostic.error("E104", course.where("theme"), f"主题“{course.theme}”不是十个品牌课程主题之一",
                     f"theme '{course.theme}' is not one of the ten brand-course themes", hint=hint)

    if course.created is not None:
        if course.created < limits.created_after:
            yield Diagnostic.error("E107", course.where("created"),
                         f"创建日期 {course.created:%Y-%m-%d} 早于 {limits.created_after:%Y-%m-%d}，不是新建课程资源",
                         f"created {course.created:%Y-%m-%d} is before the cut-off {limits.created_after:%Y-%m-%d}",
                         hint=f"申报要求为 {limits.created_after.year} 年 {limits.created_after.month} 月以后新建的课程资源。")
        elif course.created > _dt.date.today():
            yield Diagnostic.warning("W113", course.where("created"), f"创建日期 {course.created:%Y-%m-%d} 在今天之后",
                           f"created {course.created:%Y-%m-%d} is in the future", hint="请检查年份是否写错。")

    if course.cover is not None:
        yield from check_cover(course.cover, memo)

    for limit in COURSE_TEXT_LIMITS:
        owner, _, attribute = limit.key.rpartition(".")
        value = getattr(getattr(course, owner) if owner else course, attribute)
        yield from text_problems("E118", limit, value, course.where(limit.key))
    for index, person in enumerate(course.instructors):
        yield from text_problems("E118", INSTRUCTOR_NAME_LIMIT, person.name, course.where(f"instructors.{index}.name"))

    yield from _check_instructors(course, config)
    yield from _check_provider(course)
    yield from _check_rights(course)
    yield from check_placeholders(course)


def check_cover(cover: AuthoredFile, memo: FileMemo | None = None) -> Iterator[Diagnostic]:
    """The cover's rules: there, a whole JPEG or PNG (E105, E106), and its size and shape (W114, W116, W117)."""
    yield from check_authored_file(cover, what="首页图片", what_en="cover", missing_code="E105")
    yield from check_image_file(cover, what="首页图片", what_en="cover", code="E106", memo=memo)
    yield from _check_cover_size(cover)


def _check_cover_size(cover: AuthoredFile) -> Iterator[Diagnostic]:
    if cover.path is None:
        return
    try:
        with open_picture(cover.path) as image:
            width, height = upright_size(image)
            placeholder = is_placeholder_cover(image)
    except Exception:  # noqa: BLE001 - already reported by check_image_file
        return
    if placeholder:
        yield Diagnostic.warning("W116", cover.location, "首页图片还是模板自带的占位图，请换成本课程的图片",
                       "the cover is still the scaffold's placeholder picture",
                       hint="拍一张或做一张横向的课程图片（最好 1280×720），放进课程文件夹，"
                            "替换 cover.jpg 或改写 cover 这一行。")
        return
    ratio = width / height if height else 0
    if not _COVER_RATIO_RANGE[0] <= ratio <= _COVER_RATIO_RANGE[1]:
        shape = "竖向" if ratio < 1 else "比例"
        yield Diagnostic.warning("W117", cover.location,
                       f"首页图片是 {width}×{height} 的{shape}图片，与 16:9 相差较大，卡片上两边或上下会留出空白",
                       f"the cover is {width}x{height}, far from 16:9; cards show it whole with fill around it",
                       hint="横向拍摄或裁成 16:9（如 1280×720）效果最好；图片会完整显示，不会被裁掉。")
    if width < MIN_COVER_WIDTH:
        yield Diagnostic.warning("W114", cover.location, f"首页图片只有 {width}×{height} 像素，显示时会模糊",
                       f"cover is only {width}x{height} pixels and will look blurred",
                       hint=f"建议宽度至少 {MIN_COVER_WIDTH} 像素，最好 1280×720。")


def _check_instructors(course: Course, config: WeikeConfig) -> Iterator[Diagnostic]:
    limits = CallLimits.of(config)
    if not course.instructors:
        if not course.written_wrong("instructors"):
            yield _missing(course, "instructors", _FIELD_NAMES["instructors"])
        return
    for index, person in enumerate(course.instructors):
        path = f"instructors.{index}"
        if course.absent(f"{path}.name", person.name):
            yield Diagnostic.error("E101", course.where(f"{path}.name"), f"第 {index + 1} 位授课人缺少姓名 name",
                         f"instructor {index + 1} has no name")
        if course.absent(f"{path}.bio", person.bio):
            yield Diagnostic.error("E101", course.where(f"{path}.bio"), f"授课人{person.name or index + 1}缺少简介 bio",
                         f"instructor {person.name or index + 1} has no bio",
                         hint="授课人简介要求 100 字以内。")
        elif person.bio is not None and len(person.bio) > limits.max_bio_chars:
            yield Diagnostic.error("E103", course.where(f"{path}.bio"),
                         f"授课人{person.name or ''}简介有 {len(person.bio)} 字，超过 {limits.max_bio_chars} 字上限",
                         f"bio of instructor {person.name or index + 1} has {len(person.bio)} characters, "
                         f"limit {limits.max_bio_chars}",
                         hint="授课人简介要求 100 字以内。")


def _check_provider(course: Course) -> Iterator[Diagnostic]:
    provider = course.provider
    for key in ("name", "level", "region", "contact", "phone"):
        if course.absent(f"provider.{key}", getattr(provider, key)):
            yield _missing(course, f"provider.{key}", _FIELD_NAMES[f"provider.{key}"])
    if provider.level is not None and PLACEHOLDER not in provider.level and provider.level not in PROVIDER_LEVELS:
        yield Diagnostic.error("E109", course.where("provider.level"), f"所处层级“{provider.level}”无效",
                     f"provider level '{provider.level}' is not one of {', '.join(PROVIDER_LEVELS)}",
                     hint=LEVEL_CHOICES_HINT)
    # The same rule as a centre's phone (E705): both are printed in 附件3 for the officer to dial.
    if problem := phone_problem(provider.phone, code="E112", where=course.where("provider.phone"),
                                key="provider.phone"):
        yield problem


def _check_rights(course: Course) -> Iterator[Diagnostic]:
    rights = course.rights
    for key in RIGHTS_KEYS:
        value = getattr(rights, key)
        if course.absent(f"rights.{key}", value):
            yield _missing(course, f"rights.{key}", _FIELD_NAMES[f"rights.{key}"])
        elif value is False:
            yield Diagnostic.warning("W111", course.where(f"rights.{key}"),
                           f"{_FIELD_NAMES[f'rights.{key}']} 为 false：不能打包上传到国家智慧教育平台和国家开放大学终身教育平台",
                           f"rights.{key} is false: the course cannot be bundled for the national platforms",
                           hint="申报品牌课程须公益属性、无版权纠纷，并同意开放共享。")


def check_placeholders(owner: Course | Lecture) -> Iterator[Diagnostic]:
    """Scaffold text the teacher has not replaced yet (W115)."""
    if isinstance(owner, Course):
        values = {"title": owner.title, "summary": owner.summary}
        for index, person in enumerate(owner.instructors):
            values[f"instructors.{index}.name"] = person.name
            values[f"instructors.{index}.bio"] = person.bio
        for key in ("name", "level", "region", "contact", "phone"):
            values[f"provider.{key}"] = getattr(owner.provider, key)
    else:
        values = {"title": owner.title, "knowledge_point": owner.knowledge_point}
    for key, value in values.items():
        if value and PLACEHOLDER in value:
            yield Diagnostic.warning("W115", owner.where(key), f"“{key}”还是模板文字，请填写真实内容",
                           f"'{key}' still holds scaffold text", hint=f"把“{PLACEHOLDER}…”改成真实信息。")
    if isinstance(owner, Lecture) and PLACEHOLDER in owner.notes:
        yield Diagnostic.warning("W115", SourceLocation(file=owner.file, line=owner.notes_line, column=1),
                       "讲义还是模板文字，请填写真实内容", "lecture notes still hold scaffold text")


# --------------------------------------------------------------------------------------------
# Lecture rules
# --------------------------------------------------------------------------------------------


def check_lectures(course: Course, config: WeikeConfig, memo: FileMemo | None = None,
                   made: Made | None = None) -> Iterator[Diagnostic]:
    limits = CallLimits.of(config)
    course_location = course.where("")
    if len(course.lectures) < limits.min_lectures:
        yield Diagnostic.error("E108", course_location,
                     f"课程只有 {len(course.lectures)} 个微课，至少需要 {limits.min_lectures} 个",
                     f"course has {len(course.lectures)} lecture(s); at least {limits.min_lectures} required",
                     hint="每个微课是一个“编号-名称”文件夹，例如 01-kaiji；可用 weike new lecture 创建。")

    by_number: dict[int, list[Lecture]] = defaultdict(list)
    for lecture in course.lectures:
        if lecture.number is not None:
            by_number[lecture.number].append(lecture)
    for number, same in sorted(by_number.items()):
        if len(same) > 1:
            for lecture in same[1:]:
                yield Diagnostic.error("E207", SourceLocation(file=lecture.file.rsplit("/", 1)[0]),
                             f"微课编号 {number:02d} 重复（与 {same[0].slug} 相同）",
                             f"lecture number {number:02d} is used twice (also {same[0].slug})",
                             hint="每个微课文件夹的编号必须不同，它决定微课的顺序。")

    for lecture in course.lectures:
        yield from check_lecture(lecture, course.folder, memo, made)


def check_lecture(lecture: Lecture, course_folder: Path, memo: FileMemo | None = None,
                  made: Made | None = None) -> Iterator[Diagnostic]:
    folder = SourceLocation(file=lecture.file.rsplit("/", 1)[0])
    if not LECTURE_SLUG_RE.match(lecture.slug):
        yield Diagnostic.error("E208", folder, f"微课文件夹名“{lecture.slug}”不符合“编号-英文名”格式",
                     f"lecture folder name '{lecture.slug}' must look like '03-wifi'",
                     hint="用两位编号加连字符和小写英文/拼音，例如 03-lianjie-wifi；不要用中文或空格。")
    if not lecture.parsed:
        return
    if lecture.absent("title", lecture.title):
        yield _missing(lecture, "title", "微课名称 title")
    yield from text_problems("E224", LECTURE_TITLE_LIMIT, lecture.title, lecture.where("title"))
    if lecture.absent("knowledge_point", lecture.knowledge_point):
        yield _missing(lecture, "knowledge_point", "知识点 knowledge_point")
    yield from check_placeholders(lecture)
    if lecture.form is not None and lecture.form not in LECTURE_FORMS:
        yield Diagnostic.error("E212", lecture.where("form"), f"形式“{lecture.form}”无效",
                     f"form '{lecture.form}' must be one of {', '.join(LECTURE_FORMS)}",
                     hint="可选：" + "、".join(LECTURE_FORMS) + "；不写时按媒体文件自动判断。")

    if lecture.media is not None:
        yield from check_authored_file(lecture.media, what="媒体", what_en="media", missing_code="E205")
    elif lecture.written_wrong("media"):
        pass  # written with the wrong type: E005 says so
    elif len(lecture.media_candidates) > 1:
        yield Diagnostic.error("E209", lecture.where(""), "文件夹中有多个媒体文件，不知道用哪一个",
                     f"several media files in the folder ({', '.join(lecture.media_candidates)})",
                     hint="在 lecture.md 头部写明“media: " + lecture.media_candidates[0] + "”，或删除多余的文件。")
    else:
        yield Diagnostic.error("E209", lecture.where(""), "没有找到微课的视频或音频文件",
                     "no video or audio file found for the lecture",
                     hint="把视频（如 .mp4、.mov）或音频（如 .mp3、.m4a）放进微课文件夹。")

    if lecture.subtitles is not None:
        yield from check_authored_file(lecture.subtitles, what="字幕", what_en="subtitles", missing_code="E210")
        if lecture.subtitles.path is not None and lecture.subtitles.path.suffix.lower() != ".srt":
            yield Diagnostic.error("E210", lecture.subtitles.location, "字幕文件必须是 .srt 格式",
                         "subtitles must be an .srt file")
    if lecture.image is not None:
        yield from check_authored_file(lecture.image, what="配图", what_en="image", missing_code="E213")
        yield from check_image_file(lecture.image, what="配图", what_en="image", code="E213", memo=memo)
    yield from check_notes(lecture, course_folder, memo, made)


def _notes_verdict(lecture: Lecture, course_folder: Path, made: Made | None = None) -> dict:
    """What rendering the notes found (JSON for the memo): ``line``, where they nest too deep (or
    None), and ``pictures``, each lecture-folder picture they ask for with its line of the notes.
    With ``made``, the rendered notes are handed on to the site and the bundles."""
    try:
        rendered = render_notes(lecture.notes, lecture_folder=lecture.folder, course_folder=course_folder,
                                with_text=made is not None)
    except NotesTooDeep as exc:
        return {"line": exc.line, "pictures": []}
    if made is not None:
        keep_rendered_notes(made, lecture, course_folder=course_folder, rendered=rendered)
    return {"line": None, "pictures": [list(reference) for reference in rendered.references]}


def check_notes(lecture: Lecture, course_folder: Path, memo: FileMemo | None = None,
                made: Made | None = None) -> Iterator[Diagnostic]:
    """E220: notes the site and the SCORM pages could not publish (rendered here exactly as they
    render them, so ``weike check`` finds it first); E213: a picture the notes show that is not
    one Pillow decodes in full under the pixel cap, at the line that shows it.

    The verdict is remembered per ``lecture.md`` (by size, mtime, inode): rendering every note
    costs about a millisecond, which at national scale (24,000 lectures) would add half a minute
    to every check. It lists the pictures asked for whether they exist or not, so a picture added
    later is still decoded here (each picture's verdict is remembered by its own file).
    """
    if made is not None and made.handed_on:
        # A build: the site and the bundles publish these very notes, so they are rendered here
        # once and handed on (a remembered verdict would leave them to render the notes again).
        verdict = _notes_verdict(lecture, course_folder, made)
    elif memo is None:
        verdict = _notes_verdict(lecture, course_folder)
    else:
        try:
            verdict = memo.remember(_notes_kind(), lecture.folder / "lecture.md",
                                    lambda _: _notes_verdict(lecture, course_folder))
        except OSError:  # lecture.md vanished since loading: render what was loaded
            verdict = _notes_verdict(lecture, course_folder)
    line = verdict["line"]
    if line is not None:
        yield Diagnostic.error("E220", SourceLocation(file=lecture.file, line=lecture.notes_line + line - 1),
                     f"讲义的列表、引用或 HTML 标签嵌套太深（超过 {MAX_NOTES_NESTING} 层）",
                     f"the notes nest lists, quotes or tags deeper than {MAX_NOTES_NESTING} levels",
                     hint="减少列表的缩进层数（一般两三层就够了），或检查是否有没写结束标签的 HTML。")
    course_real = os.path.realpath(course_folder)
    for written, at in verdict["pictures"]:
        path = lecture.folder / written
        if not path.is_file() or not inside_real_path(str(path), course_real):
            continue  # not shown at all (the site's W406 names it): nothing is decoded or published
        picture = AuthoredFile(declared=written, path=path,
                               location=SourceLocation(file=lecture.file, line=lecture.notes_line + at - 1))
        yield from check_image_file(picture, what="讲义图片", what_en="notes picture", code="E213", memo=memo,
                                    formats=NOTES_PICTURE_FORMATS)


# --------------------------------------------------------------------------------------------
# The rules memo: verdicts of the checks that read whole files (notes, pictures), in the build cache
# --------------------------------------------------------------------------------------------

RULES_MEMO_FILE = "rules-memo.sqlite"


@functools.cache
def _notes_kind() -> str:
    """Memo kind: a verdict holds for this limit and these Markdown and sanitiser versions only."""
    made_by = Fingerprint(MAX_NOTES_NESTING, package_versions("markdown", "nh3"), code_digest("weike.plugins.notes"),
                          "pictures asked for")
    return f"notes-nesting-{made_by.hexdigest()[:16]}"


@functools.cache
def _picture_kind() -> str:
    """Memo kind: a picture's verdict holds for this Pillow (and its decompression limit) only."""
    made_by = Fingerprint(package_versions("pillow"), MAX_PICTURE_PIXELS, code_digest(__name__))
    return f"picture-{made_by.hexdigest()[:16]}"


def _rules_memo(paths: BuildPaths) -> FileMemo:
    """One memo per cache folder for the whole process (the check hook runs once per course)."""
    return shared_file_memo(paths.cache / RULES_MEMO_FILE)


# --------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------


@hookimpl
def weike_check_course(course: Course, config: WeikeConfig, paths: BuildPaths, made: Made) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    if not COURSE_SLUG_RE.match(course.slug):
        problems.append(Diagnostic.error(
            "E110", SourceLocation(file=course.file.rsplit("/", 1)[0]),
            f"课程文件夹名“{course.slug}”不符合要求", f"course folder name '{course.slug}' is not a valid slug",
            hint="只用小写英文字母、数字和连字符，例如 zhineng-shouji；它会成为网址的一部分。"))
    memo = _rules_memo(paths)
    if course.parsed:
        problems.extend(check_course_fields(course, config, memo))
    elif course.cover is not None:
        # course.yml has a syntax error, but names its cover on a line that reads well.
        problems.extend(check_cover(course.cover, memo))
    problems.extend(check_lectures(course, config, memo, made))
    return problems


@hookimpl
def weike_settings() -> tuple[Setting, ...]:
    return SETTINGS


@hookimpl
def weike_new_course(folder: Path, slug: str) -> None:
    """A plain gradient cover, so a new course is complete until the real one arrives (W116 says so)."""
    write_placeholder_cover(folder / "cover.jpg", slug)


@hookimpl
def weike_cache_parts(context: BuildContext, repository: Repository) -> list:
    return [MemoPart(context.paths.cache / RULES_MEMO_FILE, name="rules-memo",
                     title="讲义和图片的检查结果 (verdicts of the notes and picture checks)")]


@hookimpl
def weike_check_repository(repository: Repository) -> list[Diagnostic]:
    problems = []
    by_title: dict[str, list[Course]] = defaultdict(list)
    for course in repository.courses:
        if course.title:
            by_title[course.title].append(course)
    for title, same in by_title.items():
        for course in same[1:]:
            problems.append(Diagnostic.warning("W130", course.where("title"), f"课程名称“{title}”与 {same[0].slug} 重复",
                                     f"course title '{title}' is also used by {same[0].slug}"))
    return problems
