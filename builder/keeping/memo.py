"""A memo of facts about files (:class:`FileMemo`): a file's SHA-256, its probe, remembered while the file
stays the same.

Facts are keyed by ``(path, size, mtime_ns, inode, ctime_ns)``, in ONE SQLite file. An unchanged
source is then neither re-hashed nor re-probed, and 2,000 courses make one file, not 26,000. Editing
a file changes its ctime (and usually its size or mtime), so the memo misses and the file is looked
at again. A damaged memo file is replaced by an empty one.

Nothing here knows about media or platforms.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("weike.cache")

_HASH_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()



_UNPARSED = object()

# --------------------------------------------------------------------------------------------
# Facts consulted: what a piece of work learnt from memos, so a result remembered elsewhere (a
# course's check) can tell later whether every memo still says the same
# --------------------------------------------------------------------------------------------

#: A fact as consulted: (memo file, kind, path, (size, mtime_ns, inode, ctime_ns), the value's JSON
#: text as the memo holds it). The text, not the value: telling whether a memo still says the
#: same is then one string comparison, and a remembered course read back rebuilds one string per
#: fact rather than a probe's every field.
ConsultedFact = tuple[str, str, str, tuple[int, int, int, int], str]
_RECORDERS: list[list[ConsultedFact]] = []
_RECORDERS_LOCK = threading.Lock()


@contextlib.contextmanager
def facts_consulted() -> Iterator[list[ConsultedFact]]:
    """Collect every fact any :class:`FileMemo` gives or takes while the block runs, in any
    thread (a course's check probes on a pool); a block nested in another, or running beside it,
    is seen by both (one recorded too many only makes a remembered result be redone)."""
    found: list[ConsultedFact] = []
    with _RECORDERS_LOCK:
        _RECORDERS.append(found)
    try:
        yield found
    finally:
        with _RECORDERS_LOCK:
            _RECORDERS[:] = [recorder for recorder in _RECORDERS if recorder is not found]


def _consulted(memo: Path, kind: str, path: str, identity, text: str) -> None:
    if _RECORDERS:
        fact = (str(memo), kind, path, tuple(identity), text)
        with _RECORDERS_LOCK:
            for recorder in _RECORDERS:
                recorder.append(fact)
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
            _consulted(self.path, kind, path, stat_now, row[4])
            return row[5]

    def holds(self, kind: str, path: str, identity: tuple[int, int, int, int], text: str) -> bool:
        """Whether the fact ``kind`` of ``path`` is still the one of JSON ``text`` for the file of
        ``identity`` (``(size, mtime_ns, inode, ctime_ns)``), as a :func:`facts_consulted` fact:
        no stat, no JSON parsed."""
        if self._db is None:
            return False
        with self._lock:
            row = self._kind_rows(kind).get(path)
            return row is not None and tuple(row[:4]) == tuple(identity) and row[4] == text

    def put(self, kind: str, file: Path, value, *, identity: tuple[str, int, int, int, int] | None = None) -> None:
        """Remember ``value`` for ``file``; ``identity`` = the stat taken *before* reading the file.

        Taking the identity before the (slow) read means a file edited while it was being hashed
        is remembered under its old size/mtime, so the next look sees the change.
        """
        if self._db is None:
            return
        path, size, mtime_ns, inode, ctime_ns = identity or self._identity(file)
        text = json.dumps(value, ensure_ascii=False)
        with self._lock:
            if self._db is None:  # rebuilt and unusable since
                return
            try:
                self._db.execute("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (kind, path, size, mtime_ns, inode, ctime_ns, text))
            except sqlite3.Error as exc:
                self._failed("write", exc)
                return
            self._kind_rows(kind)[path] = [size, mtime_ns, inode, ctime_ns, text, value]
        _consulted(self.path, kind, path, (size, mtime_ns, inode, ctime_ns), text)

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

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """The facts put inside are written to the file in one transaction, at the end: a cold
        build's thousand covers cost one write, not one each (131-309 us a fact, 42-72 with the
        hash). A batch cut short by an error still keeps what it had; a fact lost with a crash is
        only looked up again."""
        with self._lock:
            began = self._db is not None and not self._db.in_transaction
            if began:
                try:
                    self._db.execute("BEGIN")
                except sqlite3.Error as exc:
                    began = False
                    self._failed("batch", exc)
        try:
            yield
        finally:
            if began:
                with self._lock:
                    if self._db is not None and self._db.in_transaction:  # (not when rebuilt since)
                        try:
                            self._db.execute("COMMIT")
                        except sqlite3.Error as exc:
                            self._failed("write", exc)

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
