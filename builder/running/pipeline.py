"""The build, top to bottom: load -> check -> media -> site -> bundles -> reports (and any output a
plugin declares: ``weike_output_stages``).

Each stage is a hook implemented by a plugin; this module only decides which courses go on to
the next stage. A course with an error (from the rules or from a stage) is left out of every
later stage and named in the summary; the other courses carry on.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pluggy

from weike.builder.contracts.context import BuildContext, BuildPaths, Made, OutputStage, StageOutcome
from weike.builder.contracts.diagnostics import Summary, sort_diagnostics
from weike.builder.contracts.errors import UsageError
from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic
from weike.builder.keeping.disk import disk_fault
from weike.builder.keeping.publication import PublishedCourses, rights_readable, stale_warning
from weike.builder.keeping.stamp import BuildStamp, RecordedBuild, plugin_code_locations
from weike.builder.repository.centre import Centre, centre_of, is_province_fact
from weike.builder.repository.loading import NotACourseRepository
from weike.builder.running.checking import call_stage, check_project, course_of, nearly_all_recalled
from weike.builder.running.executor import available_cores
from weike.builder.running.progress import Progress
from weike.builder.running.project import Project

#: The stage that loads and checks the repository, before every output.
CHECK_STAGE = "check"


class WholeRepositoryOutput(Exception):
    """``--only site|offline|reports`` was asked of one course folder: those outputs cover every course."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


class UnknownOutput(UsageError):
    """``--only`` named no declared output, or two plugins declared one name, or a stage needs an
    output no plugin declared before it."""


def output_stages(pm: pluggy.PluginManager) -> tuple[OutputStage, ...]:
    """Every declared output stage in build order: the plugins' registration order (built-ins
    first), each after what it needs."""
    stages: dict[str, tuple[str, OutputStage]] = {}
    for impl in pm.hook.weike_output_stages.get_hookimpls():  # registration order: built-ins first
        for stage in impl.function() or ():
            if not isinstance(stage, OutputStage):
                raise UnknownOutput(f"plugin {impl.plugin_name} returned {stage!r} from weike_output_stages, "
                                    f"not an OutputStage")
            if stage.name in stages:
                raise UnknownOutput(f"the output stage '{stage.name}' is declared by {stages[stage.name][0]} and "
                                    f"{impl.plugin_name}")
            missing = [need for need in stage.needs if need not in stages]
            if missing:
                raise UnknownOutput(f"the output stage '{stage.name}' of {impl.plugin_name} needs "
                                    f"{', '.join(missing)}, which no plugin registered before it declares")
            stages[stage.name] = (impl.plugin_name, stage)
    return tuple(stage for _, stage in stages.values())


def stages_for(only: str | None, declared: Sequence[OutputStage]) -> list[OutputStage]:
    """The stages ``weike build --only <only>`` runs, in build order (all of them without ``--only``)."""
    by_name = {stage.name: stage for stage in declared}
    if only is None:
        return list(declared)
    if only not in by_name:
        raise UnknownOutput(f"--only {only}: 没有这种输出 (no such output); choose from "
                            f"{', '.join(by_name) or 'nothing: no plugin declares an output'}")
    wanted = {only}
    for stage in reversed(declared):  # needs point backwards: one pass from the end collects them all
        if stage.name in wanted:
            wanted.update(stage.needs)
    return [stage for stage in declared if stage.name in wanted]


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class BuildResult:
    #: How many courses and lectures the repository has (for the summary line).
    courses: int
    lectures: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Courses left out, slug -> stage where they failed.
    failed: dict[str, str] = field(default_factory=dict)
    #: Brand learning centres left out of the site and the submission, slug -> stage.
    failed_centres: dict[str, str] = field(default_factory=dict)
    #: How many centres the repository has (0 when the result was replayed: not recorded).
    centres: int = 0
    built: list[str] = field(default_factory=list)
    delivered: dict[str, DeliveredMedia] = field(default_factory=dict)
    #: Every file or folder written (a replayed build's: those the stamped build wrote, read-only).
    outputs: Sequence[Path] = field(default_factory=list)
    summary_lines: list[str] = field(default_factory=list)
    #: Wall time of each stage that ran, in build order ("check" includes loading).
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: Nothing the build reads had changed since the last stamped build: its result was replayed.
    replayed: bool = False
    #: Courses that failed now but stay published at their last good version: slug -> the stage they failed at.
    stale: dict[str, str] = field(default_factory=dict)
    #: How each stage that ran is named in Chinese ("网站"), for the lines naming where a course failed.
    stage_names_zh: dict[str, str] = field(default_factory=lambda: {CHECK_STAGE: "检查"}, repr=False)
    #: Why each stale course failed: its first error before any publishing stage ran (W304 names it).
    stale_causes: dict[str, Diagnostic | None] = field(default_factory=dict, repr=False)
    #: Courses whose published snapshot was compared with them the long way (changed, or never
    #: filed under their key): the work of keeping the snapshots follows the change (tests,
    #: benchmarks).
    snapshots_compared: int = 0

    @property
    def summary(self) -> Summary:
        return Summary.of(self.diagnostics, courses=self.courses, lectures=self.lectures, centres=self.centres)

    def failed_build(self, *, strict: bool = False) -> bool:
        return bool(self.failed) or bool(self.failed_centres) or self.summary.failed(strict=strict)


def incremental_build(rechecked: Sequence[str] | None, courses: int) -> bool:
    """Whether a build is an edit's: nearly every course came back from the course memo
    (:func:`~weike.builder.running.checking.nearly_all_recalled`), so each stage does little and
    what it hands on is nearly all the build will hold."""
    return rechecked is not None and nearly_all_recalled(len(rechecked), courses)


def stage_handed_on(*, incremental: bool) -> None:
    """The build's one policy for the cyclic collector between stages, called after each stage.

    In an edit's build, what a stage handed on (delivered media for every lecture, the site's
    memo values...) lives until the build ends and holds no garbage the build could free sooner:
    it is frozen out of the collector's sight, so each full collection of a later stage walks only
    what that stage makes (at 300 courses they walked the earlier stages' values again, a tenth of
    a title edit's build). The young generations are collected first, so the stage's short-lived
    cycles are freed, not frozen. A cold build keeps the collector as it is: its stages make and
    drop far more, which the collector must free as they go (peak memory). The build unfreezes
    everything when it ends, however it ends (:func:`_collector_restored`)."""
    if incremental:
        gc.collect(1)
        gc.freeze()


def _collector_restored(function):
    """``function`` (the build), after which every object it froze is collected as usual again, however
    it ends: a process that builds again (weike serve) frees the models of a build it is done with."""
    @functools.wraps(function)
    def restoring(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            gc.unfreeze()
    return restoring


@_collector_restored
def build(
    project: Project | Path,
    *,
    progress: Progress,
    only: str | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    dist: Path | None = None,
    force: bool = False,
    drop_stale: bool = False,
) -> BuildResult:
    """Build everything (or the ``only`` output) for ``project`` (a path opens its :class:`Project`).

    When nothing the build reads has changed since the last build without failures, its result
    is replayed and no stage runs, unless ``force`` (then every stage redoes its work).
    A published course that fails stays published at its last good version (see
    :mod:`weike.builder.keeping.publication`) unless ``drop_stale`` (or ``drop_stale`` in weike.yml).
    """
    project = project if isinstance(project, Project) else Project.open(project)
    if not project.is_repository:
        raise NotACourseRepository(project.root)
    root, pm = project.root, project.plugin_manager
    selected = list(project.only) if project.only is not None else None
    declared = output_stages(pm)
    stages = stages_for(only, declared)
    if selected is not None and only is not None and any(s.name == only and s.whole_repository for s in declared):
        raise WholeRepositoryOutput(only)
    skipped = [stage.name for stage in stages if stage.whole_repository] if selected is not None else []
    stages = [stage for stage in stages if stage.name not in skipped]
    publishing = frozenset(stage.name for stage in stages if stage.publishes)
    paths = BuildPaths.for_root(root, dist=dist)

    # Nothing changed since the last build that had no failure: replay it (see builder/keeping/stamp.py).
    started = time.perf_counter()
    # Every plugin names what it reads besides courses/, centres/ and weike.yml (weike_build_inputs).
    inputs = [item for found in pm.hook.weike_build_inputs(root=root, config=project.config) for item in found or ()]
    stamp = BuildStamp(paths, options=(sorted(stage.name for stage in stages), tuple(selected or ())),
                       code=plugin_code_locations(pm), inputs=inputs)
    if not force and (recorded := stamp.replay()) is not None:
        line = (f"没有变化：{len(recorded.built)} 门课程的输出与上次构建相同，各阶段均未运行 "
                f"(nothing changed since the last build of {len(recorded.built)} course(s): no stage ran)")
        progress.log(line)
        return BuildResult(courses=recorded.courses, lectures=recorded.lectures, built=recorded.built,
                           diagnostics=recorded.diagnostics, outputs=recorded.outputs, summary_lines=[line],
                           stage_seconds={"unchanged": time.perf_counter() - started}, replayed=True)

    # Load and check: problems here never stop other courses, only their own.
    progress.stage("检查 check")
    # What the check makes on the way (each lecture's rendered notes, each source's probe) is
    # handed on to the later stages in ``made``, never made again there. Unchanged courses come
    # back from the course memo, with what their check made.
    made = Made()
    jobs = jobs or project.config.jobs or available_cores()
    # The stamp just walked every course folder: the check keys its course memo by that walk.
    # The loaded courses live until the build ends: frozen (below, or by the check as soon as they
    # are loaded, when nearly all came back from the memo) and unfrozen when it ends.
    checked = check_project(project, paths=paths, made=made, jobs=jobs, course_folders=stamp.course_folders,
                            freeze_loaded=True)
    repository = checked.repository
    # The courses' models and what the check made live until the build ends: kept out of the
    # cyclic collector's way, each full collection during the stages walks only what the stages
    # make (at 300 courses, four of them took 0.5 s walking the models again and again). The
    # build unfreezes them however it ends (see _collector_restored).
    gc.freeze()
    incremental = incremental_build(checked.rechecked, len(repository.courses))
    result = BuildResult(courses=len(repository.courses),
                         lectures=sum(len(c.lectures) for c in repository.courses), centres=len(repository.centres))
    config = repository.config
    result.diagnostics.extend(checked.diagnostics)
    result.stage_seconds[CHECK_STAGE] = time.perf_counter() - started
    context = BuildContext(
        config=config,
        paths=paths,
        plugin_manager=pm,
        progress=progress,
        jobs=jobs,
        scheduler=scheduler or config.scheduler,
        force=force,
        course_keys=checked.course_keys,
    )
    published = PublishedCourses(paths.cache)
    drop_stale = drop_stale or config.drop_stale
    # Consent as read now goes on record before anything is published: no snapshot outlives a
    # withdrawn right (builder/keeping/publication.py).
    for course in repository.courses:
        if rights_readable(course):
            try:
                published.note_rights(course)
            except OSError:
                published.forget(course.slug)  # unrecordable: no snapshot is better than a wrong one

    def exclude_failed(diagnostics: Iterable[Diagnostic], stage: str) -> None:
        for diagnostic in diagnostics:
            if diagnostic.is_error:
                slug = course_of(diagnostic)
                if slug is not None:
                    result.failed.setdefault(slug, stage)
                elif (centre := centre_of(diagnostic)) is not None:
                    result.failed_centres.setdefault(centre, stage)
                elif is_province_fact(diagnostic, config):
                    pass  # a bad 附件5 figure holds back 附件5 (the report stage sees it), no course
                elif stage in publishing:
                    # The site, the bundles or the table could not be written (mkdocs.yml, a full
                    # disk): that output keeps its last version; the courses are not at fault.
                    continue
                else:
                    # A repository-wide error (weike.yml) makes every course untrustworthy.
                    for course in repository.courses:
                        result.failed.setdefault(course.slug, stage)

    exclude_failed(result.diagnostics, CHECK_STAGE)

    def remaining() -> list[Course]:
        return [c for c in repository.courses if c.slug not in result.failed]

    def remaining_centres() -> list[Centre]:
        return [c for c in repository.centres if c.slug not in result.failed_centres]

    def absorb(outcome: StageOutcome | None, stage: str) -> StageOutcome | None:
        if outcome is None:
            return None
        result.diagnostics.extend(outcome.diagnostics)
        result.outputs.extend(outcome.outputs)
        result.summary_lines.extend(outcome.summary)
        exclude_failed(outcome.diagnostics, stage)
        return outcome

    # Each output in turn, as the plugins declared them (weike_output_stages): media first, whose
    # delivered lectures every later stage is handed; then the site, bundles, reports and any
    # output a plugin adds. Each stage gets what the ones before it made.
    current = MappingProxyType({course.slug: course for course in repository.courses})
    delivered: Mapping[str, DeliveredMedia] = MappingProxyType({})
    for stage in stages:
        progress.stage(stage.title)
        result.stage_names_zh[stage.name] = stage.title.split()[0]
        started = time.perf_counter()
        if stage.delivers_media:
            # Courses that failed a rule still get the lectures that are fine delivered (and cached), so
            # fixing the rule later costs no transcode; they stay out of the later stages until fixed.
            arguments = {"courses": courses_for_media(repository.courses, result.diagnostics, failed=result.failed)}
            stage_context = context
        else:
            # Publishing stages see only courses whose every lecture was delivered, and in place of
            # a published course that failed, its last good version (builder/keeping/publication.py).
            courses, stage_delivered, stage_context = _publishing_inputs(
                result, remaining(), delivered, context, published=published, current=current,
                drop_stale=drop_stale, publishing=publishing)
            arguments = {"courses": courses, "delivered": stage_delivered}
            # Outputs of the whole repository also describe the brand learning centres (附件4).
            if stage.whole_repository:
                arguments["centres"] = remaining_centres()
        if stage.make is not None:  # a plugin's own output is given every value a stage hook may take
            outcome = call_stage(stage.name, pm, None, function=stage.make, context=stage_context, made=made,
                                 **{"delivered": delivered, "centres": remaining_centres(), **arguments})
        else:
            outcome = call_stage(stage.name, pm, stage.hook, context=stage_context, made=made, **arguments)
        if isinstance(outcome, list):  # a non-firstresult hook: merge every plugin's outcome
            outcome = StageOutcome.merge(outcome) if outcome else None
        result.stage_seconds[stage.name] = time.perf_counter() - started
        if absorb(outcome, stage.name) is None:
            result.summary_lines.append(f"{stage.name}: no plugin handles this stage")
        elif stage.delivers_media:
            result.delivered.update(outcome.delivered)
            delivered = MappingProxyType(dict(result.delivered))
        stage_handed_on(incremental=incremental)

    if skipped:
        result.summary_lines.append(
            f"只构建了 courses/{selected[0]}：网站、离线版和汇总表包含整个仓库，这次没有更新，在仓库根目录运行 weike build 更新 "
            f"({_listed(skipped)} not updated: they cover the whole repository; run weike build in its root)")
    _keep_published(result, published, remaining(), root=root, publishing=publishing, drop_stale=drop_stale,
                    current=current, course_keys=checked.course_keys)
    result.diagnostics = sort_diagnostics(result.diagnostics)
    result.built = [c.slug for c in remaining()]
    if result.failed or result.failed_centres or result.summary.errors:
        stamp.forget()  # a failure is always tried again, never replayed
    else:
        stamp.record(RecordedBuild(courses=result.courses, lectures=result.lectures, built=result.built,
                                   diagnostics=result.diagnostics, summary_lines=result.summary_lines,
                                   outputs=result.outputs))
    return result


def _listed(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def _about(diagnostic: Diagnostic, file: str) -> bool:
    """Whether ``diagnostic`` is located in ``file`` or, for a folder, anywhere below it."""
    where = diagnostic.location.file
    return where == file or where.startswith(file.rstrip("/") + "/")


def courses_for_media(courses: Sequence[Course], diagnostics: Iterable[Diagnostic], *,
                      failed: Mapping[str, str]) -> list[Course]:
    """What the media stage delivers: every lecture whose own files are fine (README: "Media of
    failing courses").

    A course without errors goes as it is. Of a course with errors, only the lectures are kept
    whose folder (``lecture.md``, its media, subtitles, picture) has no error; an error elsewhere
    (``course.yml``, too few lectures, another lecture) does not hold them back. A cover with an
    error is not used (a pure-audio lecture then has no still picture to show, unless its own
    ``image``). An error in no course's folder (``weike.yml``) holds back everything.
    """
    errors = [d for d in diagnostics if d.is_error]
    if any(course_of(d) is None for d in errors):
        return [course for course in courses if course.slug not in failed]
    chosen = []
    for course in courses:
        if course.slug not in failed:
            chosen.append(course)
            continue
        own = [d for d in errors if course_of(d) == course.slug]
        lectures = tuple(lecture for lecture in course.lectures
                         if not any(_about(d, lecture.file.rsplit("/", 1)[0]) for d in own))
        cover = course.cover
        if cover is not None and any(d.location.file == cover.location.file and d.location.line == cover.location.line
                                     for d in own):
            cover = None
        if lectures:
            chosen.append(dataclasses.replace(course, lectures=lectures, cover=cover))
    return chosen


def _publishing_inputs(result: BuildResult, courses: list[Course], delivered: Mapping[str, DeliveredMedia],
                       context: BuildContext, *, published: PublishedCourses, current: Mapping[str, Course],
                       drop_stale: bool, publishing: frozenset[str]) -> tuple[list[Course], Mapping[str, DeliveredMedia], BuildContext]:
    """What a publishing stage is given: the courses that passed, plus the last good version of
    each one that failed in the check or media stage (named stale); with ``drop_stale``, none of
    those, and the context names them so their bundles go too."""
    if drop_stale:
        return courses, delivered, dataclasses.replace(context, dropped=frozenset(result.failed))
    # Courses refused by a publishing stage itself (E501 rights, E502) are left out as before.
    broken = [slug for slug, at in result.failed.items() if at not in publishing]
    stand_ins = published.stand_ins(broken, current=current, root=context.paths.root)
    for slug in stand_ins:
        if slug not in result.stale:
            result.stale[slug] = result.failed[slug]
            result.stale_causes[slug] = next((d for d in sort_diagnostics(result.diagnostics)
                                              if d.is_error and course_of(d) == slug), None)
    if not stand_ins:
        return courses, delivered, context
    # A stand-in is the course as it was last published, not as its folder's key says it is now.
    context = dataclasses.replace(context, stale=frozenset(stand_ins), course_keys=MappingProxyType(
        {slug: key for slug, key in context.course_keys.items() if slug not in stand_ins}))
    courses = sorted([*courses, *(kept.course for kept in stand_ins.values())], key=lambda c: c.slug)
    delivered = MappingProxyType({**delivered, **{key: media for kept in stand_ins.values()
                                                  for key, media in kept.delivered.items()}})
    return courses, delivered, context


def _keep_published(result: BuildResult, published: PublishedCourses, built: list[Course], *, root: Path,
                    publishing: frozenset[str], drop_stale: bool, current: Mapping[str, Course],
                    course_keys: Mapping[str, str]) -> None:
    """Snapshot every course this build published; warn about (or forget) the ones that failed.

    A course is filed under its course memo key (``course_keys``), so one unchanged since its
    snapshot costs a look at the snapshot, not a comparison with it."""
    for slug in sorted(result.stale):
        kept = published.load(slug)
        if kept is not None:
            result.diagnostics.append(stale_warning(kept, result.stale_causes.get(slug),
                                                    rights_read=rights_readable(current.get(slug))))
    if drop_stale:
        for slug in result.failed:
            published.forget(slug)
    try:
        if publishing and result.delivered:
            for course in built:
                if all(lecture.key in result.delivered for lecture in course.lectures):
                    published.record(course, result.delivered, course_key=course_keys.get(course.slug))
        published.save()
        result.snapshots_compared = published.compared
    except OSError as exc:
        # Only the safety net is missing: what this build published stands.
        fault = disk_fault(exc, root=root, writing=published.folder)
        result.summary_lines.append(
            f"未能保存已发布课程的快照 (could not keep the published courses' snapshot): "
            f"{fault.message_en if fault else exc}")


def describe_failures(result: BuildResult) -> list[str]:
    """One line per course left out of the build, naming its folder and the stage."""
    stage_zh = result.stage_names_zh
    return [f"courses/{slug}: 在{stage_zh.get(stage, stage)}阶段失败 (failed at {stage})"
            + ("，沿用上次成功发布的版本 (stale: its last good version stays published)" if slug in result.stale else "")
            for slug, stage in sorted(result.failed.items())] + [
        f"centres/{slug}: 在{stage_zh.get(stage, stage)}阶段失败，未列入网站和申报材料 (failed at {stage}; left out of "
        f"the site and the submission)" for slug, stage in sorted(result.failed_centres.items())]
