"""What the last media stage delivered for each lecture, and from what (``cache/media-delivered.pickle``).

At catalogue scale, planning, verifying and placing 12,000 unchanged lectures again costs seconds
although nothing about them changed. So after each stage the ledger records, per lecture:

- ``inputs``: a digest of everything its delivery is made from: the lecture's values (its notes
  aside: they never reach the video), the course's that reach it (its slug and cover; all of
  them when title cards or the mark draw them: a title edit without cards re-plans nothing), the
  identities of its source, subtitles, picture and the cover (size, mtime_ns, inode, ctime_ns, as
  :class:`~weike.builder.keeping.memo.FileMemo` keys them), the title-card settings in force, the
  delivery profile, the encoder's version, the recipes, the media plugin's code and what the
  plugin names through ``weike_build_inputs`` (the ffmpeg binaries, the libraries);
- ``files``: the identities (size, mtime_ns, inode) of the files it delivered into ``dist/media``;

and, per course, one digest of all its lectures' inputs with the keys of its lectures (the stage
makes it from the check's key of the course folder, ``BuildContext.course_keys``, which covers
every file in it, else from the parts above of all its lectures: :func:`lectures_digest`), and the
:class:`~weike.builder.contracts.model.DeliveredMedia` the stage handed on for them, pickled (one
``bytes`` per course, kept as they are while the course is); and the identity of ``manifest.json``
as written (by this code: another weike may write the same records in other bytes), and whether
it holds exactly the lectures the ledger names. The next stage hands a whole
course forward when the course's digest is the same, and every file its lectures delivered is
still the one recorded (one stat per file: a file deleted, replaced or edited in place changes its
size, mtime or inode): its values are unpickled from the ledger, no lecture of it is digested, no
manifest record read, so an edit in one course costs that course's lectures, not the catalogue's.
A course whose digest changed is looked at lecture by lecture: a lecture is handed forward, without
planning, verifying or placing it, only when its inputs digest is the same, every file it
delivered is still the one recorded, and the manifest is the one written then.
Anything else (an edited source, a delivered file replaced or edited in place, a manifest touched
by hand, ``--force``, a damaged or missing ledger) takes the full path: planned, checked against the
content store, placed, verified as before. What is delivered therefore stays what was verified.

The lectures' records are pickled apart, inside it, and written again as they were read while
none of them changed (an edit elsewhere than in the media: a course's digest changes, its lectures'
records stay). The ledger is a pickle read by the course memo's unpickler, which rebuilds weike's dataclasses,
paths and plain values and nothing else (reading it runs no code); the values are trusted only
under the same media code and the same fields of ``DeliveredMedia`` and ``MediaInfo``.
"""

from __future__ import annotations

import copyreg
import dataclasses
import functools
import hashlib
import io
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from weike.builder.contracts.model import Course, DeliveredMedia, Lecture, MediaInfo
from weike.builder.keeping.course_memo import _DISPATCH, _values_only
from weike.builder.keeping.fingerprint import Fingerprint, code_digest
from weike.builder.keeping.outputs import remove_temps, write_atomic

#: In the cache folder, beside the media memo.
LEDGER_FILE = "media-delivered.pickle"
#: What earlier weikes called it (JSON, without the values): removed when this one is written.
_EARLIER_FILE = "media-delivered.json"
LEDGER_FORMAT = 4

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
    """The setup, the course's values its deliveries read, its cover file and its title-card settings.

    Without title cards and the provider's mark, a delivery reads of the course only its slug (where
    it goes) and its cover (the still picture of pure audio): a title edited, a course's other
    values, leave its lectures alone. With either, every value but its lectures (the cards draw them)."""
    cover = course.cover.path if course.cover is not None else None
    drawn = getattr(card_settings, "enabled", True) or getattr(card_settings, "mark", True)
    values = _values(course, frozenset({"lectures"})) if drawn else ("slug", course.slug, "cover", course.cover)
    return Fingerprint(setup, values, file_identity(cover), repr(card_settings)).hexdigest()


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


def delivery_digest(media: DeliveredMedia, files: Mapping[str, object]) -> str:
    """``DeliveredMedia.digest``: the value's compared fields and its ``files``' identities (as
    the ledger records them), in one SHA-256."""
    return hashlib.sha256(repr((media, sorted(files.items()))).encode("utf-8", "surrogateescape")).hexdigest()


def _shape(kind: type) -> tuple:
    return tuple((field.name, str(field.type)) for field in dataclasses.fields(kind))


#: The values in the ledger were pickled by this code, as these classes were then (a field added,
#: removed or retyped: no value is taken back).
_VALUES_SHAPE = (_shape(DeliveredMedia), _shape(MediaInfo))


def _without_renditions(media: DeliveredMedia):
    """Pickled as its fields but its renditions (made after the stage hands its values on, and a
    read-only mapping pickle cannot hold): :func:`_course_values` gives each an empty one back."""
    state = {name: value for name, value in media.__dict__.items() if name != "renditions"}
    return copyreg.__newobj__, (type(media),), state


_VALUES_DISPATCH = {**_DISPATCH, DeliveredMedia: _without_renditions}


def _pickled_values(values: Mapping[str, DeliveredMedia]) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _VALUES_DISPATCH
    pickler.dump(dict(values))
    return buffer.getvalue()


def _course_values(data: bytes, slug: str) -> dict[str, DeliveredMedia] | None:
    """A course's pickled values (lecture key -> DeliveredMedia), None when they do not read as such."""
    try:
        values = _values_only(data)
    except Exception:  # noqa: BLE001 - whatever a damaged pickle raises, it is no entry
        return None
    if not isinstance(values, dict):
        return None
    for key, media in values.items():
        if (not isinstance(media, DeliveredMedia) or "renditions" in media.__dict__ or not media.digest
                or key != f"{slug}/{media.lecture_slug}" or media.course_slug != slug):
            return None
        object.__setattr__(media, "renditions", MappingProxyType({}))
    return values


class DeliveryLedger:
    """The ledger of one cache folder; loads fail safe (no ledger = every lecture takes the full path)."""

    def __init__(self, cache: Path, media_root: Path) -> None:
        self.path = Path(cache) / LEDGER_FILE
        self.media_root = Path(media_root)
        self._root = os.fspath(self.media_root)
        self._lectures: dict[str, dict] = {}
        self._courses: dict[str, dict] = {}
        self._values: dict[str, bytes] = {}
        self._manifest: list | None = None
        self._complete = False
        #: The lectures' records as pickled in the file: written again as they are while no
        #: lecture's record changed (an edit's stage: 12,000 records pickled for nothing).
        self._lectures_data: bytes | None = None
        try:
            data = _values_only(self.path.read_bytes())
            lectures = _values_only(data["lectures"]) if isinstance(data, dict) and isinstance(
                data.get("lectures"), bytes) else None
            if (isinstance(data, dict) and data.get("format") == LEDGER_FORMAT
                    and isinstance(lectures, dict) and isinstance(data.get("courses"), dict)
                    and isinstance(data.get("values"), dict)):
                self._lectures, self._courses = lectures, data["courses"]
                self._lectures_data = data["lectures"]
                # A manifest written by other code may hold the same records in other bytes, and
                # values pickled by other code may not be what this one would hand on.
                if data.get("code") == code_digest(__name__) and data.get("shape") == _VALUES_SHAPE:
                    self._manifest = data.get("manifest")
                    self._values = data["values"]
                    self._complete = data.get("complete") is True
        except Exception:  # noqa: BLE001 - a damaged, torn or foreign ledger is no ledger
            pass
        self._now: dict[str, dict] = {}
        self._now_courses: dict[str, dict] = {}
        #: Courses whose pickled values stay as they are; values of the others, by course.
        self._kept_values: set[str] = set()
        self._now_values: dict[str, dict[str, DeliveredMedia]] = {}
        self._forgotten = False
        #: How many courses' values were unpickled (for tests and benchmarks: the work must follow the change).
        self.recalled = 0

    def trusts(self, manifest: Path) -> bool:
        """Whether ``manifest`` is the file the last stage wrote, with this code (so its records are
        what was delivered, in the bytes this code writes)."""
        return self._manifest is not None and output_identity(manifest) == self._manifest

    def names_every_record(self) -> bool:
        """Whether the manifest as written held the records of the ledger's lectures and no other."""
        return self._complete

    def recorded_lectures(self) -> set[str]:
        """The keys of every lecture the ledger names."""
        return set(self._lectures)

    def noted_lectures(self) -> set[str]:
        """The keys of every lecture delivered or kept by this stage so far."""
        return set(self._now)

    def same_inputs(self, key: str, inputs: str | None) -> bool:
        """The lecture's inputs digest is the one recorded."""
        entry = self._lectures.get(key)
        return inputs is not None and isinstance(entry, dict) and entry.get("inputs") == inputs

    def _files_unchanged(self, entry: object) -> bool:
        """Every file the lecture's ``entry`` recorded is still there as it was (one stat each, on
        a string path: at catalogue scale a Path per file is measurable). The names are the
        manifest record's: the ledger wrote them from it, and is trusted only with that manifest."""
        if not isinstance(entry, dict) or not isinstance(files := entry.get("files"), dict) or not files:
            return False
        root = self._root
        for name, identity in files.items():
            if output_identity(f"{root}/{name}") != identity:
                return False
        return True

    def unchanged(self, key: str, inputs: str | None) -> bool:
        """The lecture's inputs are as recorded, and so is every file it delivered."""
        entry = self._lectures.get(key)
        return isinstance(entry, dict) and entry.get("inputs") == inputs and self._files_unchanged(entry)

    def course_unchanged(self, slug: str, inputs: str, keys: list[str]) -> bool:
        """The course's lectures are ``keys`` and their inputs ``inputs``, as recorded, and every
        file they delivered is still the one recorded."""
        entry = self._courses.get(slug)
        if not isinstance(entry, dict) or entry.get("inputs") != inputs or entry.get("lectures") != keys:
            return False
        return all(self._files_unchanged(self._lectures.get(key)) for key in keys)

    def recall(self, slug: str, keys: Iterable[str]) -> dict[str, DeliveredMedia] | None:
        """What the stage handed on for the lectures ``keys`` of course ``slug`` when it recorded
        them (renditions aside), or None when the ledger does not hold them all."""
        data = self._values.get(slug)
        values = _course_values(data, slug) if isinstance(data, bytes) else None
        self.recalled += 1
        if values is None or not all(key in values for key in keys):
            return None
        return values

    def keep_course(self, slug: str, keys: list[str]) -> None:
        """The course and all its lectures stay as recorded (their values too)."""
        self._now_courses[slug] = self._courses[slug]
        for key in keys:
            self._now[key] = self._lectures[key]
        self._kept_values.add(slug)

    def note_course(self, slug: str, inputs: str, keys: list[str]) -> None:
        """The course's lectures ``keys`` were all delivered now or kept: remember them as one."""
        if all(key in self._now for key in keys):
            self._now_courses[slug] = {"inputs": inputs, "lectures": keys}

    def cards(self, key: str) -> bool:
        """Whether the lecture recorded as unchanged was delivered with title cards."""
        return bool(self._lectures.get(key, {}).get("cards"))

    def keep(self, key: str, media: DeliveredMedia) -> None:
        """The lecture stays as recorded, handed on as ``media`` (given its digest, when it has none:
        a value made from its manifest record)."""
        self._now[key] = entry = self._lectures[key]
        if not media.digest:
            object.__setattr__(media, "digest", delivery_digest(media, entry["files"]))
        self._now_values.setdefault(media.course_slug, {})[key] = media

    def note(self, key: str, inputs: str, record: dict, media: DeliveredMedia, *, cards: bool) -> None:
        """The lecture was placed now as ``media``: remember its inputs and the files of its ``record``."""
        files = {name: output_identity(self.media_root / name) for name in record_files(record)}
        if all(identity is not None for identity in files.values()):
            self._now[key] = {"inputs": inputs, "files": files, "cards": cards}
            object.__setattr__(media, "digest", delivery_digest(media, files))
            self._now_values.setdefault(media.course_slug, {})[key] = media

    def save(self, manifest: Path, *, complete: bool) -> None:
        """Write this stage's ledger (only what was delivered now), naming ``manifest`` as written;
        ``complete``: it holds the records of this ledger's lectures and no other.

        The ledger only saves time: a cache that cannot take it costs the next build its shortcut."""
        identity = output_identity(manifest)
        if (not self._forgotten and identity == self._manifest and self._now == self._lectures
                and self._now_courses == self._courses and complete == self._complete
                and not self._now_values and self._kept_values == set(self._values)):
            return  # every lecture as recorded, the manifest too: the file on disk says it already
        values = {slug: self._values[slug] for slug in self._kept_values}
        for slug, handed in self._now_values.items():
            values[slug] = _pickled_values({key: media for key, media in handed.items() if key in self._now})
        lectures = (self._lectures_data if self._lectures_data is not None and self._now == self._lectures
                    else pickle.dumps(dict(sorted(self._now.items())), protocol=pickle.HIGHEST_PROTOCOL))
        payload = {"format": LEDGER_FORMAT, "code": code_digest(__name__), "shape": _VALUES_SHAPE,
                   "manifest": identity, "complete": complete,
                   "courses": dict(sorted(self._now_courses.items())),
                   "lectures": lectures, "values": dict(sorted(values.items()))}
        try:
            remove_temps(self.path.parent)
            write_atomic(self.path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
            (self.path.parent / _EARLIER_FILE).unlink(missing_ok=True)
        except OSError:
            self.forget()

    def forget(self) -> None:
        self._forgotten = True
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
