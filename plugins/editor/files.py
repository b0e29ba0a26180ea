"""The repository as the editor sees it: which paths it may touch, and how they are read and written.

Only ``courses/``, ``centres/`` and ``weike.yml`` are reachable. A path the browser sends is
refused as written when it is absolute (on any OS), steps up (``..``), is hidden (``.git``) or
holds a backslash or NUL; what is left must, with every symbolic link followed, stay inside its
top folder (:func:`weike.builder.repository.reading.inside_real_path`, the containment every other part of
weike uses).

Writes are atomic (a temp file beside the target, renamed into place). A file that changed on disk
since the editor last read it — edited in another program, or brought by ``git pull`` — is never
overwritten: the disk version stays where it is, the editor's version is written beside it
(``lecture.编辑器版本-20240301-101500.md``) and :class:`EditConflict` says where.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from weike.builder.keeping.outputs import is_temp_name, write_atomic_with
from weike.builder.repository.reading import inside_real_path

#: Top folders the editor may reach, and the one file at the root.
EDITABLE_FOLDERS = ("courses", "centres")
EDITABLE_ROOT_FILES = ("weike.yml",)
#: What the editor's version of a conflicting file is called beside it.
CONFLICT_MARK = "编辑器版本"


class RefusedPath(Exception):
    """A path the editor may not touch; ``args[0]`` says why in Chinese and English."""


class EditConflict(Exception):
    """The file changed on disk since the editor read it; the editor's version went to ``kept``."""

    def __init__(self, path: str, kept: str) -> None:
        name = path.rsplit("/", 1)[-1]
        super().__init__(
            f"没有保存：{path} 在编辑器打开之后被别的程序改过（或 git pull 更新过），为了不覆盖那边的修改，"
            f"你刚才的内容另存为 {kept}。请对照两个文件，把要保留的内容合到 {name} 里，删掉另存的文件，再刷新编辑器。"
            f" (not saved: {path} changed on disk since the editor read it; your version is in {kept})")
        self.path = path
        self.kept = kept


def content_id(data: bytes) -> str:
    """What identifies one version of a file (the id Decap's local backend sends with entries)."""
    return hashlib.sha256(data).hexdigest()


class RepositoryFiles:
    """The editable files of one repository, with what the editor last read of each."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._root_real = os.path.realpath(self.root)
        #: repository path -> content id of the version the editor last read or wrote.
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()
        #: One write at a time: the "unchanged since read" test and the write belong together.
        self._writing = threading.Lock()

    # ----------------------------------------------------------------------------------------
    # Containment
    # ----------------------------------------------------------------------------------------

    def resolve(self, declared: object) -> tuple[str, Path]:
        """``(repository path, absolute path)`` for a path the browser sent; raises RefusedPath."""
        if not isinstance(declared, str) or not declared.strip():
            raise RefusedPath("路径必须是文字 (a path must be text)")
        if "\0" in declared or "\\" in declared:
            raise RefusedPath(f"路径中不能有反斜杠或空字符：{declared!r} (no backslash or NUL in paths)")
        posix, windows = PurePosixPath(declared), PureWindowsPath(declared)
        if posix.is_absolute() or windows.is_absolute() or windows.drive or declared.startswith("~"):
            raise RefusedPath(f"不能用绝对路径：{declared} (absolute paths are refused)")
        parts = [part for part in declared.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise RefusedPath(f"路径不能向上走出文件夹（..）：{declared} (paths may not step up with ..)")
        if any(part.startswith(".") for part in parts):
            raise RefusedPath(f"不能编辑隐藏的文件或文件夹：{declared} (hidden files are refused)")
        if not parts:
            raise RefusedPath("路径是空的 (empty path)")
        rel = "/".join(parts)
        if rel in EDITABLE_ROOT_FILES:
            container = self._root_real
        elif parts[0] in EDITABLE_FOLDERS:
            container = os.path.join(self._root_real, parts[0])
        else:
            raise RefusedPath(f"编辑器只能改 courses/、centres/ 和 weike.yml：{declared} "
                              "(only courses/, centres/ and weike.yml can be edited)")
        absolute = self.root.joinpath(*parts)
        if not inside_real_path(str(absolute), container) or (
                rel in EDITABLE_ROOT_FILES and os.path.realpath(absolute) != os.path.join(container, rel)):
            raise RefusedPath(f"{declared} 是指向别处的符号链接，编辑器不读也不写 "
                              f"({declared} is a symlink leading outside the repository's editable folders)")
        return rel, absolute

    # ----------------------------------------------------------------------------------------
    # Reading
    # ----------------------------------------------------------------------------------------

    def read(self, declared: str) -> tuple[str, bytes | None]:
        """``(repository path, bytes)``; None when there is no such file. Remembers the version."""
        rel, path = self.resolve(declared)
        try:
            data = path.read_bytes() if path.is_file() else None
        except OSError:
            data = None
        if data is not None:
            with self._lock:
                self._seen[rel] = content_id(data)
        return rel, data

    def list_folder(self, declared: str, *, extension: str = "", depth: int = 1) -> list[str]:
        """Repository paths of the files below a folder, ``depth`` levels deep, sorted; hidden
        files, temp files and symbolic links out of the folder are left out."""
        rel, folder = self.resolve(declared)
        if not folder.is_dir():
            return []
        found: list[str] = []
        for path in _walk(folder, depth):
            if extension and not path.name.endswith(extension):
                continue
            sub = f"{rel}/{path.relative_to(folder).as_posix()}"
            try:
                self.resolve(sub)
            except RefusedPath:
                continue
            found.append(sub)
        return sorted(found)

    # ----------------------------------------------------------------------------------------
    # Writing
    # ----------------------------------------------------------------------------------------

    def check_unchanged(self, rel: str, path: Path, *, new_entry: bool) -> None:
        """Raise nothing when writing ``path`` loses nothing; else keep both (EditConflict)."""
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            return
        with self._lock:
            seen = self._seen.get(rel)
        if new_entry or seen != content_id(current):
            raise _KeepBoth(rel, path)

    def write(self, declared: str, data: bytes, *, new_entry: bool = False, guard: bool = True) -> str:
        """Write ``data`` atomically; with ``guard``, refuse to overwrite a file changed on disk
        since the editor read it (EditConflict, after writing ``data`` beside it)."""
        rel, path = self.resolve(declared)
        with self._writing:
            if guard:
                try:
                    self.check_unchanged(rel, path, new_entry=new_entry)
                except _KeepBoth:
                    kept = conflict_name(path)
                    write_atomic_with(kept, lambda handle: handle.write(data))
                    raise EditConflict(rel, kept.relative_to(self.root).as_posix()) from None
            write_atomic_with(path, lambda handle: handle.write(data))
            with self._lock:
                self._seen[rel] = content_id(data)
        return rel

    def delete(self, declared: str) -> str | None:
        """Remove a file (a missing one is fine); the repository path, or None if none was there."""
        rel, path = self.resolve(declared)
        try:
            path.unlink()
        except FileNotFoundError:
            return None
        with self._lock:
            self._seen.pop(rel, None)
        return rel

    def remember(self, rel: str, data: bytes) -> None:
        with self._lock:
            self._seen[rel] = content_id(data)


class _KeepBoth(Exception):
    def __init__(self, rel: str, path: Path) -> None:
        super().__init__(rel)
        self.rel, self.path = rel, path


def conflict_name(path: Path) -> Path:
    """A free name beside ``path`` for the editor's version: ``lecture.编辑器版本-<time>.md``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.stem}.{CONFLICT_MARK}-{stamp}{path.suffix}")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{CONFLICT_MARK}-{stamp}-{number}{path.suffix}")
        number += 1
    return candidate


def _walk(folder: Path, depth: int) -> Iterator[Path]:
    if depth <= 0:
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or is_temp_name(entry.name):
            continue
        if entry.is_dir():
            yield from _walk(Path(entry.path), depth - 1)
        elif entry.is_file():
            yield Path(entry.path)
