"""The check: every rule over a loaded repository, each plugin's crash kept to its own course.

``weike check`` is :func:`run_check`; ``weike build`` starts with :func:`check_project`, which
loads and checks only the courses whose files (or whose context: weike.yml, the code, ...)
changed since they were last checked, and takes the others back from the course memo
(:mod:`weike.builder.keeping.course_memo`); ``weike serve`` checks each edit with
:func:`check_repository`. A rule that raises while it checks one course is E901 at that course,
naming the plugin; one that raises over the whole repository is a :class:`StageCrash`, which the
command line reports in one line.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import gc
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import pluggy

from weike.builder.contracts.context import BuildPaths, Made, StageOutcome
from weike.builder.contracts.diagnostics import Summary, sort_diagnostics
from weike.builder.contracts.errors import MissingTool
from weike.builder.contracts.model import Course, Diagnostic, Repository, WeikeConfig
from weike.builder.keeping.course_memo import (
    NOT_WALKED,
    CourseMemo,
    RememberedCourse,
    RememberedProducts,
    collector_paused,
    latest_facts,
)
from weike.builder.keeping.disk import disk_fault
from weike.builder.keeping.fingerprint import Fingerprint, package_versions
from weike.builder.keeping.memo import facts_consulted
from weike.builder.keeping.stamp import plugin_code_locations
from weike.builder.repository.loading import CONFIG_FILE, COURSES_DIR, load_course
from weike.builder.running.executor import available_cores
from weike.builder.running.isolation import PLUGIN_CRASH_CODE, CourseIsolation, blame_plugin
from weike.builder.running.project import Project


class StageCrash(Exception):
    """A plugin raised an unexpected exception inside a stage; names the plugin."""

    def __init__(self, stage: str, plugin: str | None, exc: BaseException) -> None:
        self.stage = stage
        self.plugin = plugin
        self.original = exc
        self.traceback = "".join(traceback.format_exception(exc))
        who = f"plugin {plugin}" if plugin else "a plugin"
        super().__init__(f"{who} crashed in stage '{stage}': {type(exc).__name__}: {exc}")


def call_stage(stage: str, pm: pluggy.PluginManager, hook_name: str | None, *, function=None, **kwargs):
    """Call the hook ``hook_name`` (or a plugin's own stage ``function``) with ``kwargs``; a
    plugin's crash becomes a :class:`StageCrash` naming it, a disk fault a diagnostic."""
    try:
        return function(**kwargs) if function is not None else getattr(pm.hook, hook_name)(**kwargs)
    except MissingTool:
        raise  # a program is missing from the machine, no plugin's fault: the command line names the fix
    except OSError as exc:
        # A full disk or a read-only dist/ is no plugin's bug: say what happened (E301-E303).
        context = kwargs.get("context")  # the check hooks have none: they write nothing
        fault = disk_fault(exc, root=context.paths.root) if context is not None else None
        if fault is None:
            raise StageCrash(stage, blame_plugin(exc, pm), exc) from exc
        return StageOutcome(diagnostics=(fault,))
    except Exception as exc:  # noqa: BLE001 - turned into a named, reportable crash
        raise StageCrash(stage, blame_plugin(exc, pm), exc) from exc


def course_of(diagnostic: Diagnostic) -> str | None:
    """The course slug a diagnostic is about (from its ``courses/<slug>/...`` location)."""
    parts = PurePosixPath(diagnostic.location.file).parts
    if len(parts) >= 2 and parts[0] == COURSES_DIR:
        return parts[1]
    return None


def _check_course(course: Course, config: WeikeConfig, paths: BuildPaths, made: Made,
                  pm: pluggy.PluginManager) -> list[Diagnostic]:
    """Every plugin's findings about ``course``; a plugin that raises is reported against the
    course (E901) and the other plugins' findings are kept."""
    hook = pm.hook.weike_check_course
    arguments = {"course": course, "config": config, "paths": paths, "made": made}
    try:
        return [d for found in hook(**arguments) for d in (found or ())]
    except MissingTool:
        raise
    except Exception:  # noqa: BLE001 - asked again plugin by plugin below, to keep the others' findings
        pass
    diagnostics: list[Diagnostic] = []
    for impl in reversed(hook.get_hookimpls()):  # pluggy's own order: last registered first
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue  # wrappers only wrap a call; each implementation is called on its own here
        isolation = CourseIsolation(stage="check", plugin_manager=pm, plugin=impl.plugin_name)
        # Asked again, a plugin makes again what it made before another one raised: into a
        # scratch Made, whose new products only are kept.
        again = {**arguments, "made": Made(handed_on=made.handed_on)}
        found = isolation.call(course, lambda: list(impl.function(**{name: again[name] for name in impl.argnames})
                                                    or ()))
        made.keep_new(again["made"])
        diagnostics.extend(isolation.diagnostics if found is None else found)
    return diagnostics


def check_repository(repository: Repository, pm: pluggy.PluginManager, *, jobs: int | None = None,
                     paths: BuildPaths | None = None, made: Made | None = None,
                     memo: CheckMemo | None = None) -> list[Diagnostic]:
    """Loading problems plus every rule's findings, sorted by location.

    ``jobs``: how many slow lookups (a media probe) run at once (default: the CPU count); the
    findings are the same for any number. ``paths``: the build's (its ``--dist``; default: the
    repository's own). What the rules make that later stages need (rendered notes, probes) goes
    into ``made``, which ``weike build`` hands on to them. ``memo``: the courses taken back
    unchecked (their findings and products replayed) and where the others' are kept (see
    :func:`check_project`).
    """
    diagnostics: list[Diagnostic] = list(repository.diagnostics)
    paths = paths or BuildPaths.for_root(repository.root)
    made = made if made is not None else Made(handed_on=False)
    fresh = [course for course in repository.courses if memo is None or memo.recalled(course.slug) is None]
    if fresh or memo is None:
        # Only the courses about to be checked need their facts found.
        call_stage("check", pm, "weike_check_prepare",
                   repository=repository if len(fresh) == len(repository.courses)
                   else dataclasses.replace(repository, courses=tuple(fresh)),
                   paths=paths, jobs=max(1, jobs or available_cores()), made=made)
    for course in repository.courses:
        remembered = memo.recalled(course.slug) if memo is not None else None
        if remembered is not None:
            diagnostics.extend(remembered.checked)
            products = remembered.made
        else:
            # Made apart, so what this course made can be remembered with its findings.
            own = Made(handed_on=made.handed_on)
            with facts_consulted() as facts:
                found = _check_course(course, repository.config, paths, own, pm)
            diagnostics.extend(found)
            products = tuple(own.products())
            if memo is not None:
                memo.checked(course, found, products, facts=facts, handed_on=made.handed_on)
        if isinstance(products, RememberedProducts):
            made.add_later(products)  # each value read back when a later stage asks for it
            continue
        for kind, key, value in products:
            made.add(kind, key, value)
    for found in call_stage("check", pm, "weike_check_repository", repository=repository, made=made):
        diagnostics.extend(found or ())
    return sort_diagnostics(diagnostics)


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    repository: Repository
    diagnostics: list[Diagnostic]
    #: The courses loaded and checked afresh, in order; the others were taken back from the
    #: course memo unchanged. None: every course was (no memo could be used).
    rechecked: tuple[str, ...] | None = None
    #: Slug -> the course memo's key of its folder as it was read now (every entry below it by
    #: name, kind, size, mtime_ns, inode and ctime_ns, and everything outside it its loading and
    #: check depend on): an equal key means an equal course folder, an equal loaded course. No key:
    #: unknown (a course folder holding a symbolic link, no memo).
    course_keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def summary(self) -> Summary:
        return Summary.of(self.diagnostics, courses=len(self.repository.courses),
                          lectures=sum(len(c.lectures) for c in self.repository.courses),
                          centres=len(self.repository.centres))


# --------------------------------------------------------------------------------------------
# The course memo: unchanged courses are neither loaded nor checked again
# --------------------------------------------------------------------------------------------

#: Packages whose versions shape what loading and the built-in rules find (YAML, Markdown and
#: its sanitiser, Pillow's decoders, the title cards' font); a plugin names its own through
#: ``weike_build_inputs``.
_CHECK_PACKAGES = ("weike", "pyyaml", "pluggy", "markdown", "nh3", "pillow", "pylopdf-fonts-zh-cn")


def check_context(project: Project, paths: BuildPaths) -> str:
    """A digest of everything outside a course folder that its loading and checking depend on.

    weike.yml's bytes; the plugins, in registration order (the order of a course's findings), and
    the code of weike and of each of them (by every file's identity, ctime included: a
    repository's rule edited in place counts); what each plugin says it reads
    (``weike_build_inputs``: ffprobe, libraries, ...); the packages of :data:`_CHECK_PACKAGES`;
    Python; where the repository and the cache are (the model holds absolute paths); and today's
    date (E107 compares ``created`` with it).
    """
    root, pm = project.root, project.plugin_manager
    fingerprint = Fingerprint("check-context", sys.version, str(root), str(paths.cache),
                              package_versions(*_CHECK_PACKAGES), _dt.date.today().isoformat(),
                              [name for name, _ in pm.list_name_plugin()])
    try:
        fingerprint.add((root / CONFIG_FILE).read_bytes())
    except OSError:
        fingerprint.add(None)
    for found in pm.hook.weike_build_inputs(root=root, config=project.config):
        for item in found or ():
            fingerprint.add_input(item)
    for location in plugin_code_locations(pm):
        if location.is_dir():
            fingerprint.add_tree(location, location.parent, ctime=True)
        else:
            fingerprint.add(str(location), _identity_with_ctime(location))
    return fingerprint.hexdigest()


def _identity_with_ctime(path: Path) -> tuple[int, int, int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns, found.st_ino, found.st_ctime_ns


class CheckMemo:
    """One run's use of the :class:`CourseMemo`: which courses were taken back, which to keep.

    Its :meth:`load_course` reads a course folder as :func:`load_course` does, unless the memo
    holds the course under its current key: then the remembered course comes back, and
    :func:`check_repository` replays its findings and products instead of checking it.
    """

    def __init__(self, memo: CourseMemo, *, handed_on: bool, folders: Mapping[str, str | None] | None = None) -> None:
        self.memo = memo
        self.handed_on = handed_on
        #: Absolute course folder -> its identity, as a walk just before the check took it.
        self.folders = folders or {}
        self._recalled: dict[str, RememberedCourse] = {}
        #: slug -> (key when read, what loading reported), for the courses read now.
        self._read: dict[str, tuple[str, tuple[Diagnostic, ...]]] = {}
        #: slug -> the key of every course folder that has one, recalled or read now.
        self.keys: dict[str, str] = {}

    def load_course(self, folder: Path, **arguments) -> tuple[Course, list[Diagnostic]]:
        # The key is taken before the files are read: a file edited meanwhile is read again next time.
        key = self.memo.key(folder, identity=self.folders.get(os.path.abspath(folder), NOT_WALKED))
        if key is not None:
            self.keys[folder.name] = key
        remembered = self.memo.recall(folder.name, key, handed_on=self.handed_on) if key is not None else None
        if remembered is not None:
            self._recalled[folder.name] = remembered
            return remembered.course, list(remembered.loaded)
        course, problems = load_course(folder, **arguments)
        if key is not None:
            self._read[folder.name] = (key, tuple(problems))
        return course, problems

    def recalled(self, slug: str) -> RememberedCourse | None:
        return self._recalled.get(slug)

    def checked(self, course: Course, found: list[Diagnostic], products: tuple, *, facts: list,
                handed_on: bool) -> None:
        """Keep a course just checked, unless a plugin crashed on it (E901: tried again next time)."""
        read = self._read.get(course.slug)
        if read is None or any(diagnostic.code == PLUGIN_CRASH_CODE for diagnostic in found):
            return
        key, loaded = read
        self.memo.keep(course.slug, key, RememberedCourse(course=course, loaded=loaded, checked=tuple(found),
                                                          made=products, facts=latest_facts(facts),
                                                          handed_on=handed_on))


#: At most this share of the courses read afresh (not taken back from the memo), a build freezes
#: the loaded courses at once (see :func:`check_project`): what loading them left for the cyclic
#: collector (PyYAML's loaders hold cycles) is then at most this share of a cold load's.
FREEZE_WHEN_READ_AT_MOST = 0.1


def nearly_all_recalled(read: int, courses: int) -> bool:
    """Whether a build is an edit's: of its ``courses``, at most :data:`FREEZE_WHEN_READ_AT_MOST`
    were ``read`` afresh, the others taken back from the course memo."""
    return read <= FREEZE_WHEN_READ_AT_MOST * courses


def check_project(project: Project, *, paths: BuildPaths | None = None, made: Made | None = None,
                  jobs: int | None = None, course_folders: Mapping[str, str | None] | None = None,
                  freeze_loaded: bool = False) -> CheckResult:
    """Load and check ``project``'s repository, each unchanged course taken back from the course
    memo under ``paths.cache`` rather than loaded and checked again: the findings are the same as
    :func:`check_repository` on a fresh load gives. The rules over the whole repository
    (``weike_check_repository``) run every time, on every course.

    ``course_folders``: the identity of each course folder (absolute path -> its
    :func:`~weike.builder.keeping.course_memo.folder_identity`) from a walk the caller took just
    before (the build stamp's), so the folders are not walked twice; a folder it does not name is
    walked here.

    ``freeze_loaded``: for a caller that keeps the courses until it ends and then unfreezes the
    collector (``weike build``, :func:`weike.builder.running.pipeline.build`). When nearly every
    course came back from the memo (:data:`FREEZE_WHEN_READ_AT_MOST`), everything loaded is moved
    out of the cyclic collector's way (``gc.freeze``) before the collector runs again: its first
    pass would otherwise walk every object of every remembered course (a tenth of a notes edit's
    build at 300 courses), all of which live on."""
    paths = paths or BuildPaths.for_root(project.root)
    made = made if made is not None else Made(handed_on=False)
    try:
        context = check_context(project, paths)
    except Exception:  # noqa: BLE001 - a plugin's weike_build_inputs failed: check everything, as without a memo
        memo, repository = None, project.load()
    else:
        memo = CheckMemo(CourseMemo(paths.cache, context=context), handed_on=made.handed_on, folders=course_folders)
        with collector_paused():  # the remembered courses: many objects, all kept
            repository = project.load(course_loader=memo.load_course)
            read = len(repository.courses) - memo.memo.recalled
            if freeze_loaded and nearly_all_recalled(read, len(repository.courses)):
                gc.freeze()
    diagnostics = check_repository(repository, project.plugin_manager, jobs=jobs or repository.config.jobs,
                                   paths=paths, made=made, memo=memo)
    rechecked = None if memo is None else tuple(course.slug for course in repository.courses
                                                 if memo.recalled(course.slug) is None)
    keys = MappingProxyType({}) if memo is None else MappingProxyType(dict(memo.keys))
    return CheckResult(repository=repository, diagnostics=diagnostics, rechecked=rechecked, course_keys=keys)


def run_check(project: Project | Path, *, jobs: int | None = None) -> CheckResult:
    """``weike check``: load the project's courses and centres, then run every rule. A path opens
    its :class:`Project` with every plugin discovered there; ``jobs`` as for :func:`check_repository`
    (default: weike.yml's ``jobs``, else the CPU count)."""
    project = project if isinstance(project, Project) else Project.open(project)
    return check_project(project, jobs=jobs)
