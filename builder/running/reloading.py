"""Loading a repository again after an edit, reading only the courses whose folder changed.

``weike serve`` loads the repository after every save; at catalogue scale (1,000 courses,
12,000 lectures) parsing every ``course.yml`` and ``lecture.md`` again took seconds for a change
to one file. A :class:`CourseReloader` keeps each course as last loaded, with the identity of
every entry below its folder (name, size, mtime, ctime: a stat walk, no read), and loads a course
again only when that listing differs. ``weike.yml`` and the centres are read every time (a few
files).

A course whose folder holds a symbolic link is always loaded again: what a link points at may
change without anything below the folder changing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from weike.builder.contracts.model import Course, Diagnostic, Setting
from weike.builder.keeping.fingerprint import tree_entries
from weike.builder.repository.loading import load_course


class CourseReloader:
    """A course loader (``load_repository(course_loader=...)``) that keeps unchanged courses."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple, tuple[Course, list[Diagnostic]]]] = {}
        #: Course folders read again since this list was last cleared (the others were kept).
        self.loaded: list[str] = []

    def __call__(self, folder: Path, *, root: Path, settings: Iterable[Setting] = ()) -> tuple[Course, list[Diagnostic]]:
        folder_key = os.fspath(folder)
        settings = tuple(settings)
        listing = tree_entries(folder_key, ctime=True)
        key = (os.fspath(root), settings, listing)
        kept = self._kept.get(folder_key)
        if kept is not None and kept[0] == key:
            return kept[1]
        loaded = load_course(folder, root=root, settings=settings)
        self.loaded.append(folder_key)
        if any(entry[1] == "link" for entry in listing):
            self._kept.pop(folder_key, None)  # a link's target may change unseen: never kept
        else:
            self._kept[folder_key] = (key, loaded)
        return loaded
