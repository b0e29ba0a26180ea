"""Fingerprints of a stage's inputs, so unchanged work is skipped on the next build.

A fingerprint is a SHA-256 over the ``repr`` of everything an output depends on: the frozen
model values (whose reprs list every field), file identities (size and mtime), package versions
and the source code that produces the output. Equal fingerprints mean the output would come out
the same, so the stage may keep what is on disk.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import sys
from operator import itemgetter
from pathlib import Path

from weike.builder import __version__
from weike.builder.keeping.outputs import write_atomic


class Fingerprint:
    """An incremental hash of reprs, NUL-separated so ("ab", "c") and ("a", "bc") differ."""

    def __init__(self, *parts: object) -> None:
        self._digest = hashlib.sha256()
        self.add(__version__, *parts)

    def add(self, *parts: object) -> Fingerprint:
        for part in parts:
            self._digest.update(part if isinstance(part, bytes) else repr(part).encode("utf-8"))
            self._digest.update(b"\0")
        return self

    def add_file(self, path: Path | None) -> Fingerprint:
        """A file's identity without reading it: (size, mtime_ns), or None when it is absent."""
        try:
            stat = os.stat(path) if path is not None else None
        except OSError:
            stat = None
        return self.add(str(path), (stat.st_size, stat.st_mtime_ns) if stat else None)

    def add_input(self, item: Path | str) -> Fingerprint:
        """What a plugin said it reads (``weike_build_inputs``, ``BundleTarget.inputs``): a string
        is a fact that is no file (a tool's version); a folder counts with everything below it."""
        if isinstance(item, str):
            return self.add("fact", item)
        if Path(item).is_dir():
            return self.add_tree(Path(item), Path(item).parent)
        return self.add_file(Path(item))

    def add_tree(self, folder: Path, base: Path, *, ctime: bool = False) -> Fingerprint:
        """Every entry below ``folder`` without reading a file: name (relative to ``base``), size
        and mtime (symlinks by their target text too); with ``ctime`` also the inode's change time,
        which no edit can keep. A folder that is absent counts as such."""
        folder = os.fspath(folder)
        if not os.path.isdir(folder):
            return self.add(folder, None)
        below = os.path.relpath(folder, base)
        return self.add(tree_entries(folder, "" if below == os.curdir else below + os.sep, ctime=ctime))

    def copy(self) -> Fingerprint:
        """This fingerprint as it stands, to be added to apart (what many share is hashed once)."""
        twin = Fingerprint.__new__(Fingerprint)
        twin._digest = self._digest.copy()
        return twin

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def tree_entries(folder: str, prefix: str = "", *, ctime: bool = False) -> list[tuple]:
    """Every entry below ``folder`` as ``(prefix + relative path, size, mtime_ns[, ctime_ns])``,
    with ``(path, "link", target)`` before a symlink's own, ``(path, "unreadable")`` for a folder
    that cannot be listed, and no ``__pycache__``; sorted by path.

    A walk at the speed of ``os.scandir``: string paths, no ``Path`` object or ``relpath`` per
    entry, since a catalogue's tree has tens of thousands of them and a no-change build walks it.
    """
    found: list[tuple] = []
    stack = [(prefix, folder)]
    while stack:
        below, current = stack.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError:  # unreadable: counts as such, and changes once it can be read
            found.append((below.rstrip(os.sep) or os.curdir, "unreadable"))
            continue
        for entry in entries:
            rel = below + entry.name
            if entry.is_symlink():
                found.append((rel, "link", os.readlink(entry.path)))
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    stack.append((rel + os.sep, entry.path))
                continue
            try:
                stat = entry.stat()
            except OSError:  # a dangling link: its target text is already recorded
                continue
            found.append((rel, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns) if ctime
                         else (rel, stat.st_size, stat.st_mtime_ns))
    found.sort(key=itemgetter(0))  # stable: a link's target text stays before its stat
    return found


def _has_own_folder(package) -> bool:
    """A package with one folder of its own: a regular package, or one made from a folder without
    an ``__init__.py`` (a repository's ``plugins/``, see weike.builder.running.plugin_manager). A
    namespace package (PEP 420: its ``__path__`` is no list) spans folders it does not own."""
    return bool(getattr(package, "__file__", None)) or isinstance(getattr(package, "__path__", None), list)


def code_location(module) -> list[Path]:
    """Where an imported module's code lives: the folder of its outermost package that has one
    (templates and scripts beside the code count too; a namespace package such as ``weike`` has
    none, so ``weike.plugins.site.pages`` counts as the ``plugins/`` folder, and a repository's
    plugin counts as its whole ``plugins/`` folder, helpers included), or its own file for a
    top-level module; [] when unknown."""
    file = getattr(module, "__file__", None)
    if not file:
        return []
    name = module.__name__
    outermost = module
    while "." in name:
        name = name.rpartition(".")[0]
        parent = sys.modules.get(name)
        if parent is None or not _has_own_folder(parent):
            break
        outermost = parent
    package_path = getattr(outermost, "__path__", None)
    return [Path(p) for p in package_path] if package_path else [Path(file)]


def _source_files(module_name: str) -> list[Path]:
    """Every file at :func:`code_location` of the imported module ``module_name``."""
    files = []
    for location in code_location(sys.modules.get(module_name)):
        files.extend(_location_files(location))
    return files


@functools.cache
def _location_files(location: Path) -> tuple[Path, ...]:
    """Every file of one code location (a folder, without ``__pycache__``, or a file), listed once
    per process: the stages ask for the same few locations (weike's ``plugins/`` folder, its
    ``builder/``) under a dozen combinations of modules."""
    if location.is_dir():
        return tuple(sorted(p for p in location.rglob("*") if p.is_file() and "__pycache__" not in p.parts))
    return (location,)


@functools.cache
def _file_digest(path: Path) -> bytes:
    """SHA-256 of one code file's bytes, read once per process."""
    return hashlib.sha256(path.read_bytes()).digest()


@functools.cache
def code_digest(*modules: str) -> str:
    """Hash of the code (and data files) behind ``modules``, computed once per process; each file
    is read once per process however many combinations of modules name it."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(name.encode() + b"\0")
        for path in _source_files(name):
            digest.update(path.name.encode() + b"\0" + _file_digest(path))
    return digest.hexdigest()


@functools.cache
def package_versions(*packages: str) -> tuple[tuple[str, str | None], ...]:
    """Installed versions of ``packages`` (None when absent), looked up once per process."""
    return tuple((package, package_version(package)) for package in packages)


@functools.cache
def package_version(package: str) -> str | None:
    """The installed version of ``package`` (None when absent), as ``importlib.metadata.version``
    gives it, looked up once per process.

    Read from the ``Version:`` line of the distribution's METADATA header: ``version()`` parses
    the whole file with the e-mail parser, long description included (a millisecond or more per
    package, and every build and stamp asks for a dozen)."""
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    return _header_version(distribution.read_text("METADATA")) or distribution.version


def _header_version(metadata: str | None) -> str | None:
    """The value of the ``Version`` field of a core metadata header (which ends at the first
    blank line), or None."""
    for line in (metadata or "").partition("\n\n")[0].splitlines():
        if not line:
            break
        name, colon, value = line.partition(":")
        if colon and name.lower() == "version":
            return value.strip() or None
    return None


class OutputLedger:
    """Which fingerprint produced each output of a folder, kept in a JSON file (in the cache).

    An output counts as up to date only when its recorded fingerprint matches *and* the file on
    disk still has the size and mtime recorded when it was written: a file replaced, touched or
    deleted by hand is rebuilt. Saved atomically; a killed build loses at most the records of
    outputs written since the last save, which are then simply rebuilt.
    """

    def __init__(self, folder: Path, records: Path) -> None:
        self.folder = Path(folder)
        self._path = Path(records)
        try:
            records = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            records = {}
        # A damaged file is no records, never an error: its outputs are made again.
        self._records: dict[str, list] = records if isinstance(records, dict) else {}
        self._dirty = False

    @property
    def records(self) -> Path:
        """The JSON file the records are kept in."""
        return self._path

    def up_to_date(self, name: str, fingerprint: str) -> bool:
        record = self._records.get(name)
        if not isinstance(record, list) or len(record) != 3 or record[0] != fingerprint:
            return False
        try:
            stat = os.stat(self.folder / name)
        except OSError:
            return False
        return [stat.st_size, stat.st_mtime_ns] == record[1:]

    def record(self, name: str, fingerprint: str) -> None:
        stat = os.stat(self.folder / name)
        self._records[name] = [fingerprint, stat.st_size, stat.st_mtime_ns]
        self._dirty = True

    def forget(self, name: str) -> None:
        if self._records.pop(name, None) is not None:
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        write_atomic(self._path, json.dumps(self._records, sort_keys=True).encode("utf-8"))
        self._dirty = False
