"""Bundle targets: what a plugin declares so the bundle stage can pack courses for one platform.

The core knows no platform by name. A plugin returns :class:`BundleTarget` values from the
``weike_bundle_targets`` hook; the bundle stage asks each target to check a course, then to list
the files of its zip, and writes ``dist/bundles/<target>/<course-slug>.zip`` with
:mod:`weike.builder.archive` (adding ``SHA256SUMS``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weike.builder.archive import ArchiveMember
from weike.builder.model import Course, DeliveredMedia, Diagnostic, WeikeConfig

if TYPE_CHECKING:
    import pluggy

#: A target name is a folder under dist/bundles/ and a word on the command line.
TARGET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

#: ``check(course=, delivered=, config=)`` -> diagnostics; an error refuses the course for the target.
CourseCheck = Callable[..., Iterable[Diagnostic]]
#: ``pack(course=, delivered=, config=)`` -> the zip's members (``SHA256SUMS`` is added for you).
CoursePacker = Callable[..., Iterable[ArchiveMember]]


def accept_every_course(*, course: Course, delivered: Mapping[str, DeliveredMedia],
                        config: WeikeConfig) -> Iterable[Diagnostic]:
    """The check of a target with no conditions of its own."""
    return ()


@dataclass(frozen=True, kw_only=True)
class BundleTarget:
    """One upload format: a national platform, an LMS standard, a county's own portal.

    ``name`` is the folder under ``dist/bundles/`` (lowercase letters, digits, hyphens);
    ``title`` and ``description`` are what ``weike bundles`` shows an officer. ``check`` and
    ``pack`` are called with keyword arguments ``course`` (:class:`~weike.builder.model.Course`),
    ``delivered`` (``Lecture.key`` -> :class:`~weike.builder.model.DeliveredMedia`, complete for
    the course) and ``config`` (:class:`~weike.builder.model.WeikeConfig`). An error diagnostic from
    ``check`` refuses the course for this target only; ``pack`` returns the members of the zip.
    """

    name: str
    title: str
    description: str
    pack: CoursePacker
    check: CourseCheck = accept_every_course

    def __post_init__(self) -> None:
        if not TARGET_NAME_RE.match(self.name):
            raise ValueError(f"bundle target name {self.name!r} must be lowercase letters, digits and hyphens")


class BundleTargetConflict(Exception):
    """Two plugins declared targets with the same name, or a plugin returned something else."""


def collect_bundle_targets(pm: pluggy.PluginManager) -> tuple[BundleTarget, ...]:
    """Every target the plugins declare, sorted by name; raises :class:`BundleTargetConflict`."""
    targets: dict[str, BundleTarget] = {}
    for declared in pm.hook.weike_bundle_targets():
        for target in declared or ():
            if not isinstance(target, BundleTarget):
                raise BundleTargetConflict(f"weike_bundle_targets returned {target!r}, not a BundleTarget")
            if target.name in targets:
                raise BundleTargetConflict(
                    f"two bundle targets are named {target.name!r}: {targets[target.name].title} and {target.title}")
            targets[target.name] = target
    return tuple(targets[name] for name in sorted(targets))
