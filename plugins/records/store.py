"""The station's statements on disk: one SQLite database in the repository's working data.

``.weike/records/statements.sqlite3``, in WAL mode with ``synchronous=FULL``: a statement is
acknowledged to the phone only after its transaction is committed and the WAL is fsynced, so
pulling the plug or ``kill -9`` loses nothing a phone was told is stored (the phone keeps, and
sends again, everything it was not told). Statement ids are the primary key: a statement sent
twice (a phone that lost the answer, or two stations' exports merged) is stored once.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

RECORDS_DIR = Path(".weike") / "records"
DATABASE_NAME = "statements.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    id TEXT PRIMARY KEY,
    stored TEXT NOT NULL,
    statement TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forwarded (
    endpoint TEXT NOT NULL,
    id TEXT NOT NULL,
    refused TEXT,
    PRIMARY KEY (endpoint, id)
)
"""
#: Properties a Learning Record Store sets, left out when two copies of a statement are compared.
_SET_BY_STORE = ("stored", "authority", "version")


class StatementConflict(Exception):
    """A statement id the store already holds with other content (xAPI: 409 Conflict)."""

    def __init__(self, statement_id: str) -> None:
        super().__init__(statement_id)
        self.statement_id = statement_id


def records_folder(root: Path) -> Path:
    return Path(root) / RECORDS_DIR


def _comparable(statement: Mapping) -> str:
    return json.dumps({k: v for k, v in statement.items() if k not in _SET_BY_STORE}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))


def now_stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatementStore:
    """The statements of one station; safe to use from the share server's threads."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise FileNotFoundError(self.path)
        self._lock = threading.Lock()
        # Autocommit mode: every transaction below is explicit (BEGIN IMMEDIATE ... COMMIT).
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def of_repository(cls, root: Path, *, create: bool = True) -> StatementStore:
        return cls(records_folder(root) / DATABASE_NAME, create=create)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StatementStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, statements: Iterable[Mapping], *, stored: str | None = None) -> tuple[list[str], int]:
        """Store ``statements`` (each with an ``id``) in one transaction: all or none.

        Returns (their ids, how many were new). A statement whose id is stored with the same
        content is not stored again; with other content it raises :class:`StatementConflict`
        and nothing of the batch is stored. ``stored`` is set where a statement has none.
        """
        stamp = stored or now_stamp()
        ids, new = [], 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    statement_id = str(statement["id"])
                    ids.append(statement_id)
                    row = self._db.execute("SELECT statement FROM statements WHERE id = ?", (statement_id,)).fetchone()
                    if row is not None:
                        if _comparable(json.loads(row[0])) != _comparable(statement):
                            raise StatementConflict(statement_id)
                        continue
                    kept = dict(statement)
                    kept.setdefault("stored", stamp)
                    self._db.execute("INSERT INTO statements (id, stored, statement) VALUES (?, ?, ?)",
                                     (statement_id, kept["stored"],
                                      json.dumps(kept, ensure_ascii=False, separators=(",", ":"))))
                    new += 1
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite has already rolled back after some errors (SQLITE_FULL): then there is
                # nothing to undo, and the error to report is the first one.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return ids, new

    def statements(self) -> Iterator[dict]:
        """Every statement, oldest stored first (then by id: the order is the same on every run)."""
        with self._lock:
            rows = self._db.execute("SELECT statement FROM statements ORDER BY stored, id").fetchall()
        for (text,) in rows:
            yield json.loads(text)

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM statements").fetchone()[0]

    def ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM statements")}

    # -- forwarding to an LRS (weike.plugins.records.forwarding) -------------------------------

    def unforwarded(self, endpoint: str, *, limit: int) -> list[dict]:
        """The oldest ``limit`` statements ``endpoint`` has not acknowledged (nor refused)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT statement FROM statements WHERE id NOT IN (SELECT id FROM forwarded WHERE endpoint = ?) "
                "ORDER BY stored, id LIMIT ?", (endpoint, limit)).fetchall()
        return [json.loads(text) for (text,) in rows]

    def count_unforwarded(self, endpoint: str) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM statements WHERE id NOT IN (SELECT id FROM forwarded WHERE endpoint = ?)",
                (endpoint,)).fetchone()[0]

    def mark_forwarded(self, endpoint: str, ids: Iterable[str], *, refused: str | None = None) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO forwarded (endpoint, id, refused) VALUES (?, ?, ?)",
                                     [(endpoint, statement_id, refused) for statement_id in ids])
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
