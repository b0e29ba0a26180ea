"""Writing build outputs so that a killed build never leaves a half-written file behind.

Every output is written to a temp name in its own folder and moved into place with
``os.replace``, which is atomic: a reader sees the old file or the new one, never a mix. An
output that already holds the same content is not touched at all, so an unchanged rebuild
rewrites nothing (mtimes stay, rsync and browsers' caches stay happy).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: Every temp file and folder weike makes starts with this (outputs, cache entries, the site's
#: build folder, a new course's staging folder), so one rule finds the leftovers of a killed build.
TEMP_PREFIX = ".tmp-"
_TEMP_NAME_RE = re.compile(r"^\.tmp-[0-9a-f]{12}-(?P<pid>\d+)@(?P<host>[^~/]*)(?:~(?P<target>.*))?$")


def temp_name(target: str = "") -> str:
    """``.tmp-<random>-<pid>@<host>[~<target>]``: unique, and saying which process on which host
    made it (a cluster shares the cache) and, when given, what it will become."""
    name = f"{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{os.getpid()}@{socket.gethostname()}"
    return f"{name}~{target}" if target else name


def temp_beside(path: Path) -> Path:
    """A temp name in ``path``'s folder for what will be renamed to ``path``."""
    return path.with_name(temp_name(path.name))


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def temp_owner(name: str) -> tuple[str, int] | None:
    """``(host, pid)`` of the process that made the temp ``name``, or None for another scheme."""
    found = _TEMP_NAME_RE.match(name)
    return (found["host"], int(found["pid"])) if found else None


def temp_target(name: str) -> str | None:
    """What the temp ``name`` was to become (``dist/.tmp-…~site`` -> ``site``), when it says."""
    found = _TEMP_NAME_RE.match(name)
    return found["target"] if found else None


def write_atomic_with(path: Path, write: Callable[[BinaryIO], None], *, sync: bool = True) -> None:
    """Call ``write(handle)`` on a temp file beside ``path``, sync it, then rename it into place.

    On any failure the temp file goes and ``path`` keeps its previous content (or stays absent);
    a temp file left by a killed build is removed by :func:`remove_temps`. ``sync=False`` skips
    the fsync (milliseconds per file): only for a cache entry that proves its own integrity when
    read (a power cut may leave it empty or torn, never passing for another).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_beside(path)
    try:
        with temp.open("wb") as handle:
            write(handle)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly that; True when written
    (``sync``: as for :func:`write_atomic_with`)."""
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_atomic_with(path, lambda handle: handle.write(data), sync=sync)
    return True


def same_file(a: Path, b: Path) -> bool:
    """The same bytes on disk: one inode (a hard link), or a copy with equal size and mtime."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    # copy2 keeps the mtime: a copy we made earlier of the same cache file matches on both.
    return sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns


def link_file(source: str | os.PathLike, target: str | os.PathLike) -> bool:
    """Make ``target`` a hard link to ``source`` (a copy across file systems); True when changed."""
    # Where nothing is yet, one link is all (a link appears whole: no temp file to rename), the
    # folder made only when missing: a cold site links tens of thousands of files, so this path
    # takes the paths as given (a Path made of each string was a third of a cold placement's time).
    try:
        os.link(source, target)
        return True
    except FileNotFoundError:
        folder = os.path.dirname(target)
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
                os.link(source, target)
                return True
        except OSError:
            pass
    except OSError:  # there already, another file system, no hard links here: as below
        pass
    source, target = Path(source), Path(target)
    if same_file(source, target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_beside(target)
    try:
        try:
            os.link(source, temp)
        except OSError:
            shutil.copy2(source, temp)
            with temp.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return True


def folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder under this process's umask (0755 under 022).

    For folders made private on purpose (``tempfile.mkdtemp``) and then published.
    """
    umask = None
    try:  # Linux says it without changing it (os.umask would, for a moment, for every thread)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o777 & ~umask


def remove_temps(folder: Path) -> int:
    """Delete temp files a killed build left in ``folder`` (not recursive)."""
    removed = 0
    if Path(folder).is_dir():
        for temp in Path(folder).glob(f"{TEMP_PREFIX}*"):
            if temp.is_file():
                temp.unlink(missing_ok=True)
                removed += 1
    return removed


def private_folder(purpose: str) -> Path | None:
    """``weike-<purpose>-<uid>`` in the system's temp folder, made for this user alone (mode 0700);
    None where it cannot be made or is not this user's alone (then nothing is kept there). For what
    a build reuses that must never come from a folder others write, such as compiled code
    (docs/security.md)."""
    import tempfile

    if not hasattr(os, "getuid"):
        return None
    folder = Path(tempfile.gettempdir()) / f"weike-{purpose}-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        return None
    return folder
