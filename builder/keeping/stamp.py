"""Skipping a whole build when nothing it reads has changed, the way make compares files.

Every stage already skips the work it can (cached transcodes, an unchanged site, unchanged
zips), but at national scale merely *deciding* that takes seconds: loading 26,000 files,
checking every rule, hashing every page's inputs. So after a build in which no course failed,
weike records a stamp: a fingerprint of everything the build reads, listed cheaply by file
metadata (the whole of ``courses/``, ``centres/``, the repository's ``plugins/``, ``weike.yml``,
weike's own code and every plugin's, the command's options, and whatever each plugin names
through ``weike_build_inputs``: the site's ``site/`` and ``mkdocs.yml``, the ffmpeg binaries...),
and the identity of every output it wrote. The next build with the same fingerprint and
untouched outputs replays the recorded result instead of running.

A file edited in place keeps the stamp honest through its size or modification time, the same
signal the media cache relies on. A build with a failed course is never stamped, so a failure
is always tried again rather than replayed.

An output folder (the site, the offline edition) is judged by every folder and file below it:
a page deleted, added or rewritten deep inside it must make the next build run and repair it,
not replay. Each is compared by its own ``stat`` (size, mtime, ctime, inode: ctime no edit can
keep), listed once when the stamp is written, so the replay stats a list instead of walking
the tree. One exception keeps it cheap without making it blind: a file that is a hard link of
a file already watched (the site's videos are links of ``dist/media``) is not stat'ed at all:
its folder's listing names its inode (``readdir``'s, free), which with the folder's device is
one already seen. Its bytes are that inode's, whose identity is compared; and the link itself can
only go or be replaced through its folder, whose modification time is compared. This assumes a
file's device is its folder's (no single file mounted over another below an output folder) and
that the listing names the inode ``stat`` gives; a file system where a file stat'ed shows
otherwise is walked again stat'ing every file, and a symbolic link is always
stat'ed (its own inode is not its target's).

At catalogue scale both walks are shared with a forked process
(:mod:`~weike.builder.keeping.aside`): the course folders at the start (:func:`courses_entries`),
the output folders at the end (:func:`watched_listing`; each process then skips the links of the
inodes it has seen itself, so a few more paths are watched than by one walk). Either way each
watched path carries the identity the replay compares.

The stamp is two files, so that what changes with every build stays small: ``build-stamp.json``
(the fingerprint, what the build printed, the digest of the identities and the SHA-256 of the
listing) and ``build-stamp.paths``, the listing of the outputs and watched paths (megabytes at
catalogue scale), NUL-separated bytes that parse without JSON's escapes and are rewritten only when
the list of paths changes (an edit rewrites files, it seldom adds one). The listing is written
before the stamp naming its SHA-256, without an fsync: a listing torn or left from another build
does not match the stamp, which is then no stamp.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import stat as _stat
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.context import BuildPaths
from weike.builder.contracts.diagnostics import diagnostic_dict, diagnostic_from_dict
from weike.builder.contracts.model import Diagnostic
from weike.builder.keeping.aside import BytesAside
from weike.builder.keeping.course_memo import collector_paused, folder_identity
from weike.builder.keeping.fingerprint import Fingerprint, code_location, package_versions, tree_entries
from weike.builder.keeping.outputs import remove_temps, write_atomic

STAMP_FILE = "build-stamp.json"
#: The outputs and watched paths of the stamp in :data:`STAMP_FILE` (see the module's docstring).
LISTING_FILE = "build-stamp.paths"
STAMP_FORMAT = 5

#: Packages the core itself runs on; each plugin names its own (``weike_build_inputs``).
_PACKAGES = ("weike", "pyyaml", "pluggy")
#: Environment variables that change where a build writes, or what its outputs carry (the date
#: of every zip entry and form: :func:`~weike.builder.keeping.archive.source_date`).
_ENVIRONMENT = ("WEIKE_CACHE_DIR", "SOURCE_DATE_EPOCH")


def plugin_code_locations(pm) -> list[Path]:
    """Folders (whole packages) and files holding the code of every registered plugin, and weike's core."""
    locations = set(code_location(inspect.getmodule(plugin_code_locations)))
    for _, plugin in pm.list_name_plugin():
        locations.update(code_location(plugin if inspect.ismodule(plugin) else inspect.getmodule(plugin)))
    return sorted(locations)


def input_fingerprint(paths: BuildPaths, *, options: Iterable[object], code: Iterable[Path],
                      inputs: Iterable[Path | str] = ()) -> str:
    """A fingerprint of everything a build of the repository at ``paths.root`` reads.

    ``code`` = folders and files of the code that runs (see :func:`plugin_code_locations`);
    ``inputs`` = what the plugins named (``weike_build_inputs``): files and folders, and strings
    for facts that are no file.
    """
    return _input_fingerprint(paths, options=options, code=code, inputs=inputs)[0]


def _input_fingerprint(paths: BuildPaths, *, options: Iterable[object], code: Iterable[Path],
                       inputs: Iterable[Path | str]) -> tuple[str, dict[str, str | None]]:
    root = paths.root
    fingerprint = Fingerprint(STAMP_FORMAT, sys.version, tuple(options), str(paths.dist), str(paths.cache),
                              package_versions(*_PACKAGES),
                              tuple((name, os.environ.get(name)) for name in _ENVIRONMENT))
    fingerprint.add_file(root / "weike.yml")
    courses, folders = courses_entries(root / "courses")
    fingerprint.add(courses)
    for folder in (root / "centres", root / "plugins"):
        fingerprint.add_tree(folder, root)
    for item in inputs:
        fingerprint.add_input(item)
    for location in code:  # weike's own code and every plugin's, wherever it is installed
        if location.is_dir():
            fingerprint.add_tree(location, location.parent)
        else:
            fingerprint.add_file(location)
    return fingerprint.hexdigest(), folders


def courses_entries(courses: Path, *, shared: bool | None = None) -> tuple[list[tuple], dict[str, str | None]]:
    """What the stamp counts of ``courses/``, and the identity of each course folder in it.

    Each folder counts by :func:`~weike.builder.keeping.course_memo.folder_identity` (every entry
    below it: name, kind, size, mtime, inode, ctime), the very walk the check's course memo keys a
    course by, so a build walks ``courses/`` once for both: the identities are handed to the check
    (``{absolute folder: identity}``). A folder that has none (it holds a symbolic link, or cannot
    be read) counts by all its entries, link targets included; so does a linked folder; a file
    by its identity.

    ``shared``: the folders are walked in two processes, the second half in one forked for it
    (:mod:`~weike.builder.keeping.aside`); by default from :data:`SHARED_COURSES_FROM` folders.
    """
    top = os.fspath(courses)
    try:
        with os.scandir(top) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return [(top, os.path.isdir(top) and "unreadable")], {}
    counted: list[tuple] = []
    folders: dict[str, str | None] = {}
    walked = _folder_identities([entry.path for entry in entries if entry.is_dir(follow_symlinks=False)],
                                shared=shared)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            identity = folders[entry.path] = walked[entry.path]
            counted.append((entry.name, identity) if identity is not None
                           else (entry.name, "entries", tree_entries(entry.path, ctime=True)))
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            counted.append((entry.name, _identity(st)))
            if entry.is_symlink():
                counted.append((entry.name, "link", os.readlink(entry.path),
                                tree_entries(entry.path, ctime=True) if entry.is_dir() else _identity(entry.stat())))
        except OSError:  # gone meanwhile, or a dangling link: counts as such, changes once it is repaired
            counted.append((entry.name, None))
    return counted, folders


#: From this many course folders, :func:`courses_entries` walks them in two processes (a few
#: hundredths of a second's walk, worth a fork's few milliseconds at the start of a build).
SHARED_COURSES_FROM = 200


def _folder_identities(paths: list[str], *, shared: bool | None) -> dict[str, str | None]:
    """:func:`~weike.builder.keeping.course_memo.folder_identity` of each folder of ``paths``,
    the second half walked in a forked process when ``shared`` (None: from :data:`SHARED_COURSES_FROM`)."""
    if shared is None:
        shared = len(paths) >= SHARED_COURSES_FROM
    half = len(paths) // 2 if shared else len(paths)
    aside = paths[half:]
    forked = BytesAside(lambda: json.dumps([folder_identity(Path(path)) for path in aside]).encode("ascii")) \
        if aside else None
    try:
        walked = {path: folder_identity(Path(path)) for path in paths[:half]}
        payload = forked.result() if forked is not None else None
    finally:
        if forked is not None:
            forked.stop()
    try:
        found = json.loads(payload) if payload is not None else None
    except ValueError:
        found = None
    if not (isinstance(found, list) and len(found) == len(aside)
            and all(identity is None or isinstance(identity, str) for identity in found)):
        found = [folder_identity(Path(path)) for path in aside]  # (no process forked, or it failed)
    walked.update(zip(aside, found))
    return walked


Identity = tuple[int, int, int, int] | None


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def watched_identities(outputs: Iterable[Path]) -> tuple[list[str], list[Identity]]:
    """Every path whose identity the replay compares (each output file, and each output folder
    with every folder and file below it, except a file that is a hard link of one already
    watched: see the module's docstring) and, in the same order, the identity of each (as :func:`identities`
    takes it: size, mtime, ctime, inode, following links; None for one that cannot be stat'ed).

    One stat per path, none for a hard link of an inode already seen (see the module's docstring):
    taking the identities again after the walk doubled the stats of a catalogue's tens of thousands
    of pages, and stat'ing its tens of thousands of video links cost as much as its pages.
    The cyclic collector is paused meanwhile: the walk makes tens of thousands of tuples and no
    cycle, and the collections they set off walked the whole heap of the build's stages.
    """
    with collector_paused():
        return _watched_identities(outputs)


def _watched_identities(outputs: Iterable[Path]) -> tuple[list[str], list[Identity]]:
    outputs = list(outputs)
    return _walk(outputs, by_listing=True) or _walk(outputs, by_listing=False)


def _walk(outputs: list[Path], *, by_listing: bool) -> tuple[list[str], list[Identity]] | None:
    """The walk of :func:`watched_identities`; None when ``by_listing`` (hard links known by the
    inodes their folders list) and a file stat'ed shows the listing's inodes are not stat's."""
    seen: set[tuple[int, int]] = set()
    watched: list[str] = []
    found: list[Identity] = []
    folders = _walk_files(outputs, seen, watched, found)
    if not _walk_folders(folders, seen, watched, found, by_listing=by_listing):
        return None
    return watched, found


def _walk_files(outputs: Iterable[Path], seen: set[tuple[int, int]], watched: list[str],
                found: list[Identity]) -> list[tuple[str, os.stat_result]]:
    """Each output that is no folder watched (appended to ``watched`` and ``found``), its inode
    added to ``seen``; returns the output folders with their ``stat``, to be walked after: the
    files first, so every inode they hold is known before the folders are walked."""
    stat = os.stat
    folders: list[tuple[str, os.stat_result]] = []
    for output in outputs:
        path = os.fspath(output)
        try:
            st = stat(path)
        except OSError:
            st = None
        if st is not None and _stat.S_ISDIR(st.st_mode):
            folders.append((path, st))
            continue
        if st is not None:
            seen.add((st.st_dev, st.st_ino))
        watched.append(path)
        found.append(_identity(st) if st is not None else None)
    return folders


def _walk_folders(folders: Iterable[tuple[str, os.stat_result]], seen: set[tuple[int, int]], watched: list[str],
                  found: list[Identity], *, by_listing: bool) -> bool:
    """Each of ``folders`` and every folder and file below it watched (appended to ``watched``
    and ``found``), but a hard link of an inode in ``seen`` (which the walk adds to); False when
    ``by_listing`` and a file stat'ed shows the listing's inodes are not stat's."""
    stat = os.stat
    watch, take = watched.append, found.append
    # A hard link of an inode already seen is known by the inode its folder lists (DirEntry.inode(),
    # free from readdir) and its folder's device, before any stat; a symbolic link is stat'ed
    # (its own inode is not its target's). A file system whose listed inodes are not the ones its
    # stat gives (a file's device is not its folder's: a file mounted over another) shows at the
    # first file stat'ed: the walk is then done again stat'ing every file.
    for folder, st in folders:
        watch(folder)
        take(_identity(st))
        stack = [(folder, st.st_dev)]
        while stack:
            current, device = stack.pop()
            try:
                with os.scandir(current) as scan:
                    entries = list(scan)
            except OSError:  # unreadable now: its own identity changes once it is repaired
                continue
            for entry in entries:
                path = entry.path
                # Each stat inline, not through a helper: a call per entry cost as much as the stat.
                if entry.is_dir(follow_symlinks=False):
                    watch(path)
                    try:
                        st = stat(path)
                    except OSError:
                        take(None)
                        continue
                    take((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
                    stack.append((path, st.st_dev))
                    continue
                linked = entry.is_symlink()
                if by_listing and not linked and (device, entry.inode()) in seen:
                    continue
                try:
                    st = stat(path)
                except OSError:  # a dangling link, or gone: watched as absent, changes once it is back
                    watch(path)
                    take(None)
                    continue
                inode = (st.st_dev, st.st_ino)
                if by_listing and not linked and inode != (device, entry.inode()):
                    return False
                if inode not in seen:
                    seen.add(inode)
                    watch(path)
                    take((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return True


#: An identity that cannot be taken (no size is negative).
_ABSENT = (-1, -1, -1, -1)


#: The end of a build walks its outputs in two processes (see :func:`watched_listing`) from this
#: many outputs, or a listing of the last build this long (about 15,000 paths: a tenth of a
#: second's walk, worth a fork's few milliseconds).
SHARED_WALK_FROM_OUTPUTS = 5_000
SHARED_WALK_FROM_LISTING_BYTES = 1_000_000


def _packed(found: list[Identity]) -> bytes:
    # Packed as 64-bit integers: a fraction of the time of a repr of a catalogue's 100,000 tuples.
    packed = array("q")
    extend = packed.extend
    for identity in found:
        extend(_ABSENT if identity is None else identity)
    return packed.tobytes()


def watched_listing(outputs: Iterable[Path], *, shared: bool = False) -> tuple[list[str], str]:
    """The paths :func:`watched_identities` watches and the digest of their identities (as
    :func:`identities` takes it of those paths), the cyclic collector paused meanwhile.

    ``shared``: the output folders are walked in two processes, the first half of them in one
    forked for it, the rest here (at catalogue scale the site and the offline edition: tens of
    thousands of folders and files each, walked at the end of every build while the other core
    idles). Each process skips the hard links of the inodes it has seen (the output files',
    and its own folders'): the other's are stat'ed, so the two watch a few more paths than one
    walk, each with the identity the replay compares. Where there is no ``fork``, or the forked
    process fails in any way, its folders are walked here after all.
    """
    outputs = list(outputs)
    with collector_paused():
        if shared and hasattr(os, "fork"):
            done = _shared_listing(outputs)
            if done is not None:
                return done
        watched, found = _watched_identities(outputs)
        return watched, _identities_digest(found)


def _shared_listing(outputs: list[Path]) -> tuple[list[str], str] | None:
    """:func:`watched_listing` walking the first half of the output folders in a forked process;
    None when a file system's listing disagrees with ``stat`` (then walked again stat'ing every file)."""
    seen: set[tuple[int, int]] = set()
    watched: list[str] = []
    found: list[Identity] = []
    folders = _walk_files(outputs, seen, watched, found)
    aside, here = folders[:len(folders) // 2], folders[len(folders) // 2:]
    forked = BytesAside(lambda: _walked_payload(aside, seen)) if aside else None
    try:
        watched_here: list[str] = []
        found_here: list[Identity] = []
        listed = _walk_folders(here, seen, watched_here, found_here, by_listing=True)
        walked = _from_payload(forked.result()) if forked is not None else None
    finally:
        if forked is not None:
            forked.stop()
    if walked is None:  # no process forked, or it failed: its folders walked here
        watched_aside: list[str] = []
        found_aside: list[Identity] = []
        walked = (_walk_folders(aside, seen, watched_aside, found_aside, by_listing=True),
                  watched_aside, _packed(found_aside))
    listed_aside, watched_aside, packed_aside = walked
    if not (listed and listed_aside):
        return None
    digest = hashlib.sha256(_packed(found))
    digest.update(packed_aside)
    digest.update(_packed(found_here))
    return watched + watched_aside + watched_here, digest.hexdigest()


def _walked_payload(folders: list[tuple[str, os.stat_result]], seen: set[tuple[int, int]]) -> bytes:
    """:func:`_walk_folders` of ``folders`` (knowing the inodes of ``seen``) as bytes: whether the
    listing agreed with ``stat``, how many paths were watched, their length, the paths, and their
    identities packed."""
    watched: list[str] = []
    found: list[Identity] = []
    listed = _walk_folders(folders, seen, watched, found, by_listing=True)
    paths = "\0".join(watched).encode("utf-8", "surrogateescape")
    return b"".join((b"1" if listed else b"0", len(watched).to_bytes(8, "little"),
                     len(paths).to_bytes(8, "little"), paths, _packed(found)))


def _from_payload(payload: bytes | None) -> tuple[bool, list[str], bytes] | None:
    """What :func:`_walked_payload` made, read back; None for none, or one cut short."""
    if payload is None or len(payload) < 17:
        return None
    count = int.from_bytes(payload[1:9], "little")
    size = int.from_bytes(payload[9:17], "little")
    paths, packed = payload[17:17 + size], payload[17 + size:]
    watched = paths.decode("utf-8", "surrogateescape").split("\0") if count else []
    if len(watched) != count or len(packed) != count * 4 * 8:
        return None
    return payload[:1] == b"1", watched, packed


def _identities_digest(found: list[Identity]) -> str:
    return hashlib.sha256(_packed(found)).hexdigest()


def identities(paths: Iterable[str]) -> str:
    """One digest of the identity of every path in ``paths`` (size, mtime, ctime, inode; None for
    one that is absent), in order (the cyclic collector paused meanwhile, as for
    :func:`watched_identities`)."""
    with collector_paused():
        return _identities(paths)


def _identities(paths: Iterable[str]) -> str:
    stat = os.stat
    found: list[Identity] = []
    append = found.append
    for path in paths:
        try:
            st = stat(path)
        except OSError:
            append(None)
            continue
        append((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return _identities_digest(found)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


class RecordedOutputs(Sequence[Path]):
    """The outputs a stamped build wrote, made into ``Path`` objects only when read: a replay at
    catalogue scale names tens of thousands, and making them all took longer than its stats."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = paths

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [Path(path) for path in self._paths[index]]
        return Path(self._paths[index])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"RecordedOutputs({len(self._paths)} paths)"


@dataclass(frozen=True, kw_only=True)
class RecordedBuild:
    """What a stamped build printed, to be replayed when nothing changed."""

    courses: int
    lectures: int
    built: list[str]
    diagnostics: list[Diagnostic]
    summary_lines: list[str]
    outputs: Sequence[Path]


class BuildStamp:
    """The stamp file of one repository's build with one set of options."""

    def __init__(self, paths: BuildPaths, *, options: Iterable[object], code: Iterable[Path],
                 inputs: Iterable[Path | str] = ()) -> None:
        self.paths = paths
        self.file = paths.cache / STAMP_FILE
        #: The identity of each course folder, as the check's course memo takes it, from the
        #: same walk (see :func:`courses_entries`): hand it to the check.
        self.course_folders: dict[str, str | None]
        self.inputs, self.course_folders = _input_fingerprint(paths, options=options, code=code, inputs=inputs)

    @property
    def listing(self) -> Path:
        """The file listing the recorded build's outputs and the paths the replay stats."""
        return self.file.with_name(LISTING_FILE)

    def replay(self) -> RecordedBuild | None:
        """The recorded build, if its inputs match and every output it wrote is untouched."""
        try:
            stamp = json.loads(self.file.read_text(encoding="utf-8"))
            if stamp.get("format") != STAMP_FORMAT or stamp.get("inputs") != self.inputs:
                return None
            listed = self.listing.read_bytes()
            if hashlib.sha256(listed).hexdigest() != stamp["listing"]:
                return None
            paths = listed.decode("utf-8", "surrogateescape").split("\0") if listed else []
            count = stamp["outputs"]
            if not isinstance(count, int) or not 0 <= count <= len(paths):
                return None
            if identities(paths[count:]) != stamp["identities"]:
                return None
            diagnostics = [diagnostic_from_dict(d) for d in stamp["diagnostics"]]
            return RecordedBuild(courses=stamp["courses"], lectures=stamp["lectures"], built=stamp["built"],
                                 diagnostics=diagnostics, summary_lines=stamp["summary"],
                                 outputs=RecordedOutputs(paths[:count]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # damaged: no stamp
            return None

    def record(self, build: RecordedBuild, *, shared_walk: bool | None = None) -> None:
        """Write the stamp (atomically) for a build in which no course failed.

        ``shared_walk``: walk the outputs in two processes (:func:`watched_listing`); by default
        when there are many (:data:`SHARED_WALK_FROM_OUTPUTS` outputs, or the last build's listing
        :data:`SHARED_WALK_FROM_LISTING_BYTES` long)."""
        if shared_walk is None:
            shared_walk = len(build.outputs) >= SHARED_WALK_FROM_OUTPUTS or _size(self.listing) >= SHARED_WALK_FROM_LISTING_BYTES
        watched, identities_digest = watched_listing(build.outputs, shared=shared_walk)
        outputs = [os.fspath(path) for path in build.outputs]
        # NUL-separated: no path holds NUL; bytes as the file system gave them (surrogateescape)
        listed = "\0".join(outputs + watched).encode("utf-8", "surrogateescape")
        payload = {
            "format": STAMP_FORMAT,
            "inputs": self.inputs,
            "courses": build.courses,
            "lectures": build.lectures,
            "built": build.built,
            "summary": build.summary_lines,
            "diagnostics": [diagnostic_dict(d) for d in build.diagnostics],
            "outputs": len(outputs),
            "listing": hashlib.sha256(listed).hexdigest(),
            "identities": identities_digest,
        }
        # The stamp only saves time: a cache that cannot take it (full, read-only) costs the
        # next build its shortcut, never this build's result.
        try:
            remove_temps(self.file.parent)  # a stamp write killed half-way left one
            # Unchanged (the usual edit), the listing is compared, not written; no fsync: the
            # stamp names its SHA-256 (see the module's docstring).
            write_atomic(self.listing, listed, sync=False)
            write_atomic(self.file, json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogateescape"))
        except OSError:
            self.forget()

    def forget(self) -> None:
        try:
            self.file.unlink(missing_ok=True)
        except OSError:  # cannot be removed (read-only cache): it cannot be replayed either,
            pass         # since the outputs it names were rewritten or the inputs changed
