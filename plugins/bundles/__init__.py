"""The bundle stage: every course packed for every declared target, and ``weike bundles``.

The targets themselves are other plugins (``weike_bundle_targets``); this one knows none of them
by name. For each course and target it runs the target's check, and when nothing is in the way
writes ``dist/bundles/<target>/<course-slug>.zip`` with the target's members and a
``SHA256SUMS`` of them. A course a target refuses keeps no zip for that target from an earlier
build, so nobody uploads a bundle the course is no longer allowed to have; the other targets
still get theirs.

A target name declared by two plugins is E505 at ``dist/bundles/<name>``, naming both: neither
is packed (which one is meant cannot be told), the zips an earlier build left there stay as they
were, and every other target is packed as usual.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import json
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from weike.builder.keeping.archive import ArchiveError, ArchiveMember, checksums_member, write_zip
from weike.plugins.bundles.inputs import INPUTS_FILE, CourseInputsMemo, course_inputs, newest_of
from weike.plugins.bundles.target import (
    BundleTarget,
    BundleTargetConflict,
    accept_every_course,
    declare_bundle_targets,
    nothing_outside_the_course,
)
from weike.builder.contracts.context import BuildContext, Made, OutputStage, StageOutcome
from weike.builder.contracts.errors import UsageError
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic, Severity, SourceLocation, WeikeConfig
from weike.builder.keeping.disk import disk_fault
from weike.builder.keeping.fingerprint import Fingerprint, OutputLedger, code_digest, code_location
from weike.builder.keeping.outputs import remove_temps
from weike.builder.repository.loading import CONFIG_FILE, COURSES_DIR
from weike.builder.running.executor import available_cores
from weike.builder.running.isolation import CourseIsolation
from weike.builder.running.project import Project

__all__ = ["BundleTarget", "BundleTargetConflict", "accept_every_course",
           "declare_bundle_targets", "nothing_outside_the_course"]

#: Where the ledgers of which inputs made each zip live, under the cache.
LEDGER_FOLDER = "bundles"
#: What packing a course or writing its zip may raise for that course alone (or a full disk).
_PACKING_ERRORS = (ArchiveError, OSError, UnicodeDecodeError)


def undelivered_lectures(course: Course, delivered: Mapping[str, DeliveredMedia]) -> Iterator[Diagnostic]:
    """E502 for every lecture without delivered media: no target can pack such a course."""
    for lecture in course.lectures:
        if lecture.key not in delivered:
            yield Diagnostic(
                code="E502", severity=Severity.ERROR, location=SourceLocation(file=lecture.file.rsplit("/", 1)[0]),
                message="这个微课没有交付的视频，课程无法打包",
                message_en="no delivered media for this lecture: the course cannot be bundled",
                hint="媒体阶段没有交付这个微课的视频：先解决构建输出中媒体阶段的问题，再重新构建。",
            )


def _pack_failed(course: Course, target: BundleTarget, exc: Exception) -> Diagnostic:
    return Diagnostic(
        code="E503", severity=Severity.ERROR, location=SourceLocation(file=course.file.rsplit("/", 1)[0]),
        message=f"写入 {target.title}（{target.name}）上传包失败：{exc}",
        message_en=f"could not write the {target.name} bundle: {type(exc).__name__}: {exc}",
        hint="检查磁盘空间和 dist/ 的写入权限，然后重新构建；如果文件在构建中被改动，再构建一次即可。",
    )


def _code_module(function: object) -> str:
    """The module that defines ``function`` (a function, a bound method, a partial, a callable object)."""
    function = getattr(function, "func", function)  # functools.partial
    return getattr(function, "__module__", None) or type(function).__module__


def packing_modules(pack_module: str) -> tuple[str, ...]:
    """The modules whose code a zip of a target whose ``pack`` is in ``pack_module`` comes from:
    this stage's, that module's and the archive writer's. A weike plugin's code counts as the whole
    ``plugins/`` folder (:func:`~weike.builder.keeping.fingerprint.code_location`), so the code the
    built-in targets pack with (the sheet writer, pictures, notes) is in it."""
    return (__name__, pack_module, "weike.builder.keeping.archive")


@functools.cache
def _packing_code(pack_module: str) -> str:
    """The code a zip of a target whose ``pack`` is in ``pack_module`` comes from
    (:func:`packing_modules`), each folder hashed once per process (the targets' modules mostly
    share this plugin's folder: hashing it again per target is a fixed cost of every build)."""
    by_location: dict[tuple, str] = {}
    for module in packing_modules(pack_module):
        by_location.setdefault(tuple(code_location(sys.modules.get(module))), module)
    return Fingerprint("packing-code", *(code_digest(module) for module in by_location.values())).hexdigest()


def bundle_fingerprint(target: BundleTarget, inputs: str, *, course: Course, config: WeikeConfig) -> str:
    """The course's inputs, the code of the package defining the target's ``pack`` and what the
    target declares it reads besides; equal -> the zip would come out the same."""
    fingerprint = Fingerprint(target.name, _packing_code(_code_module(target.pack)), inputs)
    for item in target.inputs(course=course, config=config):
        fingerprint.add_input(item)
    return fingerprint.hexdigest()


def takes_made(target: BundleTarget) -> bool:
    """Whether the target's ``pack`` takes ``made`` (what earlier stages made, such as the rendered notes)."""
    return _takes(target, "made")


def takes_dated(target: BundleTarget) -> bool:
    """Whether the target's ``pack`` takes ``dated`` (the bundle's source date, for what it dates inside)."""
    return _takes(target, "dated")


def takes_cache(target: BundleTarget) -> bool:
    """Whether the target's ``pack`` takes ``cache`` (the stage's folder in weike's cache, where a
    target may keep what it makes once for every course, such as a sample it proves its writer on)."""
    return _takes(target, "cache")


def _takes(target: BundleTarget, name: str) -> bool:
    parameters = inspect.signature(target.pack).parameters
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _target_conflict(context: BuildContext, conflict: BundleTargetConflict) -> Diagnostic:
    """E505 at the target's folder under dist/bundles/ (or dist/bundles/ itself), naming the plugins."""
    folder = context.paths.bundles / conflict.name if conflict.name else context.paths.bundles
    plugins = "、".join(conflict.plugins)
    if conflict.name is None:
        message = f"插件 {plugins} 的 weike_bundle_targets 返回了不是 BundleTarget 的值"
    else:
        message = f"上传包格式“{conflict.name}”被多个插件声明（{plugins}），这个格式本次不打包"
    return Diagnostic(
        code="E505", severity=Severity.ERROR, location=SourceLocation(file=context.paths.shown(folder)),
        message=message, message_en=f"{conflict}: not packed (zips of earlier builds are left as they were)",
        hint="运行 weike plugins 查看这些插件来自哪里，删除其中一个或给它的格式改名；其他格式照常打包。",
    )


def _remove_stale_bundles(context: BuildContext, targets: Sequence[BundleTarget]) -> int:
    """Delete zips of courses whose folder is gone (renamed or removed); returns how many.
    Temp files of a killed build go too (not counted)."""
    # One listing of courses/, not a stat per zip of every target (thousands at catalogue scale).
    try:
        with os.scandir(context.paths.root / COURSES_DIR) as scan:
            course_folders = {entry.name for entry in scan if entry.is_dir()}
    except OSError:  # courses/ cannot be listed now: no zip is judged stale on that
        course_folders = None
    removed = 0
    for target in targets:
        folder = context.paths.bundles / target.name
        remove_temps(folder)
        if course_folders is None:
            continue
        try:
            names = sorted(entry.name for entry in os.scandir(folder)
                           if entry.name.endswith(".zip") and not entry.name.startswith("."))
        except OSError:
            continue
        for name in names:
            if name[:-len(".zip")] not in course_folders:
                (folder / name).unlink(missing_ok=True)
                removed += 1
    return removed


@hookimpl
def weike_bundle_stage(context: BuildContext, courses: Sequence[Course],
                       delivered: Mapping[str, DeliveredMedia], made: Made) -> StageOutcome:
    declared = declare_bundle_targets(context.plugin_manager)
    targets = declared.targets
    conflicts = tuple(_target_conflict(context, conflict) for conflict in declared.conflicts)
    if courses and not delivered:
        # No media stage ran (no plugin handles it): like a stage without a plugin, this is said
        # in the summary rather than blamed on every lecture of every course.
        return StageOutcome(diagnostics=conflicts,
                            summary=("打包：没有交付的视频（媒体阶段没有运行），未打包 "
                                     "(bundles: no delivered media, the media stage did not run: nothing packed)",))
    diagnostics: list[Diagnostic] = list(conflicts)
    outputs: list[Path] = []
    written = {target.name: 0 for target in targets}
    unchanged = {target.name: 0 for target in targets}
    refused = {target.name: 0 for target in targets}
    # Which inputs made each zip: an unchanged course is not packed again (at national scale,
    # rebuilding thousands of spreadsheets and zips would dominate a rebuild).
    remove_temps(context.paths.cache / LEDGER_FOLDER)  # a ledger write killed half-way left one
    # What each course's zips are made from: a course folder the check read under the same key as
    # the last build is not walked again (inputs.py).
    memo = CourseInputsMemo(context.paths.cache / LEDGER_FOLDER)
    # Which of made=, dated= and cache= each target's pack takes: its signature read once, not per course.
    takes = {target.name: (takes_made(target), takes_dated(target), takes_cache(target)) for target in targets}
    config_newest_ns = newest_of(context.paths.root / CONFIG_FILE)
    ledgers = {target.name: OutputLedger(context.paths.bundles / target.name,
                                         context.paths.cache / LEDGER_FOLDER / f"{target.name}.json")
               for target in targets}
    # A target's unexpected exception on one course refuses that course for that target (E901).
    isolation = CourseIsolation(stage="bundles", plugin_manager=context.plugin_manager, plugin=__name__)
    # Courses dropped on purpose (--drop-stale) leave every target.
    for slug in sorted(context.dropped):
        for target in targets:
            (context.paths.bundles / target.name / f"{slug}.zip").unlink(missing_ok=True)
            ledgers[target.name].forget(f"{slug}.zip")
        for conflict in declared.conflicts:  # not packed now, but no dropped course stays in it
            if conflict.name:
                (context.paths.bundles / conflict.name / f"{slug}.zip").unlink(missing_ok=True)

    # Zips are written by a few threads while the next course is packed: copying, hashing (both
    # release the GIL) and each zip's fsync overlap the targets' Python work. Results are taken in
    # order, so the ledgers, outputs and diagnostics read as if written one by one.
    workers = max(1, context.jobs or available_cores())
    writers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="weike-zip")
    in_flight: deque = deque()
    max_in_flight = 2 * workers

    def packing(course: Course, target: BundleTarget, path: Path, task, work):
        """``work()`` (packing the course, or writing its zip) under the course's isolation; None
        when it failed: a full disk keeps the last good zip, any other failure removes it (E901 or
        the packing error reported), and the next build tries the course again."""
        try:
            done = isolation.call(course, work, what=f"打包 {target.name} packing", handled=_PACKING_ERRORS)
        except _PACKING_ERRORS as exc:
            task.done(str(exc), failed=True)
            fault = disk_fault(exc, root=context.paths.root, writing=path)
            if fault is not None:
                # The disk, not the course: its zip from the last good build stays (written
                # atomically, it is whole), and the course carries on to the summary table.
                diagnostics.append(dataclasses.replace(fault, location=SourceLocation(
                    file=context.paths.shown(path))))
                return None
            diagnostics.append(_pack_failed(course, target, exc))
        else:
            if done is not None:
                return done
            task.done(isolation.diagnostics[-1].message_en, failed=True)
        path.unlink(missing_ok=True)
        ledgers[target.name].forget(path.name)
        refused[target.name] += 1
        return None

    def finish(course: Course, target: BundleTarget, path: Path, fingerprint: str, task, future) -> None:
        ledger = ledgers[target.name]
        if packing(course, target, path, task, future.result) is None:
            return
        outputs.append(path)
        ledger.record(path.name, fingerprint)
        written[target.name] += 1
        task.done(f"{path.stat().st_size / 1e6:.1f} MB")

    try:
        for course in courses:
            missing = list(undelivered_lectures(course, delivered))
            diagnostics.extend(missing)
            inputs = None if missing else course_inputs(
                course, delivered, config=context.config, config_newest_ns=config_newest_ns, memo=memo,
                key=context.course_keys.get(course.slug), stand_in=course.slug in context.stale)
            for target in targets:
                name = f"{course.slug}.zip"
                path = context.paths.bundles / target.name / name
                ledger = ledgers[target.name]
                found = [] if missing else isolation.call(
                    course, lambda: list(target.check(course=course, delivered=delivered, config=context.config)),
                    what=f"检查 {target.name} check")
                crashed = found is None
                diagnostics.extend(found or ())
                if missing or crashed or any(d.is_error for d in found):
                    path.unlink(missing_ok=True)
                    ledger.forget(name)
                    refused[target.name] += 1
                    context.progress.task(f"{target.name}/{name}").done("不打包 (refused)", failed=True)
                    continue
                # The target's own inputs() is a plugin's code too: its exception refuses this course
                # for this target (E901), like one from check or pack.
                fingerprint = isolation.call(
                    course, lambda: bundle_fingerprint(target, inputs.digest, course=course, config=context.config),
                    what=f"输入 {target.name} inputs")
                if fingerprint is None:
                    path.unlink(missing_ok=True)
                    ledger.forget(name)
                    refused[target.name] += 1
                    context.progress.task(f"{target.name}/{name}").done(isolation.diagnostics[-1].message_en, failed=True)
                    continue
                if not context.force and ledger.up_to_date(name, fingerprint):
                    outputs.append(path)
                    unchanged[target.name] += 1
                    continue
                task = context.progress.task(f"{target.name}/{name}")

                def pack(course=course, target=target, dated=inputs.dated) -> list[ArchiveMember]:
                    with_made, with_dated, with_cache = takes[target.name]
                    members = list(target.pack(course=course, delivered=delivered, config=context.config,
                                               **({"made": made} if with_made else {}),
                                               **({"dated": dated} if with_dated else {}),
                                               **({"cache": context.paths.cache / LEDGER_FOLDER} if with_cache else {})))
                    return [*members, checksums_member(members)]

                # The target's code runs here, one course at a time; the zip is written by the pool.
                members = packing(course, target, path, task, pack)
                if members is None:
                    continue
                in_flight.append((course, target, path, fingerprint, task, writers.submit(write_zip, path, members,
                                                                                         made=inputs.dated)))
                while len(in_flight) > max_in_flight:  # members wait in memory: a few zips' worth at most
                    finish(*in_flight.popleft())
        while in_flight:
            finish(*in_flight.popleft())
    finally:
        # A build stopped half-way (Ctrl-C, a missing tool) leaves no zip writing behind it.
        writers.shutdown(wait=True, cancel_futures=True)
    memo.save()
    for ledger in ledgers.values():
        try:
            ledger.save()
        except OSError as exc:  # lost, every zip is only packed again once
            if (fault := disk_fault(exc, root=context.paths.root, writing=ledger.records)) is None:
                raise
            diagnostics.append(fault)
    diagnostics.extend(isolation.diagnostics)

    summary = []
    for target in targets:
        line = (f"打包 {target.name}：{written[target.name]} 个上传包写入 "
                f"{context.paths.shown(context.paths.bundles / target.name)}/"
                + (f"，{unchanged[target.name]} 个未变" if unchanged[target.name] else "")
                + f" ({target.name}: {written[target.name]} bundle(s) written"
                + (f", {unchanged[target.name]} unchanged" if unchanged[target.name] else ""))
        summary.append(line + (f", {refused[target.name]} course(s) refused)" if refused[target.name] else ")"))
    for conflict in declared.conflicts:
        if conflict.name:
            summary.append(f"打包 {conflict.name}：多个插件同名，未打包 ({conflict}: not packed)")
    if memo.read + memo.recalled:
        summary.append(f"打包：读取了 {memo.read} 门课程的文件夹，{memo.recalled} 门自检查以来未变 "
                       f"(bundles: {memo.read} course folder(s) read, {memo.recalled} unchanged since the check)")
    if not targets and not declared.conflicts:
        summary.append("打包：没有插件声明上传包格式 (bundles: no plugin declares a bundle target)")
    if removed := _remove_stale_bundles(context, targets):
        summary.append(f"打包：删除了 {removed} 个已不存在课程的旧上传包 (removed {removed} stale bundle(s))")
    return StageOutcome(diagnostics=tuple(diagnostics), outputs=tuple(outputs), summary=tuple(summary))


@hookimpl
def weike_cache_parts(context: BuildContext, repository) -> list:
    from weike.builder.keeping.prune import RecordPart

    declared = declare_bundle_targets(context.plugin_manager)
    # A name two plugins declare keeps its ledger: once one of them goes, its zips are current again.
    targets = {target.name for target in declared.targets} | {c.name for c in declared.conflicts if c.name}
    # A file named with a leading "_" is what a target's pack keeps for every course (pack's cache=).
    return [RecordPart(name="bundle-ledgers", title="上传包的输入记录 (what each bundle was made from)",
                       path=context.paths.cache / LEDGER_FOLDER,
                       needed=lambda file: file.stem in targets or file.name == INPUTS_FILE
                       or (file.name.startswith("_") and file.is_file()))]


# --------------------------------------------------------------------------------------------
# weike bundles
# --------------------------------------------------------------------------------------------


def cmd_bundles(project: Project, args: argparse.Namespace) -> int:
    # Outside a course repository: the built-in and installed targets only.
    declared = declare_bundle_targets(project.plugin_manager)
    if declared.conflicts:
        # A list with one of two same-named targets would tell an officer something false.
        conflicts = "; ".join(str(conflict) for conflict in declared.conflicts)
        raise UsageError(f"上传包格式冲突 (bundle target conflict): {conflicts}; "
                         "运行 weike plugins 查看插件 (see weike plugins)")
    targets = declared.targets
    if args.format == "json":
        print(json.dumps([{"name": t.name, "title": t.title, "description": t.description,
                           "output": f"dist/bundles/{t.name}/<course-slug>.zip"} for t in targets],
                         ensure_ascii=False, indent=2))
        return 0
    if not targets:
        print("没有插件声明上传包格式 (no plugin declares a bundle target)")
    for target in targets:
        print(f"{target.name}  {target.title}\n    {target.description}\n"
              f"    -> dist/bundles/{target.name}/<课程文件夹名>.zip")
    return 0


@hookimpl
def weike_add_hookspecs(plugin_manager) -> None:
    from weike.plugins.bundles import hookspecs

    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def weike_cli_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bundles", help="列出上传包格式 (list the bundle targets weike build writes)",
        description="List every bundle target: what `weike build --only bundles` writes into dist/bundles/.")
    parser.add_argument("path", nargs="?", default=".",
                        help="repository whose own plugins/ may add targets (default: current folder)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=cmd_bundles)


@hookimpl
def weike_output_stages() -> list[OutputStage]:
    """The upload bundles: one zip per course and target."""
    return [OutputStage(name="bundles", title="打包 bundles", hook="weike_bundle_stage", needs=("media",))]
