"""What the core's commands do: ``weike check``, ``build``, ``plugins``, ``new``, ``doctor``, ``cache``.

Each handler gets the :class:`~weike.builder.running.project.Project` of its path argument and the parsed
arguments, and returns the exit status; :mod:`weike.builder.cli` parses and turns errors into one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from weike.builder.contracts.diagnostics import format_github, printable, render, sort_diagnostics
from weike.builder.running.doctor import (
    EXIT_MISSING,
    EXIT_READY,
    CheckStatus,
    DoctorCheck,
    cache_checks,
    plugin_checks,
    python_checks,
    render_text,
)
from weike.builder.contracts.errors import UsageError
from weike.builder.contracts.settings import Setting, setting_dict, setting_rows, settings_markdown
from weike.builder.repository.loading import CONFIG_FIELDS
from weike.builder.repository.schema import REPOSITORY_SCHEMA_DIR, write_schemas
from weike.builder.running.checking import run_check
from weike.builder.running.inventory import prune_cache, render_info, render_prune, survey_cache
from weike.builder.running.pipeline import build, describe_failures
from weike.builder.running.progress import make_progress
from weike.builder.running.project import Project
from weike.builder.running.scaffold import (
    ScaffoldError,
    new_centre,
    new_course,
    new_lecture,
    new_repository,
    start_git_history,
    write_ci_template,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def cmd_check(project: Project, args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs 必须是正整数 (--jobs must be a positive number)")
    result = run_check(project, jobs=args.jobs)
    summary = result.summary
    sys.stdout.write(render(result.diagnostics, summary, args.format, strict=args.strict))
    if args.format == "text" and os.environ.get("GITHUB_ACTIONS") == "true":
        for diagnostic in sort_diagnostics(result.diagnostics):
            print(format_github(diagnostic))
    return EXIT_PROBLEMS if summary.failed(strict=args.strict) else EXIT_OK


def cmd_build(project: Project, args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs 必须是正整数 (--jobs must be a positive number)")
    started = time.monotonic()
    progress = make_progress(sys.stderr, quiet=args.quiet)
    try:
        result = build(project, progress=progress, only=args.only, jobs=args.jobs,
                       scheduler=args.scheduler, force=args.force, drop_stale=args.drop_stale)
    finally:
        progress.close()
    fmt = "github" if args.format == "github" else "text"
    sys.stdout.write(render(result.diagnostics, result.summary, fmt, strict=args.strict))
    # Summary lines quote course folders, titles and tool messages: no control codes reach the terminal.
    for line in result.summary_lines:
        print(printable(line, keep="\t\n"))
    failures = describe_failures(result)
    for line in failures:
        print(printable(line, keep="\t\n"))
    elapsed = time.monotonic() - started
    stages = " · ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result.stage_seconds.items())
    if result.stale:
        # Not "done": what is published for these courses is an older version than courses/ holds.
        names = "、".join(sorted(result.stale))
        print(f"构建结束，{len(result.stale)} 门课程已过期（本次失败，仍发布上次成功的版本）：{names}；"
              f"{len(result.built)} 门课程为最新 ({len(result.stale)} course(s) stale, their last good version "
              f"kept: {', '.join(sorted(result.stale))}; {len(result.built)} course(s) built) in {elapsed:.1f} s [{stages}]")
    else:
        print(f"构建完成：{len(result.built)} 门课程 ({len(result.built)} course(s) built) in {elapsed:.1f} s "
              f"[{stages}]")
    return EXIT_PROBLEMS if result.failed_build(strict=args.strict) else EXIT_OK


def _declared_settings_by_plugin(project: Project) -> dict[str, list[Setting] | str]:
    """Plugin name -> the settings it declares, or why ``weike_settings`` failed (``weike plugins``)."""
    found: dict[str, list[Setting] | str] = {}
    for impl in project.plugin_manager.hook.weike_settings.get_hookimpls():
        try:
            found[impl.plugin_name] = list(impl.function() or ())
        except Exception as exc:  # noqa: BLE001 - listed as that plugin's problem, the listing goes on
            found[impl.plugin_name] = f"(weike_settings failed: {type(exc).__name__}: {exc})"
    return found


def _settings_text(settings: list[Setting] | str) -> list[str]:
    if isinstance(settings, str):
        return [f"    settings: {settings}"]
    lines = []
    for setting in settings:
        for row in setting_rows(setting):
            default = f" = {row.default}" if row.default else ""
            lines.append(f"    {row.key}  [{row.files}]  {row.type}{default}\n"
                         f"        {row.description} ({row.description_en})")
    return lines


def cmd_plugins(project: Project, args: argparse.Namespace) -> int:
    pm = project.plugin_manager
    settings = _declared_settings_by_plugin(project)
    if args.format == "json":
        print(json.dumps([{**record.__dict__, "settings": [setting_dict(setting) for setting in found]
                           if isinstance(found := settings.get(record.name, []), list) else found}
                          for record in pm.records], ensure_ascii=False, indent=2))
    elif args.format == "markdown":
        owners = [("weike (core)", CONFIG_FIELDS)]
        owners += [(record.name, found) for record in pm.records
                   if isinstance(found := settings.get(record.name, []), list)]
        sys.stdout.write(settings_markdown(owners))
    else:
        for record in pm.records:
            if record.error:
                status = f"FAILED: {record.error}"
            elif record.skipped:
                status = f"not loaded: {record.skipped}"
            else:
                status = ", ".join(record.hooks) or "(no hooks)"
            print(f"{record.name}  [{record.origin}]  {record.location}\n    {status}")
            if settings.get(record.name):
                print("\n".join(_settings_text(settings[record.name])))
    return EXIT_USAGE if pm.failures else EXIT_OK


def cmd_schema(project: Project, args: argparse.Namespace) -> int:
    folder = Path(args.out) if args.out else project.root / REPOSITORY_SCHEMA_DIR
    changed = write_schemas(folder, project.settings)
    for path in changed:
        print(f"已更新 {path} (written)")
    if not changed:
        print(f"{folder} 中的编辑器说明已是最新 (schemas up to date)")
    return EXIT_OK


def cmd_new(project: Project, args: argparse.Namespace) -> int:
    if args.kind == "repo":
        try:
            folder = new_repository(Path(args.folder), settings=project.settings)
        except ScaffoldError as exc:
            raise UsageError(str(exc)) from exc
        project.plugin_manager.hook.weike_new_repository(folder=folder)
        print(f"已创建课程仓库 {folder} (created a course repository)")
        if not args.no_git:
            started = start_git_history(folder)
            if started.commit:
                print(f"已初始化 Git 并提交第一个版本 {started.commit} (git repository with a first commit)")
            for note in started.notes:
                print(f"注意：{note}", file=sys.stderr)
        print(f"下一步：cd {args.folder}，然后 weike new course <课程名>，例如 weike new course shouji-rumen")
        return EXIT_OK
    root = project.root  # outside a repository: a new one, courses/ is created with the first course
    try:
        if args.kind == "ci":
            target = write_ci_template(root, args.system)
            print(f"已创建 {target.relative_to(root)} (created); 说明见 docs/ci.md")
        elif args.kind == "course":
            folder = new_course(root, args.slug, title=args.title, plugin_manager=project.plugin_manager)
            print(f"已创建 {folder.relative_to(root)}/course.yml 和示意封面 cover.jpg (created)")
            print(f"下一步：weike new lecture {args.slug} <名称>，每门课至少 10 个微课。")
        elif args.kind == "centre":
            folder = new_centre(root, args.slug, name=args.name, settings=project.settings)
            print(f"已创建 {folder.relative_to(root)}/centre.yml (created)")
            print("下一步：填写推介表的各项内容（照片放进这个文件夹），然后运行 weike check。")
        else:
            folder = new_lecture(root, args.course, args.slug, title=args.title)
            print(f"已创建 {folder.relative_to(root)}/lecture.md (created)")
            print("下一步：把这一讲的视频或音频放进这个文件夹，然后运行 weike check。")
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from exc
    return EXIT_OK



def plugin_doctor_checks(project: Project, *, scheduler: str | None) -> list[DoctorCheck]:
    """Every plugin's ``weike_doctor_checks``; a plugin whose check crashes is reported, not raised."""
    pm = project.plugin_manager
    kwargs = {"root": project.root if project.is_repository else None, "config": project.config,
              "scheduler": scheduler}
    checks: list[DoctorCheck] = []
    # Called one implementation at a time so that one broken plugin does not hide the others;
    # in registration order (built-ins first), which reads better than pluggy's call order.
    for impl in pm.hook.weike_doctor_checks.get_hookimpls():
        try:
            found = impl.function(*(kwargs[name] for name in impl.argnames))
            checks.extend(found or ())
        except Exception as exc:  # noqa: BLE001 - reported as that plugin's failure
            checks.append(DoctorCheck(section="plugins", name=f"{impl.plugin_name} weike_doctor_checks",
                                      status=CheckStatus.MISSING, detail=f"crashed: {type(exc).__name__}: {exc}",
                                      fix="修正这个插件 (fix this plugin); weike --debug doctor 显示详情"))
    return checks


def run_doctor(project: Project, *, scheduler: str | None = None) -> list[DoctorCheck]:
    """Every check for ``project`` (or the machine alone, outside a repository)."""
    scheduler = scheduler or project.config.scheduler
    root = project.root if project.is_repository else None
    checks = [*python_checks(), *plugin_checks(project.plugin_manager), *cache_checks(root)]
    checks.extend(plugin_doctor_checks(project, scheduler=scheduler))
    return checks


def cmd_doctor(project: Project, args: argparse.Namespace) -> int:
    checks = run_doctor(project, scheduler=args.scheduler)
    if args.format == "json":
        sys.stdout.write(json.dumps([check.as_dict() for check in checks], ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(checks))
    return EXIT_MISSING if any(check.status is CheckStatus.MISSING for check in checks) else EXIT_READY



def cmd_cache(project: Project, args: argparse.Namespace) -> int:
    survey = survey_cache(project)
    if args.action == "info":
        if args.format == "json":
            sys.stdout.write(json.dumps(survey.as_dict(), ensure_ascii=False, indent=2) + "\n")
        else:
            sys.stdout.write(render_info(survey))
        return 0
    removed = prune_cache(survey, dry_run=args.dry_run)
    sys.stdout.write(render_prune(survey, removed, dry_run=args.dry_run))
    return 0


