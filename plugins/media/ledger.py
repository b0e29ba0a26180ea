"""What the last media stage delivered for each lecture, and from what (``cache/media-delivered.json``).

At catalogue scale, planning, verifying and placing 12,000 unchanged lectures again costs seconds
although nothing about them changed. So after each stage the ledger records, per lecture:

- ``inputs``: a digest of everything its delivery is made from: the lecture's values (its notes
  aside: they never reach the video), the course's (title cards, the mark, the cover), the
  identities of its source, subtitles, picture and the cover (size, mtime_ns, inode, ctime_ns, as
  :class:`~weike.builder.keeping.memo.FileMemo` keys them), the title-card settings in force, the
  delivery profile, the encoder's version, the recipes, the media plugin's code and what the
  plugin names through ``weike_build_inputs`` (the ffmpeg binaries, the libraries);
- ``files``: the identities (size, mtime_ns, inode) of the files it delivered into ``dist/media``;

and, per course, one digest of all its lectures' inputs with the keys of its lectures (the stage
makes it from the check's key of the course folder, ``BuildContext.course_keys``, which covers
every file in it, else from the parts above of all its lectures: :func:`lectures_digest`); and
the identity of ``manifest.json`` as written (by this code: another weike may write the same
records in other bytes). The next stage hands a whole
course forward from its manifest records when the course's digest is the same, and every file its
lectures delivered is still the one recorded: no lecture of it is digested or looked up on its
own, so an edit in one course costs that course's lectures, not the catalogue's. A course
whose digest changed is looked at lecture by lecture: a lecture is handed forward, without
planning, verifying or placing it, only when its inputs digest is the same, every file it
delivered is still the one recorded, and the manifest is the one written then.
Anything else (an edited source, a delivered file replaced or edited in place, a manifest touched
by hand, ``--force``, a damaged or missing ledger) takes the full path: planned, checked against the
content store, placed, verified as before. What is delivered therefore stays what was verified.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from weike.builder.contracts.model import Course, Lecture
from weike.builder.keeping.fingerprint import Fingerprint, code_digest
from weike.builder.keeping.outputs import remove_temps, write_atomic

#: In the cache folder, beside the media memo.
LEDGER_FILE = "media-delivered.json"
LEDGER_FORMAT = 2

#: Lecture fields a delivery never reads (the notes become pages, not video).
_NOT_MEDIA_FIELDS = frozenset({"notes", "notes_line"})


def file_identity(path: Path | None) -> list[int] | None:
    """``[size, mtime_ns, inode, ctime_ns]`` of an input file, None when absent or unreadable."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def output_identity(path: Path | str) -> list[int] | None:
    """``[size, mtime_ns, inode]`` of a delivered file (its ctime moves whenever another lecture
    links the same cache entry, so it is left out, as the build stamp leaves it out)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


@functools.cache
def _compared(kind: type, skip: frozenset[str]) -> tuple[str, ...]:
    """The names of ``kind``'s compared fields, but ``skip`` (looked up once per class, not per lecture)."""
    return tuple(field.name for field in dataclasses.fields(kind) if field.compare and field.name not in skip)


def _values(item: object, skip: frozenset[str] = frozenset()) -> tuple:
    """Every compared field of a frozen model value, but ``skip``."""
    return tuple((name, getattr(item, name)) for name in _compared(type(item), skip))


def setup_digest(*, profile_fingerprint: str, encoder: str, recipes: Iterable[object], media_root: Path,
                 inputs: Iterable[Path | str]) -> str:
    """What every lecture's delivery shares: profile, encoder, recipes, code, binaries, where it goes."""
    fingerprint = Fingerprint("media-ledger", LEDGER_FORMAT, profile_fingerprint, encoder, tuple(recipes),
                              str(media_root), code_digest(__name__))
    for item in inputs:
        fingerprint.add_input(item)
    return fingerprint.hexdigest()


def course_digest(setup: str, course: Course, card_settings: object) -> str:
    """The setup, the course's values but its lectures, its cover file and its title-card settings."""
    cover = course.cover.path if course.cover is not None else None
    return Fingerprint(setup, _values(course, frozenset({"lectures"})), file_identity(cover),
                       repr(card_settings)).hexdigest()


def _lecture_parts(lecture: Lecture) -> tuple:
    """The lecture's values but its notes, and its files' identities."""
    files = (lecture.media, lecture.subtitles, lecture.image)
    return (_values(lecture, _NOT_MEDIA_FIELDS),
            tuple(file_identity(item.path if item is not None else None) for item in files))


def lecture_digest(course: str, lecture: Lecture) -> str:
    """The course's digest, the lecture's values but its notes, and its files' identities.

    One ``repr`` of them all, hashed once (the course's digest already holds weike's version, like
    every :class:`Fingerprint`)."""
    return hashlib.sha256(repr((course, *_lecture_parts(lecture))).encode("utf-8")).hexdigest()


def lectures_digest(course: str, lectures: Iterable[Lecture]) -> str:
    """The course's digest and, in order, every lecture's key and parts as :func:`lecture_digest`
    takes them: one ``repr`` and one hash for the whole course, made for every course on every build."""
    parts = (course, tuple((lecture.key, *_lecture_parts(lecture)) for lecture in lectures))
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def record_files(record: dict) -> list[str]:
    """The files of a manifest record, relative to ``dist/media``."""
    return [name for name in (record.get("file"), record.get("poster"), record.get("subtitles"),
                              record.get("subtitles_srt")) if name]


class DeliveryLedger:
    """The ledger of one cache folder; loads fail safe (no ledger = every lecture takes the full path)."""

    def __init__(self, cache: Path, media_root: Path) -> None:
        self.path = Path(cache) / LEDGER_FILE
        self.media_root = Path(media_root)
        self._root = os.fspath(self.media_root)
        self._lectures: dict[str, dict] = {}
        self._courses: dict[str, dict] = {}
        self._manifest: list | None = None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if (data.get("format") == LEDGER_FORMAT and isinstance(data.get("lectures"), dict)
                    and isinstance(data.get("courses"), dict)):
                self._lectures, self._courses = data["lectures"], data["courses"]
                # A manifest written by other code may hold the same records in other bytes.
                self._manifest = data.get("manifest") if data.get("code") == code_digest(__name__) else None
        except (OSError, ValueError, AttributeError):
            pass
        self._now: dict[str, dict] = {}
        self._now_courses: dict[str, dict] = {}
        self._forgotten = False

    def trusts(self, manifest: Path) -> bool:
        """Whether ``manifest`` is the file the last stage wrote, with this code (so its records are
        what was delivered, in the bytes this code writes)."""
        return self._manifest is not None and output_identity(manifest) == self._manifest

    def same_inputs(self, key: str, inputs: str | None) -> bool:
        """The lecture's inputs digest is the one recorded."""
        entry = self._lectures.get(key)
        return inputs is not None and isinstance(entry, dict) and entry.get("inputs") == inputs

    def unchanged(self, key: str, inputs: str | None, record: object) -> bool:
        """The lecture's inputs are as recorded, and so is every file its manifest ``record`` names."""
        entry = self._lectures.get(key)
        if not isinstance(entry, dict) or entry.get("inputs") != inputs or not isinstance(record, dict):
            return False
        files = entry.get("files")
        names = record_files(record)
        if not isinstance(files, dict) or len(files) != len(names) or not all(name in files for name in names):
            return False
        # One stat per file, on a string path: at catalogue scale a Path per file is measurable.
        return all(output_identity(f"{self._root}/{name}") == files[name] for name in names)

    def course_unchanged(self, slug: str, inputs: str, keys: list[str], records: dict) -> bool:
        """The course's lectures are ``keys`` and their inputs ``inputs``, as recorded, and every
        file their manifest ``records`` name is still the one each delivered."""
        entry = self._courses.get(slug)
        if not isinstance(entry, dict) or entry.get("inputs") != inputs or entry.get("lectures") != keys:
            return False
        root = self._root
        for key in keys:
            lecture, record = self._lectures.get(key), records.get(key)
            if not isinstance(lecture, dict) or not isinstance(record, dict):
                return False
            files, names = lecture.get("files"), record_files(record)
            if not isinstance(files, dict) or len(files) != len(names):
                return False
            for name in names:
                if files.get(name) != output_identity(f"{root}/{name}"):
                    return False
        return True

    def keep_course(self, slug: str, keys: list[str]) -> None:
        """The course and all its lectures stay as recorded."""
        self._now_courses[slug] = self._courses[slug]
        for key in keys:
            self._now[key] = self._lectures[key]

    def note_course(self, slug: str, inputs: str, keys: list[str]) -> None:
        """The course's lectures ``keys`` were all delivered now or kept: remember them as one."""
        if all(key in self._now for key in keys):
            self._now_courses[slug] = {"inputs": inputs, "lectures": keys}

    def cards(self, key: str) -> bool:
        """Whether the lecture recorded as unchanged was delivered with title cards."""
        return bool(self._lectures.get(key, {}).get("cards"))

    def keep(self, key: str) -> None:
        """The lecture stays as recorded."""
        self._now[key] = self._lectures[key]

    def note(self, key: str, inputs: str, record: dict, *, cards: bool) -> None:
        """The lecture was placed now: remember its inputs and the files of its ``record``."""
        files = {name: output_identity(self.media_root / name) for name in record_files(record)}
        if all(identity is not None for identity in files.values()):
            self._now[key] = {"inputs": inputs, "files": files, "cards": cards}

    def save(self, manifest: Path) -> None:
        """Write this stage's ledger (only what was delivered now), naming ``manifest`` as written.

        The ledger only saves time: a cache that cannot take it costs the next build its shortcut."""
        identity = output_identity(manifest)
        if (not self._forgotten and identity == self._manifest and self._now == self._lectures
                and self._now_courses == self._courses):
            return  # every lecture as recorded, the manifest too: the file on disk says it already
        payload = {"format": LEDGER_FORMAT, "code": code_digest(__name__), "manifest": identity,
                   "courses": dict(sorted(self._now_courses.items())),
                   "lectures": dict(sorted(self._now.items()))}
        try:
            remove_temps(self.path.parent)
            write_atomic(self.path, json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        except OSError:
            self.forget()

    def forget(self) -> None:
        self._forgotten = True
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
