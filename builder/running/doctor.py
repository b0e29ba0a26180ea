"""``weike doctor``: is this machine ready to build, and if not, what to install.

weike's own checks (Python, the plugins, the cache) come first, then every plugin's
``weike_doctor_checks`` (the media plugin checks ffmpeg, the card font and Dask with the cluster;
the site plugin MkDocs, and Chromium, Playwright and CJK fonts for the browser tests). A check reports a status: something essential missing
makes the exit status 1 and names the fix; optional parts (benchmarks, tests, the cluster when
none is configured) only warn.
"""

from __future__ import annotations

import enum
import os
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from weike.builder import __version__
from weike.builder.contracts.context import CACHE_DIR_ENV, BuildPaths
from weike.builder.keeping.prune import tree_size

EXIT_READY, EXIT_MISSING = 0, 1
#: Where the browser tests look for Chromium (tests/conftest.py), unless WEIKE_CHROMIUM says otherwise.


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
                    detail=f"{__version__} ({Path(__file__).resolve().parents[2]})"),
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


# --------------------------------------------------------------------------------------------
# Running every check
# --------------------------------------------------------------------------------------------


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


def add_doctor_command(subparsers, handler) -> None:
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
    # Broken plugins are one of the things doctor reports, so they do not stop it.
    parser.set_defaults(func=handler, tolerate_plugin_failures=True)
