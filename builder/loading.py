"""Read a repository's ``courses/`` into :class:`Course` and :class:`Lecture` values.

Loading never stops at the first problem: a file that cannot be parsed becomes a diagnostic and a
value marked ``parsed=False``, and every other course is still read. Type problems (a list where a
sentence belongs, a date that is not a date) are reported here, at the value's line; whether a
field is *acceptable* (present, short enough, one of the themes...) is the rules' business.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import yaml

from builder.model import (
    repository_path,
    AuthoredFile,
    Course,
    Diagnostic,
    Instructor,
    Lecture,
    MediaSource,
    PathProblem,
    Provider,
    Repository,
    Rights,
    Severity,
    SourceLocation,
    WeikeConfig,
)
from builder.titlecards import read_title_cards
from builder.yamlfile import YamlFileError, compose_yaml, read_text_file, scalar_value

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
AUDIO_EXTENSIONS = frozenset(".mp3 .m4a .aac .wav .flac .ogg .oga .opus .wma .amr .aif .aiff".split())
SUBTITLE_EXTENSIONS = frozenset({".srt"})

COURSE_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LECTURE_SLUG_RE = re.compile(r"^(\d{2,3})-[a-z0-9]+(?:-[a-z0-9]+)*$")
_LECTURE_NUMBER_RE = re.compile(r"^(\d+)[-_]")

COURSE_KEYS = ("title", "summary", "theme", "cover", "created", "instructors", "provider", "rights", "tags",
               "title_cards")
INSTRUCTOR_KEYS = ("name", "bio")
PROVIDER_KEYS = ("name", "level", "region", "contact", "phone")
RIGHTS_KEYS = ("public_good", "no_copyright_dispute", "share_to_national_platforms")
LECTURE_KEYS = ("title", "knowledge_point", "media", "subtitles", "image", "form")
CONFIG_KEYS = (
    "created_after", "min_lectures", "max_summary_chars", "max_bio_chars", "profile", "province",
    "recommendation_order", "site_url", "scheduler", "jobs", "drop_stale",
    # the province's facts for 附件3/4/5 (builder.centre)
    "department", "statistics", "publish_centres",
    # opening and closing cards (builder.titlecards)
    "title_cards",
)

#: C0 controls except tab and newline, DEL and C1: they drive terminals (ESC sequences clear the
#: screen, recolour text, write the clipboard) and have no place in course text (E013).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Invisible characters that change how text reads: bidi marks, embeddings, overrides and
#: isolates, and zero-width characters (W014).
_INVISIBLE_RE = re.compile(r"[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")

_TRUE_WORDS = {"是", "同意", "对"}
_FALSE_WORDS = {"否", "不同意", "不"}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


# --------------------------------------------------------------------------------------------
# Typed reading of YAML nodes, collecting diagnostics
# --------------------------------------------------------------------------------------------


@dataclass
class _Reader:
    """Turns YAML nodes of one file into typed values; records locations and diagnostics."""

    file: str
    line_offset: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    locations: dict[str, SourceLocation] = field(default_factory=dict)
    #: Field paths written with a value of the wrong type (E005 said so; rules say nothing more).
    malformed: set[str] = field(default_factory=set)

    def loc(self, node: yaml.Node | None) -> SourceLocation:
        if node is None:
            return SourceLocation(file=self.file, line=1 + self.line_offset, column=1)
        mark = node.start_mark
        return SourceLocation(file=self.file, line=mark.line + 1 + self.line_offset, column=mark.column + 1)

    def report(self, code: str, node: yaml.Node | None, message: str, message_en: str, hint: str = "",
               severity: Severity = Severity.ERROR) -> None:
        self.diagnostics.append(Diagnostic(code=code, severity=severity, location=self.loc(node),
                                           message=message, message_en=message_en, hint=hint))

    def clean_text(self, node: yaml.Node, path: str, value: str) -> str:
        """``value`` without control characters (refused: E013); invisible bidi and zero-width
        characters are kept but named (W014)."""
        if control := _CONTROL_RE.search(value):
            self.report("E013", node, f"“{path}”中含有控制字符 {_codepoint(control.group())}",
                        f"'{path}' contains the control character {_codepoint(control.group())}",
                        hint="控制字符（如 ESC）看不见，却能在终端里清屏、伪造输出；请删除后重新输入这段文字。")
            value = _CONTROL_RE.sub("", value)
        if invisible := _INVISIBLE_RE.search(value):
            self.report("W014", node, f"“{path}”中含有看不见的方向控制或零宽字符 {_codepoint(invisible.group())}",
                        f"'{path}' contains the invisible bidi or zero-width character {_codepoint(invisible.group())}",
                        hint="这类字符会让文字或文件名看起来与实际不同；请删除后重新输入这段文字。",
                        severity=Severity.WARNING)
        return value

    def wrong_type(self, node: yaml.Node, path: str, message: str, message_en: str, hint: str = "") -> None:
        """E005 for ``path``, remembered so that no rule also calls the field missing."""
        self.malformed.add(path)
        self.report("E005", node, message, message_en, hint)

    def mapping(self, node: yaml.Node | None, path: str, known: Iterable[str]) -> dict[str, yaml.Node]:
        """Keys of a mapping node -> value nodes; reports wrong type, duplicates, unknown keys."""
        if node is None or _is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            where = f"“{path}”" if path else "文件"
            self.wrong_type(node, path, f"{where}应为“键: 值”形式的字段表", f"{path or 'file'} must be a mapping of keys",
                            hint="每行写成“字段名: 内容”，子字段缩进两个空格。")
            return {}
        known = tuple(known)
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or not key:
                self.report("E005", key_node, "字段名应为文字", "keys must be text")
                continue
            if _CONTROL_RE.search(key):
                self.clean_text(key_node, path or "字段名 key", key)
                continue
            full = f"{path}.{key}" if path else key
            if key in result:
                self.report("E011", key_node, f"字段“{full}”重复出现", f"duplicate key '{full}'",
                            hint="同一字段只能写一次，请删除多余的一行。")
                continue
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"是不是想写“{close[0]}”？" if close else "可用的字段：" + "、".join(known)
                self.report("W006", key_node, f"未知字段“{full}”，将被忽略", f"unknown key '{full}' is ignored",
                            hint=hint, severity=Severity.WARNING)
                continue
            result[key] = value_node
            # A nested block is located at its key: "missing provider.phone" points at "provider:".
            nested = isinstance(value_node, (yaml.MappingNode, yaml.SequenceNode)) and not value_node.flow_style
            self.locations[full] = self.loc(key_node if nested else value_node)
        return result

    def text(self, node: yaml.Node | None, path: str) -> str | None:
        """A sentence or name; numbers and dates are kept exactly as the author typed them."""
        if node is None or _is_null(node):
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.wrong_type(node, path, f"“{path}”应为一段文字，而不是列表或字段表",
                            f"'{path}' must be text, not a list or mapping",
                            hint="如果文字中含有冒号或以 - 开头，请用引号把整段文字括起来。")
            return None
        value = self.clean_text(node, path, node.value).strip()
        return value or None

    def boolean(self, node: yaml.Node | None, path: str) -> bool | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.value.strip() in _TRUE_WORDS:
                return True
            if node.value.strip() in _FALSE_WORDS:
                return False
            value = self._scalar(node)
            if isinstance(value, bool):
                return value
        self.wrong_type(node, path, f"“{path}”应为 true（是）或 false（否）", f"'{path}' must be true or false")
        return None

    def date(self, node: yaml.Node | None, path: str) -> _dt.date | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node)
            if isinstance(value, _dt.datetime):
                return value.date()
            if isinstance(value, _dt.date):
                return value
            match = _DATE_RE.match(node.value)
            if match:
                try:
                    return _dt.date(*(int(g) for g in match.groups()))
                except ValueError:
                    pass
            if node.tag == _TIMESTAMP_TAG or match:
                # Written like a date, but no such day or time exists (2023-02-30, 25:61:00).
                self.wrong_type(node, path, f"“{path}”写的 {node.value.strip()} 不是真实存在的日期或时间",
                                f"'{path}': {node.value.strip()} is not a real date or time",
                                hint="检查月份和日期（2 月没有 30 日）、小时（0–23）和分钟（0–59），例如 2023-09-01。")
                return None
        self.wrong_type(node, path, f"“{path}”应为日期，例如 2023-09-01", f"'{path}' must be a date such as 2023-09-01",
                        hint="可以写成 2023-09-01、2023-9-1、2023/09/01、2023.9.1 或 2023年9月1日（数字用半角）。")
        return None

    def integer(self, node: yaml.Node | None, path: str) -> int | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        self.wrong_type(node, path, f"“{path}”应为整数", f"'{path}' must be a whole number")
        return None

    def sequence(self, node: yaml.Node | None, path: str) -> list[yaml.Node]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.wrong_type(node, path, f"“{path}”应为列表（每项以“- ”开头）", f"'{path}' must be a list ('- ' items)")
            return []
        return list(node.value)

    def text_list(self, node: yaml.Node | None, path: str) -> tuple[str, ...]:
        items = []
        for index, item in enumerate(self.sequence(node, path)):
            self.locations[f"{path}.{index}"] = self.loc(item)
            value = self.text(item, f"{path}.{index}")
            if value:
                items.append(value)
        return tuple(items)

    def _scalar(self, node: yaml.ScalarNode):
        try:
            return scalar_value(node)
        except YamlFileError as exc:
            self.report(exc.code, node, exc.message, exc.message_en, exc.hint)
        except (yaml.YAMLError, ValueError, OverflowError):
            # The resolver matched the form (a timestamp like 2023-02-30, 25:61:00), but the
            # constructor found no such value: the typed reader reports it at this line (E005).
            pass
        return None


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def notes_control_characters(notes: str, *, file: str, first_line: int) -> list[Diagnostic]:
    """E013 for the first control character in a lecture's notes (Markdown body), at its line."""
    control = _CONTROL_RE.search(notes)
    if control is None:
        return []
    line = first_line + notes.count("\n", 0, control.start())
    return [Diagnostic.error(
        "E013", SourceLocation(file=file, line=line, column=control.start() - notes.rfind("\n", 0, control.start())),
        f"讲义中含有控制字符 {_codepoint(control.group())}", f"the notes contain the control character "
        f"{_codepoint(control.group())}",
        hint="控制字符（如 ESC）看不见，却能在终端里清屏、伪造输出；请删除这个字符。")]


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _file_error(exc: YamlFileError, file: str) -> Diagnostic:
    return Diagnostic(
        code=exc.code,
        severity=Severity.ERROR,
        location=SourceLocation(file=file, line=exc.line, column=exc.column),
        message=exc.message,
        message_en=exc.message_en,
        hint=exc.hint,
    )


# --------------------------------------------------------------------------------------------
# Files a course refers to
# --------------------------------------------------------------------------------------------


def inside_real_path(path: str, course_real: str) -> bool:
    """Whether ``path``, with every symlink followed, lies inside the (real) course folder: the one
    containment test for every file weike reads from a course (paths in YAML, files it finds,
    ``course.yml``, ``lecture.md``, pictures the notes show)."""
    real = os.path.realpath(path)
    return real == course_real or real.startswith(course_real + os.sep)


def outside_container(path: Path, container_real: str, *, root: Path, what: str, what_en: str,
                      container: str = "课程文件夹", container_en: str = "the course folder") -> Diagnostic | None:
    """E206 when ``path`` (a file or folder weike is about to read), with every symlink followed,
    leaves ``container_real``: a ``lecture.md`` linked to ``/etc/passwd`` would be published on
    the site, in the search index and in every zip. The same test as for paths written in YAML."""
    if inside_real_path(str(path), container_real):
        return None
    # A file is named at its first line (like every whole-file problem); a folder has no lines.
    line = None if os.path.isdir(path) else 1
    return Diagnostic.error(
        "E206", SourceLocation(file=repository_path(path, root), line=line, column=line),
        f"{what}是符号链接，指向了{container}之外，不会被读取",
        f"{what_en} is a symlink that leads outside {container_en}; it is not read",
        hint=f"把真正的文件放进{container}，不要用指向别处的符号链接。")


def resolve_authored_path(declared: str, *, base: Path, location: SourceLocation, course_real: str,
                          cls: type[AuthoredFile] = AuthoredFile) -> AuthoredFile:
    """Resolve a path written in YAML, refusing anything that would leave the course folder
    (``course_real``: its path with symlinks resolved).

    Absolute paths and ``..`` components are refused as written (on every OS, so a course written
    on Windows is judged the same on Linux); symlinks are followed and must still land inside the
    course folder.
    """
    problem = None
    path = None
    posix, windows = PurePosixPath(declared), PureWindowsPath(declared)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or declared.startswith(("\\", "~")):
        problem = PathProblem.ABSOLUTE
    elif ".." in posix.parts or ".." in windows.parts:
        problem = PathProblem.PARENT
    else:
        candidate = base.joinpath(*windows.parts)
        if not inside_real_path(str(candidate), course_real):
            problem = PathProblem.OUTSIDE
        elif not candidate.exists():
            problem = PathProblem.MISSING
        elif not candidate.is_file():
            problem = PathProblem.NOT_A_FILE
        else:
            path = candidate
    return cls(declared=declared, path=path, location=location, problem=problem)


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
        return Lecture(**base, parsed=False, media_candidates=candidates), [_file_error(exc, rel_file)]

    reader = _Reader(file=rel_file, line_offset=1)
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
        notes=_CONTROL_RE.sub("", body),
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


def load_course(folder: Path, *, root: Path) -> tuple[Course, list[Diagnostic]]:
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
    try:
        text = read_text_file(folder / COURSE_FILE, max_bytes=MAX_COURSE_FILE_BYTES).text
        root_node = compose_yaml(text)
    except YamlFileError as exc:
        diagnostics.append(_file_error(exc, rel_file))
        return Course(**base, parsed=False), diagnostics

    reader = _Reader(file=rel_file)
    reader.locations[""] = SourceLocation(file=rel_file, line=1, column=1)
    fields = reader.mapping(root_node, "", COURSE_KEYS)

    instructors = []
    for index, item in enumerate(reader.sequence(fields.get("instructors"), "instructors")):
        path = f"instructors.{index}"
        reader.locations[path] = reader.loc(item)
        person = reader.mapping(item, path, INSTRUCTOR_KEYS)
        instructors.append(Instructor(name=reader.text(person.get("name"), f"{path}.name"),
                                      bio=reader.text(person.get("bio"), f"{path}.bio")))

    provider_fields = reader.mapping(fields.get("provider"), "provider", PROVIDER_KEYS)
    provider = Provider(**{key: reader.text(provider_fields.get(key), f"provider.{key}") for key in PROVIDER_KEYS})
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
        title_cards=read_title_cards(reader, fields.get("title_cards")),
        locations=dict(reader.locations),
        malformed=frozenset(reader.malformed),
        parsed="" not in reader.malformed,  # a file that is no mapping: nothing more to say
    )
    diagnostics.extend(reader.diagnostics)
    return course, diagnostics


# --------------------------------------------------------------------------------------------
# Configuration and the whole repository
# --------------------------------------------------------------------------------------------


def load_config(root: Path) -> tuple[WeikeConfig, list[Diagnostic]]:
    """Read the optional ``weike.yml``; defaults come from SPEC.md."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return WeikeConfig(), []
    rel_file = repository_path(path, root)
    try:
        node = compose_yaml(read_text_file(path, max_bytes=MAX_CONFIG_FILE_BYTES).text)
    except YamlFileError as exc:
        return WeikeConfig(), [_file_error(exc, rel_file)]
    reader = _Reader(file=rel_file)
    fields = reader.mapping(node, "", CONFIG_KEYS)
    values: dict = {}
    if (created_after := reader.date(fields.get("created_after"), "created_after")) is not None:
        values["created_after"] = created_after
    for key in ("min_lectures", "max_summary_chars", "max_bio_chars", "jobs"):
        number = reader.integer(fields.get(key), key)
        if number is not None:
            if number < 1:
                reader.report("E005", fields[key], f"“{key}”应为正整数", f"'{key}' must be a positive number")
            else:
                values[key] = number
    for key in ("profile", "province", "site_url", "scheduler"):
        if (text := reader.text(fields.get(key), key)) is not None:
            values[key] = text
    values["recommendation_order"] = reader.text_list(fields.get("recommendation_order"), "recommendation_order")
    from builder.centre import read_province_facts  # centre.py reads with this module's _Reader

    values.update(read_province_facts(reader, fields))
    if (drop_stale := reader.boolean(fields.get("drop_stale"), "drop_stale")) is not None:
        values["drop_stale"] = drop_stale
    values["title_cards"] = read_title_cards(reader, fields.get("title_cards"))
    return WeikeConfig(**values, locations=dict(reader.locations)), reader.diagnostics


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
    from builder.centre import CENTRES_DIR

    return (path / COURSES_DIR).is_dir() or (path / CENTRES_DIR).is_dir()


def load_repository(root: Path, *, only: Iterable[str] | None = None) -> Repository:
    """Load the configuration and every course of the repository at ``root``.

    ``only`` restricts loading to the named course slugs (for ``weike check courses/x``).
    """
    root = root.resolve()
    if not is_repository(root):
        raise NotACourseRepository(root)
    config, diagnostics = load_config(root)
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
        course, problems = load_course(folder, root=root)
        courses.append(course)
        diagnostics.extend(problems)
    from builder.centre import load_centres  # centre.py reads with this module's _Reader

    # One course folder asked for: the centres are the whole repository's business.
    centres, problems = load_centres(root) if only is None else ((), [])
    diagnostics.extend(problems)
    return Repository(root=root, config=config, courses=tuple(courses), diagnostics=tuple(diagnostics),
                      centres=centres)
