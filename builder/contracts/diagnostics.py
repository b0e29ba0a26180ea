"""Printing diagnostics the way compilers do: text for people, JSON for tools, GitHub annotations.

Messages quote what authors wrote (keys, paths, titles), and they are printed in terminals and CI
logs. Every output therefore shows invisible characters as escapes (:func:`printable`): an
``ESC[2J`` in a course file must not clear the screen or fake an "all OK", and a right-to-left
override must not reorder what a reviewer reads.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from weike.builder.contracts.model import Diagnostic, Severity, SourceLocation

FORMATS = ("text", "json", "github", "codequality")


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Counts for the last line of a check or build."""

    courses: int
    lectures: int
    errors: int
    warnings: int
    #: Brand learning centres checked (centres/); named in the text only when there are some.
    centres: int = 0

    @classmethod
    def of(cls, diagnostics: Iterable[Diagnostic], *, courses: int, lectures: int, centres: int = 0) -> Summary:
        diagnostics = list(diagnostics)
        errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
        return cls(courses=courses, lectures=lectures, errors=errors, warnings=len(diagnostics) - errors,
                   centres=centres)

    def failed(self, *, strict: bool = False) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)

    def text(self) -> str:
        head = f"检查了 {self.courses} 门课程、{self.lectures} 个微课"
        head_en = f"checked {self.courses} course(s), {self.lectures} lecture(s)"
        if self.centres:
            head += f"、{self.centres} 个学习中心"
            head_en += f", {self.centres} centre(s)"
        if not self.errors and not self.warnings:
            return f"{head}：没有发现问题 ({head_en}: no problems)"
        return (f"{head}：{self.errors} 个错误，{self.warnings} 个警告 "
                f"({head_en}: {self.errors} error(s), {self.warnings} warning(s))")


#: Unicode categories a terminal does not show as themselves: controls (C0, DEL, C1), format
#: characters (bidi controls, zero-width spaces), line/paragraph separators, surrogates, private use.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
#: Quick pre-filter: a string made only of these needs no per-character look at its categories.
_PLAIN = re.compile(r"[\t\n\x20-\x7e\u00a0-\u00ac\u00ae-\u05ff\u3000-\u9fff\uff01-\uffef]*")


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, keep: str = "\t") -> str:
    """``text`` with every control, format (bidi, zero-width) and separator character written as
    an escape (``\\x1b``, ``\\u202e``), except the characters in ``keep``."""
    if _PLAIN.fullmatch(text) and not any(c in text for c in "\t\n" if c not in keep):
        return text
    return "".join(_escape_char(c) if c not in keep and (_hidden(c) or c in "\t\n") else c for c in text)


def _json_text(payload) -> str:
    """JSON whose strings show hidden characters as ``\\uXXXX`` escapes (json.dumps escapes
    only C0 controls when it keeps Chinese as it is); parses back to the same strings."""
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    if _PLAIN.fullmatch(text):
        return text

    def escape(char: str) -> str:
        if char < " " or not _hidden(char):  # json.dumps escaped C0 in strings; the rest is layout
            return char
        data = char.encode("utf-16-be")
        return "".join(f"\\u{int.from_bytes(data[i:i + 2], 'big'):04x}" for i in range(0, len(data), 2))

    return "".join(escape(c) for c in text)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Stable order: by file, line, column, code; exact duplicates removed."""
    unique = {(d.code, d.location, d.message): d for d in diagnostics}
    return sorted(unique.values(), key=Diagnostic.sort_key)


def format_text(diagnostic: Diagnostic) -> str:
    line = (f"{printable(str(diagnostic.location))}: {diagnostic.severity} {printable(diagnostic.code)} "
            f"{printable(diagnostic.message)} ({printable(diagnostic.message_en)})")
    if diagnostic.hint:
        line += f"\n    提示：{printable(diagnostic.hint)}"
    return line


def _github_escape(text: str, *, property_value: bool = False) -> str:
    text = printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(diagnostic: Diagnostic) -> str:
    """A GitHub Actions workflow command that annotates the file and line in a pull request."""
    loc = diagnostic.location
    props = [f"file={_github_escape(loc.file, property_value=True)}"]
    if loc.line is not None:
        props.append(f"line={loc.line}")
    if loc.column is not None:
        props.append(f"col={loc.column}")
    props.append(f"title={_github_escape(diagnostic.code, property_value=True)}")
    message = f"{diagnostic.message} ({diagnostic.message_en})"
    if diagnostic.hint:
        message += f"\n提示：{diagnostic.hint}"
    return f"::{diagnostic.severity} {','.join(props)}::{_github_escape(message)}"


def diagnostic_dict(diagnostic: Diagnostic) -> dict:
    loc = diagnostic.location
    return {
        "code": diagnostic.code,
        "severity": str(diagnostic.severity),
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "message": diagnostic.message,
        "message_en": diagnostic.message_en,
        "hint": diagnostic.hint,
    }


def diagnostic_from_dict(data: dict) -> Diagnostic:
    """The diagnostic :func:`diagnostic_dict` wrote (for results replayed from a stamp)."""
    return Diagnostic(code=data["code"], severity=Severity(data["severity"]), message=data["message"],
                      message_en=data["message_en"], hint=data["hint"],
                      location=SourceLocation(file=data["file"], line=data["line"], column=data["column"]))


def codequality_dict(diagnostic: Diagnostic) -> dict:
    """One issue in GitLab's Code Quality report format (shown in merge requests)."""
    loc = diagnostic.location
    fingerprint = hashlib.sha256(
        f"{diagnostic.code}|{loc.file}|{loc.line}|{diagnostic.message}".encode()).hexdigest()
    return {
        "description": f"{diagnostic.code} {diagnostic.message} ({diagnostic.message_en})",
        "check_name": diagnostic.code,
        "fingerprint": fingerprint,
        "severity": "major" if diagnostic.is_error else "minor",
        "location": {"path": loc.file, "lines": {"begin": loc.line or 1}},
    }


def render(diagnostics: Sequence[Diagnostic], summary: Summary, fmt: str, *, strict: bool = False) -> str:
    """The whole report in ``fmt`` (one of :data:`FORMATS`), ending with a newline.

    ``codequality`` is GitLab's Code Quality JSON: a bare list, no summary (GitLab reads it as is).
    """
    ordered = sort_diagnostics(diagnostics)
    if fmt == "json":
        payload = {
            "diagnostics": [diagnostic_dict(d) for d in ordered],
            "summary": {
                "courses": summary.courses,
                "lectures": summary.lectures,
                "centres": summary.centres,
                "errors": summary.errors,
                "warnings": summary.warnings,
                "ok": not summary.failed(strict=strict),
            },
        }
        return _json_text(payload) + "\n"
    if fmt == "codequality":
        return _json_text([codequality_dict(d) for d in ordered]) + "\n"
    if fmt == "github":
        lines = [format_github(d) for d in ordered]
        lines.append(summary.text())
        return "\n".join(lines) + "\n"
    lines = [format_text(d) for d in ordered]
    lines.append(summary.text())
    return "\n".join(lines) + "\n"
