"""The last good version of every published course, so that an error never publishes less.

After a build publishes a course (it passed every stage that ran), weike keeps what was
published for it in the cache, ``published/<slug>/``: the loaded :class:`~weike.builder.contracts.model.Course`
and its :class:`~weike.builder.contracts.model.DeliveredMedia`, as JSON, beside hard links to the delivered
videos and posters (the cache entries' bytes, so no second copy on disk and safe from
``weike cache prune``) and copies of the cover and the subtitles. When the course fails a later
build (a typo, a broken file, a stage's error), the site, bundle and report stages are given that
version in its place, so the catalogue, the summary table and the upload bundles keep it, and
the build names the course as stale (W304).

Two things are never taken from the snapshot:

* consent (``rights``): a course stands in with the rights its ``course.yml`` gives now. When that
  file cannot be read at all (a YAML error, deleted, not UTF-8), no right can be confirmed: the
  stand-in carries none, so the site keeps it but its national bundles and its row in the summary
  table go (E501). A withdrawal is also recorded beside the snapshot (``rights.json``) and read
  back with it, so no snapshot ever claims a right withdrawn since; the record goes when the rights
  are granted again in a ``course.yml`` that parses;
* a course whose folder is gone: it is not published any more.

``weike build --drop-stale`` (or ``drop_stale: true`` in weike.yml) drops failing courses on
purpose instead (and forgets their snapshots).

Recording costs what changed: ``published/index.json`` names, for each course, the key it was last
recorded under (the check's course memo key, which covers every file of the course folder,
weike.yml and the code, with the delivered media's values) and the snapshot that holds it. A
course whose key is the same and whose snapshot is still in place is not looked at again (no
model formatted, no delivered file stat'ed: one look at its snapshot). A course without such a key (its
folder holds a symbolic link), a damaged or missing index, or a snapshot gone from under it is
recorded the long way, which compares the snapshot itself.

JSON, not pickle: the cache may be shared (CI caches, a cluster's share), and reading it must
never run code. Only the model's own dataclasses and a few plain types are rebuilt.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from weike.builder.contracts import model
from weike.builder.contracts.model import RIGHTS_KEYS, Course, DeliveredMedia, Diagnostic, Rights, SourceLocation
from weike.builder.keeping.fingerprint import Fingerprint
from weike.builder.keeping.outputs import remove_temps, write_atomic
from weike.builder.repository.loading import COURSES_DIR

#: Folder under the cache.
PUBLISHED_FOLDER = "published"
#: In ``published/<slug>/``: names the version folder that is current (written atomically).
CURRENT_FILE = "current"
SNAPSHOT_FILE = "course.json"
#: In ``published/<slug>/``: the rights last read from a ``course.yml`` that parsed, while they
#: withdraw something (see :meth:`PublishedCourses.note_rights`).
RIGHTS_FILE = "rights.json"
#: In ``published/``: slug -> [the key a course was last recorded under, its snapshot's version].
#: No course is named so (a course's folder name has no dot).
INDEX_FILE = "index.json"
SNAPSHOT_FORMAT = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublishedCourse:
    """A course as it was last published: its value and its delivered media (files in the cache)."""

    course: Course
    #: Lecture key -> delivered media, for every lecture of ``course``.
    delivered: Mapping[str, DeliveredMedia]
    #: When it was published (UTC, ISO 8601), for the stale warning.
    published_at: str


# --------------------------------------------------------------------------------------------
# The model as JSON (no code runs when it is read back)
# --------------------------------------------------------------------------------------------

_CLASSES = {name: value for name, value in vars(model).items()
            if isinstance(value, type) and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum))
            and value.__module__ == model.__name__}


def encode(value: object) -> object:
    """A JSON-ready form of a model value (dataclasses, paths, dates, tuples, mappings)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "value": value.value}
    if isinstance(value, Path):
        return {"$path": str(value)}
    if isinstance(value, _dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, _dt.date):
        return {"$date": value.isoformat()}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _CLASSES:
        # The fields its constructor takes (one it does not, such as a value's digest, is made anew).
        return {"$class": type(value).__name__,
                "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}}
    if isinstance(value, tuple):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, frozenset):
        return {"$frozenset": sorted(encode(item) for item in value)}
    if isinstance(value, Mapping):
        return {"$map": [[encode(key), encode(item)] for key, item in value.items()]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    raise TypeError(f"cannot keep a {type(value).__name__} in a published-course snapshot")


def decode(value: object) -> object:
    """The inverse of :func:`encode`; raises ValueError/TypeError/KeyError on anything else."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$class" in value:
        cls = _CLASSES[value["$class"]]
        return cls(**{name: decode(item) for name, item in value["fields"].items()})
    if "$enum" in value:
        return _CLASSES[value["$enum"]](value["value"])
    if "$path" in value:
        return Path(value["$path"])
    if "$datetime" in value:
        return _dt.datetime.fromisoformat(value["$datetime"])
    if "$date" in value:
        return _dt.date.fromisoformat(value["$date"])
    if "$tuple" in value:
        return tuple(decode(item) for item in value["$tuple"])
    if "$frozenset" in value:
        return frozenset(decode(item) for item in value["$frozenset"])
    if "$map" in value:
        return {decode(key): decode(item) for key, item in value["$map"]}
    raise ValueError(f"unknown value in a published-course snapshot: {sorted(value)}")


# --------------------------------------------------------------------------------------------
# The snapshots
# --------------------------------------------------------------------------------------------


def _place(source: Path, target: Path, *, link: bool) -> None:
    """``target`` = ``source``'s bytes: a hard link (immutable cache files) or a copy."""
    if link:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


class PublishedCourses:
    """The snapshots in one cache folder, read at most once per build."""

    def __init__(self, cache: Path) -> None:
        self.folder = Path(cache) / PUBLISHED_FOLDER
        self._loaded: dict[str, PublishedCourse | None] = {}
        self._index: dict[str, list[str]] | None = None
        self._index_changed = False
        #: Courses :meth:`record` compared with their snapshot the long way, in this run (for
        #: tests and benchmarks: the work must follow the change).
        self.compared = 0

    # The index of what each course was last recorded under -----------------------------------

    def _entries(self) -> dict[str, list[str]]:
        """The index as read once from disk; a damaged or missing one is empty (every course is
        then compared the long way, once)."""
        if self._index is None:
            try:
                data = json.loads((self.folder / INDEX_FILE).read_bytes())
            except (OSError, ValueError):
                data = None
            self._index = {slug: entry for slug, entry in data.items()
                           if isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)
                           } if isinstance(data, dict) else {}
        return self._index

    def _note(self, slug: str, entry: list[str] | None) -> None:
        entries = self._entries()
        if entries.get(slug) != entry:
            if entry is None:
                entries.pop(slug, None)
            else:
                entries[slug] = entry
            self._index_changed = True

    def save(self) -> None:
        """Write the index when this run changed it (atomically; OSError when it cannot be)."""
        if self._index_changed and self._index is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / INDEX_FILE,
                         json.dumps(self._index, sort_keys=True, separators=(",", ":")).encode("utf-8"))
            self._index_changed = False

    @staticmethod
    def recorded_key(course_key: str | None, course: Course, delivered: Mapping[str, DeliveredMedia]) -> str | None:
        """What :meth:`record` files a course under: its course memo key (``course_key``) with, for
        each lecture, its delivered file's bytes (SHA-256) and where each of its files is; None
        without a key. What else the delivered media say (their probe, profile, source) follows
        from those bytes and from the course folder, weike.yml and the code the key covers."""
        if course_key is None:
            return None
        parts = [SNAPSHOT_FORMAT, course_key]
        for lecture in course.lectures:
            media = delivered[lecture.key]
            parts += (lecture.key, media.sha256, media.size, media.duration, media.profile, media.from_audio,
                      media.path, media.poster, media.subtitles, media.subtitles_srt)
        return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8", "surrogateescape")).hexdigest()

    def _fingerprint(self, course: Course, delivered: Mapping[str, DeliveredMedia]) -> str:
        fingerprint = Fingerprint(SNAPSHOT_FORMAT, course)
        fingerprint.add_file(course.cover.path if course.cover else None)
        for lecture in course.lectures:
            media = delivered[lecture.key]
            fingerprint.add(media).add_file(media.path).add_file(media.poster).add_file(media.subtitles)
        return fingerprint.hexdigest()[:24]

    def record(self, course: Course, delivered: Mapping[str, DeliveredMedia], *, course_key: str | None = None) -> bool:
        """Keep ``course`` as published now (every lecture in ``delivered``); False when unchanged.

        ``course_key``: the check's course memo key of ``course`` (None: it had none). When the
        index names the course under the same key and its snapshot is in place, that is all
        there is to it; otherwise the snapshot is compared with the course the long way. Call
        :meth:`save` afterwards to keep the index.

        A new version is written in its own folder and made current by rewriting one small
        file, so a killed build leaves the previous snapshot in force.
        """
        home = self.folder / course.slug
        recorded = self.recorded_key(course_key, course, delivered)
        entry = self._entries().get(course.slug)
        if recorded is not None and entry is not None and entry[0] == recorded \
                and os.path.isfile(home / entry[1] / SNAPSHOT_FILE):
            # The snapshot holds the rights read now: no withdrawal record can say more.
            (home / RIGHTS_FILE).unlink(missing_ok=True)
            self._loaded.pop(course.slug, None)
            return False
        self.compared += 1
        version = self._fingerprint(course, delivered)
        current = home / CURRENT_FILE
        # The new snapshot holds the rights read now: no withdrawal record can say more.
        (home / RIGHTS_FILE).unlink(missing_ok=True)
        self._loaded.pop(course.slug, None)
        try:
            if current.read_text(encoding="utf-8").strip() == version and (home / version / SNAPSHOT_FILE).is_file():
                self._note(course.slug, None if recorded is None else [recorded, version])
                return False
        except OSError:
            pass
        self._note(course.slug, None)  # from here until the new snapshot is in force, no shortcut
        target = home / version
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        cover = course.cover
        if cover is not None and cover.path is not None:
            kept = target / f"cover{cover.path.suffix.lower()}"
            # A copy, not a link: linking would change the author's file's ctime (the memo's key).
            shutil.copyfile(cover.path, kept)
            course = dataclasses.replace(course, cover=dataclasses.replace(cover, path=kept))
        kept_media: dict[str, DeliveredMedia] = {}
        for lecture in course.lectures:
            media = delivered[lecture.key]
            files = {}
            for name, path, link in (("path", media.path, True), ("poster", media.poster, True),
                                     ("subtitles", media.subtitles, False)):
                if path is not None:
                    files[name] = target / f"{lecture.slug}{Path(path).suffix}"
                    _place(Path(path), files[name], link=link)
            kept_media[lecture.key] = dataclasses.replace(media, **files)
        published_at = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        snapshot = {"format": SNAPSHOT_FORMAT, "published_at": published_at, "course": encode(course),
                    "delivered": encode(kept_media)}
        write_atomic(target / SNAPSHOT_FILE, json.dumps(snapshot, ensure_ascii=False).encode("utf-8"))
        write_atomic(current, version.encode("utf-8"))
        self._note(course.slug, None if recorded is None else [recorded, version])
        for other in home.iterdir():  # earlier versions and temps of killed builds
            if other.is_dir() and other.name != version:
                shutil.rmtree(other, ignore_errors=True)
        remove_temps(home)
        self._loaded.pop(course.slug, None)
        return True

    def load(self, slug: str) -> PublishedCourse | None:
        """The last published version of ``slug``, or None (never published, or unreadable)."""
        if slug not in self._loaded:
            self._loaded[slug] = self._read(slug)
        return self._loaded[slug]

    def _read(self, slug: str) -> PublishedCourse | None:
        home = self.folder / slug
        try:
            version = (home / CURRENT_FILE).read_text(encoding="utf-8").strip()
            data = json.loads((home / version / SNAPSHOT_FILE).read_text(encoding="utf-8"))
            if data.get("format") != SNAPSHOT_FORMAT:
                return None
            course, delivered = decode(data["course"]), decode(data["delivered"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if not isinstance(course, Course) or not isinstance(delivered, dict):
            return None
        for lecture in course.lectures:
            media = delivered.get(lecture.key)
            if not isinstance(media, DeliveredMedia) or not media.path.is_file():
                return None
        if (home / RIGHTS_FILE).exists():
            course = dataclasses.replace(course, rights=_recorded_rights(home / RIGHTS_FILE))
        return PublishedCourse(course=course, delivered=delivered, published_at=str(data.get("published_at")))

    def note_rights(self, course: Course) -> None:
        """Record the rights of ``course`` (its ``course.yml`` parsed) against its snapshot.

        Rights that are not all granted are written beside the snapshot, and every later read of
        the snapshot takes them instead of its own: a withdrawal outlives the build that saw it,
        whatever happens to ``course.yml`` afterwards. All granted again, the record goes.
        """
        home = self.folder / course.slug
        record = home / RIGHTS_FILE
        if course.rights.granted:
            if record.exists():
                record.unlink(missing_ok=True)
                self._loaded.pop(course.slug, None)
            return
        if not (home / CURRENT_FILE).is_file():
            return  # never published: no snapshot to outlive
        data = json.dumps({key: getattr(course.rights, key) for key in RIGHTS_KEYS}, sort_keys=True).encode("utf-8")
        try:
            if record.read_bytes() == data:
                return
        except OSError:
            pass
        write_atomic(record, data)
        self._loaded.pop(course.slug, None)

    def forget(self, slug: str) -> None:
        shutil.rmtree(self.folder / slug, ignore_errors=True)
        self._loaded.pop(slug, None)
        self._note(slug, None)

    def stand_ins(self, failed: Iterable[str], *, current: Mapping[str, Course], root: Path) -> dict[str, PublishedCourse]:
        """The last good version of every failed course that has one and still has its folder.

        Each stands in with the rights its ``course.yml`` gives now: a right withdrawn takes effect
        at once, whatever else is wrong with the course. When that file cannot be read, the
        stand-in carries no right at all (consent is never taken from the past), located at the
        top of ``course.yml``.
        """
        found = {}
        for slug in sorted(failed):
            if not (root / COURSES_DIR / slug).is_dir() or (kept := self.load(slug)) is None:
                continue
            course = kept.course
            if rights_readable(now := current.get(slug)):
                course = dataclasses.replace(course, rights=now.rights)
            else:
                locations = {key: where for key, where in course.locations.items()
                             if key != "rights" and not key.startswith("rights.")}
                course = dataclasses.replace(course, rights=Rights(), locations=locations)
            found[slug] = dataclasses.replace(kept, course=course)
        return found


def rights_readable(course: Course | None) -> bool:
    """Whether ``course``'s ``course.yml`` could be read now, so its ``rights`` are what it says."""
    return course is not None and course.parsed


def _recorded_rights(path: Path) -> Rights:
    """The rights in a withdrawal record; none at all when it cannot be read (never more than it says)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = {key: data.get(key) for key in RIGHTS_KEYS}
    except (OSError, ValueError, AttributeError):
        return Rights()
    return Rights(**{name: value if isinstance(value, bool) else None for name, value in values.items()})


def stale_warning(kept: PublishedCourse, error: Diagnostic | None, *, rights_read: bool = True) -> Diagnostic:
    """W304: the course failed now; its last good version stays published (only on the site and
    in SCORM when ``rights_read`` is false: its ``course.yml`` cannot be read, so no right can be
    confirmed)."""
    what = f"{error.code} {error.location}" if error is not None else "?"
    hint = ("改正上面的错误后重新构建即可发布新版本；要把它从所有输出中撤下，用 weike build --drop-stale"
            "（或在 weike.yml 写 drop_stale: true）。")
    if not rights_read:
        return Diagnostic.warning(
            "W304", SourceLocation(file=kept.course.file),
            f"课程本次构建失败（{what}），网站保留上次成功发布的版本（{kept.published_at}），已过期；"
            f"course.yml 现在读不出来，三项承诺无法确认，所以不放入国家平台上传包和汇总表",
            f"the course failed ({what}): the site keeps its last good version ({kept.published_at}), now stale; "
            f"course.yml cannot be read, so its rights cannot be confirmed and it leaves the national bundles and "
            f"the summary table", hint=hint)
    return Diagnostic.warning(
        "W304", SourceLocation(file=kept.course.file),
        f"课程本次构建失败（{what}），网站、汇总表和上传包保留上次成功发布的版本（{kept.published_at}），已过期",
        f"the course failed ({what}): the site, the summary table and the bundles keep its last good version "
        f"({kept.published_at}), now stale", hint=hint)
