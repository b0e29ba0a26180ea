"""Typed reading of YAML nodes, and resolving the paths authors write, for every authored file.

:class:`FieldReader` turns the nodes of one file (``course.yml``, ``lecture.md``'s front matter,
``centre.yml``, ``weike.yml``) into typed values, remembering each value's line and collecting
every problem as a diagnostic (E005 wrong type, W006 unknown key, E013/W014 hidden characters)
instead of stopping at the first. The path helpers keep every authored path inside its course (or
centre) folder, symlinks included.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import yaml

from weike.builder.contracts.model import (
    PROVIDER_LEVELS,
    AuthoredFile,
    Diagnostic,
    PathProblem,
    Severity,
    SourceLocation,
    form_level,
    repository_path,
)
from weike.builder.repository.yamlfile import YamlFileError, scalar_value

#: C0 controls except tab and newline, DEL and C1: they drive terminals (ESC sequences clear the
#: screen, recolour text, write the clipboard) and have no place in course text (E013).
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
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
class FieldReader:
    """Turns YAML nodes of one file into typed values; records locations and diagnostics."""

    file: str
    line_offset: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    locations: dict[str, SourceLocation] = field(default_factory=dict)
    #: Field paths written with a value of the wrong type (E005 said so; rules say nothing more).
    malformed: set[str] = field(default_factory=set)
    #: A file whose problems never block anything (``mkdocs.yml``: the default is used): every
    #: problem is reported as a warning with this code instead of its own.
    warn_as: str | None = None

    def loc(self, node: yaml.Node | None) -> SourceLocation:
        if node is None:
            return SourceLocation(file=self.file, line=1 + self.line_offset, column=1)
        mark = node.start_mark
        return SourceLocation(file=self.file, line=mark.line + 1 + self.line_offset, column=mark.column + 1)

    def report(self, code: str, node: yaml.Node | None, message: str, message_en: str, hint: str = "",
               severity: Severity = Severity.ERROR) -> None:
        if self.warn_as is not None:
            code, severity = self.warn_as, Severity.WARNING
        self.diagnostics.append(Diagnostic(code=code, severity=severity, location=self.loc(node),
                                           message=message, message_en=message_en, hint=hint))

    def clean_text(self, node: yaml.Node, path: str, value: str) -> str:
        """``value`` without control characters (refused: E013); invisible bidi and zero-width
        characters are kept but named (W014)."""
        if control := CONTROL_RE.search(value):
            self.report("E013", node, f"“{path}”中含有控制字符 {_codepoint(control.group())}",
                        f"'{path}' contains the control character {_codepoint(control.group())}",
                        hint="控制字符（如 ESC）看不见，却能在终端里清屏、伪造输出；请删除后重新输入这段文字。")
            value = CONTROL_RE.sub("", value)
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
            if CONTROL_RE.search(key):
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

    def level(self, node: yaml.Node | None, path: str) -> str | None:
        """A level of the three-level network: the form's label for the short forms people write
        ("县级", "乡镇级", "社区"...), with a warning naming it (W015); any other text as written
        (the rules refuse it)."""
        written = self.text(node, path)
        label = form_level(written)
        if label is None or label == written:
            return written
        self.report("W015", node, f"所处层级写成了“{written}”，按申报表的“{label}”处理",
                    f"level '{written}' is read as the form's '{label}'",
                    hint=f"请写成申报表中的“{label}”（可选：{'、'.join(PROVIDER_LEVELS)}）。",
                    severity=Severity.WARNING)
        return label

    def boolean(self, node: yaml.Node | None, path: str) -> bool | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.value.strip() in _TRUE_WORDS:
                return True
            if node.value.strip() in _FALSE_WORDS:
                return False
            value = self.scalar(node)
            if isinstance(value, bool):
                return value
        self.wrong_type(node, path, f"“{path}”应为 true（是）或 false（否）", f"'{path}' must be true or false")
        return None

    def date(self, node: yaml.Node | None, path: str) -> _dt.date | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node)
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
            value = self.scalar(node)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        self.wrong_type(node, path, f"“{path}”应为整数", f"'{path}' must be a whole number")
        return None

    def positive_integer(self, node: yaml.Node | None, path: str) -> int | None:
        """A whole number of at least 1 (a count or a limit); anything else is E005 and ``None``."""
        number = self.integer(node, path)
        if number is not None and number < 1:
            self.report("E005", node, f"“{path}”应为正整数", f"'{path}' must be a positive number")
            return None
        return number

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

    def scalar(self, node: yaml.ScalarNode):
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
    control = CONTROL_RE.search(notes)
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


def file_error(exc: YamlFileError, file: str) -> Diagnostic:
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

#: A path as editors may accept it (JSON Schema): relative, no drive, no ``..`` component. The
#: loader's own test, :func:`resolve_authored_path`, also follows symlinks.
RELATIVE_PATH_PATTERN = r"^(?![/\\~])(?![A-Za-z]:)(?!.*(^|[/\\])\.\.([/\\]|$)).+"
#: A picture weike reads (cover, audio lecture image, centre photo).
PICTURE_PATH_PATTERN = RELATIVE_PATH_PATTERN + r"\.(jpe?g|png|JPE?G|PNG)$"


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


def leaves_course(item: AuthoredFile, *, what: str, what_en: str) -> Diagnostic | None:
    """E206 when the path ``item`` was written as (a ``cover:``, a ``video:``...) is absolute, has
    ``..`` or leads out of the course folder through a symlink (see :func:`resolve_authored_path`)."""
    reason = {
        PathProblem.ABSOLUTE: ("不能使用绝对路径", "absolute paths are not allowed"),
        PathProblem.PARENT: ("不能包含“..”", "'..' is not allowed"),
        PathProblem.OUTSIDE: ("指向了课程文件夹之外（符号链接）", "it leads outside the course folder (symlink)"),
    }.get(item.problem)
    if reason is None:
        return None
    return Diagnostic.error("E206", item.location, f"{what}路径“{item.declared}”{reason[0]}",
                            f"{what_en} path '{item.declared}': {reason[1]}",
                            hint="文件必须放在本课程文件夹内，并用相对路径引用，例如 cover.jpg 或 lecture.mp4。")


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
        elif (found := _stat(candidate)) is None:
            problem = PathProblem.MISSING
        elif not stat.S_ISREG(found.st_mode):
            problem = PathProblem.NOT_A_FILE
        else:
            path = candidate
    return cls(declared=declared, path=path, location=location, problem=problem)


def _stat(path: Path) -> os.stat_result | None:
    """``path``'s status, or None when no file can be there: missing, or a name longer than the
    file system allows (ENAMETOOLONG, which ``Path.exists`` raises instead of answering)."""
    try:
        return path.stat()
    except (OSError, ValueError):
        return None
