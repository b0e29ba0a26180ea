"""How long authored text may be, and which of it must stay on one line: the boxes it goes into.

Every free-text field of course.yml, lecture.md and centre.yml that reaches a form (附件3's cells,
附件4's rows), a title card or a document property has a limit here; names, titles and contacts
fill one line of a table cell or a card, so a line break in them is refused too. The limits are
listed in ``docs/rules.md`` (E118, E224, E713) beside the call's own (E102, E103, E702, E703).
The message names the field, its length and the limit, never the text: a 10,000-character
value would flood the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from weike.builder.contracts.model import Diagnostic, SourceLocation


@dataclass(frozen=True, kw_only=True)
class TextLimit:
    """One field: its key (as in ``where()``), its label, at most ``chars`` characters, one line or not."""

    key: str
    label: str
    chars: int
    one_line: bool = True


def counted_chars(text: str) -> int:
    """字数 as the forms count it: characters, line breaks not counted."""
    return len(text.replace("\r", "").replace("\n", ""))


#: Everything ``str.splitlines`` breaks a line at.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def has_line_break(text: str) -> bool:
    """A line break of any kind inside ``text`` (a trailing one, as YAML's ``|`` leaves, is no break)."""
    return any(char in LINE_BREAKS for char in text.strip())


def text_problems(code: str, limit: TextLimit, text: str | None, location: SourceLocation) -> Iterator[Diagnostic]:
    """``code`` when ``text`` is longer than the limit, or breaks a one-line field over lines."""
    if not text:
        return
    if limit.one_line and has_line_break(text):
        yield Diagnostic.error(code, location, f"{limit.label}中有换行：它在表格、推介表和片头上只占一行",
                               f"'{limit.key}' holds a line break; it fills one line of a form or card",
                               hint="把它写在一行里（YAML 中不要用 | 或 >，也不要在引号里写 \\n）。")
    count = counted_chars(text)
    if count > limit.chars:
        yield Diagnostic.error(code, location, f"{limit.label}有 {count} 字，超过 {limit.chars} 字上限",
                               f"'{limit.key}' has {count} characters, limit {limit.chars}",
                               hint=f"表格和推介表的格子、片头片尾都放不下更长的文字：请精简到 {limit.chars} 字以内。")
