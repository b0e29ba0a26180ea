"""A content-addressed store of build outputs (:class:`ContentStore`).

Outputs are kept under a key derived from everything that decides them (source bytes, profile,
recipe and encoder version): ``store/<k[:2]>/<key>/``. An entry is written in a temp folder beside
it and renamed into place in one step, so an entry that exists is complete; a killed build leaves
only a temp folder, which the next build removes.

Nothing here knows about media or platforms.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from weike.builder.keeping.memo import sha256_file
from weike.builder.keeping.outputs import TEMP_PREFIX, temp_name, temp_owner

def cache_key(**parts: object) -> str:
    """A stable SHA-256 of keyword parts (JSON-serialisable values)."""
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


ENTRY_FILE = "entry.json"
#: A temp folder of another host (a cluster worker) untouched this long belongs to a dead build.
_FOREIGN_TEMP_SECONDS = 24 * 3600



@dataclass(frozen=True, kw_only=True)
class StoreEntry:
    """A complete entry: its folder and the facts written with it."""

    key: str
    folder: Path
    facts: Mapping

    def file(self, name: str) -> Path:
        return self.folder / name


class ContentStore:
    """Outputs by key, each entry a folder that appears complete or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str, *, verify: bool = False) -> StoreEntry | None:
        """The entry for ``key`` if it is complete and its files are intact, else ``None``.

        Intact = the sizes recorded at commit; with ``verify`` (``weike build --force``) also
        the SHA-256 recorded then, which catches bytes changed with size and mtime kept (a disk
        error, an edit through a hard link in ``dist/``). An entry committed before hashes were
        recorded cannot be verified and counts as damaged then.
        """
        folder = self.folder(key)
        try:
            facts = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        hashes = facts.get("file_sha256") or {}
        for name, size in (facts.get("files") or {}).items():
            try:
                if (folder / name).stat().st_size != size:
                    return None
                if verify and hashes.get(name) != sha256_file(folder / name):
                    return None
            except OSError:
                return None
        return StoreEntry(key=key, folder=folder, facts=facts)

    def discard(self, key: str) -> None:
        """Remove the entry for ``key`` (damaged): it vanishes in one step, then it is made again."""
        folder = self.folder(key)
        if folder.exists():
            remove_path(folder)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Path]:
        """A fresh temp folder to write an entry into; removed if the block fails.

        Finish with :meth:`commit`. The folder's name carries this host and process, so
        :meth:`remove_stale_temps` can tell a dead build's leftovers from a running one's.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / temp_name()
        temp.mkdir()
        try:
            yield temp
        finally:
            if temp.exists():
                shutil.rmtree(temp, ignore_errors=True)

    def commit(self, key: str, temp: Path, facts: Mapping) -> StoreEntry:
        """Seal ``temp`` as the entry for ``key`` (files made read-only, synced, renamed in)."""
        files, hashes = {}, {}
        for path in sorted(temp.iterdir()):
            files[path.name] = path.stat().st_size
            hashes[path.name] = sha256_file(path)
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
            # Delivered files are hard links to these: read-only so nothing edits the cache
            # through dist/ by accident.
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        record = {**facts, "key": key, "files": files, "file_sha256": hashes}
        entry_file = temp / ENTRY_FILE
        entry_file.write_text(json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        with entry_file.open("rb") as handle:
            os.fsync(handle.fileno())
        final = self.folder(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(temp, final)
        except OSError:
            # Another build committed the same key first (or a broken entry sits there).
            existing = self.get(key)
            if existing is not None:
                return existing
            shutil.rmtree(final, ignore_errors=True)
            os.rename(temp, final)
        entry = self.get(key)
        if entry is None:  # pragma: no cover - only if the disk lies to us
            raise OSError(f"cache entry {final} vanished after commit")
        return entry

    def entries(self) -> Iterator[tuple[str, Path]]:
        """``(key, folder)`` of every committed entry (complete or not: :meth:`get` judges that)."""
        if not self.root.is_dir():
            return
        for prefix in sorted(self.root.iterdir()):
            if len(prefix.name) != 2 or not prefix.is_dir():
                continue
            for folder in sorted(prefix.iterdir()):
                if folder.is_dir() and folder.name.startswith(prefix.name):
                    yield folder.name, folder

    def temps(self) -> Iterator[tuple[Path, bool]]:
        """``(folder, in use)`` of every temp folder: in use unless its build is known to be dead.

        A temp folder of this host whose process is gone is dead. One of another host cannot be
        checked from here (a cluster worker's): it counts as dead once untouched for a day,
        longer than any job may run.
        """
        if not self.root.is_dir():
            return
        for temp in sorted(self.root.glob(f"{TEMP_PREFIX}*")):
            pid = _local_pid(temp)
            if pid is not None:
                yield temp, _alive(pid)
            else:
                try:
                    age = time.time() - temp.stat().st_mtime
                except OSError:
                    continue
                yield temp, age < _FOREIGN_TEMP_SECONDS

    def remove_stale_temps(self) -> int:
        """Delete temp folders left by builds of this host that are no longer running."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for temp in self.root.glob(f"{TEMP_PREFIX}*"):
            pid = _local_pid(temp)
            if pid is not None and not _alive(pid):
                shutil.rmtree(temp, ignore_errors=True)
                removed += 1
        return removed


def _local_pid(temp: Path) -> int | None:
    """The process that made the temp folder ``temp`` on this host, or None (another host's)."""
    owner = temp_owner(temp.name)
    return owner[1] if owner is not None and owner[0] == socket.gethostname() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_path(path: Path) -> None:
    """Delete a file or a folder; a folder is first renamed to a temp name so it vanishes at once."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        doomed = path.with_name(temp_name())
        try:
            os.rename(path, doomed)
        except OSError:
            doomed = path
        # Entries are read-only (see ContentStore.commit); their folder is not, so rmtree works.
        shutil.rmtree(doomed, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
