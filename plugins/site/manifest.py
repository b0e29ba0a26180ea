"""What a built folder (the site, the offline edition) holds and what each file was made from, and
publishing a rebuild into it file by file.

A folder's stamp records every file written: size, modification time and SHA-256, and for the
files made from known inputs (a page, a thumbnail) the digest of those inputs. A rebuild reads it
back, keeps only the entries whose file is still as written (a deleted or defaced page is made
again), makes what changed into a temporary folder, then :func:`publish` moves in only the files
whose bytes differ and deletes what the build no longer makes. Unchanged files are never
rewritten, so their time and inode stay, and a copy or an offline edition made from them can
tell what changed by the same record.

Each file is replaced atomically (``os.replace``); a build killed while publishing leaves every
file whole, and the stamp, written last, still describes the previous build: the files it moved
in no longer match their record and are made again by the next build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from weike.builder.keeping import outputs
from weike.builder.keeping.memo import sha256_file
from weike.plugins.site.workers import render_processes, share_work

#: The stamp's format; a stamp of another format is not read (the folder is made whole again).
#: Each file is one string, ``"size mtime_ns sha256[ input digest]"``, both digests cut to
#: :data:`DIGEST_CHARS`: half the bytes of lists beside a separate ``made_from``, and several times
#: faster to read and write (tens of thousands of files at catalogue scale, on every build).
MANIFEST_FORMAT = 3
#: Hexadecimal digits kept of a SHA-256 (128 bits: no accidental or contrived collision).
DIGEST_CHARS = 32


@dataclass(kw_only=True)
class Manifest:
    """The files of a built folder (relative POSIX path -> ``[size, mtime_ns, sha256]``) and what
    the made ones were made from (path -> input digest)."""

    written: dict[str, list] = field(default_factory=dict)
    made_from: dict[str, str] = field(default_factory=dict)

    def unchanged(self, rel: str, digest: str) -> bool:
        """The folder holds ``rel`` as written, made from inputs with ``digest``."""
        return rel in self.written and self.made_from.get(rel, "")[:DIGEST_CHARS] == digest[:DIGEST_CHARS]

    def holds(self, rel: str, data: bytes) -> bool:
        """The folder holds ``rel`` as written, with exactly the bytes ``data``."""
        record = self.written.get(rel)
        return record is not None and record[0] == len(data) and record[2] == hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]

    def as_json(self) -> dict:
        made_from = self.made_from
        files = {}
        for rel, (size, mtime_ns, sha256) in self.written.items():
            digest = made_from.get(rel)
            files[rel] = (f"{size} {mtime_ns} {sha256[:DIGEST_CHARS]} {digest[:DIGEST_CHARS]}" if digest
                          else f"{size} {mtime_ns} {sha256[:DIGEST_CHARS]}")
        return {"format": MANIFEST_FORMAT, "files": files}


def stamp_manifest(stamp: Mapping | None) -> Manifest | None:
    """The manifest a folder's parsed stamp holds, every file as recorded; None for a stamp of
    another format or a damaged one."""
    if not isinstance(stamp, Mapping) or stamp.get("format") != MANIFEST_FORMAT:
        return None
    files = stamp.get("files")
    if not isinstance(files, dict):
        return None
    written: dict[str, list] = {}
    made_from: dict[str, str] = {}
    try:
        for rel, text in files.items():
            size, mtime_ns, sha256, *digest = text.split(" ")
            written[rel] = [int(size), int(mtime_ns), sha256]
            if digest:
                (made_from[rel],) = digest
    except (AttributeError, ValueError):
        return None
    return Manifest(written=written, made_from=made_from)


def present_files(folder: Path, *, stamp_file: str, skip: Iterable[str] = ()) -> dict[str, tuple[int, int]]:
    """Every file below ``folder`` as relative path -> (size, mtime_ns), without the stamp and the
    top-level folders in ``skip`` (the site's ``media``, placed and checked on their own)."""
    return {rel: (size, mtime_ns) for rel, (size, mtime_ns, _inode) in _listing(folder, stamp_file, skip).items()}


def _listing(folder: Path, stamp_file: str, skip: Iterable[str],
             known: Mapping[str, list] | None = None) -> dict[str, tuple[int, int, int]]:
    """:func:`present_files` with each file's inode as well: relative path -> (size, mtime_ns, inode).
    A file of ``known`` (``rel -> [size, mtime_ns, inode, ...]``) listed with its inode is taken
    as known, not stat'ed (see :func:`record_all`)."""
    found: dict[str, tuple[int, int, int]] = {}
    _walk([("", str(folder))], found, stamp_file, set(skip), known or {})
    return found


def _walk(folders: list[tuple[str, str]], found: dict, stamp_file: str, skipped: set[str],
          known: Mapping[str, list], *, whole: bool = True) -> list[tuple[str, str]]:
    """List the files of ``folders`` (``(relative prefix, path)``) into ``found`` as :func:`_listing`
    lists them, and those of all their subfolders when ``whole``; returns the subfolders left
    unlisted (none when ``whole``)."""
    stack = list(folders)
    left: list[tuple[str, str]] = []
    below = stack if whole else left
    while stack:
        prefix, current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if not (prefix == "" and entry.name in skipped):
                    below.append((rel + "/", entry.path))
                continue
            if rel == stamp_file:
                continue
            record = known.get(rel)
            if record is not None and record[2] == entry.inode() and not entry.is_symlink():
                found[rel] = (record[0], record[1], record[2])
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[rel] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    return left


#: A folder of this many files and more is walked for its records by two processes (a cold build's
#: site from about 500 courses): the walk is one system call after another, about 11 µs a file at
#: catalogue scale (13,000 folders of one page each), on one core while the other idles; a fork of
#: the build's process at that scale, 0.01-0.02 s.
RECORDS_SHARED = 6000


def _listing_shared(folder: Path, stamp_file: str, skip: Iterable[str], known: Mapping[str, list],
                    meanwhile: Callable[[], None] | None = None) -> dict[str, tuple[int, int, int]]:
    """:func:`_listing`, its folders two levels down (a site's courses) shared with a forked
    process (:class:`~weike.builder.keeping.aside.BytesAside`), which lists every other one; where
    that process cannot be forked or fails, this one lists its folders too: the same listing.
    ``meanwhile`` (work of this process in no folder but the top-level ones in ``skip``) is done
    once the first two levels are listed, while the forked process lists its folders."""
    from weike.builder.keeping.aside import BytesAside

    skipped = set(skip)
    found: dict[str, tuple[int, int, int]] = {}
    folders = _walk([("", str(folder))], found, stamp_file, skipped, known, whole=False)
    folders = _walk(folders, found, stamp_file, skipped, known, whole=False)
    mine, theirs = folders[0::2], folders[1::2]

    def listed_aside() -> bytes:
        listed: dict[str, tuple[int, int, int]] = {}
        _walk(theirs, listed, stamp_file, skipped, known)
        # (NUL ends no name; a name the system gave undecodable comes back as it went)
        return "\0".join(f"{rel}\0{size}\0{mtime_ns}\0{inode}"
                         for rel, (size, mtime_ns, inode) in listed.items()).encode("utf-8", "surrogateescape")

    aside = BytesAside(listed_aside) if theirs else None
    try:
        if meanwhile is not None:
            meanwhile()
        _walk(mine if aside is not None and aside.started else folders, found, stamp_file, skipped, known)
    except BaseException:
        if aside is not None:
            aside.stop()
        raise
    if aside is None or not aside.started:
        return found
    payload = aside.result()
    if payload is None:
        _walk(theirs, found, stamp_file, skipped, known)
    elif payload:
        fields = payload.decode("utf-8", "surrogateescape").split("\0")
        for index in range(0, len(fields), 4):
            found[fields[index]] = (int(fields[index + 1]), int(fields[index + 2]), int(fields[index + 3]))
    return found


def read_manifest(stamp: Mapping | None, present: Mapping[str, tuple[int, int]]) -> Manifest | None:
    """The manifest in ``stamp`` (a folder's parsed stamp), keeping only the files still as written;
    None for a stamp of another format."""
    recorded = stamp_manifest(stamp)
    if recorded is None:
        return None
    intact = {rel: record for rel, record in recorded.written.items() if present.get(rel) == (record[0], record[1])}
    return Manifest(written=intact, made_from={rel: d for rel, d in recorded.made_from.items() if rel in intact})


def still_as_written(stamp: Mapping | None, folder: Path) -> bool:
    """Every file ``stamp`` records is in ``folder`` with its size and time (stat only, no read)."""
    recorded = stamp_manifest(stamp)
    if recorded is None:
        return False
    for rel, record in recorded.written.items():
        try:
            stat = os.stat(folder / rel)
        except OSError:
            return False
        if [stat.st_size, stat.st_mtime_ns] != record[:2]:
            return False
    return True


def _record(path: Path, sha256: str) -> list:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, sha256[:DIGEST_CHARS]]


#: Bytes as given (Windows would translate line ends), and no descriptor left to a child process.
_OPEN_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def write_recorded(path: str, data: bytes) -> tuple[os.stat_result, str]:
    """Write ``data`` to the file ``path`` (made, or emptied first; its folder must exist), and
    return its identity as written and the digest of ``data`` (a record's, :data:`DIGEST_CHARS`
    long): the file need not be read back to be recorded."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _OPEN_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
        stat = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    return stat, hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]


class WrittenFiles:
    """Files a build writes into its folder from bytes in memory, each recorded as it is written:
    ``rel -> [size, mtime_ns, inode, sha256]``, the digest taken from the bytes, not read back
    (:func:`record_all` takes it). Each folder is made once (the build's folder is new: a page's
    folder is one ``mkdir``, not MkDocs' ``makedirs`` of every parent on every page)."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)
        self.records: dict[str, list] = {}
        #: Paths written more than once (by this process or, once :meth:`add` gathers them, by others).
        self.rewritten: set[str] = set()
        self._folders: set[str] = set()

    def room_for(self, rel: str) -> str:
        """The path of ``rel`` (relative POSIX path) in the folder, its own folder made when this
        process has not made or met it yet (one made by another process meanwhile is met once)."""
        path = f"{self.folder}/{rel}"
        parent = os.path.dirname(path)
        if parent not in self._folders:
            try:
                os.mkdir(parent)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(parent, exist_ok=True)
            self._folders.add(parent)
        return path

    def write(self, rel: str, data: bytes) -> list:
        """Write ``data`` to ``rel``, replacing what is there; returns its record
        (for :meth:`add`, in the process that gathers them)."""
        stat, digest = write_recorded(self.room_for(rel), data)
        return [stat.st_size, stat.st_mtime_ns, stat.st_ino, digest]

    def put(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``rel`` and take its record."""
        self.add(rel, self.write(rel, data))

    def add(self, rel: str, record: list) -> None:
        """Take the record of a file written by another process (or this one)."""
        if rel in self.records:
            self.rewritten.add(rel)
        self.records[rel] = record

    def handed_over(self) -> dict[str, list]:
        """The records of the files written once (a file written twice is read back, whoever wrote last)."""
        return {rel: record for rel, record in self.records.items() if rel not in self.rewritten}


def record_all(folder: Path, *, stamp_file: str, skip: Iterable[str] = (),
               written: Mapping[str, list] | None = None,
               meanwhile: Callable[[], None] | None = None) -> dict[str, list]:
    """The record of every file of a folder made whole (hashing each: in worker processes when
    there are many, as on a cold build). ``written`` holds files whose bytes the build wrote
    itself (:meth:`WrittenFiles.handed_over`): one the folder still lists under its inode takes
    its record from there, neither stat'ed nor read back. Only for a build in which nothing else
    writes into a file once written (the site's plugins are weike's own and Material's search:
    :func:`~weike.plugins.site.incremental.renders_incrementally`); a file replaced since has
    another inode and is read back.

    ``meanwhile`` is work of the caller's in no folder but the top-level ones in ``skip`` (the
    site's media moved into place), done before the walk, or beside the forked process's part of
    it when the walk is shared."""
    if written is not None and render_processes(len(written), per_process=RECORDS_SHARED // 2) > 1:
        listed = _listing_shared(folder, stamp_file, skip, written, meanwhile)
    else:
        if meanwhile is not None:
            meanwhile()
        listed = _listing(folder, stamp_file, skip, written)
    records: dict[str, list | None] = {}
    for rel, (size, mtime_ns, inode) in listed.items():
        known = written.get(rel) if written is not None else None
        records[rel] = ([size, mtime_ns, known[3]] if known is not None and known[:3] == [size, mtime_ns, inode]
                        else None)
    unknown = [rel for rel, record in records.items() if record is None]
    hashed = share_work(unknown, lambda rel: _record(folder / rel, sha256_file(folder / rel)),
                        processes=render_processes(len(unknown)))
    records.update(zip(unknown, hashed, strict=True))
    return records


def make_room(target: Path, folder: Path) -> None:
    """Clear the way for a file at ``target``: a folder there, or a file where a parent folder goes."""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    parent = target.parent
    while parent != folder and not parent.is_dir():
        if parent.exists() or parent.is_symlink():
            parent.unlink()
            break
        parent = parent.parent
    target.parent.mkdir(parents=True, exist_ok=True)


def publish(made: Path, folder: Path, *, previous: Manifest, present: Mapping[str, tuple[int, int]],
            kept: Iterable[str], made_from: Mapping[str, str],
            known: Mapping[str, list] | None = None) -> Manifest:
    """Move the files of ``made`` (a build's temporary folder) into ``folder`` where they differ,
    keep ``kept`` (files the build did not make again, recorded in ``previous``), delete every other
    file of ``present`` (the folder's files before, as :func:`present_files` lists them).

    ``known``: files of ``made`` whose bytes the build knows (``rel -> [size, mtime_ns, inode,
    sha256]``, as :meth:`WrittenFiles.write` records them): one ``made`` still lists under that
    inode, size and time is neither stat'ed nor read back, as in :func:`record_all` (and on the
    same condition: nothing else writes into a file once written). Every other file is hashed.

    Returns the new manifest; ``made_from`` holds the input digests of this build's made files.
    """
    written: dict[str, list] = {}
    for rel in kept:
        written[rel] = previous.written[rel]
    known = known or {}
    for rel, (size, mtime_ns, inode) in _listing(made, "", (), known).items():
        source = made / rel
        record = known.get(rel)
        if record is not None and record[:3] == [size, mtime_ns, inode]:
            sha256 = record[3]
        else:
            sha256 = sha256_file(source)
        old = previous.written.get(rel)
        if old is not None and old[0] == size and old[2] == sha256[:DIGEST_CHARS]:
            written[rel] = old  # the same bytes are there already: not rewritten
            continue
        target = folder / rel
        try:
            os.replace(source, target)
        except OSError:
            # A folder where the file goes, a file where a parent folder goes, or no parent yet:
            # cleared only then (four more system calls a file, hundreds of files an edit).
            make_room(target, folder)
            os.replace(source, target)
        # (A file moved keeps its size and time: not stat'ed again.)
        written[rel] = [size, mtime_ns, sha256[:DIGEST_CHARS]]
    emptied: set[Path] = set()
    for rel in present:
        if rel not in written:
            path = folder / rel
            if path.is_dir() and not path.is_symlink():
                continue  # a file made way for a folder of this build's files
            path.unlink(missing_ok=True)
            emptied.add(path.parent)
    for parent in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        while parent != folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return Manifest(written=written, made_from={rel: d for rel, d in made_from.items() if rel in written})


def write_stamp(folder: Path, stamp_file: str, stamp: Mapping) -> None:
    # ASCII (a Chinese path escaped): three times faster to encode than UTF-8 text, and read the same.
    outputs.write_atomic(folder / stamp_file, json.dumps(stamp).encode("ascii"))


def read_stamp_file(folder: Path, stamp_file: str) -> dict | None:
    try:
        stamp = json.loads((folder / stamp_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None
