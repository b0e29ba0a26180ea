"""The build cache: a memo of facts about files, and a content-addressed store of outputs.

* :class:`FileMemo` remembers facts about a file (its SHA-256, its probe) keyed by
  ``(path, size, mtime_ns, inode, ctime_ns)``, in ONE SQLite file. An unchanged source is then
  neither re-hashed nor re-probed, and 2,000 courses make one file, not 26,000. Editing a file
  changes its ctime (and usually its size or mtime), so the memo misses and the file is looked
  at again. A damaged memo file is replaced by an empty one.
* :class:`ContentStore` keeps build outputs under a key derived from everything that decides them
  (source bytes, profile, recipe and encoder version): ``store/<k[:2]>/<key>/``. An entry is
  written in a temp folder beside it and renamed into place in one step, so an entry that
  exists is complete; a killed build leaves only a temp folder, which the next build removes.

Nothing here knows about media or platforms.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from weike.builder.keeping.outputs import TEMP_PREFIX, temp_name, temp_owner

log = logging.getLogger("weike.cache")

_HASH_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(**parts: object) -> str:
    """A stable SHA-256 of keyword parts (JSON-serialisable values)."""
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Memo of facts about files
# --------------------------------------------------------------------------------------------


_UNPARSED = object()
#: Layout of the memo's table (``PRAGMA user_version``); another layout is dropped, not migrated.
_MEMO_SCHEMA = 2


def _damaged(exc: sqlite3.Error) -> bool:
    """The memo file itself is broken ("file is not a database", "malformed"), not merely busy."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


class FileMemo:
    """Facts about files, remembered while a file's size, mtime, inode and ctime stay the same.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite's own locking). A memo that cannot be opened (read-only checkout) degrades to no
    memo: slower, never wrong.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        # kind -> path -> [size, mtime_ns, inode, ctime_ns, JSON text, parsed value or _UNPARSED].
        # Loaded in one query per kind: at national scale a query (and a JSON parse) per file per
        # build would cost seconds on every no-change rebuild.
        self._rows: dict[str, dict[str, list]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                log.warning("media memo %s unavailable (%s): every file will be probed", self.path, exc)
            else:
                self._rebuild(exc)
        except OSError as exc:
            log.warning("media memo %s unavailable (%s): every file will be probed", self.path, exc)

    @property
    def usable(self) -> bool:
        """Whether facts can be remembered (False: the memo file could not be opened)."""
        return self._db is not None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            # WAL: readers never wait for a writer; NORMAL: no fsync per fact (a lost fact after
            # a power cut is only looked up again).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != _MEMO_SCHEMA:
                # Facts of another layout (before ctime was part of the key) are only a memo: start afresh.
                db.execute("DROP TABLE IF EXISTS facts")
                db.execute(f"PRAGMA user_version={_MEMO_SCHEMA}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS facts (kind TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,"
                " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, value TEXT NOT NULL,"
                " PRIMARY KEY (kind, path))"
            )
        except BaseException:
            db.close()
            raise
        return db

    def _rebuild(self, exc: sqlite3.DatabaseError) -> None:
        """Replace a damaged memo file (cut short by a full disk or a killed copy) with an empty one.

        Left as it was, it would be reported on every build and never used again; its facts are
        only a memo, so losing them costs one more look at each file.
        """
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._rows.clear()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                self.path.with_name(self.path.name + suffix).unlink()
        try:
            self._db = self._connect()
        except (OSError, sqlite3.Error) as again:
            log.warning("media memo %s was damaged (%s) and cannot be rebuilt (%s): every file will be probed",
                        self.path, exc, again)
            return
        log.warning("media memo %s was damaged (%s): rebuilt empty", self.path, exc)

    def _failed(self, what: str, exc: sqlite3.Error) -> None:
        """A query failed: rebuild a damaged memo, otherwise say so and carry on without the fact."""
        if _damaged(exc):
            self._rebuild(exc)
        else:
            log.warning("media memo %s failed: %s", what, exc)

    @staticmethod
    def _identity(file: Path) -> tuple[str, int, int, int, int]:
        # abspath, not realpath: a file reached by two paths is just remembered twice, and the
        # size/mtime/inode/ctime check keeps either record honest. ctime because an edit in place
        # can keep size and mtime (tools that restore the mtime, a clock step); nobody can set ctime.
        st = os.stat(file)
        return os.path.abspath(file), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns

    def _kind_rows(self, kind: str) -> dict[str, list]:
        rows = self._rows.get(kind)
        if rows is None:
            rows = {}
            if self._db is not None:
                try:
                    for path, size, mtime_ns, inode, ctime_ns, value in self._db.execute(
                            "SELECT path, size, mtime_ns, inode, ctime_ns, value FROM facts WHERE kind=?", (kind,)):
                        rows[path] = [size, mtime_ns, inode, ctime_ns, value, _UNPARSED]
                except sqlite3.Error as exc:
                    rows = {}
                    self._failed("read", exc)
            self._rows[kind] = rows
        return rows

    def get(self, kind: str, file: Path, *, identity: tuple[str, int, int, int, int] | None = None):
        """The remembered value of ``kind`` for ``file``, or ``None`` (also when it changed)."""
        if self._db is None:
            return None
        path, *stat_now = identity or self._identity(file)
        with self._lock:
            row = self._kind_rows(kind).get(path)
            if row is None or row[:4] != stat_now:
                return None
            if row[5] is _UNPARSED:
                row[5] = json.loads(row[4])
            return row[5]

    def put(self, kind: str, file: Path, value, *, identity: tuple[str, int, int, int, int] | None = None) -> None:
        """Remember ``value`` for ``file``; ``identity`` = the stat taken *before* reading the file.

        Taking the identity before the (slow) read means a file edited while it was being hashed
        is remembered under its old size/mtime, so the next look sees the change.
        """
        if self._db is None:
            return
        path, size, mtime_ns, inode, ctime_ns = identity or self._identity(file)
        with self._lock:
            if self._db is None:  # rebuilt and unusable since
                return
            try:
                self._db.execute("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (kind, path, size, mtime_ns, inode, ctime_ns, json.dumps(value, ensure_ascii=False)))
            except sqlite3.Error as exc:
                self._failed("write", exc)
                return
            self._kind_rows(kind)[path] = [size, mtime_ns, inode, ctime_ns, None, value]

    def remember(self, kind: str, file: Path, compute):
        """``get`` or else ``compute(file)`` and ``put``; exceptions from ``compute`` propagate."""
        identity = self._identity(file)
        cached = self.get(kind, file, identity=identity)
        if cached is not None:
            return cached
        value = compute(file)
        self.put(kind, file, value, identity=identity)
        return value

    def sha256(self, file: Path) -> str:
        return self.remember("sha256", file, sha256_file)

    def survey(self) -> list[tuple[str, str, int, bool]]:
        """``(kind, path, bytes, current)`` per fact; current = the file is still there, unchanged."""
        if self._db is None:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, path, size, mtime_ns, inode, ctime_ns, length(value) FROM facts").fetchall()
        facts = []
        for kind, path, size, mtime_ns, inode, ctime_ns, length in rows:
            try:
                st = os.stat(path)
                current = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns) == (size, mtime_ns, inode, ctime_ns)
            except OSError:
                current = False
            facts.append((kind, path, length + len(path) + len(kind), current))
        return facts

    def forget(self, facts: list[tuple[str, str]]) -> None:
        """Drop the facts ``(kind, path)``."""
        if self._db is None:
            return
        with self._lock:
            self._db.executemany("DELETE FROM facts WHERE kind=? AND path=?", facts)
            for kind, path in facts:
                self._rows.get(kind, {}).pop(path, None)

    def compact(self) -> None:
        """Give the space of dropped facts back to the file system."""
        if self._db is None:
            return
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.execute("VACUUM")
            except sqlite3.Error as exc:  # another process is using the memo: compact next time
                log.warning("media memo not compacted: %s", exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> FileMemo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Content-addressed store
# --------------------------------------------------------------------------------------------

ENTRY_FILE = "entry.json"
#: A temp folder of another host (a cluster worker) untouched this long belongs to a dead build.
_FOREIGN_TEMP_SECONDS = 24 * 3600


_SHARED_MEMOS: dict[Path, FileMemo] = {}
_SHARED_MEMOS_LOCK = threading.Lock()


def shared_file_memo(path: Path) -> FileMemo:
    """One open :class:`FileMemo` per file for the whole process.

    Check hooks run once per course; reopening (and reloading) a memo for each of 2,000 courses
    would cost more than the checks themselves. A memo whose file was deleted (cache pruned or
    removed) is replaced by a fresh one.
    """
    path = Path(path)
    with _SHARED_MEMOS_LOCK:
        memo = _SHARED_MEMOS.get(path)
        if memo is None or not path.exists():
            if memo is not None:
                memo.close()
            memo = _SHARED_MEMOS[path] = FileMemo(path)
        return memo


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


# --------------------------------------------------------------------------------------------
# What the cache holds: `weike cache info|prune`
#
# Each plugin describes the parts of the cache it made (weike_cache_parts); a part lists its
# items, each marked as needed by the current courses or not. Prune removes only items that are
# not needed, each one so that it vanishes in one step (an entry folder is renamed to a temp
# name first, then deleted), so a prune that is killed never leaves half an entry behind.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CacheItem:
    """One thing in the cache that can go on its own: an entry folder, a file, a remembered fact."""

    #: How it is shown: a path relative to the cache, or a description.
    name: str
    size: int
    #: The current courses use it (or it belongs to a build that is running): never pruned.
    needed: bool
    #: The file or folder that is the item, when it is one (a memo row is not).
    path: Path | None = None
    #: Whatever else the part needs to remove it (a memo row's kind and path).
    ref: object = None


class CachePart:
    """A part of the build cache, described by the plugin that writes it.

    Subclasses list their :meth:`items` and may override :meth:`remove` (the default deletes
    each item's file or folder) and :meth:`after_prune` (e.g. compact a database).
    """

    def __init__(self, *, name: str, title: str, path: Path, note: str = "") -> None:
        #: Short identifier: ``media``, ``media-memo``, ``site-covers``...
        self.name = name
        #: What it is, for people: "转码结果 (transcoded media)".
        self.title = title
        self.path = Path(path)
        #: Something to say about it (e.g. why nothing in it can be judged now).
        self.note = note

    def items(self) -> list[CacheItem]:
        raise NotImplementedError

    def size(self) -> int:
        """Bytes the part takes on disk."""
        return sum(tree_size(path) for path in self.claims())

    def claims(self) -> list[Path]:
        """Files and folders of the cache that belong to this part (for "unclaimed" reporting)."""
        return [self.path]

    def remove(self, items: list[CacheItem]) -> None:
        for item in items:
            if item.path is not None:
                remove_path(item.path)

    def after_prune(self) -> None:
        """Called once after :meth:`remove` (when anything was removed)."""


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


def tree_size(path: Path) -> int:
    """Bytes used by the files of ``path`` (a file or a folder tree); 0 when it is gone."""
    path = Path(path)
    try:
        if not path.is_dir():
            return path.stat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


class StorePart(CachePart):
    """A :class:`ContentStore`: an item per entry (needed when its key is), plus dead builds' temps."""

    def __init__(self, store: ContentStore, *, needed_keys: set[str] | None, name: str, title: str,
                 note: str = "") -> None:
        super().__init__(name=name, title=title, path=store.root, note=note)
        self.store = store
        #: None = cannot tell which entries are needed now: every entry is kept.
        self.needed_keys = needed_keys

    def items(self) -> list[CacheItem]:
        items = []
        for key, folder in self.store.entries():
            needed = self.needed_keys is None or key in self.needed_keys
            items.append(CacheItem(name=folder.relative_to(self.path.parent).as_posix(), size=tree_size(folder),
                                   needed=needed, path=folder))
        for temp, alive in self.store.temps():
            items.append(CacheItem(name=temp.relative_to(self.path.parent).as_posix(), size=tree_size(temp),
                                   needed=alive, path=temp))
        return items


class MemoPart(CachePart):
    """A :class:`FileMemo`: an item per remembered fact; facts about files that are gone or changed can go."""

    def __init__(self, memo_path: Path, *, name: str, title: str) -> None:
        super().__init__(name=name, title=title, path=memo_path)

    def claims(self) -> list[Path]:
        return [self.path, *(self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm"))]

    def items(self) -> list[CacheItem]:
        if not self.path.is_file():
            return []
        with FileMemo(self.path) as memo:
            return [CacheItem(name=f"{kind} {path}", size=size, needed=current, ref=(kind, path))
                    for kind, path, size, current in memo.survey()]

    def remove(self, items: list[CacheItem]) -> None:
        with FileMemo(self.path) as memo:
            memo.forget([item.ref for item in items])

    def after_prune(self) -> None:
        with FileMemo(self.path) as memo:
            memo.compact()


class RecordPart(CachePart):
    """Small bookkeeping files (a build stamp, output ledgers): kept while ``needed`` says so.

    Losing one only costs time: the next build redoes the work it would have let it skip.
    """

    def __init__(self, *, name: str, title: str, path: Path, needed=lambda file: True, note: str = "") -> None:
        super().__init__(name=name, title=title, path=path, note=note)
        self.needed = needed

    def items(self) -> list[CacheItem]:
        files = sorted(self.path.iterdir()) if self.path.is_dir() else [self.path] if self.path.exists() else []
        return [CacheItem(name=file.relative_to(self.path.parent).as_posix(), size=tree_size(file),
                          needed=bool(self.needed(file)), path=file) for file in files]


class ScratchPart(CachePart):
    """A folder every run rebuilds from nothing (a work folder, a preview): never needed between runs."""

    def items(self) -> list[CacheItem]:
        if not self.path.exists():
            return []
        return [CacheItem(name=self.path.name, size=tree_size(self.path), needed=False, path=self.path)]
