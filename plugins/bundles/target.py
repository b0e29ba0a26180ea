"""Bundle targets: what a plugin declares so the bundle stage can pack courses for one platform.

The core knows no platform by name. A plugin returns :class:`BundleTarget` values from the
``weike_bundle_targets`` hook; the bundle stage asks each target to check a course, then to list
the files of its zip, and writes ``dist/bundles/<target>/<course-slug>.zip`` with
:mod:`weike.builder.keeping.archive` (adding ``SHA256SUMS``).

A zip is packed again only when something it is made from changed. Without declaring anything,
that is: every file of the course folder (by name, size and time), the delivered media, the
course's and ``weike.yml``'s values, and the code of the package that defines ``pack``. A target
that reads more (a template at the repository root, a library's output) names it in ``inputs``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic, WeikeConfig
from weike.builder.keeping.archive import ArchiveMember

if TYPE_CHECKING:
    import pluggy

#: A target name is a folder under dist/bundles/ and a word on the command line.
TARGET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

#: ``check(course=, delivered=, config=)`` -> diagnostics; an error refuses the course for the target.
CourseCheck = Callable[..., Iterable[Diagnostic]]
#: ``pack(course=, delivered=, config=[, made=][, dated=])`` -> the zip's members (``SHA256SUMS`` is added for you).
CoursePacker = Callable[..., Iterable[ArchiveMember]]
#: ``inputs(course=, config=)`` -> what else ``pack`` reads: paths outside the course folder
#: (a file, or a folder with everything below it) and strings for facts that are no file.
TargetInputs = Callable[..., Iterable[Path | str]]


def accept_every_course(*, course: Course, delivered: Mapping[str, DeliveredMedia],
                        config: WeikeConfig) -> Iterable[Diagnostic]:
    """The check of a target with no conditions of its own."""
    return ()


def nothing_outside_the_course(*, course: Course, config: WeikeConfig) -> Iterable[Path | str]:
    """The inputs of a target that reads only the course folder and the delivered media."""
    return ()


@dataclass(frozen=True, kw_only=True)
class BundleTarget:
    """One upload format: a national platform, an LMS standard, a county's own portal.

    ``name`` is the folder under ``dist/bundles/`` (lowercase letters, digits, hyphens);
    ``title`` and ``description`` are what ``weike bundles`` shows an officer. ``check`` and
    ``pack`` are called with keyword arguments ``course`` (:class:`~weike.builder.contracts.model.Course`),
    ``delivered`` (``Lecture.key`` -> :class:`~weike.builder.contracts.model.DeliveredMedia`, complete for
    the course) and ``config`` (:class:`~weike.builder.contracts.model.WeikeConfig`). An error diagnostic from
    ``check`` refuses the course for this target only; ``pack`` returns the members of the zip. A
    ``pack`` that also takes ``made`` gets what earlier stages made (the rendered notes); one that
    takes ``dated`` gets the bundle's source date (UTC, naive: ``SOURCE_DATE_EPOCH``, else the newest
    time of the course folder, its files and ``weike.yml``), which every zip entry carries and a
    file the target dates itself (a spreadsheet's properties) should carry too.

    A course's zip is packed again when any file of its course folder changed (name, size or
    time: nothing to declare for ``course.yml``, the notes' pictures or a file of your own in the
    course folder), when its delivered media, its values or ``weike.yml`` changed, or when the
    code of the package that defines ``pack`` or the bundle's date changed. ``inputs(course=, config=)`` names what
    else ``pack`` reads: files or folders outside the course folder (a template at the repository
    root), and strings for facts that are no file (``"openpyxl 3.1.5"``: a library whose output
    lands in the zip). Whatever ``pack`` reads and none of these cover, a rebuild may not notice.
    """

    name: str
    title: str
    description: str
    pack: CoursePacker
    check: CourseCheck = accept_every_course
    inputs: TargetInputs = nothing_outside_the_course

    def __post_init__(self) -> None:
        if not TARGET_NAME_RE.match(self.name):
            raise ValueError(f"bundle target name {self.name!r} must be lowercase letters, digits and hyphens")


class BundleTargetConflict(Exception):
    """Plugins declared targets with one name (``name``, declared by every one of ``plugins``), or
    a plugin returned something that is no :class:`BundleTarget` (``name`` is ``None``)."""

    def __init__(self, message: str, *, name: str | None, plugins: tuple[str, ...]) -> None:
        super().__init__(message)
        self.name = name
        self.plugins = plugins


@dataclass(frozen=True, kw_only=True)
class DeclaredTargets:
    """What the plugins declared: the usable targets, sorted by name, and what is wrong."""

    targets: tuple[BundleTarget, ...]
    conflicts: tuple[BundleTargetConflict, ...] = ()


def declare_bundle_targets(pm: pluggy.PluginManager) -> DeclaredTargets:
    """Every plugin's targets, asked plugin by plugin so a conflict names the plugins.

    A name declared more than once is no target at all (which one is meant cannot be told): it is
    a conflict naming every plugin that declared it, and the other targets are unaffected.
    """
    owners: dict[str, list[tuple[str, BundleTarget]]] = {}
    conflicts: list[BundleTargetConflict] = []
    for impl in pm.hook.weike_bundle_targets.get_hookimpls():  # registration order: built-ins first
        for target in impl.function() or ():
            if not isinstance(target, BundleTarget):
                conflicts.append(BundleTargetConflict(
                    f"plugin {impl.plugin_name} returned {target!r} from weike_bundle_targets, not a BundleTarget",
                    name=None, plugins=(impl.plugin_name,)))
                continue
            owners.setdefault(target.name, []).append((impl.plugin_name, target))
    targets = []
    for name in sorted(owners):
        declared = owners[name]
        if len(declared) == 1:
            targets.append(declared[0][1])
            continue
        plugins = tuple(plugin for plugin, _ in declared)
        who = (f"twice by {plugins[0]}" if len(set(plugins)) == 1
               else "by " + ", ".join(plugins[:-1]) + f" and {plugins[-1]}")
        conflicts.append(BundleTargetConflict(f"the bundle target '{name}' is declared {who}",
                                              name=name, plugins=plugins))
    return DeclaredTargets(targets=tuple(targets), conflicts=tuple(conflicts))
