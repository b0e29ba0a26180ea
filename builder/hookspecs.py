"""Every hook weike calls, grouped by build stage (load -> check -> media -> site -> bundle -> report).

Built-in behaviour is implemented by ordinary plugins in ``plugins/`` registered exactly like a
third-party one, so each hook here has at least one real implementation to read. Hooks are
always called with keyword arguments; a plugin may accept any subset of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # only for annotations: the specs must not import stage code
    import argparse
    from pathlib import Path

    from builder.bundle import BundleTarget
    from builder.centre import Centre
    from builder.cache import CachePart
    from builder.context import BuildContext, StageOutcome
    from builder.doctor import DoctorCheck
    from builder.model import Course, DeliveredMedia, Diagnostic, Repository, WeikeConfig
    from builder.profile import DeliveryProfile

PROJECT = "weike"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


@hookspec
def weike_cli_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``weike`` subcommands that belong to a plugin (``weike probe``, ``weike serve``...).

    Called once while the command line is parsed, with built-in and installed (entry-point)
    plugins; a repository's own ``plugins/*.py`` cannot add commands. Add a parser with
    ``subparsers.add_parser(name, help=...)`` and ``parser.set_defaults(func=handler)``, where
    ``handler(args) -> int`` returns the exit status (0 ok, 1 problems found, 2 usage error;
    raise :class:`builder.cli.UsageError` for a one-line usage message).
    """


# --------------------------------------------------------------------------------------------
# Check stage: rules over authored courses (no media decoding needed unless said)
# --------------------------------------------------------------------------------------------


@hookspec
def weike_check_course(course: Course, config: WeikeConfig) -> Iterable[Diagnostic] | None:
    """Check one loaded course and return the problems found.

    Runs for every course of the repository in ``weike check`` and at the start of ``weike
    build``, after loading and before any media work. ``course.parsed`` is ``False`` when its
    ``course.yml`` could not be read (the syntax error is already reported): check what still
    makes sense, such as the lectures. Return diagnostics (any iterable), or ``None``. An
    exception is reported as E901 at that course, naming the plugin; the other plugins' findings
    and the other courses are unaffected.
    """


@hookspec
def weike_check_repository(repository: Repository) -> Iterable[Diagnostic] | None:
    """Check rules that span courses (duplicates across courses, province limits...) and the
    brand learning centres (``repository.centres``: a centre names courses).

    Runs once per ``weike check`` / ``weike build``, after every ``weike_check_course``.
    """


# --------------------------------------------------------------------------------------------
# Media stage: probe, verify, deliver to the delivery profile
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def weike_media_stage(context: BuildContext, courses: Sequence[Course]) -> StageOutcome | None:
    """Deliver the media of every lecture of ``courses`` into ``context.paths.media``.

    Called once per ``weike build`` with the courses that passed the check stage, and the
    courses that failed it holding only the lectures whose own folder has no error (without
    their ``cover`` when it has one), so good media is delivered and cached anyway. The first
    plugin that returns a :class:`~builder.context.StageOutcome` handles the stage; its
    ``delivered`` maps ``Lecture.key`` to :class:`~builder.model.DeliveredMedia` and its
    ``diagnostics`` name every lecture that could not be delivered.
    """


@hookspec
def weike_media_profiles() -> Iterable[DeliveryProfile] | None:
    """Offer delivery profiles: what a delivered file must be for a platform, as data.

    Called whenever a profile is looked up (``weike build``, ``weike probe``); every plugin's
    profiles are collected and ``weike.yml``'s ``profile:`` picks one by name (``default``, the
    SPEC.md delivery spec, comes from the built-in media plugin). Return an iterable of
    :class:`~builder.profile.DeliveryProfile`, or ``None``. Two plugins offering different
    profiles under one name is an error.
    """


# --------------------------------------------------------------------------------------------
# Site stage: the public catalogue
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def weike_site_stage(
    context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
    centres: Sequence[Centre],
) -> StageOutcome | None:
    """Build the catalogue website into ``context.paths.site``.

    Called once per ``weike build`` (unless ``--only`` excludes the site, or the build is of one
    course folder: the site covers the whole repository) with the courses whose every lecture was
    delivered, the delivered media by ``Lecture.key``, and the brand learning centres that passed
    the check (those with ``publish: false`` included: the site decides what of them it shows).
    """


# --------------------------------------------------------------------------------------------
# Bundle stage: upload packages, one target per plugin
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def weike_bundle_stage(
    context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia]
) -> StageOutcome | None:
    """Write ``dist/bundles/<target>/<course-slug>.zip`` for every bundle target.

    Called once per ``weike build`` (unless ``--only`` excludes bundles) with the courses whose
    every lecture was delivered.
    """


@hookspec
def weike_bundle_targets() -> Iterable[BundleTarget] | None:
    """Declare upload-bundle targets: one platform or LMS format per :class:`~builder.bundle.BundleTarget`.

    Called by the bundle stage and by ``weike bundles``; every implementation runs. Return an
    iterable of targets (or ``None``). Target names must be unique across plugins. For every
    course that passes a target's ``check``, the stage writes
    ``dist/bundles/<target.name>/<course-slug>.zip`` from the members ``pack`` returns, plus a
    ``SHA256SUMS`` of them; an error from ``check`` refuses that course for that target only.
    """


# --------------------------------------------------------------------------------------------
# Report stage: tables for provincial officers
# --------------------------------------------------------------------------------------------


@hookspec
def weike_report_stage(
    context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
    centres: Sequence[Centre],
) -> StageOutcome | None:
    """Write reports (the province summary table and friends) into ``context.paths.reports``.

    Called once per ``weike build`` (unless ``--only`` excludes reports, or the build is of one
    course folder: reports cover the whole repository); every implementation runs and their
    outcomes are merged. ``centres`` are the brand learning centres that passed the check
    (附件3 lists them with the courses; 附件4 is one form per centre).
    """


# --------------------------------------------------------------------------------------------
# Operations: `weike doctor` and `weike cache` (outside the build)
# --------------------------------------------------------------------------------------------


@hookspec
def weike_doctor_checks(
    root: Path | None, config: WeikeConfig, scheduler: str | None
) -> Iterable[DoctorCheck] | None:
    """Check what this plugin needs from the machine, for ``weike doctor``.

    Called once per ``weike doctor``, after weike's own checks (Python, plugins, cache, Dask,
    the browser-test tools). ``root`` is the course repository around the current folder (or
    ``None`` outside one), ``config`` its ``weike.yml`` (defaults outside one) and ``scheduler``
    the Dask scheduler to check (``--scheduler``, else ``weike.yml``'s ``scheduler``, else
    ``None``). Return :class:`~builder.doctor.DoctorCheck` values; one with
    ``status=CheckStatus.MISSING`` (something essential is missing) makes ``weike doctor`` exit 1,
    so give it a ``fix``. Checks must be quick (seconds) and change nothing a build relies on.
    """


@hookspec
def weike_cache_parts(context: BuildContext, repository: Repository) -> Iterable[CachePart] | None:
    """Describe the parts of the build cache (``context.paths.cache``) this plugin writes.

    Called by ``weike cache info`` and ``weike cache prune`` with every course of the repository
    (also those that fail the check: their media is kept for when they are fixed). Return
    :class:`~builder.cache.CachePart` objects whose items say which entries the current courses
    still need; ``prune`` removes only the others, so a rebuild right after it redoes nothing.
    Cache folders no plugin claims are reported and left alone.
    """
