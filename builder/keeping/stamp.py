"""Skipping a whole build when nothing it reads has changed, the way make compares files.

Every stage already skips the work it can (cached transcodes, an unchanged site, unchanged
zips), but at national scale merely *deciding* that takes seconds: loading 26,000 files,
checking every rule, hashing every page's inputs. So after a build in which no course failed,
weike records a stamp: a fingerprint of everything the build reads, listed cheaply by file
metadata (the whole of ``courses/``, ``centres/``, the repository's ``plugins/``, ``weike.yml``,
weike's own code and every plugin's, the command's options, and whatever each plugin names
through ``weike_build_inputs``: the site's ``site/`` and ``mkdocs.yml``, the ffmpeg binaries...),
and the size and time of every output it wrote. The next build with the
same fingerprint and untouched outputs replays the recorded result instead of running.

A file edited in place keeps the stamp honest through its size or modification time, the same
signal the media cache relies on. A build with a failed course is never stamped, so a failure
is always tried again rather than replayed.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR

from weike.builder.contracts.context import BuildPaths
from weike.builder.contracts.diagnostics import diagnostic_dict, diagnostic_from_dict
from weike.builder.contracts.model import Diagnostic
from weike.builder.keeping.fingerprint import Fingerprint, code_location, package_versions
from weike.builder.keeping.outputs import remove_temps, write_atomic

STAMP_FILE = "build-stamp.json"
STAMP_FORMAT = 2

#: Packages the core itself runs on; each plugin names its own (``weike_build_inputs``).
_PACKAGES = ("weike", "pyyaml", "pluggy")
#: Environment variables that change where a build writes.
_ENVIRONMENT = ("WEIKE_CACHE_DIR",)


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
    root = paths.root
    fingerprint = Fingerprint(STAMP_FORMAT, sys.version, tuple(options), str(paths.dist), str(paths.cache),
                              package_versions(*_PACKAGES),
                              tuple((name, os.environ.get(name)) for name in _ENVIRONMENT))
    fingerprint.add_file(root / "weike.yml")
    for folder in (root / "courses", root / "centres", root / "plugins"):
        fingerprint.add_tree(folder, root)
    for item in inputs:
        fingerprint.add_input(item)
    for location in code:  # weike's own code and every plugin's, wherever it is installed
        if location.is_dir():
            fingerprint.add_tree(location, location.parent)
        else:
            fingerprint.add_file(location)
    return fingerprint.hexdigest()


def _identity(path: Path) -> list[int | str] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not S_ISDIR(stat.st_mode):
        return [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    # A folder (the site) is judged by every entry below it (name, size, mtime, ctime): a page
    # deleted or rewritten deep inside it must make the next build run and repair it, not replay.
    tree = Fingerprint()
    tree.add_tree(Path(path), Path(path), ctime=True)
    return [0, stat.st_mtime_ns, stat.st_ino, tree.hexdigest()]


@dataclass(frozen=True, kw_only=True)
class RecordedBuild:
    """What a stamped build printed, to be replayed when nothing changed."""

    courses: int
    lectures: int
    built: list[str]
    diagnostics: list[Diagnostic]
    summary_lines: list[str]
    outputs: list[Path]


class BuildStamp:
    """The stamp file of one repository's build with one set of options."""

    def __init__(self, paths: BuildPaths, *, options: Iterable[object], code: Iterable[Path],
                 inputs: Iterable[Path | str] = ()) -> None:
        self.paths = paths
        self.file = paths.cache / STAMP_FILE
        self.inputs = input_fingerprint(paths, options=options, code=code, inputs=inputs)

    def replay(self) -> RecordedBuild | None:
        """The recorded build, if its inputs match and every output it wrote is untouched."""
        try:
            stamp = json.loads(self.file.read_text(encoding="utf-8"))
            if stamp.get("format") != STAMP_FORMAT or stamp.get("inputs") != self.inputs:
                return None
            outputs = {Path(path): identity for path, identity in stamp["outputs"].items()}
            if any(_identity(path) != identity for path, identity in outputs.items()):
                return None
            diagnostics = [diagnostic_from_dict(d) for d in stamp["diagnostics"]]
            return RecordedBuild(courses=stamp["courses"], lectures=stamp["lectures"], built=stamp["built"],
                                 diagnostics=diagnostics, summary_lines=stamp["summary"], outputs=list(outputs))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def record(self, build: RecordedBuild) -> None:
        """Write the stamp (atomically) for a build in which no course failed."""
        payload = {
            "format": STAMP_FORMAT,
            "inputs": self.inputs,
            "courses": build.courses,
            "lectures": build.lectures,
            "built": build.built,
            "summary": build.summary_lines,
            "diagnostics": [diagnostic_dict(d) for d in build.diagnostics],
            "outputs": {str(path): _identity(path) for path in build.outputs},
        }
        # The stamp only saves time: a cache that cannot take it (full, read-only) costs the
        # next build its shortcut, never this build's result.
        try:
            remove_temps(self.file.parent)  # a stamp write killed half-way left one
            write_atomic(self.file, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        except OSError:
            self.forget()

    def forget(self) -> None:
        try:
            self.file.unlink(missing_ok=True)
        except OSError:  # cannot be removed (read-only cache): it cannot be replayed either,
            pass         # since the outputs it names were rewritten or the inputs changed
