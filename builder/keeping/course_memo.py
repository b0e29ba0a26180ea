"""Each course's check, remembered while nothing it was made from changed (:class:`CourseMemo`).

At catalogue scale most of a check is loading and checking courses nobody touched: 1,000 courses
are 26,000 files read and parsed and 12,000 notes rendered, for one edited lecture. So after a
course is loaded and checked, weike keeps what came of it in the cache, ``checked/<slug>.pickle``:
the loaded :class:`~weike.builder.contracts.model.Course`, what loading and every
``weike_check_course`` reported about it, and what those rules made for later stages (its rendered
notes, its sources' probes). The next check takes that instead of loading and checking the course
again, when its key is the same:

* the identity of every entry below the course folder (every folder's name; every file's name,
  size, mtime_ns, inode and ctime_ns: an edit, an added, deleted or renamed file, even one put
  back with its old mtime, changes it), read by one ``scandir`` walk without opening a file --
  in a build, the build stamp's own walk of ``courses/``
  (:func:`~weike.builder.keeping.stamp.courses_entries`), so the folders are walked once;
* the *context*: everything outside the folder a course's result depends on (``weike.yml``'s
  bytes, weike's and every plugin's code, what the plugins say they read, the date...), which the
  caller computes once per run (see :func:`weike.builder.running.checking.check_context`).

A course folder holding a symbolic link anywhere is never remembered: what the link points at can
change without the folder's entries changing. Reading fails safe: an entry that is missing,
damaged, of another format or key, or that names any type other than dataclasses, enums, paths
and dates of modules already imported or of weike's own packages, is no entry (the course is
loaded and checked again) -- unpickling it calls no function and imports nothing but weike's own
modules (a plugin imports the module defining what its check made only when it runs, which a
new process has not done yet when it reads the memo). So is an entry whose check
took a fact from a file memo (a source's probe, a picture's verdict) that the memo no longer
holds as it was (pruned, rebuilt, or told otherwise). Each entry is written
atomically (:func:`~weike.builder.keeping.outputs.write_atomic`), so a killed build leaves the
old entry or the new one; without an fsync (seconds at catalogue scale), so each carries
the SHA-256 of its pickle and a torn one is no entry.

What the rules made (``made``: a course's rendered notes and its sources' probes, three quarters
of an entry's bytes) is pickled apart from the rest, and read back only when a later stage asks
for one of its products (:class:`RememberedProducts`, added to the build's ``Made`` later): an
edit's build reads back a thousand courses, and uses the notes and probes of the changed ones only.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import enum
import gc
import hashlib
import importlib
import io
import os
import pathlib
import pickle
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.context import LaterProducts
from weike.builder.contracts.model import Course, Diagnostic
from weike.builder.keeping.memo import ConsultedFact, shared_file_memo
from weike.builder.keeping.outputs import write_atomic

#: Folder under the cache: one file per course.
CHECKED_FOLDER = "checked"
#: Layout of an entry; another is no entry.
MEMO_FORMAT = 3
_MAGIC = b"weike-checked-course\n"
_DIGEST_BYTES = 32


@dataclass(frozen=True, kw_only=True)
class RememberedCourse:
    """What loading and checking one course gave, as the next check takes it back."""

    course: Course
    #: What loading the course reported (parse errors, type problems).
    loaded: tuple[Diagnostic, ...]
    #: What every ``weike_check_course`` reported, in the order they reported it.
    checked: tuple[Diagnostic, ...]
    #: What those rules made for later stages: ``(kind, key, value)`` as added to ``Made`` (taken
    #: back from the memo: :class:`RememberedProducts`, each value read back when first asked for).
    made: Sequence[tuple[str, str, object]]
    #: The facts the check took from the file memos (a source's probe, a picture's verdict), as
    #: :func:`~weike.builder.keeping.memo.facts_consulted` lists them: the entry holds while every
    #: memo still says the same (see :func:`facts_still_hold`).
    facts: tuple[ConsultedFact, ...] = ()
    #: Checked for a build (``Made.handed_on``): ``made`` holds what only a build makes (rendered
    #: notes); a build takes only such an entry, a check takes either.
    handed_on: bool


def latest_facts(facts) -> tuple[ConsultedFact, ...]:
    """The facts a check consulted, the last one of each (memo, kind, path) only: what an entry keeps."""
    return tuple({fact[:3]: fact for fact in facts}.values())


def facts_still_hold(facts: tuple[ConsultedFact, ...]) -> bool:
    """Whether every memo still holds each fact as it was consulted (a memo pruned, rebuilt or
    told otherwise since means the course is checked again)."""
    memos = {}
    for memo_file, kind, path, identity, text in facts:
        memo = memos.get(memo_file)
        if memo is None:
            memo = memos[memo_file] = shared_file_memo(Path(memo_file))
        if not memo.holds(kind, path, identity, text):
            return False
    return True


#: :meth:`CourseMemo.key` without an identity: it walks the folder itself.
NOT_WALKED = object()


def folder_identity(folder: Path) -> str | None:
    """A digest of every entry below ``folder`` (relative name; for a file also its size,
    mtime_ns, inode and ctime_ns), without opening a file; None when the folder is or holds a
    symbolic link, or cannot be read (such a course is never remembered)."""
    found_all: list[tuple] = []
    append = found_all.append
    try:
        if os.path.islink(folder):
            return None
        top = os.fspath(folder)
        cut = len(top) + 1
        stack = [top]
        while stack:
            current = stack.pop()
            with os.scandir(current) as scan:
                entries = list(scan)
            for entry in entries:
                if entry.is_symlink():
                    return None
                if entry.is_dir(follow_symlinks=False):
                    # By its name only: what it holds is listed below it, and adding, removing or
                    # renaming anything in it shows there (no stat of the folder needed).
                    append((entry.path[cut:],))
                    stack.append(entry.path)
                    continue
                found = entry.stat(follow_symlinks=False)
                append((entry.path[cut:], found.st_size, found.st_mtime_ns, found.st_ino, found.st_ctime_ns))
    except OSError:
        return None
    found_all.sort()  # by path, whatever order the folders list them in: one sort, not one per folder
    return hashlib.sha256(repr(found_all).encode("utf-8", "surrogateescape")).hexdigest()


# --------------------------------------------------------------------------------------------
# Reading an entry back: only the model's kinds of values are rebuilt
# --------------------------------------------------------------------------------------------

_PLAIN_TYPES = frozenset({
    ("pathlib", "Path"), ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "PurePath"),
    ("pathlib", "PurePosixPath"), ("pathlib", "PureWindowsPath"),
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"),
})


#: Packages whose modules an entry may name before they are imported: weike's own, whose plugins
#: import a stage's modules (and the value types they hand on in ``made``) only when the stage
#: runs, after the memo is read. They define values and functions and do nothing when imported;
#: a ``__main__`` (``python -m weike.builder``) is never one of them.
_OWN_PACKAGES = ("weike.builder.", "weike.plugins.")


def _own_module(module: str):
    """``module`` imported, when it is one of weike's own (:data:`_OWN_PACKAGES`), else None."""
    parts = module.split(".")
    if not module.startswith(_OWN_PACKAGES) or "__main__" in parts or not all(part.isidentifier() for part in parts):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


class _ValuesOnly(pickle.Unpickler):
    """Rebuilds dataclasses and enums of modules already imported or of weike's own packages,
    paths (from their text, by :func:`path_from_text`) and dates; refuses anything else (a
    function, another module to import), so reading an entry runs no code but importing one of
    weike's modules."""

    def find_class(self, module: str, name: str):
        # A catalogue's entries name the same few dozen types tens of thousands of times: each
        # is judged once, and taken again while its module still holds it (a module reloaded by
        # `weike serve` holds another).
        judged = _JUDGED.get((module, name))
        if judged is not None and getattr(sys.modules.get(module), name, None) is judged:
            return judged
        found = self._judge(module, name)
        if "." not in name:
            _JUDGED[module, name] = found
        return found

    @staticmethod
    def _judge(module: str, name: str):
        loaded = sys.modules.get(module) or _own_module(module)
        if loaded is None:
            raise pickle.UnpicklingError(f"{module} is not imported")
        found: object = loaded
        for part in name.split("."):
            found = getattr(found, part, None)
        if (module, name) in _PLAIN_TYPES or found is path_from_text or (
                isinstance(found, type) and (dataclasses.is_dataclass(found) or issubclass(found, enum.Enum))):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a value type")


#: What :meth:`_ValuesOnly.find_class` allowed, by module and name.
_JUDGED: dict[tuple[str, str], object] = {}


def _path_by_text(path: pathlib.PurePath) -> tuple:
    return path_from_text, (type(path), str(path))


#: Python 3.11's pathlib makes a path of parts already split (``_from_parsed_parts``) without its
#: parser, which took most of the time of reading a catalogue's entries back (a dozen paths a
#: lecture); later versions parse a path's text only when asked, and get it as text.
_SPLIT_PARTS = sys.version_info[:2] == (3, 11) and hasattr(pathlib.PurePath, "_from_parsed_parts")
_POSIX_KINDS = (pathlib.PosixPath, pathlib.PurePosixPath)


def path_from_text(kind: type, text: str) -> pathlib.PurePath:
    """``kind(text)``, for the text of a path of that kind (``str(path)``: already normalised),
    split on its separators rather than parsed where pathlib allows (:data:`_SPLIT_PARTS`); any
    text that is not a normalised POSIX path's (an empty or ``.`` part) is parsed as usual."""
    if _SPLIT_PARTS and kind in _POSIX_KINDS and text and text != ".":
        if text[0] == "/":
            root = "//" if text[1:2] == "/" else "/"  # POSIX keeps exactly two leading slashes
            rest = text[len(root):]
            parts = [root, *rest.split("/")] if rest else [root]
            tail = parts[1:]
        else:
            root, parts = "", text.split("/")
            tail = parts
        if "" not in tail and "." not in tail:
            return kind._from_parsed_parts("", root, parts)
    if not (isinstance(kind, type) and issubclass(kind, pathlib.PurePath)):
        raise TypeError(f"{kind!r} is not a kind of path")  # an entry names nothing else here
    return kind(text)


#: Paths are kept as their text: read back, each is then one string split (see :func:`path_from_text`),
#: not a constructor called over every part.
_DISPATCH = {**copyreg.dispatch_table, **{kind: _path_by_text for kind in (
    pathlib.PosixPath, pathlib.WindowsPath, pathlib.PurePosixPath, pathlib.PureWindowsPath)}}


def _pickled(value: object) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return buffer.getvalue()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the block runs (it runs as usual after).

    Reading a catalogue's entries makes hundreds of thousands of objects that all live on (the
    courses' models, their notes): the collector, paused only around each entry, would walk the
    ever larger heap again between entries, which took as long as the reading itself. They hold
    no cycles it could free.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _values_only(data: bytes) -> object:
    with collector_paused():
        return _ValuesOnly(io.BytesIO(data)).load()


class RememberedProducts(LaterProducts, Sequence):
    """What a remembered check made, as ``(kind, key, value)``: the kinds and keys at once, the
    values unpickled (by :func:`_values_only`) only when first read; none when they cannot be
    (the stage that needs one makes it itself, as :meth:`~weike.builder.contracts.context.Made.add_later` says)."""

    def __init__(self, keys: tuple[tuple[str, str], ...], data: bytes) -> None:
        self.keys = keys
        self._data: bytes | None = data
        self._products: tuple[tuple[str, str, object], ...] = ()

    def read(self) -> tuple[tuple[str, str, object], ...]:
        if self._data is not None:
            data, self._data = self._data, None
            try:
                products = _values_only(data)
            except Exception:  # noqa: BLE001 - damaged or foreign: not made
                products = ()
            if isinstance(products, tuple) and all(
                    isinstance(product, tuple) and len(product) == 3 for product in products) \
                    and tuple(product[:2] for product in products) == self.keys:
                self._products = products
        return self._products

    def __len__(self) -> int:
        return len(self.read())

    def __getitem__(self, index):
        return self.read()[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self.read()) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RememberedProducts({len(self.keys)} products)"


def _products_keys(made: object) -> tuple[tuple[str, str], ...] | None:
    """The ``(kind, key)`` of each product an entry names, None when it names them otherwise."""
    if not isinstance(made, tuple) or not all(isinstance(pair, tuple) and len(pair) == 2
                                              and all(isinstance(part, str) for part in pair) for pair in made):
        return None
    return made


class CourseMemo:
    """The remembered checks under ``cache``, for one run whose context digest is ``context``."""

    def __init__(self, cache: Path, *, context: str) -> None:
        self.folder = Path(cache) / CHECKED_FOLDER
        self.context = context
        #: How many courses were taken back and how many were written, in this run (for tests
        #: and benchmarks: the work must follow the change).
        self.recalled = 0
        self.kept = 0

    def key(self, course_folder: Path, *, identity: str | None | object = NOT_WALKED) -> str | None:
        """The key of the course in ``course_folder`` as it is now (``identity``: its
        :func:`folder_identity` if the caller just took it); None: never remembered."""
        if identity is NOT_WALKED:
            identity = folder_identity(course_folder)
        if identity is None:
            return None
        return hashlib.sha256(f"{MEMO_FORMAT}\0{self.context}\0{os.path.abspath(course_folder)}\0{identity}"
                              .encode("utf-8", "surrogateescape")).hexdigest()

    def _file(self, slug: str) -> Path:
        return self.folder / f"{slug}.pickle"

    def recall(self, slug: str, key: str, *, handed_on: bool) -> RememberedCourse | None:
        """The entry of ``slug`` made under ``key`` (for a build: one made by a build), or None;
        its ``made`` values are read back when first asked for (:class:`RememberedProducts`)."""
        try:
            with open(self._file(slug), "rb") as handle:
                header = handle.read(len(_MAGIC) + len(key) + 1)
                if header != _MAGIC + key.encode("ascii") + b"\n":
                    return None
                digest, data = handle.read(_DIGEST_BYTES), handle.read()
            if hashlib.sha256(data).digest() != digest:  # torn by a power cut (written without fsync)
                return None
            size = int.from_bytes(data[:8], "little")
            remembered = _values_only(data[8:8 + size])
            products = data[8 + size:]
        except Exception:  # noqa: BLE001 - missing, damaged or foreign: no entry, never an error
            return None
        if not isinstance(remembered, RememberedCourse) or (handed_on and not remembered.handed_on) \
                or remembered.course.slug != slug or (keys := _products_keys(remembered.made)) is None \
                or not facts_still_hold(remembered.facts):
            return None
        self.recalled += 1
        return dataclasses.replace(remembered, made=RememberedProducts(keys, products))

    def keep(self, slug: str, key: str, remembered: RememberedCourse) -> None:
        """Write the entry of ``slug`` under ``key``: the key, the SHA-256 of the pickle, the pickle.
        A value that cannot be pickled or a cache that cannot take it only means no entry (one
        that cannot be read back as values, a plugin's product of another type, is no entry when
        read)."""
        try:
            products = tuple(remembered.made)
            # The course, its findings and facts, naming each product's kind and key; then the
            # products' values, read back only when asked for (RememberedProducts).
            course = _pickled(dataclasses.replace(remembered, made=tuple((kind, key) for kind, key, _ in products)))
            data = len(course).to_bytes(8, "little") + course + _pickled(products)
            # No fsync (milliseconds per course, seconds for a catalogue's cold check): the digest
            # tells a torn entry, which is then no entry.
            write_atomic(self._file(slug), _MAGIC + key.encode("ascii") + b"\n" + hashlib.sha256(data).digest()
                         + data, sync=False)
        except Exception:  # noqa: BLE001 - the memo only saves time; this check's result stands
            return
        self.kept += 1
