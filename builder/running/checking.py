"""The check: every rule over a loaded repository, each plugin's crash kept to its own course.

``weike check`` is :func:`run_check`; ``weike build`` starts with :func:`check_repository`, and
``weike serve`` checks each edit with it. A rule that raises while it checks one course is E901
at that course, naming the plugin; one that raises over the whole repository is a
:class:`StageCrash`, which the command line reports in one line.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pluggy

from weike.builder.contracts.context import BuildPaths, Made, StageOutcome
from weike.builder.contracts.diagnostics import Summary, sort_diagnostics
from weike.builder.contracts.errors import MissingTool
from weike.builder.contracts.model import Course, Diagnostic, Repository, WeikeConfig
from weike.builder.keeping.disk import disk_fault
from weike.builder.repository.loading import COURSES_DIR
from weike.builder.running.executor import available_cores
from weike.builder.running.isolation import CourseIsolation, blame_plugin
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
                     paths: BuildPaths | None = None, made: Made | None = None) -> list[Diagnostic]:
    """Loading problems plus every rule's findings, sorted by location.

    ``jobs``: how many slow lookups (a media probe) run at once (default: the CPU count); the
    findings are the same for any number. ``paths``: the build's (its ``--dist``; default: the
    repository's own). What the rules make that later stages need (rendered notes, probes) goes
    into ``made``, which ``weike build`` hands on to them.
    """
    diagnostics: list[Diagnostic] = list(repository.diagnostics)
    paths = paths or BuildPaths.for_root(repository.root)
    made = made if made is not None else Made(handed_on=False)
    call_stage("check", pm, "weike_check_prepare", repository=repository, paths=paths,
               jobs=max(1, jobs or available_cores()), made=made)
    for course in repository.courses:
        diagnostics.extend(_check_course(course, repository.config, paths, made, pm))
    for found in call_stage("check", pm, "weike_check_repository", repository=repository, made=made):
        diagnostics.extend(found or ())
    return sort_diagnostics(diagnostics)


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    repository: Repository
    diagnostics: list[Diagnostic]

    @property
    def summary(self) -> Summary:
        return Summary.of(self.diagnostics, courses=len(self.repository.courses),
                          lectures=sum(len(c.lectures) for c in self.repository.courses),
                          centres=len(self.repository.centres))


def run_check(project: Project | Path, *, jobs: int | None = None) -> CheckResult:
    """``weike check``: load the project's courses and centres, then run every rule. A path opens
    its :class:`Project` with every plugin discovered there; ``jobs`` as for :func:`check_repository`
    (default: weike.yml's ``jobs``, else the CPU count)."""
    project = project if isinstance(project, Project) else Project.open(project)
    repository = project.load()
    return CheckResult(repository=repository, diagnostics=check_repository(
        repository, project.plugin_manager, jobs=jobs or repository.config.jobs))
