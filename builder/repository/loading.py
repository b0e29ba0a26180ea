"""Read a repository's ``courses/`` into :class:`Course` and :class:`Lecture` values.

Loading never stops at the first problem: a file that cannot be parsed becomes a diagnostic and a
value marked ``parsed=False``, and every other course is still read. Type problems (a list where a
sentence belongs, a date that is not a date) are reported here, at the value's line; whether a
field is *acceptable* (present, short enough, one of the themes...) is the rules' business.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from weike.builder.contracts.model import (
    BIO_MAX_CHARS,
    LECTURE_FORMS,
    PROVIDER_LEVELS,
    SUMMARY_MAX_CHARS,
    THEMES,
    repository_path,
    AuthoredFile,
    Course,
    Diagnostic,
    Instructor,
    Lecture,
    MediaSource,
    PathProblem,
    RIGHTS_KEYS,
    Provider,
    Repository,
    Rights,
    Setting,
    Severity,
    SourceLocation,
    WeikeConfig,
)
from weike.builder.repository.centre import DEPARTMENT_FIELD, STATISTICS_FIELD, CENTRES_DIR, load_centres, read_province_facts
from weike.builder.repository.reading import (
    CONTROL_RE,
    PICTURE_PATH_PATTERN,
    RELATIVE_PATH_PATTERN,
    FieldReader,
    file_error,
    inside_real_path,
    notes_control_characters,
    outside_container,
    resolve_authored_path,
)
from weike.builder.contracts.settings import (
    WEIKE_YML,
    Boolean,
    Choice,
    Date,
    Fields,
    Integer,
    ListOf,
    Text,
    nested_field,
    read_settings,
)
from weike.builder.repository.yamlfile import YamlFileError, compose_around_errors, compose_yaml, read_text_file

COURSES_DIR = "courses"
COURSE_FILE = "course.yml"
LECTURE_FILE = "lecture.md"
CONFIG_FILE = "weike.yml"

MAX_COURSE_FILE_BYTES = 256 * 1024
MAX_LECTURE_FILE_BYTES = 1024 * 1024
MAX_CONFIG_FILE_BYTES = 64 * 1024

#: Extensions weike treats as a lecture's media when ``media:`` is not given. Anything ffmpeg reads
#: may be named explicitly with ``media:``; this list only drives discovery.
MEDIA_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .wmv .flv .3gp .3g2 .mts .m2ts .ts .mpg .mpeg .vob .mxf .dv "
    ".mp3 .m4a .aac .wav .flac .ogg .oga .opus .wma .amr .aif .aiff".split()
)
SUBTITLE_EXTENSIONS = frozenset({".srt"})

COURSE_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LECTURE_SLUG_RE = re.compile(r"^(\d{2,3})-[a-z0-9]+(?:-[a-z0-9]+)*$")
_LECTURE_NUMBER_RE = re.compile(r"^(\d+)[-_]")

# --------------------------------------------------------------------------------------------
# The fields of each file, declared once: the keys loading accepts, the editors' JSON Schema
# (weike.builder.repository.schema) and the length limits the rules check (max_length).
# --------------------------------------------------------------------------------------------

_PHONE = Text(min_length=1, max_length=40, numbers=True)

COURSE_FIELDS: tuple[Setting, ...] = (
    Setting(name="title", type=Text(min_length=1, max_length=40), required=True,
            description="课程名称（一行，附件3 和片头各占一行）", description_en="the course title (one line)"),
    Setting(name="summary", type=Text(min_length=1, max_length=SUMMARY_MAX_CHARS), required=True,
            description=f"课程简介，{SUMMARY_MAX_CHARS} 字以内", description_en="the course summary"),
    Setting(name="theme", type=Choice(choices=THEMES), required=True,
            description="主题：十个社区教育品牌课程主题之一", description_en="one of the call's ten themes"),
    Setting(name="cover", type=Text(pattern=PICTURE_PATH_PATTERN), required=True,
            description="首页图片：课程文件夹中的 JPG 或 PNG 文件（相对路径），建议 1280×720",
            description_en="the cover: a JPG or PNG in the course folder (relative path)"),
    Setting(name="created", type=Date(), required=True,
            description="课程资源创建日期，须在 2022-06-01 以后（见 weike.yml 的 created_after）",
            description_en="when the course was created (after weike.yml's created_after)"),
    Setting(name="instructors", required=True, description="授课人", description_en="the instructors",
            type=ListOf(min_items=1, item=Fields(fields=(
                Setting(name="name", type=Text(min_length=1, max_length=20), required=True,
                        description="姓名", description_en="name"),
                Setting(name="bio", type=Text(min_length=1, max_length=BIO_MAX_CHARS), required=True,
                        description=f"授课人简介，{BIO_MAX_CHARS} 字以内", description_en="a short introduction"),
            )))),
    Setting(name="provider", required=True, description="开课机构（省级汇总表，附件3）",
            description_en="the institution offering the course (附件3)", type=Fields(fields=(
                Setting(name="name", type=Text(min_length=1, max_length=40), required=True,
                        description="机构名称", description_en="the institution's name"),
                Setting(name="level", type=Choice(choices=PROVIDER_LEVELS), required=True,
                        description="所处层级", description_en="its level in the three-level network"),
                Setting(name="region", type=Text(min_length=1, max_length=40), required=True,
                        description="所在地区", description_en="its region"),
                Setting(name="contact", type=Text(min_length=1, max_length=20), required=True,
                        description="联系人", description_en="the contact person"),
                Setting(name="phone", type=_PHONE, required=True,
                        description="联系电话：手机号或带区号的固定电话",
                        description_en="a mobile number or a landline with its area code"),
            ))),
    Setting(name="rights", required=True, description="申报承诺：三项都为 true 才能打包上传国家平台",
            description_en="the pledges: all three true before the national bundles are made", type=Fields(fields=(
                Setting(name="public_good", type=Boolean(), required=True,
                        description="公益属性", description_en="the course is a public good"),
                Setting(name="no_copyright_dispute", type=Boolean(), required=True,
                        description="无版权纠纷", description_en="no copyright dispute"),
                Setting(name="share_to_national_platforms", type=Boolean(), required=True,
                        description="同意纳入国家智慧教育平台和国家开放大学终身教育平台进行开放共享",
                        description_en="shared on the national platforms"),
            ))),
    Setting(name="tags", type=ListOf(item=Text()), description="标签（可选）", description_en="tags (optional)"),
)

LECTURE_FIELDS: tuple[Setting, ...] = (
    Setting(name="title", type=Text(min_length=1, max_length=40), required=True,
            description="微课名称（一行）", description_en="the lecture title (one line)"),
    Setting(name="knowledge_point", type=Text(min_length=1), required=True,
            description="这个微课聚焦的一个知识点（技能点）", description_en="the one knowledge point it teaches"),
    Setting(name="media", type=Text(pattern=RELATIVE_PATH_PATTERN + "$"),
            description="视频或音频文件（相对路径）；文件夹里只有一个媒体文件时可省略",
            description_en="the video or audio file (relative path); found by itself when it is the only one"),
    Setting(name="subtitles", type=Text(pattern=RELATIVE_PATH_PATTERN + r"\.srt$"),
            description="字幕文件（.srt，可选）", description_en="the subtitles (.srt, optional)"),
    Setting(name="image", type=Text(pattern=PICTURE_PATH_PATTERN),
            description="纯音频微课显示的图片（可选，默认用课程首页图片）",
            description_en="the picture an audio lecture shows (optional; the cover by default)"),
    Setting(name="form", type=Choice(choices=LECTURE_FORMS),
            description="形式（可选，不写时按媒体文件判断）", description_en="video, animation or audio (optional)"),
)

CONFIG_FIELDS: tuple[Setting, ...] = (
    Setting(name="scheduler", type=Text(),
            description="分布式转码的 Dask 调度器地址（tcp://主机:端口）；不写就在本机转码",
            description_en="the Dask scheduler for distributed transcoding; local when absent"),
    Setting(name="jobs", type=Integer(minimum=1),
            description="同时进行的转码数；不写就按 CPU 数决定", description_en="parallel media jobs; by CPU count when absent"),
    Setting(name="drop_stale", type=Boolean(), default=False,
            description="已发布的课程这次失败时，从网站、汇总表和上传包中撤下（默认保留上次成功的版本）",
            description_en="a published course that fails now leaves every output (default: its last good version stays)"),
    # the province's facts for 附件3/4/5 (weike.builder.repository.centre)
    DEPARTMENT_FIELD,
    STATISTICS_FIELD,
)


def _names(fields: Iterable[Setting]) -> tuple[str, ...]:
    return tuple(setting.name for setting in fields)


COURSE_KEYS = _names(COURSE_FIELDS)
INSTRUCTOR_KEYS = _names(nested_field(COURSE_FIELDS, "instructors").type.item.fields)
PROVIDER_KEYS = _names(nested_field(COURSE_FIELDS, "provider").type.fields)
LECTURE_KEYS = _names(LECTURE_FIELDS)
CONFIG_KEYS = _names(CONFIG_FIELDS)


def _discovered(entry: os.DirEntry, location: SourceLocation, cls: type[AuthoredFile], *,
                course_real: str, check_links: bool) -> AuthoredFile:
    """A file weike found by itself; symlinks must stay inside the course like declared paths."""
    if (check_links or entry.is_symlink()) and not inside_real_path(entry.path, course_real):
        return cls(declared=entry.name, path=None, location=location, problem=PathProblem.OUTSIDE)
    return cls(declared=None, path=Path(entry.path), location=location)


# --------------------------------------------------------------------------------------------
# Lectures
# --------------------------------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """``(yaml_text, body, body_first_line)`` of a Markdown file with ``---`` front matter.

    ``None`` when the file does not start with a front-matter block. Raises
    :class:`YamlFileError` (E009) when the block is opened but never closed.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n").rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    raise YamlFileError(
        "E009",
        "YAML 头部没有结束行“---”",
        "front matter is not closed with a '---' line",
        line=1,
        column=1,
        hint="在字段之后、正文之前加一行“---”。",
    )


def load_lecture(folder: Path, *, course_slug: str, root: Path, course_real: str,
                 folder_is_link: bool) -> tuple[Lecture, list[Diagnostic]]:
    """Load ``<folder>/lecture.md`` (front matter + Markdown notes) and find its media.

    ``course_real`` is the course folder with symlinks resolved (computed once per course);
    ``folder_is_link`` says the lecture folder itself may be a symlink, so every file found in it
    is checked for leaving the course.
    """
    rel_file = repository_path(folder / LECTURE_FILE, root)
    number_match = _LECTURE_NUMBER_RE.match(folder.name)
    number = int(number_match.group(1)) if number_match else None
    base = dict(course_slug=course_slug, slug=folder.name, number=number, folder=folder, file=rel_file)
    whole_file = SourceLocation(file=rel_file, line=1, column=1)

    # Hidden files are editor and tool leftovers (.DS_Store, partial downloads), never media.
    entries = sorted((e for e in os.scandir(folder) if not e.name.startswith(".")), key=lambda e: e.name)
    media_files = [e for e in entries if os.path.splitext(e.name)[1].lower() in MEDIA_EXTENSIONS and e.is_file()]
    srt_files = [e for e in entries if os.path.splitext(e.name)[1].lower() in SUBTITLE_EXTENSIONS and e.is_file()]
    candidates = tuple(e.name for e in media_files)

    if escaped := outside_container(folder / LECTURE_FILE, course_real, root=root, what="lecture.md",
                                    what_en="lecture.md"):
        return Lecture(**base, parsed=False, media_candidates=candidates), [escaped]
    try:
        text = read_text_file(folder / LECTURE_FILE, max_bytes=MAX_LECTURE_FILE_BYTES).text
        split = split_front_matter(text)
        if split is None:
            raise YamlFileError(
                "E008",
                "lecture.md 缺少开头的 YAML 头部（以“---”开始的字段区）",
                "lecture.md has no YAML front matter (a block starting with '---')",
                line=1,
                column=1,
                hint="文件第一行写“---”，接着写 title、knowledge_point 等字段，再写一行“---”，然后是讲义正文。",
            )
        front, body, body_line = split
        root_node = compose_yaml(front, line_offset=1)
    except YamlFileError as exc:
        return Lecture(**base, parsed=False, media_candidates=candidates), [file_error(exc, rel_file)]

    reader = FieldReader(file=rel_file, line_offset=1)
    reader.locations[""] = whole_file
    fields = reader.mapping(root_node, "", LECTURE_KEYS)

    def authored(key: str, cls: type[AuthoredFile] = AuthoredFile) -> AuthoredFile | None:
        declared = reader.text(fields.get(key), key)
        if declared is None:
            return None
        return resolve_authored_path(declared, base=folder, location=reader.locations[key], cls=cls,
                                     course_real=course_real)

    media = authored("media", MediaSource)
    if media is None and len(media_files) == 1:
        media = _discovered(media_files[0], whole_file, MediaSource, course_real=course_real,
                            check_links=folder_is_link)
    subtitles = authored("subtitles")
    if subtitles is None and len(srt_files) == 1:
        subtitles = _discovered(srt_files[0], whole_file, AuthoredFile, course_real=course_real,
                                check_links=folder_is_link)

    lecture = Lecture(
        **base,
        title=reader.text(fields.get("title"), "title"),
        knowledge_point=reader.text(fields.get("knowledge_point"), "knowledge_point"),
        form=reader.text(fields.get("form"), "form"),
        media=media,
        subtitles=subtitles,
        image=authored("image"),
        notes=CONTROL_RE.sub("", body),
        notes_line=body_line,
        media_candidates=candidates,
        locations=dict(reader.locations),
        malformed=frozenset(reader.malformed),
        parsed="" not in reader.malformed,  # front matter that is no mapping: nothing more to say
    )
    return lecture, [*reader.diagnostics, *notes_control_characters(body, file=rel_file, first_line=body_line)]


# --------------------------------------------------------------------------------------------
# Courses
# --------------------------------------------------------------------------------------------


def _is_lecture_folder(entry: os.DirEntry) -> bool:
    if not entry.is_dir() or entry.name.startswith((".", "_")):
        return False
    return os.path.exists(os.path.join(entry.path, LECTURE_FILE)) or bool(_LECTURE_NUMBER_RE.match(entry.name))


def load_course(folder: Path, *, root: Path, settings: Iterable[Setting] = ()) -> tuple[Course, list[Diagnostic]]:
    """Load one course folder: ``course.yml``, then every ``NN-slug/lecture.md`` below it."""
    slug = folder.name
    rel_file = repository_path(folder / COURSE_FILE, root)
    diagnostics: list[Diagnostic] = []

    course_real = os.path.realpath(folder)
    lectures = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not _is_lecture_folder(entry):
            continue
        lecture_folder = Path(entry.path)
        if not (lecture_folder / LECTURE_FILE).is_file():
            diagnostics.append(Diagnostic(
                code="E008", severity=Severity.ERROR,
                location=SourceLocation(file=repository_path(lecture_folder, root)),
                message="微课文件夹中没有 lecture.md", message_en="lecture folder has no lecture.md",
                hint="用 weike new lecture 创建微课，或在文件夹中添加 lecture.md。",
            ))
            continue
        lecture, problems = load_lecture(lecture_folder, course_slug=slug, root=root, course_real=course_real,
                                         folder_is_link=entry.is_symlink())
        lectures.append(lecture)
        diagnostics.extend(problems)
    lectures.sort(key=lambda lec: (lec.number is None, lec.number or 0, lec.slug))

    base = dict(slug=slug, folder=folder, file=rel_file, lectures=tuple(lectures))
    if not (folder / COURSE_FILE).is_file():
        diagnostics.append(Diagnostic(
            code="E007", severity=Severity.ERROR, location=SourceLocation(file=repository_path(folder, root)),
            message="课程文件夹中没有 course.yml", message_en="course folder has no course.yml",
            hint="用 weike new course 创建课程，或在文件夹中添加 course.yml。",
        ))
        return Course(**base, parsed=False,
                      locations={"": SourceLocation(file=repository_path(folder, root))}), diagnostics
    if escaped := outside_container(folder / COURSE_FILE, course_real, root=root, what="course.yml",
                                    what_en="course.yml"):
        diagnostics.append(escaped)
        return Course(**base, parsed=False), diagnostics
    text = None
    try:
        text = read_text_file(folder / COURSE_FILE, max_bytes=MAX_COURSE_FILE_BYTES).text
        root_node = compose_yaml(text)
    except YamlFileError as exc:
        diagnostics.append(file_error(exc, rel_file))
        # The course is not delivered, but its cover is checked in the same pass: a teacher who
        # fixes the syntax should not meet the cover's problems only on the next check.
        cover = _salvaged_cover(text, exc, folder=folder, rel_file=rel_file, course_real=course_real)
        return Course(**base, parsed=False, cover=cover), diagnostics

    reader = FieldReader(file=rel_file)
    reader.locations[""] = SourceLocation(file=rel_file, line=1, column=1)
    course_settings = [setting for setting in settings if setting.course and setting.file == WEIKE_YML]
    fields = reader.mapping(root_node, "", (*COURSE_KEYS, *(setting.name for setting in course_settings)))

    instructors = []
    for index, item in enumerate(reader.sequence(fields.get("instructors"), "instructors")):
        path = f"instructors.{index}"
        reader.locations[path] = reader.loc(item)
        person = reader.mapping(item, path, INSTRUCTOR_KEYS)
        instructors.append(Instructor(name=reader.text(person.get("name"), f"{path}.name"),
                                      bio=reader.text(person.get("bio"), f"{path}.bio")))

    provider_fields = reader.mapping(fields.get("provider"), "provider", PROVIDER_KEYS)
    provider = Provider(**{key: reader.text(provider_fields.get(key), f"provider.{key}") for key in PROVIDER_KEYS
                           if key != "level"}, level=reader.level(provider_fields.get("level"), "provider.level"))
    rights_fields = reader.mapping(fields.get("rights"), "rights", RIGHTS_KEYS)
    rights = Rights(**{key: reader.boolean(rights_fields.get(key), f"rights.{key}") for key in RIGHTS_KEYS})

    cover = None
    cover_text = reader.text(fields.get("cover"), "cover")
    if cover_text is not None:
        cover = resolve_authored_path(cover_text, base=folder, location=reader.locations["cover"],
                                      course_real=course_real)

    course = Course(
        **base,
        title=reader.text(fields.get("title"), "title"),
        summary=reader.text(fields.get("summary"), "summary"),
        theme=reader.text(fields.get("theme"), "theme"),
        cover=cover,
        created=reader.date(fields.get("created"), "created"),
        instructors=tuple(instructors),
        provider=provider,
        rights=rights,
        tags=reader.text_list(fields.get("tags"), "tags"),
        plugin_settings=read_settings(reader, fields, course_settings),
        locations=dict(reader.locations),
        malformed=frozenset(reader.malformed),
        parsed="" not in reader.malformed,  # a file that is no mapping: nothing more to say
    )
    diagnostics.extend(reader.diagnostics)
    return course, diagnostics


def _salvaged_cover(text: str | None, error: YamlFileError, *, folder: Path, rel_file: str,
                    course_real: str) -> AuthoredFile | None:
    """The cover a course.yml with a syntax error names on a line that reads well, if any."""
    root_node = compose_around_errors(text, error) if text is not None else None
    if not isinstance(root_node, yaml.MappingNode):
        return None
    node = next((value for key, value in root_node.value if isinstance(key, yaml.ScalarNode) and key.value == "cover"),
                None)
    reader = FieldReader(file=rel_file)  # its diagnostics are dropped: the syntax error is the news
    declared = reader.text(node, "cover") if isinstance(node, yaml.ScalarNode) else None
    if declared is None:
        return None
    return resolve_authored_path(declared, base=folder, location=reader.loc(node), course_real=course_real)


# --------------------------------------------------------------------------------------------
# Configuration and the whole repository
# --------------------------------------------------------------------------------------------


def load_config(root: Path, *, settings: Iterable[Setting] = ()) -> tuple[WeikeConfig, list[Diagnostic]]:
    """Read the optional ``weike.yml``; defaults come from SPEC.md. ``settings`` are the keys
    plugins declared (``weike_settings``)."""
    settings = tuple(setting for setting in settings if setting.file == WEIKE_YML)
    path = root / CONFIG_FILE
    if not path.is_file():
        return WeikeConfig(), []
    rel_file = repository_path(path, root)
    try:
        node = compose_yaml(read_text_file(path, max_bytes=MAX_CONFIG_FILE_BYTES).text)
    except YamlFileError as exc:
        return WeikeConfig(), [file_error(exc, rel_file)]
    reader = FieldReader(file=rel_file)
    fields = reader.mapping(node, "", (*CONFIG_KEYS, *(setting.name for setting in settings)))
    values: dict = {}
    if (jobs := reader.positive_integer(fields.get("jobs"), "jobs")) is not None:
        values["jobs"] = jobs
    if (scheduler := reader.text(fields.get("scheduler"), "scheduler")) is not None:
        values["scheduler"] = scheduler
    values.update(read_province_facts(reader, fields))
    if (drop_stale := reader.boolean(fields.get("drop_stale"), "drop_stale")) is not None:
        values["drop_stale"] = drop_stale
    values["plugin_settings"] = read_settings(reader, fields, settings)
    return WeikeConfig(**values, locations=dict(reader.locations)), reader.diagnostics


#: How a course folder is loaded: :func:`load_course`'s signature and result.
CourseLoader = Callable[..., tuple[Course, list[Diagnostic]]]


def find_course_folders(root: Path) -> list[Path]:
    """Every non-hidden folder directly under ``courses/``, sorted by name."""
    courses_dir = root / COURSES_DIR
    if not courses_dir.is_dir():
        return []
    return sorted(
        Path(entry.path)
        for entry in os.scandir(courses_dir)
        if entry.is_dir() and not entry.name.startswith((".", "_"))
    )


class NotACourseRepository(Exception):
    """The folder has no ``courses/`` (nor ``centres/``): nothing for weike to do there."""


def is_repository(path: Path) -> bool:
    """A folder weike works on: it has ``courses/``, ``centres/`` (brand learning centres) or both."""
    return (path / COURSES_DIR).is_dir() or (path / CENTRES_DIR).is_dir()


def load_repository(root: Path, *, only: Iterable[str] | None = None, settings: Iterable[Setting] = (),
                    course_loader: CourseLoader | None = None) -> Repository:
    """Load the configuration and every course of the repository at ``root``.

    ``only`` restricts loading to the named course slugs (for ``weike check courses/x``);
    ``settings`` are the keys plugins declared (see :class:`weike.builder.running.project.Project`, which
    passes them). ``course_loader`` loads each course folder in place of :func:`load_course` (same
    arguments, same result): the check's course memo gives back a remembered course without reading
    it, and ``weike serve`` keeps the courses whose folder did not change since its last load.
    """
    settings = tuple(settings)
    root = root.resolve()
    if not is_repository(root):
        raise NotACourseRepository(root)
    config, diagnostics = load_config(root, settings=settings)
    wanted = set(only) if only is not None else None
    courses = []
    courses_real = os.path.realpath(root / COURSES_DIR)
    for folder in find_course_folders(root):
        if wanted is not None and folder.name not in wanted:
            continue
        if escaped := outside_container(folder, courses_real, root=root, what="课程文件夹", what_en="the course folder",
                                        container="courses/", container_en="courses/"):
            courses.append(Course(slug=folder.name, folder=folder, file=repository_path(folder / COURSE_FILE, root),
                                  parsed=False, locations={"": escaped.location}))
            diagnostics.append(escaped)
            continue
        course, problems = (course_loader or load_course)(folder, root=root, settings=settings)
        courses.append(course)
        diagnostics.extend(problems)
    # One course folder asked for: the centres are the whole repository's business.
    centres, problems = load_centres(root) if only is None else ((), [])
    diagnostics.extend(problems)
    return Repository(root=root, config=config, courses=tuple(courses), diagnostics=tuple(diagnostics),
                      centres=centres)
