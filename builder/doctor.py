"""``weike doctor``: is this machine ready to build, and if not, what to install.

weike's own checks (Python, plugins, the cache, Dask, the browser-test tools) come first, then
every plugin's ``weike_doctor_checks`` (the media plugin checks ffmpeg and the cluster, the site
plugin says what it needs of fonts). A check reports a status: something essential missing
makes the exit status 1 and names the fix; optional parts (benchmarks, tests, the cluster when
none is configured) only warn.
"""

from __future__ import annotations

import argparse
import enum
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from builder import __version__
from builder.cache import tree_size
from builder.context import CACHE_DIR_ENV, BuildPaths
from builder.loading import NotACourseRepository, load_config
from builder.model import WeikeConfig

EXIT_READY, EXIT_MISSING = 0, 1
#: Where the browser tests look for Chromium (tests/conftest.py), unless WEIKE_CHROMIUM says otherwise.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV = "WEIKE_CHROMIUM"


class CheckStatus(enum.Enum):
    OK = "ok"
    #: A fact worth knowing; nothing to judge.
    INFO = "info"
    #: Something optional is missing (benchmarks, tests, a cluster nobody asked for).
    WARNING = "warning"
    #: Something weike needs is missing: builds would fail. ``weike doctor`` exits 1.
    MISSING = "missing"


_MARKS = {CheckStatus.OK: "✓", CheckStatus.INFO: "·", CheckStatus.WARNING: "!", CheckStatus.MISSING: "✗"}


@dataclass(frozen=True, kw_only=True)
class DoctorCheck:
    """One line of ``weike doctor``: what was checked, what was found, and the fix when it is not right."""

    #: The heading it is shown under ("ffmpeg", "cluster"...).
    section: str
    name: str
    status: CheckStatus
    #: What was found (a version, a path, a count).
    detail: str = ""
    #: What to do about it (for WARNING and MISSING).
    fix: str = ""

    def as_dict(self) -> dict:
        return {"section": self.section, "name": self.name, "status": self.status.value, "detail": self.detail,
                "fix": self.fix}


# --------------------------------------------------------------------------------------------
# weike's own checks
# --------------------------------------------------------------------------------------------


def python_checks() -> list[DoctorCheck]:
    too_old = sys.version_info < (3, 11)
    return [
        DoctorCheck(section="weike", name="weike", status=CheckStatus.OK,
                    detail=f"{__version__} ({Path(__file__).resolve().parent.parent})"),
        DoctorCheck(section="weike", name="Python", status=CheckStatus.MISSING if too_old else CheckStatus.OK,
                    detail=f"{platform.python_version()} ({sys.executable})",
                    fix="weike 需要 Python 3.11 或更新版本 (weike needs Python 3.11+)" if too_old else ""),
    ]


def plugin_checks(pm) -> list[DoctorCheck]:
    checks = []
    for record in pm.records:
        if record.error:
            checks.append(DoctorCheck(
                section="plugins", name=record.name, status=CheckStatus.MISSING,
                detail=f"[{record.origin}] {record.location}: {record.error}",
                fix=f"修正或删除这个插件 (fix or remove {record.location}); weike plugins 显示详情"))
        elif record.skipped:
            checks.append(DoctorCheck(section="plugins", name=record.name, status=CheckStatus.INFO,
                                      detail=f"[{record.origin}] not loaded: {record.skipped}"))
        else:
            checks.append(DoctorCheck(section="plugins", name=record.name, status=CheckStatus.OK,
                                      detail=f"[{record.origin}] {len(record.hooks)} hook(s)"))
    return checks


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def cache_checks(root: Path | None) -> list[DoctorCheck]:
    """Where the cache is, how big, and whether a build can write to it (nothing is written here)."""
    if root is None and not os.environ.get(CACHE_DIR_ENV):
        return [DoctorCheck(section="cache", name="cache", status=CheckStatus.INFO,
                            detail="不在课程仓库中 (not inside a course repository): .weike/cache of the repository")]
    cache = BuildPaths.for_root(root or Path.cwd()).cache
    origin = f"${CACHE_DIR_ENV}" if os.environ.get(CACHE_DIR_ENV) else ".weike/cache"
    writable = os.access(_nearest_existing(cache), os.W_OK)
    size = tree_size(cache) if cache.is_dir() else 0
    return [DoctorCheck(
        section="cache", name="cache", status=CheckStatus.OK if writable else CheckStatus.MISSING,
        detail=f"{cache} ({origin}), {size / 1e6:.1f} MB" + ("" if cache.is_dir() else ", not created yet"),
        fix="" if writable else f"缓存目录不可写：修改权限，或用 {CACHE_DIR_ENV} 指向可写的目录 "
                                f"(the cache is not writable: fix its permissions or set {CACHE_DIR_ENV}); "
                                "weike cache info 显示内容")]


def dask_checks(scheduler: str | None) -> list[DoctorCheck]:
    """Dask is optional unless a scheduler is configured: then builds need it (E217)."""
    try:
        import distributed
    except ImportError:
        return [DoctorCheck(
            section="cluster", name="dask.distributed",
            status=CheckStatus.MISSING if scheduler else CheckStatus.WARNING,
            detail="未安装，只有分布式转码需要 (not installed: needed only for --scheduler / weike.yml scheduler)",
            fix="pip install 'weike[cluster]'")]
    return [DoctorCheck(section="cluster", name="dask.distributed", status=CheckStatus.OK,
                        detail=distributed.__version__)]


def _first_line(command: list[str]) -> str | None:
    try:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                                   check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    return lines[0] if completed.returncode == 0 and lines else None


def browser_test_checks() -> list[DoctorCheck]:
    """What the browser tests need: Chromium, Playwright, and CJK fonts so pages render Chinese text."""
    checks = []
    chromium = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
    version = _first_line([chromium, "--version"]) if Path(chromium).is_file() else None
    checks.append(DoctorCheck(
        section="tests", name="Chromium", status=CheckStatus.OK if version else CheckStatus.WARNING,
        detail=f"{version} ({chromium})" if version else f"not found at {chromium} (browser tests are skipped)",
        fix="" if version else f"apt-get install chromium, or set {CHROMIUM_ENV}"))
    playwright = importlib.util.find_spec("playwright") is not None
    checks.append(DoctorCheck(
        section="tests", name="Playwright", status=CheckStatus.OK if playwright else CheckStatus.WARNING,
        detail=importlib.metadata.version("playwright") if playwright else "not installed",
        fix="" if playwright else "pip install -e '.[test]'"))
    fonts, extra = None, ""
    if shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30,
                                check=False).stdout
        families = sorted({line.split(",")[0].strip() for line in listed.splitlines() if line.strip()})
        fonts = next((family for family in families if family.endswith(" SC")), families[0] if families else None)
        extra = f" (+{len(families) - 1})" if len(families) > 1 else ""
    checks.append(DoctorCheck(
        section="tests", name="CJK fonts", status=CheckStatus.OK if fonts else CheckStatus.WARNING,
        detail=f"{fonts}{extra}" if fonts else "no Chinese font found by fontconfig: Chromium draws boxes for 汉字",
        fix="" if fonts else "apt-get install fonts-noto-cjk"))
    return checks


# --------------------------------------------------------------------------------------------
# Running every check
# --------------------------------------------------------------------------------------------


def plugin_doctor_checks(pm, *, root: Path | None, config: WeikeConfig, scheduler: str | None) -> list[DoctorCheck]:
    """Every plugin's ``weike_doctor_checks``; a plugin whose check crashes is reported, not raised."""
    kwargs = {"root": root, "config": config, "scheduler": scheduler}
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


def run_doctor(path: Path, *, scheduler: str | None = None) -> list[DoctorCheck]:
    """Every check for the repository at ``path`` (or the machine alone, outside a repository)."""
    from builder.pipeline import find_repository_root
    from builder.plugin_manager import get_plugin_manager

    try:
        root, _ = find_repository_root(path)
    except NotACourseRepository:
        root = None
    config = load_config(root)[0] if root is not None else WeikeConfig()
    scheduler = scheduler or config.scheduler
    pm = get_plugin_manager(root, raise_on_error=False)
    checks = [*python_checks(), *plugin_checks(pm), *cache_checks(root), *dask_checks(scheduler),
              *browser_test_checks()]
    checks.extend(plugin_doctor_checks(pm, root=root, config=config, scheduler=scheduler))
    return checks


def render_text(checks: Iterable[DoctorCheck]) -> str:
    checks = list(checks)
    sections: dict[str, list[DoctorCheck]] = {}
    for check in checks:
        sections.setdefault(check.section, []).append(check)
    lines = []
    for section, members in sections.items():
        lines.append(section)
        for check in members:
            lines.append(f"  {_MARKS[check.status]} {check.name}" + (f": {check.detail}" if check.detail else ""))
            if check.fix and check.status in (CheckStatus.WARNING, CheckStatus.MISSING):
                lines.append(f"      -> {check.fix}")
    missing = sum(check.status is CheckStatus.MISSING for check in checks)
    warnings = sum(check.status is CheckStatus.WARNING for check in checks)
    if missing:
        lines.append(f"缺少 {missing} 项必需的组件，见上面的 ✗ (missing {missing} essential part(s), see ✗ above)"
                     + (f"; {warnings} warning(s)" if warnings else ""))
    else:
        lines.append("weike 所需的一切都已就绪 (everything weike needs is here)"
                     + (f"; {warnings} 项可选组件缺失 ({warnings} optional part(s) missing, see !)" if warnings else ""))
    return "\n".join(lines) + "\n"


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = run_doctor(Path(args.path), scheduler=args.scheduler)
    if args.format == "json":
        sys.stdout.write(json.dumps([check.as_dict() for check in checks], ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(checks))
    return EXIT_MISSING if any(check.status is CheckStatus.MISSING for check in checks) else EXIT_READY


def add_doctor_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor", help="检查本机是否具备构建所需的一切 (check that this machine has what weike needs)",
        description="Report weike's and Python's versions, the plugins (loaded or failed), ffmpeg and ffprobe "
                    "(versions, where they come from, the encoders and filters weike uses), the cache (where, "
                    "how big), Dask and the cluster (with --scheduler or weike.yml scheduler), fonts, and the "
                    "browser-test tools. Exit 1 when something essential is missing; each problem names its fix.")
    parser.add_argument("path", nargs="?", default=".", help="course repository (default: the current folder)")
    parser.add_argument("--scheduler", help="also check this Dask scheduler tcp://HOST:PORT and its workers "
                                            "(default: weike.yml scheduler)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=cmd_doctor)
