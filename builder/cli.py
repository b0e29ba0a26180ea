"""The ``weike`` command.

Exit status: 0 = no problems (warnings allowed unless ``--strict``), 1 = problems found in the
courses or the build, 2 = usage error or internal error. Authors never see a traceback; ``--debug``
shows one for developers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from builder import __version__
from builder.diagnostics import FORMATS, format_github, printable, render, sort_diagnostics
from builder.doctor import add_doctor_command
from builder.ffmpeg import FfmpegNotFound
from builder.inventory import add_cache_command
from builder.loading import NotACourseRepository
from builder.plugin_manager import PluginLoadError, get_plugin_manager
from builder.progress import make_progress
from builder.scaffold import (
    CI_TEMPLATES,
    ScaffoldError,
    new_centre,
    new_course,
    new_lecture,
    new_repository,
    write_ci_template,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in how weike was called; printed as one line, exit 2."""


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from builder.pipeline import run_check

    result = run_check(Path(args.path))
    summary = result.summary
    sys.stdout.write(render(result.diagnostics, summary, args.format, strict=args.strict))
    if args.format == "text" and os.environ.get("GITHUB_ACTIONS") == "true":
        for diagnostic in sort_diagnostics(result.diagnostics):
            print(format_github(diagnostic))
    return EXIT_PROBLEMS if summary.failed(strict=args.strict) else EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from builder.pipeline import build, describe_failures

    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs 必须是正整数 (--jobs must be a positive number)")
    started = time.monotonic()
    progress = make_progress(sys.stderr, quiet=args.quiet)
    try:
        result = build(Path(args.path), progress=progress, only=args.only, jobs=args.jobs,
                       scheduler=args.scheduler, strict=args.strict, force=args.force, drop_stale=args.drop_stale)
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


def cmd_plugins(args: argparse.Namespace) -> int:
    from builder.pipeline import find_repository_root

    try:
        root, _ = find_repository_root(Path(args.path))
    except NotACourseRepository:
        root = Path(args.path).resolve()
    pm = get_plugin_manager(root, raise_on_error=False)
    if args.format == "json":
        print(json.dumps([record.__dict__ for record in pm.records], ensure_ascii=False, indent=2))
    else:
        for record in pm.records:
            if record.error:
                status = f"FAILED: {record.error}"
            elif record.skipped:
                status = f"not loaded: {record.skipped}"
            else:
                status = ", ".join(record.hooks) or "(no hooks)"
            print(f"{record.name}  [{record.origin}]  {record.location}\n    {status}")
    return EXIT_USAGE if pm.failures else EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from builder.pipeline import find_repository_root

    if args.kind == "repo":
        try:
            folder = new_repository(Path(args.folder))
        except ScaffoldError as exc:
            raise UsageError(str(exc)) from exc
        print(f"已创建课程仓库 {folder} (created a course repository)")
        print(f"下一步：cd {args.folder}，然后 weike new course <课程名>，例如 weike new course shouji-rumen")
        return EXIT_OK
    path = Path(args.path)
    try:
        root, _ = find_repository_root(path)
    except NotACourseRepository:
        root = path.resolve()  # a new repository: courses/ is created with the first course
    try:
        if args.kind == "ci":
            target = write_ci_template(root, args.system)
            print(f"已创建 {target.relative_to(root)} (created); 说明见 docs/ci.md")
        elif args.kind == "course":
            folder = new_course(root, args.slug, title=args.title)
            print(f"已创建 {folder.relative_to(root)}/course.yml 和示意封面 cover.jpg (created)")
            print(f"下一步：weike new lecture {args.slug} <名称>，每门课至少 10 个微课。")
        elif args.kind == "centre":
            folder = new_centre(root, args.slug, name=args.name)
            print(f"已创建 {folder.relative_to(root)}/centre.yml (created)")
            print("下一步：填写推介表的各项内容（照片放进这个文件夹），然后运行 weike check。")
        else:
            folder = new_lecture(root, args.course, args.slug, title=args.title)
            print(f"已创建 {folder.relative_to(root)}/lecture.md (created)")
            print("下一步：把这一讲的视频或音频放进这个文件夹，然后运行 weike check。")
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from exc
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weike",
        description="微课：把课程仓库构建成合规视频、课程目录网站和上传包 "
                    "(build a course repository into delivery-spec videos, a catalogue site and upload bundles)",
    )
    parser.add_argument("--version", action="version", version=f"weike {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every ffmpeg command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = sub.add_parser("check", help="检查课程是否符合申报要求 (check courses against the call's rules)",
                           description="Report every problem that keeps a course from being accepted, "
                                       "with file:line, in one run. Exit 0 when there are no errors.")
    check.add_argument("path", nargs="?", default=".", help="repository (folder with courses/) or one course folder")
    check.add_argument("--format", choices=FORMATS, default="text",
                       help="text (default), json, github (workflow annotations) or codequality (GitLab)")
    check.add_argument("--strict", action="store_true", help="warnings fail too")
    check.set_defaults(func=cmd_check)

    build = sub.add_parser("build", help="构建视频、网站、上传包和报表到 dist/ (build everything into dist/)",
                           description="Run load -> check -> media -> site -> bundles -> reports. A failing "
                                       "course never stops the others; the summary names it and the exit is 1.")
    build.add_argument("path", nargs="?", default=".",
                       help="repository (folder with courses/), or one course folder: then only its media and "
                            "bundles are built (the site and the summary table cover the whole repository)")
    build.add_argument("--only", choices=("media", "site", "bundles", "reports"),
                       help="write only this output (with the stages it needs)")
    build.add_argument("--jobs", "-j", type=int, help="parallel media jobs (default: weike.yml or CPU count)")
    build.add_argument("--scheduler", help="run the media jobs on the Dask cluster at tcp://HOST:PORT (workers "
                                            "must see the repository and the cache at the same paths)")
    build.add_argument("--strict", action="store_true", help="warnings fail too")
    build.add_argument("--format", choices=("text", "github"), default="text", help="how to print diagnostics")
    build.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    build.add_argument("--force", action="store_true",
                       help="run every stage even when nothing changed since the last build: the site is "
                            "rebuilt, bundles repacked, cached media re-hashed (damaged entries made again)")
    build.add_argument("--drop-stale", action="store_true",
                       help="a published course that fails now leaves the site, the summary table and its bundles "
                            "(default: it stays at its last good version; weike.yml: drop_stale: true)")
    build.set_defaults(func=cmd_build)

    plugins = sub.add_parser("plugins", help="列出已加载的插件 (list loaded plugins and where they come from)")
    plugins.add_argument("path", nargs="?", default=".", help="repository whose plugins/ folder to include")
    plugins.add_argument("--format", choices=("text", "json"), default="text")
    plugins.set_defaults(func=cmd_plugins)

    new = sub.add_parser(
        "new", help="创建课程仓库、课程、微课或学习中心的模板 (create a repository, course, lecture or centre skeleton)",
        description="创建带中文注释的模板，照着注释填写即可。第一次用请先 weike new repo 新建自己的课程仓库。 "
                    "Create commented skeletons; start with `weike new repo` for a repository of your own.")
    new_sub = new.add_subparsers(dest="kind", metavar="KIND", title="可以创建 (kinds)")
    new_sub.required = True
    here = "仓库文件夹，默认是当前文件夹 (repository folder, default: current)"
    new_repo_parser = new_sub.add_parser(
        "repo", help="新建自己的课程仓库：courses/、weike.yml、.gitignore、编辑器设置 (a fresh course repository)")
    new_repo_parser.add_argument("folder", metavar="PATH", help="新仓库的文件夹，不能已有文件 (new folder; must not hold files)")
    new_course_parser = new_sub.add_parser(
        "course", help="新课程：courses/<课程名>/course.yml 和占位封面 (new course: course.yml + placeholder cover)")
    new_course_parser.add_argument("slug", help="课程文件夹名：小写英文、数字、连字符，如 shouji-rumen "
                                                "(lowercase letters, digits, hyphens)")
    new_course_parser.add_argument("--title", help="课程名称 (course title)")
    new_course_parser.add_argument("--path", default=".", help=here)
    new_lecture_parser = new_sub.add_parser(
        "lecture", help="新微课：courses/<课程名>/<编号-名称>/lecture.md (new lecture)")
    new_lecture_parser.add_argument("course", help="课程文件夹名 (course folder name)")
    new_lecture_parser.add_argument("slug", help="微课名，如 wifi 或 03-wifi，没写编号就自动编号 "
                                                 "(lecture name; number added if missing)")
    new_lecture_parser.add_argument("--title", help="微课名称 (lecture title)")
    new_lecture_parser.add_argument("--path", default=".", help=here)
    new_centre_parser = new_sub.add_parser(
        "centre", help="新品牌社区学习中心（附件4）：centres/<名称>/centre.yml (new brand learning centre)")
    new_centre_parser.add_argument("slug", help="文件夹名：小写英文、数字、连字符 (lowercase letters, digits, hyphens)")
    new_centre_parser.add_argument("--name", help="学校全称 (full official name of the school)")
    new_centre_parser.add_argument("--path", default=".", help=here)
    new_ci_parser = new_sub.add_parser(
        "ci", help="课程仓库的自动检查和发布流程 (CI workflow: check, build, deploy)")
    new_ci_parser.add_argument("system", choices=sorted(CI_TEMPLATES), help="github (Actions) 或 gitlab (CI)")
    new_ci_parser.add_argument("--path", default=".", help=here)
    new.set_defaults(func=cmd_new)

    # --- operations (issue 6): weike doctor, weike cache ---
    add_doctor_command(sub)
    add_cache_command(sub)

    # Commands that belong to a stage come from its plugin (weike probe, weike serve...). A plugin
    # that fails to load is reported by the command that needs it, not here: --help must work.
    pm = get_plugin_manager(None, raise_on_error=False)
    pm.hook.weike_cli_commands(subparsers=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``weike`` console script."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s", stream=sys.stderr)
    from builder.pipeline import StageCrash, WholeRepositoryOutput

    try:
        return args.func(args)
    except UsageError as exc:
        print(f"weike: {exc}", file=sys.stderr)
    except WholeRepositoryOutput as exc:
        print(f"weike: --only {exc.stage} 的输出包含整个仓库的课程，不能只为一门课程构建；请在仓库根目录运行 "
              f"(--only {exc.stage} covers every course of the repository: run it in the repository root, "
              "not in one course folder)", file=sys.stderr)
    except NotACourseRepository as exc:
        print(f"weike: {exc.args[0]} 中没有 courses/ 或 centres/ 文件夹，不是课程仓库 "
              "(no courses/ or centres/ folder: not a course repository)",
              file=sys.stderr)
    except PluginLoadError as exc:
        print("weike: 插件加载失败 (plugins failed to load):", file=sys.stderr)
        for failure in exc.failures:
            print(f"  {failure.name} [{failure.origin}] {failure.location}: {failure.error}", file=sys.stderr)
    except FfmpegNotFound as exc:
        print(f"weike: {exc}", file=sys.stderr)
    except StageCrash as exc:
        print(f"weike: 插件 {exc.plugin or '?'} 在 {exc.stage} 阶段出错 ({exc})", file=sys.stderr)
        if args.debug:
            print(exc.traceback, file=sys.stderr)
        else:
            print("       用 weike --debug 重新运行可看到详细信息 (rerun with --debug for the traceback)", file=sys.stderr)
    except KeyboardInterrupt:
        print("weike: 已中断 (interrupted)", file=sys.stderr)
        return 130
    except OSError as exc:
        from builder.disk import disk_fault

        fault = disk_fault(exc, root=Path.cwd())
        if fault is None:
            if args.debug:
                raise
            print(f"weike: 内部错误 (internal error): {type(exc).__name__}: {exc}", file=sys.stderr)
            print("       用 weike --debug 重新运行可看到详细信息 (rerun with --debug for the traceback)", file=sys.stderr)
            return EXIT_USAGE
        print(f"weike: {fault.location}: {fault.code} {fault.message} ({fault.message_en})\n       {fault.hint}",
              file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if args.debug:
            raise
        print(f"weike: 内部错误 (internal error): {type(exc).__name__}: {exc}", file=sys.stderr)
        print("       用 weike --debug 重新运行可看到详细信息 (rerun with --debug for the traceback)", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
