"""The ``weike`` command.

Exit status: 0 = no problems (warnings allowed unless ``--strict``), 1 = problems found in the
courses or the build, 2 = usage error or internal error. Authors never see a traceback; ``--debug``
shows one for developers.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from weike.builder import __version__
from weike.builder.running.commands import (
    EXIT_PROBLEMS,
    EXIT_USAGE,
    cmd_build,
    cmd_cache,
    cmd_check,
    cmd_doctor,
    cmd_new,
    cmd_plugins,
    cmd_schema,
)
from weike.builder.contracts.diagnostics import FORMATS
from weike.builder.contracts.errors import MissingTool, UsageError
from weike.builder.keeping.disk import disk_fault
from weike.builder.repository.loading import NotACourseRepository
from weike.builder.running.checking import StageCrash
from weike.builder.running.doctor import add_doctor_command
from weike.builder.running.inventory import add_cache_command
from weike.builder.running.pipeline import WholeRepositoryOutput
from weike.builder.running.plugin_manager import PluginLoadError, SettingConflict, get_plugin_manager
from weike.builder.running.project import Project
from weike.builder.running.scaffold import CI_TEMPLATES


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


#: The core's own commands; any other command comes from a plugin (``weike_cli_commands``).
CORE_COMMANDS = frozenset({"check", "build", "plugins", "schema", "new", "doctor", "cache"})


def build_parser(*, plugin_commands: bool = True) -> argparse.ArgumentParser:
    """The command line; without ``plugin_commands`` only the core's commands (the plugins' are
    not asked for theirs, so their command modules are not imported: ``weike build`` at
    catalogue scale takes well under a second when nothing changed, and importing the editor's
    command alone, pinyin tables and all, cost a fifth of that)."""
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
    check.add_argument("--jobs", "-j", type=int,
                       help="media files probed at once (default: weike.yml or CPU count); the report is the same")
    check.set_defaults(func=cmd_check)

    build = sub.add_parser("build", help="构建视频、网站、上传包和报表到 dist/ (build everything into dist/)",
                           description="Run load -> check -> media -> site -> offline -> bundles -> reports. A failing "
                                       "course never stops the others; the summary names it and the exit is 1.")
    build.add_argument("path", nargs="?", default=".",
                       help="repository (folder with courses/), or one course folder: then only its media and "
                            "bundles are built (the site and the summary table cover the whole repository)")
    build.add_argument("--only", metavar="OUTPUT",
                       help="write only this output (with the stages it needs): media, site, offline (the "
                            "offline edition; with the site), bundles, reports, or one a plugin declares "
                            "(weike_output_stages)")
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

    plugins = sub.add_parser("plugins", help="列出已加载的插件及其设置项 (list loaded plugins, where they come from, their "
                                             "hooks and settings with type, default and description)")
    plugins.add_argument("path", nargs="?", default=".", help="repository whose plugins/ folder to include")
    plugins.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                         help="text (default), json, or markdown: the settings reference (docs/settings.md)")
    plugins.set_defaults(func=cmd_plugins, tolerate_plugin_failures=True)

    schema = sub.add_parser(
        "schema", help="生成编辑器用的 YAML 说明（JSON Schema） (write the editors' JSON Schemas of this repository)",
        description="Write course/lecture/centre/weike.yml JSON Schemas (draft-07) made from weike's and the "
                    "plugins' declared settings into .weike/schemas/ (run it after adding a plugin with settings).")
    schema.add_argument("path", nargs="?", default=".", help="repository whose plugins/ folder to include")
    schema.add_argument("--out", metavar="DIR", help="folder to write them into (default: .weike/schemas/)")
    schema.set_defaults(func=cmd_schema)

    new = sub.add_parser(
        "new", help="创建课程仓库、课程、微课或学习中心的模板 (create a repository, course, lecture or centre skeleton)",
        description="创建带中文注释的模板，照着注释填写即可。第一次用请先 weike new repo 新建自己的课程仓库。 "
                    "Create commented skeletons; start with `weike new repo` for a repository of your own.")
    new_sub = new.add_subparsers(dest="kind", metavar="KIND", title="可以创建 (kinds)")
    new_sub.required = True
    here = "仓库文件夹，默认是当前文件夹 (repository folder, default: current)"
    new_repo_parser = new_sub.add_parser(
        "repo", help="新建自己的课程仓库：courses/、weike.yml、.gitignore、编辑器设置，并 git init (a fresh course repository)")
    new_repo_parser.add_argument("folder", metavar="PATH", help="新仓库的文件夹，不能已有文件 (new folder; must not hold files)")
    new_repo_parser.add_argument("--no-git", action="store_true",
                                 help="不初始化 Git（默认会 git init 并提交第一个版本） (skip git init and the first commit)")
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

    # --- operations: weike doctor, weike cache ---
    add_doctor_command(sub, cmd_doctor)
    add_cache_command(sub, cmd_cache)

    # Commands that belong to a stage come from its plugin (weike probe, weike serve...). A plugin
    # that fails to load is reported by the command that needs it, not here: --help must work.
    if plugin_commands:
        pm = get_plugin_manager(None, raise_on_error=False)
        pm.hook.weike_cli_commands(subparsers=sub)
    return parser


def command_named(argv: list[str]) -> str | None:
    """The command word of ``argv``: its first argument that is no option (``weike``'s own options
    take no value), None when there is none."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _project(args: argparse.Namespace) -> Project:
    """The project a command works on: its ``path`` argument (or the one its parser names with
    ``set_defaults(path_argument=...)``), else the current folder."""
    path = getattr(args, getattr(args, "path_argument", "path"), None) or "."
    project = Project.open(path, require=False, raise_on_error=False)
    if project.plugin_manager.failures and not getattr(args, "tolerate_plugin_failures", False):
        raise PluginLoadError(project.plugin_manager.failures)
    return project


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``weike`` console script."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else list(argv)
    # A core command needs no plugin's command line; anything else (a plugin's command, --help, a
    # typing error) gets the whole of it.
    parser = build_parser(plugin_commands=command_named(argv) not in CORE_COMMANDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(_project(args), args)
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
    except SettingConflict as exc:
        print(f"weike: 插件的设置项冲突 (conflicting plugin settings): {exc}", file=sys.stderr)
    except PluginLoadError as exc:
        print("weike: 插件加载失败 (plugins failed to load):", file=sys.stderr)
        for failure in exc.failures:
            print(f"  {failure.name} [{failure.origin}] {failure.location}: {failure.error}", file=sys.stderr)
    except MissingTool as exc:
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
