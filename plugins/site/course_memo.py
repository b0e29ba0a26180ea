"""What the site makes from one course, remembered between builds: its pages, its files, its search
entries and its warnings (:class:`CourseMade`), so an edit costs the edited course's pages and not
the catalogue's.

Each course's value is kept under the course's key (:func:`course_key`): a hash of everything its
pages, files and entries are made from: the course as loaded (every field, the notes' text
included), its cover thumbnail's source bytes, the delivered media and 省流量 renditions of its
lectures, the notes' pictures (size, time, inode, change time), the catalogue-wide facts its
course page shows (its public address, hence its QR code; the learning centres that run it),
whether the notes join the search index, and the code and packages that make them. When the
check handed on its key of the course (``BuildContext.course_keys``: the identity of every entry
below the course folder, the folder's place, and everything outside it loading depends on), that
key stands for the course as loaded and its notes' pictures, so no course is hashed and no lecture
folder listed again (:func:`checked_course_key`). A course whose key differs is made again; a damaged or unreadable memo file is no memo (made again,
never an error). Files are data, never code (the cache may be shared: nothing in it is executed),
one file per course so an edit rewrites one course's file, ``<hash of slug>.json``: its first line
the summary (JSON: digests, files, entries, warnings: the only line read every build), its second
the pages' paths, metadata and sizes (JSON), then their HTML as UTF-8, unescaped (read only when a
page must be rendered again, e.g. after a theme change or when its published file was defaced, or
by the process that renders a page a worker made; each page read back must have the digest the
summary gives it). One file, not a summary and a pages file: a cold build creates a file per
course, and creating one (its inode) is most of what remembering a course costs. A course's file
is replaced whole (a temporary file renamed into place); a new one, a cold build's, is written in
place: a file a killed build cut short has no summary (no JSON) or pages without their digests,
no memo either way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weike.builder.contracts.diagnostics import diagnostic_dict, diagnostic_from_dict
from weike.builder.contracts.model import DeliveredMedia, Diagnostic
from weike.builder.keeping import outputs
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.plugins.notes import note_pictures
from weike.plugins.site.catalogue import Catalogue, SiteCourse
from weike.plugins.site.centres import SiteCentre, centre_links, centres_of_courses
from weike.plugins.site.covers import Thumbnail
from weike.plugins.site.pages import GeneratedPage

#: The memo's layout; files of another layout are not read (the course is made again).
MEMO_FORMAT = 4
#: The memo's folder, in the site build's work folder.
MEMO_FOLDER = "course-memo"


def content_digest(rel: str, page: GeneratedPage) -> str:
    """What a page is, in one digest: its path, metadata and body."""
    return body_digest(rel, page.meta, page.html.encode("utf-8"))


def body_digest(rel: str, meta: Mapping[str, object], body: bytes) -> str:
    """:func:`content_digest` of the page ``rel`` with ``meta`` and the UTF-8 ``body``: its path and
    metadata, then the body's own bytes (no repr of a page's HTML to make first; a repr holds no
    NUL, so where the body begins is unambiguous)."""
    digest = hashlib.sha256(repr(("page", rel, sorted(meta.items()))).encode("utf-8"))
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def delivered_key(media: DeliveredMedia | None) -> object:
    """A lecture's delivered media as a course key holds it: its ``digest`` (its fields and its
    files' identities, given by the media stage) where it has one, else the value itself (its
    repr, which formats every field: most of a catalogue's keys' time)."""
    if media is not None and media.digest:
        return ("digest", media.digest)
    return media


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns


def course_key(item: SiteCourse, *, cover_sha256: str, delivered: Mapping[str, DeliveredMedia],
               course_url: str | None, centres: Sequence[tuple[str, str]], notes_text: bool) -> str:
    """The hash of everything the site makes from ``item`` (see the module's docstring)."""
    fingerprint = Fingerprint(
        "course-site", MEMO_FORMAT, item.course, cover_sha256, item.cover_size, course_url, tuple(centres),
        notes_text,
        package_versions("jieba", "nh3", "qrcode", "markdown", "pillow"),
        code_digest("weike.plugins.site", "weike.plugins.notes", "weike.plugins.pictures"))
    for lecture in item.lectures:
        fingerprint.add(delivered_key(delivered.get(lecture.lecture.key)), lecture.saver_file, lecture.saver_size)
        try:
            pictures = note_pictures(lecture.lecture.folder)
        except OSError:
            pictures = None  # a folder gone since loading: counts as such
        fingerprint.add([(str(picture), _identity(picture)) for picture in pictures or ()])
    return fingerprint.hexdigest()


def checked_course_key(check_key: str, inputs: tuple) -> str:
    """The key of a course the check handed on its key for: that key (the course as loaded, every
    file of its folder: its notes' pictures among them) with the site's other ``inputs`` (cover,
    address, centres, notes in search, each published lecture's delivered media and rendition)."""
    return Fingerprint(
        "course-site", MEMO_FORMAT, "checked", check_key, inputs,
        package_versions("jieba", "nh3", "qrcode", "markdown", "pillow"),
        code_digest("weike.plugins.site", "weike.plugins.notes", "weike.plugins.pictures")).hexdigest()


def entries_key(inputs: Sequence[tuple]) -> str:
    """What a course's search entries are made from, in one digest (``inputs``:
    :func:`~weike.plugins.site.search.course_entry_inputs`): an edit that leaves them alone (a
    notes' body outside the index, a video) finds the entries in the course's memo, no jieba run."""
    return Fingerprint("course-entries", MEMO_FORMAT, inputs, package_versions("jieba"),
                       code_digest("weike.plugins.site")).hexdigest()


def course_keys(catalogue: Catalogue, thumbnails: Mapping[str, Thumbnail], delivered: Mapping[str, DeliveredMedia],
                *, centres: Sequence[SiteCentre], notes_text: bool, kept: KeptCourses | None = None,
                check_keys: Mapping[str, str] | None = None) -> dict[str, str]:
    """The key of every course of ``catalogue``, by slug: :func:`checked_course_key` where
    ``check_keys`` (the check's, by slug) has the course, else :func:`course_key` (from ``kept``
    where the course is the very object it was last computed for, with the same other inputs)."""
    centres_of_course = centres_of_courses(centres)
    keys = {}
    for item in catalogue.courses:
        links = centre_links(centres_of_course.get(item.slug, ()))
        inputs = (thumbnails[item.slug].source_sha256, item.cover_size, catalogue.absolute(item.url), tuple(links),
                  notes_text, tuple((lecture.lecture.key, delivered_key(delivered.get(lecture.lecture.key)),
                                     lecture.saver_file, lecture.saver_size) for lecture in item.lectures))
        check_key = check_keys.get(item.slug) if check_keys is not None else None
        if check_key is not None:
            keys[item.slug] = checked_course_key(check_key, inputs)
            continue
        earlier = kept.keys.get(item.slug) if kept is not None else None
        if earlier is not None and earlier[0] is item.course and earlier[1] == inputs:
            keys[item.slug] = earlier[2]
            continue
        keys[item.slug] = course_key(item, cover_sha256=inputs[0], delivered=delivered, course_url=inputs[2],
                                     centres=links, notes_text=notes_text)
        if kept is not None:
            kept.keys[item.slug] = (item.course, inputs, keys[item.slug])
    if kept is not None:
        kept.keys = {slug: kept.keys[slug] for slug in keys if slug in kept.keys}
    return keys


@dataclass(kw_only=True)
class KeptCourses:
    """What a long-running process (``weike serve``) keeps between its site builds, so a save costs
    the saved course, not a read of every course's memo file and a hash of every course.

    A course's key is kept with the very :class:`~weike.builder.contracts.model.Course` object it
    was computed for: the process must hand over a new object whenever anything below the course's
    folder changed (its notes' pictures among them), as
    :class:`~weike.builder.running.reloading.CourseReloader` does; the other inputs are compared.
    """

    #: Slug -> (the course object, the key's other inputs, the key).
    keys: dict[str, tuple[object, tuple, str]] = field(default_factory=dict)
    #: Slug -> (key, what the site made from it), as the memo files hold them.
    made: dict[str, tuple[str, CourseMade]] = field(default_factory=dict)


@dataclass(kw_only=True)
class CourseMade:
    """What the site made from one course."""

    #: Docs-relative path -> :func:`content_digest` of each page.
    digests: dict[str, str] = field(default_factory=dict)
    #: Docs-relative path -> source of each file (the notes' pictures as published).
    files: dict[str, Path] = field(default_factory=dict)
    #: The course's and its lectures' search entries (:func:`~weike.plugins.site.search.course_entries`).
    search: list[dict] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The course's part of ``catalogue.json`` (:func:`~weike.plugins.site.catalogue.catalogue_entry`).
    catalogue: str = ""
    #: :func:`entries_key` of what the search entries were made from.
    search_key: str = ""

    def as_dict(self) -> dict:
        """As JSON holds it (the memo's summary file, a worker process's answer)."""
        return {"digests": self.digests, "files": {rel: str(path) for rel, path in self.files.items()},
                "search": self.search, "search_key": self.search_key, "catalogue": self.catalogue,
                "diagnostics": [diagnostic_dict(d) for d in self.diagnostics]}

    @classmethod
    def from_dict(cls, data: Mapping) -> CourseMade:
        """What :meth:`as_dict` gave; raises ``KeyError``, ``TypeError``, ``ValueError`` or
        ``AttributeError`` on anything else."""
        return cls(digests=dict(data["digests"]), files={rel: Path(path) for rel, path in data["files"].items()},
                   search=list(data["search"]), catalogue=str(data["catalogue"]),
                   search_key=str(data.get("search_key", "")),
                   diagnostics=[diagnostic_from_dict(d) for d in data["diagnostics"]])


class RememberedPage:
    """A page made by an earlier build, its metadata and body read from the memo only if asked for
    (when the page is rendered again)."""

    def __init__(self, memo: CourseMemo, slug: str, rel: str) -> None:
        self._memo, self.slug, self._rel = memo, slug, rel

    def _page(self) -> GeneratedPage:
        return self._memo.pages(self.slug)[self._rel]

    @property
    def meta(self) -> Mapping[str, object]:
        return self._page().meta

    @property
    def html(self) -> str:
        return self._page().html


class MemoMissing(Exception):
    """A course's remembered pages are gone or damaged since the build found its memo (made again)."""


class CourseMemo:
    """Per-course memo files in ``folder``; :meth:`get` and :meth:`put` by course slug and key.

    ``made`` lists the courses whose pages were made (not remembered) by this build. With ``read``
    false (``weike build --force``) nothing is remembered from earlier builds; what is made is kept.
    """

    def __init__(self, folder: Path, *, read: bool = True, kept: KeptCourses | None = None) -> None:
        self.folder = folder
        self.read = read
        #: What this process already read or wrote, given back without reading the file again.
        self.kept = kept
        self._keys: dict[str, str] = {}
        #: The digests of the pages of each course found or put elsewhere (what a page read back must be).
        self._digests: dict[str, Mapping[str, str]] = {}
        self._pages: dict[str, dict[str, GeneratedPage]] = {}
        self.made: list[str] = []
        self._folder_made = False

    def _file(self, slug: str) -> Path:
        return self.folder / (hashlib.sha256(slug.encode("utf-8")).hexdigest()[:32] + ".json")

    def _summary(self, slug: str) -> dict:
        """The first line of the course's file, the summary (raises ``OSError`` or ``ValueError``)."""
        with open(self._file(slug), "rb") as handle:
            line = handle.readline()
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("no summary")
        return data

    def get(self, slug: str, key: str) -> CourseMade | None:
        """What the site made from the course ``slug`` with ``key``, or None (never remembered, another
        key, a file damaged, or a file it names gone)."""
        if not self.read:
            return None
        earlier = self.kept.made.get(slug) if self.kept is not None else None
        made = earlier[1] if earlier is not None and earlier[0] == key else self._read(slug, key)
        if made is None:
            return None
        if not all(path.is_file() for path in made.files.values()):
            return None  # a published picture pruned from the cache: made again
        if self.kept is not None:
            self.kept.made[slug] = (key, made)
        self._keys[slug] = key
        self._digests[slug] = made.digests
        return made

    def _read(self, slug: str, key: str) -> CourseMade | None:
        try:
            data = self._summary(slug)
            if data.get("format") != MEMO_FORMAT or data.get("key") != key or data.get("slug") != slug:
                return None
            made = CourseMade.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not all(isinstance(digest, str) for digest in made.digests.values()):
            return None
        return made

    def entries(self, slug: str, search_key: str) -> list[dict] | None:
        """The search entries the memo of ``slug`` holds (whatever the course's key) when they were
        made from inputs with ``search_key``; else None."""
        if not self.read or not search_key:
            return None
        earlier = self.kept.made.get(slug) if self.kept is not None else None
        if earlier is not None and earlier[1].search_key == search_key:
            return earlier[1].search
        try:
            data = self._summary(slug)
            if data.get("format") != MEMO_FORMAT or data.get("slug") != slug or data.get("search_key") != search_key:
                return None
            search = data["search"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return search if isinstance(search, list) and all(isinstance(entry, dict) for entry in search) else None

    def pages(self, slug: str) -> dict[str, GeneratedPage]:
        """The remembered pages of ``slug`` (found by :meth:`get`); raises :class:`MemoMissing`.

        Each page read back must have the digest the course's summary gives it: a file cut short,
        or its blocks zeroed by a power cut, is no memo.
        """
        if slug not in self._pages:
            try:
                data = self._file(slug).read_bytes()
                start = data.index(b"\n") + 1  # (after the summary)
                end = data.index(b"\n", start)
                header = json.loads(data[start:end])
                if header.get("format") != MEMO_FORMAT or header.get("key") != self._keys.get(slug):
                    raise ValueError("another key")
                digests = self._digests[slug]
                pages, position = {}, end + 1
                for rel, meta, size in header["pages"]:
                    body = data[position:position + size]
                    position += size
                    if body_digest(rel, meta, body) != digests.get(rel):
                        raise ValueError(f"{rel} is not the page remembered")
                    pages[rel] = GeneratedPage(meta=meta, html=body.decode("utf-8"))
                if position != len(data):
                    raise ValueError("more than the pages")
                self._pages[slug] = pages
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                self.forget(slug)
                raise MemoMissing(slug) from exc
        return self._pages[slug]

    def put(self, slug: str, key: str, pages: Mapping[str, GeneratedPage], made: CourseMade, *,
            bodies: Mapping[str, bytes] | None = None) -> bool:
        """Remember what the site made from the course ``slug`` with ``key`` (``bodies``: the pages'
        HTML as UTF-8, when the caller has it already); False when its files could not be written
        (a failed write is no memo)."""
        self.made.append(slug)
        if bodies is None:
            bodies = {rel: page.html.encode("utf-8") for rel, page in pages.items()}
        # The pages' metadata and sizes on the first line, then their bodies as they are: no JSON
        # escaping of every page's HTML to write it, nor to read it back.
        header = {"format": MEMO_FORMAT, "key": key,
                  "pages": [[rel, dict(page.meta), len(bodies[rel])] for rel, page in pages.items()]}
        summary = {"format": MEMO_FORMAT, "key": key, "slug": slug, **made.as_dict()}
        try:
            # No fsync (a second per 1,000 files of a cold build): a summary a power cut leaves
            # empty or cut short is no JSON, pages cut short or zeroed do not have their digests:
            # no memo either way. (Compact JSON holds no line break: each part is one line.)
            self._write(self._file(slug), b"".join([
                json.dumps(summary, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), b"\n",
                json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), b"\n",
                *(bodies[rel] for rel in pages)]))
        except (OSError, TypeError, ValueError):
            self.forget(slug)
            return False
        if self.kept is not None:
            self.kept.made[slug] = (key, made)
        return True

    def put_elsewhere(self, slug: str, key: str, made: CourseMade) -> None:
        """What a worker process made of the course ``slug`` with ``key`` and remembered (its
        :meth:`put` wrote the files): known here as if this process had put it, so its pages are
        read from the files when asked for (:meth:`pages`)."""
        self.made.append(slug)
        self._keys[slug] = key
        self._digests[slug] = made.digests
        if self.kept is not None:
            self.kept.made[slug] = (key, made)

    def _write(self, path: Path, data: bytes) -> None:
        """``data`` in a new file at ``path`` (a cold build's: no file there to keep whole, and one
        cut short is no memo), else in a temporary file beside it renamed into place (a reader
        never sees a memo half replaced), as :func:`~weike.builder.keeping.outputs.write_atomic`
        without a sync: the folder made once per memo, not for every file, no comparison with the
        file there (a course made again has another key), and nothing left to remove when the
        rename succeeded."""
        if not self._folder_made:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        try:
            handle = open(path, "xb")
        except FileExistsError:
            pass
        else:
            try:
                with handle:
                    handle.write(data)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return
        temp = outputs.temp_beside(path)
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def forget(self, slug: str) -> None:
        """Remove the memo of ``slug`` (its next build makes it again)."""
        self._pages.pop(slug, None)
        if self.kept is not None:
            self.kept.made.pop(slug, None)
        try:
            self._file(slug).unlink(missing_ok=True)
        except OSError:
            pass

    def keep_only(self, slugs: Iterable[str]) -> None:
        """Remove the memo files of courses other than ``slugs`` (deleted, or no longer published)."""
        slugs = set(slugs)
        if self.kept is not None:
            self.kept.made = {slug: made for slug, made in self.kept.made.items() if slug in slugs}
        wanted = {self._file(slug).name for slug in slugs}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if entry.name not in wanted and entry.name.endswith(".json"):
                        Path(entry.path).unlink(missing_ok=True)
        except OSError:
            return
