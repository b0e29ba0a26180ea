"""Loading a repository again after an edit, reading only the courses whose folder changed.

``weike serve`` loads the repository after every save; at catalogue scale (1,000 courses,
12,000 lectures) parsing every ``course.yml`` and ``lecture.md`` again took seconds for a change
to one file. A :class:`CourseReloader` keeps each course as last loaded, with the identity of
every entry below its folder (name, size, mtime, ctime: a stat walk, no read), and loads a course
again only when that listing differs. ``weike.yml`` and the centres are read every time (a few
files).

A course whose folder holds a symbolic link is always loaded again: what a link points at may
change without anything below the folder changing.

While a file watcher runs (``weike serve``'s), even the stat walk is spared: the watcher reports
every path changed (:class:`SavedPaths`), and a course folder nothing was reported under since its
last walk is kept as it is, once its files with other names elsewhere (hard links: written through
another path, no event is reported here) are seen unchanged. The walk comes back whenever the
reports cannot be trusted: before the watcher started, after it lost events (the system's queue
overflowed), once it stopped, and when a folder holding course folders is itself reported.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from weike.builder.contracts.model import Course, Diagnostic, Setting
from weike.builder.keeping.course_memo import RememberedCourse, facts_still_hold, latest_facts
from weike.builder.keeping.fingerprint import tree_entries
from weike.builder.repository.loading import load_course
from weike.builder.running.isolation import PLUGIN_CRASH_CODE


class SavedPaths:
    """The paths a file watcher reported changed (added, removed, moved, written) since a rebuild
    last took them; :meth:`take` gives None when they are not the whole story: no watcher is
    running, it has just started, or it lost events."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._paths: set[str] = set()
        self._watching = False
        self._everything = True

    def saw(self, *paths: str) -> None:
        with self._guard:
            self._paths.update(path for path in paths if path)

    def lost(self) -> None:
        """Some changes went unreported: the next rebuild looks at everything."""
        with self._guard:
            self._everything = True

    def watching(self, running: bool) -> None:
        """The watcher started (its watches in place: every change from now on is reported) or stopped."""
        with self._guard:
            self._watching = running
            self._everything = True

    def take(self) -> frozenset[str] | None:
        with self._guard:
            paths, self._paths = frozenset(self._paths), set()
            if not self._watching or self._everything:
                self._everything = not self._watching
                return None
            return paths


class CourseReloader:
    """A course loader (``load_repository(course_loader=...)``) that keeps unchanged courses."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple, tuple[Course, list[Diagnostic]]]] = {}
        #: Each kept course folder's files that have other names too, with their identity when walked.
        self._linked: dict[str, tuple[tuple[str, tuple], ...]] = {}
        #: Course folders read again since this list was last cleared (the others were kept).
        self.loaded: list[str] = []
        #: Course folders whose entries were listed (a stat walk) since this list was last cleared.
        self.walked: list[str] = []
        #: Course folders walked since the watcher's reports are complete (see :meth:`reported`),
        #: the folders they are in, and the course folders changes were reported in since their walk.
        self._walked: set[str] = set()
        self._parents: set[str] = set()
        self._changed: set[str] = set()
        #: Whether the last word from the watcher was a report (not "unknown"): only then is a
        #: folder's silence trusted.
        self._trusting = False

    def reported(self, paths: frozenset[str] | None) -> None:
        """What the file watcher reported changed since the last call (:meth:`SavedPaths.take`);
        None when that is not known: every course folder is walked again, as it is when a folder
        that holds course folders is itself reported (moved, removed)."""
        above = self._above
        if paths is not None and not any(path in self._parents or path + os.sep in above for path in paths):
            for path in paths:
                for parent in self._parents:
                    if path.startswith(parent + os.sep):
                        self._changed.add(parent + os.sep + path[len(parent) + 1:].split(os.sep, 1)[0])
            self._trusting = True
            return
        self._trusting = False
        self._walked.clear()
        self._changed.clear()

    @property
    def _above(self) -> set[str]:
        """Every folder above the folders that hold course folders, each ending in a separator."""
        above = set()
        for parent in self._parents:
            while (up := os.path.dirname(parent)) != parent:
                above.add(up.rstrip(os.sep) + os.sep)
                parent = up
        return above

    def __call__(self, folder: Path, *, root: Path, settings: Iterable[Setting] = ()) -> tuple[Course, list[Diagnostic]]:
        folder_key = os.fspath(folder)
        settings = tuple(settings)
        kept = self._kept.get(folder_key)
        if (self._trusting and kept is not None and folder_key in self._walked and folder_key not in self._changed
                and kept[0][:2] == (os.fspath(root), settings)
                and all(_identity(path) == identity for path, identity in self._linked.get(folder_key, ()))):
            return kept[1]  # nothing reported below it since its last walk
        # Every change reported so far happened before this walk, which sees it.
        self._changed.discard(folder_key)
        listing = tree_entries(folder_key, ctime=True)
        self.walked.append(folder_key)
        self._walked.add(folder_key)
        self._parents.add(os.path.dirname(folder_key))
        key = (os.fspath(root), settings, listing)
        if kept is not None and kept[0] == key:
            return kept[1]
        loaded = load_course(folder, root=root, settings=settings)
        self.loaded.append(folder_key)
        if any(entry[1] == "link" for entry in listing):
            self._kept.pop(folder_key, None)  # a link's target may change unseen: never kept
        else:
            self._kept[folder_key] = (key, loaded)
            self._linked[folder_key] = _hard_linked(folder_key, listing)
        return loaded


def _identity(path: str) -> tuple | None:
    """(size, mtime_ns, ctime_ns) as :func:`~weike.builder.keeping.fingerprint.tree_entries` lists them."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def _hard_linked(folder: str, listing: list[tuple]) -> tuple[tuple[str, tuple], ...]:
    """The files of a walked folder that have other names as well (a change made through one of
    those is no event in the folder), each with its identity as listed."""
    linked = []
    for rel, *identity in listing:
        if identity and isinstance(identity[0], int):
            path = os.path.join(folder, rel)
            try:
                if os.stat(path).st_nlink > 1:
                    linked.append((path, tuple(identity)))
            except OSError:
                linked.append((path, tuple(identity)))  # gone since the walk: looked at next time
    return tuple(linked)


class CourseChecks:
    """The findings and products of each course this process checked, given back (as
    ``check_repository(memo=...)`` takes them) while the course is the very object the
    :class:`CourseReloader` gave last time, under the same ``weike.yml`` and date, and every file memo
    still holds the facts its check took. ``weike serve`` checks again only the saved course; the
    rules over the whole repository still run every time."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Course, object, tuple, RememberedCourse]] = {}
        self._current: dict[str, Course] = {}
        self._context: tuple = ()
        #: What :meth:`recalled` answered for each course since :meth:`begin`: a check asks it of
        #: every course more than once, and each answer stats every file the course's check read.
        self._answers: dict[str, RememberedCourse | None] = {}
        #: Courses checked again by the last check (the others were given back).
        self.checked_again: list[str] = []

    def begin(self, courses: Iterable[Course], config) -> None:
        """The courses about to be checked, as just loaded, with the repository's settings."""
        self._current = {course.slug: course for course in courses}
        self._context = (config, _dt.date.today())
        self._answers = {}
        self.checked_again = [slug for slug in self._current if self.recalled(slug) is None]
        self._kept = {slug: entry for slug, entry in self._kept.items() if slug in self._current}

    def recalled(self, slug: str) -> RememberedCourse | None:
        if slug in self._answers:
            return self._answers[slug]
        entry = self._kept.get(slug)
        if entry is None or entry[0] is not self._current.get(slug) or entry[1:3] != self._context:
            answer = None
        else:
            answer = entry[3] if facts_still_hold(entry[3].facts) else None
        self._answers[slug] = answer
        return answer

    def checked(self, course: Course, found: list[Diagnostic], products: tuple, *, facts: list,
                handed_on: bool) -> None:
        self._answers.pop(course.slug, None)
        if any(diagnostic.code == PLUGIN_CRASH_CODE for diagnostic in found):
            self._kept.pop(course.slug, None)  # a plugin crashed on it: tried again next time
            return
        self._kept[course.slug] = (course, *self._context, RememberedCourse(
            course=course, loaded=(), checked=tuple(found), made=products,
            facts=latest_facts(facts), handed_on=handed_on))
