"""What every target's zip of a course is made from, and the date its entries carry.

A course's inputs (:func:`course_inputs`) are two sides:

* the course side: the course's and ``weike.yml``'s values and every file of the course folder by
  name, size and mtime, and the newest mtime below the folder (the zip's date). Walking 1,000
  course folders for it costs more than the rest of an edit's bundle stage, so it is remembered in
  ``cache/bundles/_course-inputs.json`` under the key the check read the folder under
  (:attr:`~weike.builder.contracts.context.BuildContext.course_keys`: every entry below the folder
  by name, kind, size, mtime_ns, inode and ctime_ns, and weike.yml, the code and the packages):
  while the key is the same, the course is the same value over the same files and the side is
  taken back instead of walked. A course without a key (a folder holding a link, no memo) is
  walked every time; so is a failed course's last good version standing in for it, which keeps
  the date that version had (its folder as it is now is not what its zips show);
* the delivered side: every lecture's delivered media, with the identity (size, mtime_ns, inode)
  of its poster and subtitles, looked at every time: the media stage may have placed one again
  under the same name (the video needs no look: its size and SHA-256 are in the value). When the
  media stage gave each value its ``digest`` (the value and its files' identities as it handed
  them on), the digests are taken instead: nothing formatted or stat'ed per lecture.

The memo fails safe (missing, damaged or of another format: every course is walked) and is
written atomically, only when it changed.

A zip is dated by :func:`~weike.builder.keeping.archive.source_date`: ``SOURCE_DATE_EPOCH`` when
set, else the newest mtime of the course folder, its files and ``weike.yml``; never the delivered
media's (they carry the time of the build that made them). The date is one of the inputs, so a
zip whose date would move is packed again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.model import Course, DeliveredMedia, WeikeConfig
from weike.builder.keeping.archive import source_date
from weike.builder.keeping.fingerprint import Fingerprint, tree_entries
from weike.builder.keeping.outputs import write_atomic

#: In the bundles' cache folder, beside the targets' ledgers (no target name starts with ``_``).
INPUTS_FILE = "_course-inputs.json"
INPUTS_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class CourseSide:
    """The course side of a course's inputs."""

    #: The course's and weike.yml's values, and every file below the folder by name, size and mtime.
    digest: str
    #: The newest mtime (ns) of the course folder and of every file below it.
    newest_ns: int


def course_side(course: Course, config: WeikeConfig) -> CourseSide:
    """The course side, read from the folder now (one walk)."""
    folder = os.fspath(course.folder)
    try:
        newest = os.stat(folder).st_mtime_ns
        entries = tree_entries(folder)
    except OSError:  # gone since loading: counts as such
        newest, entries = 0, None
    for entry in entries or ():
        if len(entry) == 3 and isinstance(entry[1], int):  # a file: (name, size, mtime_ns)
            newest = max(newest, entry[2])
    return CourseSide(digest=Fingerprint("bundle-course", course, config, entries).hexdigest(), newest_ns=newest)


def _identity(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns, found.st_ino


def delivered_side(course: Course, delivered: Mapping[str, DeliveredMedia]) -> str:
    """Every lecture's delivered media and the identity of each file the targets may copy but the
    video, whose size and SHA-256 the value carries (and the zip writer checks while copying).

    When the media stage gave every lecture's value its digest (its fields and its files'
    identities as the stage handed it on, in this build), those digests stand for both: no value
    formatted, no file looked at."""
    digests = [item.digest if (item := delivered.get(lecture.key)) is not None else "" for lecture in course.lectures]
    if all(digests):
        return hashlib.sha256("\0".join(("delivered digests", *digests)).encode("ascii")).hexdigest()
    parts = []
    for lecture in course.lectures:
        item = delivered.get(lecture.key)
        files = () if item is None else (item.poster, item.subtitles, item.subtitles_srt)
        parts.append((item, tuple(_identity(path) for path in files)))
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class CourseInputs:
    """What every target's zip of one course is made from, and the date its entries carry."""

    digest: str
    #: The source date (UTC, naive) of the course's zips and of what the targets date inside them.
    dated: _dt.datetime


class CourseInputsMemo:
    """The course sides of the last build, by slug, with the check's key they were read under."""

    def __init__(self, cache_folder: Path) -> None:
        self.path = Path(cache_folder) / INPUTS_FILE
        self._earlier: dict[str, list] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == INPUTS_FORMAT and isinstance(data.get("courses"), dict):
                self._earlier = data["courses"]
        except (OSError, ValueError):
            pass
        self._now: dict[str, list] = {}
        #: How many course sides were taken back, and how many read from their folder, in this run.
        self.recalled = 0
        self.read = 0

    def course_side(self, course: Course, config: WeikeConfig, key: str | None, *,
                    stand_in: bool = False) -> CourseSide:
        """The course side of ``course``: taken back when read under ``key`` before, else read now.

        A ``stand_in`` (a failed course's last good version) is read now, but dated as that version
        was when it was last read as itself: its folder as it is now is not what it shows."""
        entry = self._earlier.get(course.slug)
        valid = (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[1], str)
                 and isinstance(entry[2], int))
        if valid and key is not None and entry[0] == key and not stand_in:
            self.recalled += 1
            self._now[course.slug] = entry
            return CourseSide(digest=entry[1], newest_ns=entry[2])
        side = course_side(course, config)
        self.read += 1
        if stand_in:
            if not valid:
                return side
            self._now[course.slug] = entry  # the good version's date, for as long as it stands in
            return CourseSide(digest=side.digest, newest_ns=entry[2])
        if key is not None:
            self._now[course.slug] = [key, side.digest, side.newest_ns]
        return side

    def save(self) -> None:
        """Keep the sides of this build's courses; a cache that cannot take them costs the next
        build a walk of every course folder."""
        if self._now == self._earlier:
            return
        try:
            write_atomic(self.path, json.dumps({"format": INPUTS_FORMAT, "courses": self._now},
                                               sort_keys=True).encode("utf-8"), sync=False)
        except OSError:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass


def newest_of(path: Path) -> int:
    """The mtime (ns) of ``path``, 0 when it cannot be read (weike.yml: once per stage)."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def course_inputs(course: Course, delivered: Mapping[str, DeliveredMedia], *, config: WeikeConfig,
                  config_newest_ns: int, memo: CourseInputsMemo, key: str | None,
                  stand_in: bool = False) -> CourseInputs:
    """What every target's zip of ``course`` is made from (computed once per course, not per
    target); ``config_newest_ns``: weike.yml's mtime (:func:`newest_of`); ``stand_in``: the course
    is a failed course's last good version (see :meth:`CourseInputsMemo.course_side`)."""
    side = memo.course_side(course, config, key, stand_in=stand_in)
    dated = source_date((), newest=max(side.newest_ns, config_newest_ns) // 1_000_000_000)
    digest = hashlib.sha256(repr((side.digest, delivered_side(course, delivered), dated.isoformat()))
                            .encode("utf-8")).hexdigest()
    return CourseInputs(digest=digest, dated=dated)
