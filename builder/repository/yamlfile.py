"""Safe, bounded YAML reading that keeps every value's line and column.

Course files are written by many people and read by a build that publishes to the internet, so
reading is deliberately strict:

* the file size is checked before reading (no memory blow-up from a pasted video);
* only the safe YAML schema is used (no Python objects);
* anchors and aliases are refused outright: teachers have no use for them, and refusing them
  removes the "billion laughs" alias bomb with them;
* nesting depth is bounded.

Callers get a tree of :class:`yaml.Node` (``yaml.compose``), so they can read values *and* their
marks; :func:`scalar_value` turns a scalar node into a Python value with the safe constructor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

try:  # libyaml is ~10x faster; the pure-Python composer gives the same nodes and marks.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

#: Deepest nesting a course file needs is ~3 (provider -> level); 20 leaves room and stops abuse.
MAX_DEPTH = 20

# One shared constructor; scalars are built through its per-tag functions directly, which (unlike
# ``construct_object``) keeps no cache of constructed values between files.
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class YamlFileError(Exception):
    """A YAML file cannot be used; carries a code and bilingual message for a Diagnostic."""

    def __init__(self, code: str, message: str, message_en: str, *, line: int | None = None,
                 column: int | None = None, hint: str = "") -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.line = line
        self.column = column
        self.hint = hint


@dataclass(frozen=True)
class TextFile:
    """A UTF-8 text file read within a size limit."""

    path: Path
    text: str


def read_text_file(path: Path, *, max_bytes: int) -> TextFile:
    """Read ``path`` as UTF-8 (BOM allowed) if it is at most ``max_bytes`` long."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlFileError("E012", f"无法读取文件：{exc.strerror}", f"cannot read file: {exc.strerror}") from exc
    if size > max_bytes:
        raise YamlFileError(
            "E002",
            f"文件过大（{size:,} 字节，上限 {max_bytes:,} 字节）",
            f"file too large ({size:,} bytes, limit {max_bytes:,})",
            hint="课程说明文件只应包含文字；视频、图片请作为单独的文件放在文件夹中。",
        )
    with path.open("rb") as fh:
        # Ask for what stat promised (+1 to notice growth): read(max_bytes) would allocate the
        # whole limit for every small file.
        raw = fh.read(min(size, max_bytes) + 1)
    if len(raw) > max_bytes:  # grew while we looked
        raise YamlFileError("E002", "文件过大", "file too large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlFileError(
            "E010",
            "文件不是 UTF-8 编码",
            "file is not UTF-8 encoded",
            line=line,
            hint="请用 UTF-8 编码保存文件（记事本“另存为”时选择 UTF-8）。",
        ) from exc
    return TextFile(path=path, text=text)


#: How many broken lines :func:`compose_around_errors` blanks out before giving up.
MAX_SALVAGED_LINES = 10


def compose_around_errors(text: str, error: YamlFileError) -> yaml.Node | None:
    """The document as it reads with the lines of its syntax errors blanked out (``error`` the
    first one), or ``None`` when that does not make it readable: what the author wrote on the
    other lines, for checking what can still be checked. Lines keep their numbers; ``error``
    alone is what the author is told (a blanked line can make the next ones look wrong too)."""
    if error.code != "E001" or error.line is None:
        return None  # too large, not UTF-8, aliases or nesting: nothing is read again
    lines = text.split("\n")
    for _ in range(MAX_SALVAGED_LINES):
        if not 1 <= error.line <= len(lines) or not lines[error.line - 1]:
            return None
        lines[error.line - 1] = ""
        try:
            return compose_yaml("\n".join(lines))
        except YamlFileError as again:
            if again.code != "E001" or again.line is None:
                return None
            error = again
    return None


def compose_yaml(text: str, *, line_offset: int = 0) -> yaml.Node | None:
    """Parse one YAML document into nodes; ``None`` for an empty document.

    ``line_offset`` is added to reported lines (front matter starts below the ``---`` line).
    Raises :class:`YamlFileError` for syntax errors, aliases and excessive nesting.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "syntax error"
        slip = find_ime_slip(text, up_to_line=mark.line + 1 if mark else None)
        if slip is not None:
            # PyYAML notices a Chinese-keyboard slip a line late (or not as such at all): name the
            # slip at its own line and show the line as it should be written.
            raise YamlFileError(
                "E001",
                f"YAML 语法错误：{slip.message}",
                f"YAML syntax error: {slip.message_en} (PyYAML: {problem})",
                line=slip.line + line_offset,
                column=slip.column,
                hint=_corrected_hint(slip),
            ) from exc
        explained = _explain_problem(problem)
        if mark and _character_at(text, mark.line, mark.column) == "\t":
            explained = "不能用 Tab 缩进，请用空格"  # PyYAML's wording does not always name the tab
        raise YamlFileError(
            "E001",
            f"YAML 语法错误：{explained}",
            f"YAML syntax error: {problem}",
            line=line,
            column=column,
            hint="检查这一行及上一行：冒号后要有空格，同级字段缩进要对齐，含冒号的文字请加引号。",
        ) from exc
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        raise YamlFileError("E001", "YAML 读取错误：文件中有无法读取的字符", f"YAML error: {exc}") from exc
    if node is not None:
        _check_tree(node, line_offset)
        slip = _silent_slip(text, node)
        if slip is None and isinstance(node, yaml.ScalarNode) and not node.style:
            # The whole file read as one piece of text (``title:扫码`` alone): any slip is why.
            slip = find_ime_slip(text)
        if slip is not None:
            raise YamlFileError("E001", f"YAML 格式错误：{slip.message}", f"YAML mistake: {slip.message_en}",
                                line=slip.line + line_offset, column=slip.column, hint=_corrected_hint(slip))
    return node


def _corrected_hint(slip: ImeSlip) -> str:
    if slip.corrected != slip.corrected.lstrip():
        spaces = len(slip.corrected) - len(slip.corrected.lstrip())
        return f"请把这一行改成（前面是 {spaces} 个半角空格）：{slip.corrected}"
    return f"请把这一行改成：{slip.corrected}"


def _character_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column:column + 1] if 0 <= line < len(lines) else ""


def _explain_problem(problem: str) -> str:
    known = {
        "mapping values are not allowed": "此处不能出现“键: 值”（可能缺少引号或缩进不对）",
        "could not find expected ':'": "找不到应有的冒号“:”",
        "expected <block end>, but found '<block mapping start>'": "缩进不一致",
        "did not find expected key": "缩进不一致或缺少字段名",
        "found undefined alias": "使用了未定义的别名",
        "did not find expected '-' indicator": "列表缩进不一致",
    }
    for english, chinese in known.items():
        if problem.startswith(english):
            return chinese
    return "格式不对"  # PyYAML's English wording stays in message_en, not inside the Chinese text


@dataclass(frozen=True, kw_only=True)
class ImeSlip:
    """A line typed with a Chinese input method's punctuation where YAML needs the ASCII one."""

    line: int  # 1-based, within the text given to :func:`find_ime_slip`
    column: int
    message: str
    message_en: str
    corrected: str  # the whole line as it should be written
    #: True for slips that change the meaning even when the file still parses.
    silent_when_parsed: bool = False


# Field names in weike's files are ASCII; a slip is an ASCII name followed by a Chinese colon etc.
_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_FULL_WIDTH_INDENT_RE = re.compile(r"^([ \u3000]*\u3000[ \u3000]*)(\S.*)$")
_FULL_WIDTH_DASH_RE = re.compile(r"^( *)[－—–][ \u3000]+(.*)$")
_FULL_WIDTH_COLON_RE = re.compile(rf"^( *(?:- +)?)({_KEY}) *：[ \u3000]*(.*)$")
_NO_SPACE_COLON_RE = re.compile(rf"^( *(?:- +)?)({_KEY}):([^\s:/].*)$")
_CURLY_QUOTED_RE = re.compile(rf"^( *(?:- +)?(?:{_KEY}: +)?)([“‘])(.*)([”’]) *$")


def find_ime_slip(text: str, *, up_to_line: int | None = None,
                  only_lines: Callable[[int], bool] | None = None) -> ImeSlip | None:
    """The first Chinese-keyboard slip at or above ``up_to_line`` (where PyYAML gave up), if any.

    ``only_lines`` (1-based line -> bool) limits the search, e.g. to lines outside block text.
    """
    lines = text.splitlines()
    last = min(len(lines), up_to_line or len(lines))
    for index in range(last):
        if only_lines is not None and not only_lines(index + 1):
            continue
        slip = _slip_in_line(lines[index], index + 1)
        if slip is not None:
            return slip
    return None


def _silent_slip(text: str, root: yaml.Node) -> ImeSlip | None:
    """A slip that still parses, e.g. an item indented with U+3000 or written with a full-width
    dash, which YAML reads as more words of the value above instead of a field or list item.

    Lines inside block (``|``, ``>``) or quoted text are not looked at: there a full-width space
    opening a Chinese paragraph, or a "－" bullet, is ordinary text.
    """
    protected: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.style:  # '|', '>', '"' or "'": the author's own text, as written
                protected.update(range(node.start_mark.line + 1, node.end_mark.line + 2))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    slip = find_ime_slip(text, only_lines=lambda number: number not in protected)
    # Curly quotes and a missing space after a colon parse as plain words: only a slip when YAML failed.
    return slip if slip is not None and slip.silent_when_parsed else None


def _slip_in_line(line: str, number: int) -> ImeSlip | None:
    if line.lstrip(" \u3000").startswith("#"):
        return None
    if match := _FULL_WIDTH_INDENT_RE.match(line):
        indent = match.group(1).replace("\u3000", "  ")
        return ImeSlip(line=number, column=line.index("\u3000") + 1,
                       message="用了全角空格“　”缩进，YAML 只认半角空格", silent_when_parsed=True,
                       message_en="indented with full-width spaces (U+3000); YAML needs ASCII spaces",
                       corrected=_fix_rest(indent + match.group(2)))
    if match := _FULL_WIDTH_DASH_RE.match(line):
        return ImeSlip(line=number, column=len(match.group(1)) + 1,
                       message=f"列表项用了全角的“{line.strip()[0]}”，应为半角减号“-”加空格",
                       message_en="a list item starts with a full-width dash; use an ASCII '-' and a space",
                       silent_when_parsed=True,
                       corrected=_fix_rest(f"{match.group(1)}- {match.group(2)}"))
    if match := _FULL_WIDTH_COLON_RE.match(line):
        return ImeSlip(line=number, column=line.index("：") + 1,
                       message=f"字段名“{match.group(2)}”后面用了全角冒号“：”，应为半角冒号“:”加空格",
                       message_en=f"full-width colon after the key '{match.group(2)}'; use ':' and a space",
                       silent_when_parsed=True,
                       corrected=_key_value(match.group(1), match.group(2), match.group(3)))
    if match := _NO_SPACE_COLON_RE.match(line):
        return ImeSlip(line=number, column=len(match.group(1)) + len(match.group(2)) + 1,
                       message=f"字段名“{match.group(2)}”的冒号“:”后面缺少空格",
                       message_en=f"no space after the colon of '{match.group(2)}'",
                       corrected=_key_value(match.group(1), match.group(2), match.group(3)))
    if (match := _CURLY_QUOTED_RE.match(line)) and re.search(r": | #|^[\[\]{}&*!|>%@`'\"]", match.group(3)):
        return ImeSlip(line=number, column=len(match.group(1)) + 1,
                       message="用了中文引号“”，YAML 只认半角引号 \"\"（文字中有冒号时必须加半角引号）",
                       message_en="Chinese quotes used as YAML quotes; use ASCII double quotes",
                       corrected=f"{match.group(1)}{_quoted(match.group(3))}")
    return None


def _key_value(prefix: str, key: str, value: str) -> str:
    return f"{prefix}{key}: {value}" if value else f"{prefix}{key}:"


def _fix_rest(line: str) -> str:
    """A corrected line with any further slip on it fixed too (e.g. indented with U+3000 *and* a
    full-width colon)."""
    slip = _slip_in_line(line, 0)
    return slip.corrected if slip is not None else line


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_tree(root: yaml.Node, line_offset: int) -> None:
    """Refuse aliases (a node reached twice) and deep nesting, iteratively."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise YamlFileError(
                "E003",
                "不支持 YAML 锚点和别名（& 与 *）",
                "YAML anchors and aliases (& and *) are not allowed",
                line=node.start_mark.line + 1 + line_offset,
                column=node.start_mark.column + 1,
                hint="请把内容直接写出来，不要用 & 和 * 引用。",
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise YamlFileError(
                "E003",
                f"嵌套层级过深（超过 {MAX_DEPTH} 层）",
                f"nesting deeper than {MAX_DEPTH} levels",
                line=node.start_mark.line + 1 + line_offset,
                column=node.start_mark.column + 1,
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def scalar_value(node: yaml.ScalarNode):
    """The Python value of a scalar node under the safe schema (str, int, bool, date, None...)."""
    build = yaml.constructor.SafeConstructor.yaml_constructors.get(node.tag)
    if build is None:
        raise YamlFileError(
            "E001",
            f"不支持的 YAML 标记 {node.tag}",
            f"unsupported YAML tag {node.tag}",
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            hint="去掉以 ! 开头的标记，直接写文字。",
        )
    return build(_CONSTRUCTOR, node)
