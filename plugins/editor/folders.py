"""Folder names of new courses, lectures and centres: from their Chinese titles, in pinyin.

Decap names a new entry's folder after its title, as typed (a Chinese folder name) or, asked for
ASCII, as nothing at all; in a nested collection the teacher would type it. weike's folders are
lowercase pinyin with hyphens (``zuoyou-kaigong``), a lecture's numbered (``03-zuoyou-kaigong``), so
the backend places a *new* course, lecture or centre itself: whatever folder Decap asks for, the
files go to the folder made from the title, and later requests for the asked-for path are answered
from the real one (:meth:`FolderPlanner.actual`) until the editor reloads the list.
"""

from __future__ import annotations

import re
import threading

import yaml
from pypinyin import Style, lazy_pinyin

from weike.builder.repository.loading import split_front_matter
from weike.plugins.editor.files import RepositoryFiles

_SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LECTURE_RE = re.compile(r"^(\d{2,3})-[a-z0-9]+(-[a-z0-9]+)*$")
_WORD_RE = re.compile(r"[a-z0-9]+")
#: How long a folder name made from a title may get (words are never cut in half).
MAX_SLUG = 40


def pinyin_slug(title: str, *, fallback: str) -> str:
    """``左右开弓`` -> ``zuo-you-kai-gong``: lowercase pinyin and ASCII words joined by hyphens."""
    words: list[str] = []
    for piece in lazy_pinyin(title or "", style=Style.NORMAL, errors="default", v_to_u=False):
        words.extend(_WORD_RE.findall(piece.lower()))
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_SLUG:
            break
        slug = candidate
    return slug or fallback


def _title(raw: str, *, front_matter: bool) -> str:
    try:
        if front_matter:
            split = split_front_matter(raw)
            raw = split[0] if split else ""
        data = yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError):
        return ""
    if not isinstance(data, dict):
        return ""
    value = data.get("title") or data.get("name") or ""
    return str(value)


class FolderPlanner:
    """Places new entries in folders named from their titles; remembers where each went."""

    def __init__(self, files: RepositoryFiles) -> None:
        self.files = files
        #: The path Decap asked for -> (where the file really is, whether files beside the asked
        #: path moved with it: only when the asked folder did not exist).
        self._moved: dict[str, tuple[str, bool]] = {}
        self._lock = threading.Lock()

    def actual(self, declared: object, *, reading: bool = False) -> object:
        """Where a path Decap uses really is (itself, unless :meth:`place` moved it).

        ``reading``: for getEntry, a new lecture's asked-for path (``courses/<course>/lecture.md``,
        asked for every new lecture of the course) is *not* answered from the lecture made last:
        Decap checks that path is free before it saves the next new lecture there."""
        if not isinstance(declared, str):
            return declared
        with self._lock:
            for asked, (real, with_folder) in self._moved.items():
                folder = asked.rsplit("/", 1)[0] + "/"
                if declared == asked and (with_folder or not reading):
                    return real
                if with_folder and declared.startswith(folder):  # a cover or picture saved with the new entry
                    return real.rsplit("/", 1)[0] + "/" + declared[len(folder):]
        return declared

    def place(self, declared: object, raw: str, *, new_entry: bool) -> object:
        """The path to write a saved entry to: for a new course, lecture or centre whose folder
        Decap named, the folder made from its title; anything else as asked (or as moved)."""
        if not new_entry or not isinstance(declared, str):
            return self.actual(declared)
        # A new entry is placed afresh: Decap asks for the same path for every new lecture of a
        # course (courses/<course>/lecture.md), which may already stand for the last one made.
        rel, absolute = self.files.resolve(declared)
        parts = rel.split("/")
        if absolute.exists():
            return rel  # an existing file: the conflict check decides
        planned = None
        if len(parts) == 3 and parts[0] in ("courses", "centres") and parts[2] in ("course.yml", "centre.yml"):
            if _SLUG_RE.match(parts[1]) and not absolute.parent.exists():
                return rel
            base = pinyin_slug(_title(raw, front_matter=False), fallback=parts[0].rstrip("s"))
            planned = f"{parts[0]}/{self._free(parts[0], base)}/{parts[2]}"
        elif len(parts) >= 3 and parts[0] == "courses" and parts[-1] == "lecture.md":
            # Decap's nested collection asks for courses/<course>/lecture.md (the course's folder
            # as the new entry's "path") or for whatever folder was typed below it.
            course = parts[1]
            folder = "/".join(parts[2:-1])
            if folder and _LECTURE_RE.match(folder) and not absolute.parent.exists():
                return rel
            number = self._next_lecture_number(course)
            base = pinyin_slug(_title(raw, front_matter=True), fallback="weike")
            planned = f"courses/{course}/{self._free(f'courses/{course}', f'{number:02d}-{base}')}/lecture.md"
        if planned is None:
            return rel
        self.files.resolve(planned)
        with self._lock:
            self._moved[declared] = (planned, not absolute.parent.exists())
        return planned

    def _next_lecture_number(self, course: str) -> int:
        _, folder = self.files.resolve(f"courses/{course}/course.yml")
        numbers = [int(match.group(1)) for child in (folder.parent.iterdir() if folder.parent.is_dir() else ())
                   if child.is_dir() and (match := re.match(r"^(\d+)-", child.name))]
        return max(numbers, default=0) + 1

    def _free(self, parent: str, base: str) -> str:
        _, folder = self.files.resolve(f"{parent}/{base}")
        name, number = base, 2
        while folder.exists():
            name = f"{base}-{number}"
            _, folder = self.files.resolve(f"{parent}/{name}")
            number += 1
        return name
