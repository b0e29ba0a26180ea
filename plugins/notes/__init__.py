"""Lecture notes: author Markdown -> HTML that is safe to publish (the site and SCORM pages).

Notes are written by many people and published on a public website, so the HTML that Markdown
produces (including any raw HTML an author typed) goes through `nh3` (the Ammonia sanitiser)
with an allow-list: no ``<script>``, no ``style``, no event handlers, no ``javascript:`` or
``data:`` URLs, and no picture loaded from another host (the site makes no request outside
itself). What the sanitiser removed is reported back, so the author can be told.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from weike.builder.repository.reading import inside_real_path

if TYPE_CHECKING:
    import markdown

#: Tags an author may use; anything else is dropped (its text is kept, except for the tags in
#: ``_DROPPED_WITH_CONTENT``).
ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "del", "ins",
    "mark", "small", "sub", "sup", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "code", "pre",
    "kbd", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "a", "img", "figure",
    "figcaption", "abbr", "span", "div",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template",
                                   "textarea", "select", "svg", "math"})
_HEADING_TAG = re.compile(r"<(/?)h([1-6])(?=[\s>/])")
#: Pictures an author may put next to lecture.md and show in the notes.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})
_MARKDOWN_EXTENSIONS = ("tables", "sane_lists", "fenced_code")
#: Deepest element nesting published notes may have (a list inside a list is two levels: ul, li).
#: Real notes stay under ten; a thousand-level list made Python-Markdown (and every later reader
#: of the HTML) run out of stack, so the limit is checked, and reported, before anything is built.
MAX_NOTES_NESTING = 50
#: Elements that never hold others, so they open no nesting level.
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                        "track", "wbr"})


def _below_the_page_title(clean_html: str) -> str:
    """Notes that use a top-level heading (``# 标题``) with every heading one level down, so the
    page's own title stays its only ``<h1>`` and the notes keep their hierarchy (``######`` stays h6).

    Only for the sanitiser's output: there every ``<`` outside a tag is escaped, even in attribute
    values, so the pattern matches tags only.
    """
    if "<h1" not in clean_html:
        return clean_html
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 1, 6)}", clean_html)


def note_pictures(folder: Path) -> list[Path]:
    """The pictures beside a lecture.md that its notes may show, by name: inputs of every output
    that embeds the notes (site pages, SCORM packages)."""
    with os.scandir(folder) as entries:
        return [Path(entry.path) for entry in sorted(entries, key=lambda e: e.name)
                if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and entry.is_file()]


class NotesTooDeep(Exception):
    """The notes nest lists, quotes or tags deeper than :data:`MAX_NOTES_NESTING` levels.

    ``line`` is the 1-based line of the notes (counted from the first line of the Markdown body)
    where the nesting first goes too deep.
    """

    def __init__(self, *, line: int, depth: int | None) -> None:
        self.line = line
        self.depth = depth
        super().__init__(f"notes nested deeper than {MAX_NOTES_NESTING} levels (line {line} of the notes)")


@dataclass(frozen=True, kw_only=True)
class RenderedNotes:
    """Safe HTML for the lecture page, the pictures it shows, and what was removed."""

    html: str
    #: Pictures from the lecture folder the notes show: (path as written in the notes, file).
    images: tuple[tuple[str, Path], ...] = ()
    #: Human-readable list of removed markup (``<script>``, ``onerror=``, ``javascript: 链接``...).
    removed: tuple[str, ...] = ()
    #: Plain text of the notes (for the optional search index of notes).
    text: str = ""
    #: How deep the HTML's elements nest (at most :data:`MAX_NOTES_NESTING`).
    nesting: int = 0
    #: Every picture of the lecture folder the notes ask for, shown or not (a file may be added
    #: later): (path as written in the notes, normalised; 1-based line of the notes where first
    #: asked for), for ``weike check`` to decode each at its line.
    references: tuple[tuple[str, int], ...] = ()


class _MarkupCensus(HTMLParser):
    """Counts tags and attributes (and dangerous URLs) so a before/after diff names what went."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.seen: set[str] = set()
        self.text: list[str] = []
        self.depth = 0
        self.deepest = 0

    def handle_starttag(self, tag, attrs):
        if tag not in _VOID_TAGS:
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)
        self.seen.add(f"<{tag}>")
        for name, value in attrs:
            self.seen.add(f"{name}=")
            scheme = urlsplit((value or "").strip()).scheme.lower() if name in ("href", "src") else ""
            if scheme and scheme not in LINK_SCHEMES:
                self.seen.add(f"{scheme}: URL")

    def handle_endtag(self, tag):
        if tag not in _VOID_TAGS:
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data):
        self.text.append(data)


def _census(html: str) -> _MarkupCensus:
    parser = _MarkupCensus()
    parser.feed(html)
    parser.close()
    return parser


@dataclass
class _ImageCollector:
    """nh3 attribute filter: keep pictures from the lecture folder, drop the rest."""

    #: None: Markdown that comes with no folder (a plugin's site page) shows no picture at all.
    lecture_folder: Path | None
    course_folder: Path | None
    images: dict[str, Path] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    #: Lecture-folder pictures asked for (found or not): normalised path -> the ``src`` as written.
    referenced: dict[str, str] = field(default_factory=dict)

    def __call__(self, tag: str, attribute: str, value: str) -> str | None:
        if tag != "img" or attribute != "src":
            return value
        if self.lecture_folder is None or self.course_folder is None:
            self.dropped.add("图片 (picture)")
            return None
        kept = self._local_image(value)
        if kept is None:
            self.dropped.add("外部或找不到的图片 (picture not in the lecture folder)")
        return kept

    def _local_image(self, value: str) -> str | None:
        parts = urlsplit(value.strip())
        if parts.scheme or parts.netloc or parts.query or not parts.path:
            return None  # another host, data: URL...: the site loads nothing from outside
        written = unquote(parts.path)
        normalised = posixpath.normpath(written)
        if normalised.startswith(("/", "..")) or Path(normalised).suffix.lower() not in IMAGE_SUFFIXES:
            return None
        self.referenced.setdefault(normalised, value)
        path = self.lecture_folder / normalised
        if not path.is_file() or not inside_real_path(str(path), os.path.realpath(self.course_folder)):
            return None  # missing, or a symlink out of the course (E206's test)
        path = path.resolve()
        self.images[normalised] = path
        return normalised


@lru_cache(maxsize=1)
def _markdown() -> markdown.Markdown:
    # One converter, reset between notes: building one costs more than converting short notes.
    # Imported here, when a note is rendered: a build replayed unchanged renders none.
    import markdown

    return markdown.Markdown(extensions=list(_MARKDOWN_EXTENSIONS), output_format="html")


def _nesting(notes: str, *, lecture_folder: Path | None, course_folder: Path | None) -> int | None:
    """How deep the published HTML of ``notes`` nests; ``None`` when Markdown itself ran out of stack."""
    try:
        return render_notes(notes, lecture_folder=lecture_folder, course_folder=course_folder,
                            nesting_limit=None).nesting
    except RecursionError:
        return None


def _first_too_deep_line(notes: str, *, lecture_folder: Path | None, course_folder: Path | None) -> int:
    """The first line of ``notes`` by which the nesting is over the limit (bisection over prefixes:
    a prefix never nests deeper than the text it starts, and this runs only for notes that fail)."""
    lines = notes.splitlines(keepends=True)
    low, high = 1, len(lines)
    while low < high:
        middle = (low + high) // 2
        depth = _nesting("".join(lines[:middle]), lecture_folder=lecture_folder, course_folder=course_folder)
        if depth is None or depth > MAX_NOTES_NESTING:
            high = middle
        else:
            low = middle + 1
    return low


_LIST_ITEM_RE = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _deeply_indented_item(lines: list[str]) -> int | None:
    """Index of the first list item (outside fenced code) indented ``2 * MAX_NOTES_NESTING``
    columns or more, or ``None``.

    Python-Markdown's time grows with the square of list depth (a 1,000-level list took 17 s to
    fail): rendering up to such a line first keeps a pathological list from costing minutes.
    """
    fence = None
    for index, line in enumerate(lines):
        opened = _FENCE_RE.match(line)
        if opened:
            marker = opened.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is not None:
            continue
        item = _LIST_ITEM_RE.match(line)
        if item and len(item.group(1).expandtabs(4)) >= 2 * MAX_NOTES_NESTING:
            return index
    return None


def _reference_lines(notes: str, referenced: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """(normalised path, the first line of ``notes`` that names it) for each picture asked for."""
    lines = notes.splitlines()
    found = []
    for normalised, written in referenced.items():
        needles = [needle for needle in (written.strip(), normalised) if needle]
        line = next((number for number, text in enumerate(lines, 1) if any(n in text for n in needles)), 1)
        found.append((normalised, line))
    return tuple(sorted(found))


def render_notes(notes: str, *, lecture_folder: Path | None, course_folder: Path | None, with_text: bool = False,
                 nesting_limit: int | None = MAX_NOTES_NESTING) -> RenderedNotes:
    """Markdown notes -> sanitised HTML, with the lecture-folder pictures it shows.

    Without folders (``None``: Markdown a plugin wrote for a site page) every picture is removed.

    ``with_text`` also extracts the plain text (for the search index of notes). Raises
    :class:`NotesTooDeep` when the HTML would nest deeper than ``nesting_limit`` levels (or so
    deep that Markdown cannot convert it): ``weike check`` reports that (E220) before any output
    is built from it.
    """
    if not notes.strip():
        return RenderedNotes(html="")
    if nesting_limit is not None:
        lines = notes.splitlines(keepends=True)
        suspect = _deeply_indented_item(lines)
        if suspect is not None:
            head = "".join(lines[:suspect + 1])
            depth = _nesting(head, lecture_folder=lecture_folder, course_folder=course_folder)
            if depth is None or depth > nesting_limit:
                raise NotesTooDeep(line=_first_too_deep_line(head, lecture_folder=lecture_folder,
                                                             course_folder=course_folder), depth=depth)
    converter = _markdown()
    try:
        raw = converter.reset().convert(notes)
    except RecursionError:
        if nesting_limit is None:
            raise
        raise NotesTooDeep(line=_first_too_deep_line(notes, lecture_folder=lecture_folder,
                                                     course_folder=course_folder), depth=None) from None
    import nh3  # the sanitiser, loaded by the first notes rendered, not by every command registering a plugin

    images = _ImageCollector(lecture_folder=lecture_folder, course_folder=course_folder)
    clean = nh3.clean(
        raw,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        attribute_filter=images,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    removed: list[str] = sorted(images.dropped)
    after = _census(clean)  # always: its depth guards every reader of the HTML
    if nesting_limit is not None and after.deepest > nesting_limit:
        raise NotesTooDeep(line=_first_too_deep_line(notes, lecture_folder=lecture_folder,
                                                     course_folder=course_folder), depth=after.deepest)
    if clean != raw:  # something changed: name what the author lost
        before = _census(raw)
        # nh3 adds rel= to links by itself; that is not something the author lost.
        removed = sorted((before.seen - after.seen - {"rel="}) | images.dropped)
    text = ""
    if with_text:
        text = " ".join(" ".join(after.text).split())
    clean = _below_the_page_title(clean)
    return RenderedNotes(html=clean, images=tuple(sorted(images.images.items())), removed=tuple(removed),
                         text=text, nesting=after.deepest,
                         references=_reference_lines(notes, images.referenced))


# --------------------------------------------------------------------------------------------
# Rendered once, handed forward
# --------------------------------------------------------------------------------------------

#: The kind under which the check hands each lecture's rendered notes to the later stages
#: (:class:`weike.builder.contracts.context.Made`), by ``Lecture.key``.
NOTES_MADE = "notes"


@dataclass(frozen=True, kw_only=True)
class _MadeNotes:
    """Rendered notes with what they were rendered from (a stale course's last good version
    shares its lectures' keys with the current one, and must not get the current notes)."""

    source: tuple[str, Path | None, Path | None]
    rendered: RenderedNotes


def keep_rendered_notes(made, lecture, *, course_folder: Path, rendered: RenderedNotes) -> None:
    """Hand ``rendered`` (with its plain text) forward as the notes of ``lecture``."""
    made.add(NOTES_MADE, lecture.key, _MadeNotes(source=(lecture.notes, lecture.folder, course_folder),
                                                 rendered=rendered))


def lecture_notes(lecture, *, course_folder: Path, made=None, with_text: bool = False) -> RenderedNotes:
    """The lecture's notes as sanitised HTML: as the check rendered them when ``made`` holds them
    for this very text and folder, else rendered now (``weike serve``'s preview, a stale course's
    last good version). Raises :class:`NotesTooDeep` as :func:`render_notes` does."""
    kept = made.get(NOTES_MADE, lecture.key) if made is not None else None
    if isinstance(kept, _MadeNotes) and kept.source == (lecture.notes, lecture.folder, course_folder):
        return kept.rendered if with_text else dataclasses.replace(kept.rendered, text="")
    return render_notes(lecture.notes, lecture_folder=lecture.folder, course_folder=course_folder,
                        with_text=with_text)
