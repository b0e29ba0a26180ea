"""The core's hooks, grouped by build stage (load -> check -> media -> site -> bundle -> report).

Built-in behaviour is implemented by ordinary plugins in ``plugins/`` registered exactly like a
third-party one; every spec names the module that implements it ("Built in: ..."), so each hook has
a real implementation to read. Hooks are always called with keyword arguments; a plugin may accept
any subset of them.

A capability adds the hooks only it calls from its own package, through
:func:`weike_add_hookspecs`: ``weike.plugins.media.hookspecs`` (delivery profiles) and
``weike.plugins.bundles.hookspecs`` (bundle targets), ``weike.plugins.site.hookspecs`` (site pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # only for annotations: the specs must not import stage code
    import argparse
    from pathlib import Path

    import pluggy as _pluggy

    from weike.builder.contracts.context import BuildContext, BuildPaths, Made, OutputStage, StageOutcome
    from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic, Repository, Setting, WeikeConfig
    from weike.builder.keeping.prune import CachePart
    from weike.builder.repository.centre import Centre
    from weike.builder.running.doctor import DoctorCheck

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
    ``handler(project, args) -> int`` gets the :class:`~weike.builder.running.project.Project` of the
    command's ``path`` (or ``--path``) argument and returns the exit status (0 ok, 1 problems
    found, 2 usage error; raise :class:`weike.builder.contracts.errors.UsageError` for a one-line usage
    message). Built in: ``weike.plugins.media`` (probe, preview-card), ``weike.plugins.site``
    (serve, share...).
    """


# --------------------------------------------------------------------------------------------
# Plugins: what a plugin adds to the contract, declares it takes, and reads
# --------------------------------------------------------------------------------------------


@hookspec(historic=True)
def weike_add_hookspecs(plugin_manager: _pluggy.PluginManager) -> None:
    """Add hook specifications only this plugin calls (``plugin_manager.add_hookspecs(module)``).

    Called once for every plugin as it is registered, before discovery checks that every hook
    implementation has a spec. Built in: ``weike.plugins.media`` (``weike_media_profiles``),
    ``weike.plugins.bundles`` (``weike_bundle_targets``), ``weike.plugins.site``
    (``weike_site_pages``).
    """


@hookspec
def weike_settings() -> Iterable[Setting] | None:
    """Declare the ``weike.yml`` keys (and, with ``course=True``, ``course.yml`` keys; with
    ``file="mkdocs.yml"``, keys under the site's ``extra: weike:``) this plugin reads.

    Called once per command before the repository is loaded. Each :class:`~weike.builder.contracts.settings.Setting`
    gives the key's type, default and description: a declared key is read with its type into
    ``WeikeConfig.plugin_settings[name]`` (and ``Course.plugin_settings[name]``), a wrong value
    reported at its line (E005), instead of being reported as W006 "unknown key"; the same
    declaration makes the editors' JSON Schema (``weike schema``), the ``weike plugins`` listing
    and ``docs/settings.md``. A key declared twice in one file, or one the core reads, stops the
    command with the names of both plugins. Built in: ``weike.plugins.media`` (``profile``,
    ``title_cards``), ``weike.plugins.site``, ``weike.plugins.rules.courses``, ``weike.plugins.province``.
    """


@hookspec
def weike_build_inputs(root: Path, config: WeikeConfig) -> Iterable[Path | str] | None:
    """Name what this plugin reads besides ``courses/``, ``centres/``, ``weike.yml`` and its own code.

    Called before every ``weike build`` to decide whether anything changed since the last one
    (the whole-build stamp replays an unchanged build without running a stage). Return files or
    folders (a folder counts with everything below it, by name, size and time), and strings for
    facts that are no file (a tool's version). A file a plugin reads but does not name here can
    change without the next build noticing. Built in: ``weike.plugins.media`` (the ffmpeg
    binaries), ``weike.plugins.site`` (``site/``, ``mkdocs.yml``, MkDocs' version).
    """



@hookspec
def weike_new_course(folder: Path, slug: str) -> None:
    """Add files to the skeleton of a new course that ``weike new course <slug>`` is writing.

    ``folder`` is a staging folder holding the commented ``course.yml``; it is renamed to
    ``courses/<slug>/`` once every plugin has written its files, so an interrupted command leaves
    no half course. Built in: ``weike.plugins.rules.courses`` (a placeholder ``cover.jpg``, which
    ``weike check`` names as W116 until the real cover replaces it).
    """


@hookspec
def weike_new_repository(folder: Path) -> None:
    """Add files to a course repository that ``weike new repo`` has just made.

    ``folder`` is the new repository (``courses/``, ``weike.yml``, ``.gitignore`` are in it).
    Built in: ``weike.plugins.editor`` (double-click launchers of ``weike edit`` for Windows and
    macOS).
    """


# --------------------------------------------------------------------------------------------
# Check stage: rules over authored courses (no media decoding needed unless said)
# --------------------------------------------------------------------------------------------


@hookspec
def weike_check_prepare(repository: Repository, paths: BuildPaths, jobs: int, made: Made) -> None:
    """Find, for every course at once, the facts the per-course rules will look up.

    Runs once per ``weike check`` / ``weike build`` (and each check of ``weike serve``), after
    loading and before the first ``weike_check_course``; ``repository.courses`` holds the courses
    about to be checked (a course taken back unchanged from the course memo is not checked again,
    see ``weike_check_course``); it is not called when every course was taken back. A rule whose facts are slow to find (a
    process per file) finds the ones it does not remember yet here, ``jobs`` at a time through
    :func:`weike.builder.running.executor.make_executor`, and remembers them under ``paths.cache`` keyed by
    each file's identity; ``weike_check_course`` then reads them back course by course, so what
    it reports, and in which order, does not depend on ``jobs``. Returns nothing: problems are
    reported by ``weike_check_course`` (a file that cannot be looked at here is left to it).
    What it finds that a later stage needs goes into ``made`` (:class:`~weike.builder.contracts.context.Made`),
    which the build hands to every later stage. Built in: ``weike.plugins.media`` (probes every
    source not probed yet).
    """


@hookspec
def weike_check_course(course: Course, config: WeikeConfig, paths: BuildPaths, made: Made) -> Iterable[Diagnostic] | None:
    """Check one loaded course and return the problems found.

    Runs for every course of the repository in ``weike check`` and at the start of ``weike
    build``, after loading and before any media work. ``paths`` says where the repository and its
    cache are: a rule that decodes files may remember its verdicts under ``paths.cache`` (keyed
    by the file's identity, so an edited file is checked again); it writes nothing else, and
    never under ``paths.dist``. What a rule makes on the way that a later stage needs (the
    lecture notes rendered to HTML, a source's probe) it adds to ``made``, so the later stage is
    handed it instead of making it again. ``course.parsed`` is ``False`` when its
    ``course.yml`` could not be read (the syntax error is already reported): check what still
    makes sense, such as the lectures. Return diagnostics (any iterable), or ``None``.

    A course whose folder is unchanged file for file (and weike.yml, weike's and every plugin's
    code, what the plugins name in ``weike_build_inputs``, and the file memos' facts the check
    took) is not checked again: its findings and what the rules added to ``made`` are taken back
    from the course memo (``.weike/cache/checked/``). So a rule reads only the course, ``config``
    and what it declares; a product it adds to ``made`` must be a dataclass (or plain values,
    paths, dates) to be remembered, else its course is checked every time. An
    exception is reported as E901 at that course, naming the plugin; the other plugins' findings
    and the other courses are unaffected. Built in: ``weike.plugins.rules.courses`` (E1xx/E2xx),
    ``weike.plugins.media`` (sources that ffmpeg cannot read, title cards).
    """


@hookspec
def weike_check_repository(repository: Repository, made: Made) -> Iterable[Diagnostic] | None:
    """Check rules that span courses (duplicates across courses, province limits...) and the
    brand learning centres (``repository.centres``: a centre names courses).

    A verdict a later stage acts on (whether 附件5's figures can be printed) goes into ``made``.

    Runs once per ``weike check`` / ``weike build``, after every ``weike_check_course``. Built in:
    ``weike.plugins.rules.courses`` (two courses with one title), ``weike.plugins.province.centres``
    (the centres, E7xx, and the province's facts in weike.yml, E80x),
    ``weike.plugins.province.summary_table`` (``recommendation_order``, W60x).
    """


# --------------------------------------------------------------------------------------------
# Media stage: probe, verify, deliver to the delivery profile
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def weike_media_stage(context: BuildContext, courses: Sequence[Course], made: Made) -> StageOutcome | None:
    """Deliver the media of every lecture of ``courses`` into ``context.paths.media``.

    Called once per ``weike build`` with the courses that passed the check stage, and the
    courses that failed it holding only the lectures whose own folder has no error (without
    their ``cover`` when it has one), so good media is delivered and cached anyway. The first
    plugin that returns a :class:`~weike.builder.contracts.context.StageOutcome` handles the stage; its
    ``delivered`` maps ``Lecture.key`` to :class:`~weike.builder.contracts.model.DeliveredMedia` and its
    ``diagnostics`` name every lecture that could not be delivered. ``made`` holds what the check
    made (each source's probe). Built in:
    ``weike.plugins.media`` (ffmpeg; its delivery profiles come from ``weike_media_profiles``).
    """


@hookspec(firstresult=True)
def weike_media_delivered(context: BuildContext, courses: Sequence[Course]) -> Mapping[str, DeliveredMedia] | None:
    """The media of ``courses`` that is already delivered and still current, without delivering any.

    For plugins that show or pack media outside a build (``weike serve``'s preview): the first
    plugin that answers decides; lectures whose source changed since their delivery are left out.
    Returns ``Lecture.key`` -> :class:`~weike.builder.contracts.model.DeliveredMedia`. Built in:
    ``weike.plugins.media`` (reads its cache, nothing is encoded).
    """


# --------------------------------------------------------------------------------------------
# Site stage: the public catalogue
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def weike_site_stage(
    context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
    centres: Sequence[Centre], made: Made,
) -> StageOutcome | None:
    """Build the catalogue website into ``context.paths.site``.

    Called once per ``weike build`` (unless ``--only`` excludes the site, or the build is of one
    course folder: the site covers the whole repository) with the courses whose every lecture was
    delivered, the delivered media by ``Lecture.key``, and the brand learning centres that passed
    the check (those with ``publish: false`` included: the site decides what of them it shows),
    and ``made``: what the earlier stages made (the lecture notes rendered by the check).
    Built in: ``weike.plugins.site`` (MkDocs + Material; add a page with ``weike_site_pages``).
    """


# --------------------------------------------------------------------------------------------
# Bundle stage: upload packages, one target per plugin
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def weike_bundle_stage(
    context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia], made: Made,
) -> StageOutcome | None:
    """Write ``dist/bundles/<target>/<course-slug>.zip`` for every bundle target.

    Called once per ``weike build`` (unless ``--only`` excludes bundles) with the courses whose
    every lecture was delivered, and ``made``, what the earlier stages made (a target's ``pack``
    gets it when it takes a ``made`` argument). Built in: ``weike.plugins.bundles`` (the targets themselves come
    from ``weike_bundle_targets``: ``weike.plugins.scorm``, ``weike.plugins.national.smartedu``,
    ``weike.plugins.national.ouchn``).
    """


# --------------------------------------------------------------------------------------------
# Report stage: tables for provincial officers
# --------------------------------------------------------------------------------------------


@hookspec
def weike_report_stage(
    context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
    centres: Sequence[Centre], made: Made,
) -> StageOutcome | None:
    """Write reports (the province summary table and friends) into ``context.paths.reports``.

    Called once per ``weike build`` (unless ``--only`` excludes reports, or the build is of one
    course folder: reports cover the whole repository); every implementation runs and their
    outcomes are merged. ``centres`` are the brand learning centres that passed the check
    (附件3 lists them with the courses; 附件4 is one form per centre). What one implementation
    makes for another goes through ``made`` (附件3, written to ``dist/reports`` and put in the
    submission as the same bytes, is made once). Built in:
    ``weike.plugins.province.summary_table`` (附件3), ``weike.plugins.province`` (附件4/5,
    ``dist/submission``).
    """


# --------------------------------------------------------------------------------------------
# Outputs: what `weike build` makes, and in which order
# --------------------------------------------------------------------------------------------


@hookspec
def weike_output_stages() -> Iterable[OutputStage] | None:
    """Declare the kinds of output ``weike build`` makes: one :class:`~weike.builder.contracts.context.OutputStage` each.

    Called once per ``weike build``. The build runs the declared stages in the order their
    plugins were registered (built-ins first, a repository's own ``plugins/*.py`` last), each
    after the stages it ``needs``, and ``weike build --only <name>`` takes its words from these
    names. A stage is made either by a core stage hook (``hook``: another plugin may take it
    over) or by the declaring plugin's own ``make(context=, courses=, delivered=, centres=, made=)``
    function, so an output that is neither a course's bundle nor a report (an xAPI activity
    list, a Moodle backup) is one module and no change to the core. Two stages with one name
    stop the build naming both plugins. Built in: ``weike.plugins.media`` (media),
    ``weike.plugins.site`` (site, offline), ``weike.plugins.bundles`` (bundles), ``weike.plugins.province``
    (reports).
    """


# --------------------------------------------------------------------------------------------
# Operations: `weike doctor` and `weike cache` (outside the build)
# --------------------------------------------------------------------------------------------


@hookspec
def weike_doctor_checks(
    root: Path | None, config: WeikeConfig, scheduler: str | None
) -> Iterable[DoctorCheck] | None:
    """Check what this plugin needs from the machine, for ``weike doctor``.

    Called once per ``weike doctor``, after weike's own checks (Python, plugins, cache).
    ``root`` is the course repository around the current folder (or ``None`` outside one),
    ``config`` its ``weike.yml`` (defaults outside one) and ``scheduler`` the Dask scheduler
    to check (``--scheduler``, else ``weike.yml``'s ``scheduler``, else ``None``). Return
    :class:`~weike.builder.running.doctor.DoctorCheck` values; one with ``status=CheckStatus.MISSING``
    (something essential is missing) makes ``weike doctor`` exit 1, so give it a ``fix``. Checks
    must be quick (seconds) and change nothing a build relies on. Built in: ``weike.plugins.media``
    (ffmpeg, the cluster), ``weike.plugins.site`` (CJK fonts, the browser-test tools).
    """


@hookspec
def weike_cache_parts(context: BuildContext, repository: Repository) -> Iterable[CachePart] | None:
    """Describe the parts of the build cache (``context.paths.cache``) this plugin writes.

    Called by ``weike cache info`` and ``weike cache prune`` with every course of the repository
    (also those that fail the check: their media is kept for when they are fixed). Return
    :class:`~weike.builder.keeping.prune.CachePart` objects whose items say which entries the current courses
    still need; ``prune`` removes only the others, so a rebuild right after it redoes nothing.
    Cache folders no plugin claims are reported and left alone. Built in: ``weike.plugins.media``,
    ``weike.plugins.site``.
    """
