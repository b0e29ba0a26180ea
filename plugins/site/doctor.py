"""The site's lines of ``weike doctor``: which site engine renders the pages, at which versions, and
what the browser tests need from the machine (Chromium, Playwright, CJK fonts)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from weike.builder.running.doctor import CheckStatus, DoctorCheck

#: The engine that renders weike's site model into HTML (docs/site-engine.md), and the releases of
#: each package that weike is tested with: [lowest, first untested). pyproject.toml pins the same
#: ranges (tests/plugins/site/test_site_engine.py holds the two equal).
SITE_ENGINE = "MkDocs + Material for MkDocs"
ENGINE_PACKAGES = {"mkdocs": ("1.6", "1.7"), "mkdocs-material": ("9.5", "9.9")}

#: Where the browser tests look for Chromium (tests/conftest.py), unless WEIKE_CHROMIUM says otherwise.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV = "WEIKE_CHROMIUM"


def _first_line(command: list[str]) -> str | None:
    try:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                                   check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    return lines[0] if completed.returncode == 0 and lines else None


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of ``version`` ("2.0.0a1" -> (2, 0, 0)): a pre-release counts as its release."""
    found = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in found.group(0).split(".")) if found else ()


def engine_range(name: str) -> str:
    """The tested range of the engine package ``name`` as a requirement (``mkdocs>=1.6,<1.7``)."""
    low, high = ENGINE_PACKAGES[name]
    return f"{name}>={low},<{high}"


def site_engine_check() -> DoctorCheck:
    """Which engine renders the site and whether its installed versions are the tested ones."""
    installed: dict[str, str | None] = {}
    for name in ENGINE_PACKAGES:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed[name] = None
    shown = " + ".join(f"{name} {version or '(not installed)'}" for name, version in installed.items())
    pins = ", ".join(engine_range(name) for name in ENGINE_PACKAGES)
    absent = [name for name, version in installed.items() if version is None]
    untested = [name for name, version in installed.items() if version is not None and not (
        _release(ENGINE_PACKAGES[name][0]) <= _release(version) < _release(ENGINE_PACKAGES[name][1]))]
    install = "pip install " + " ".join(f"'{engine_range(name)}'" for name in ENGINE_PACKAGES)
    if absent:
        return DoctorCheck(section="site", name="site engine", status=CheckStatus.MISSING,
                           detail=f"{SITE_ENGINE}: {shown}",
                           fix=f"网站无法构建，请安装 (the site cannot be built): {install}")
    if untested:
        return DoctorCheck(section="site", name="site engine", status=CheckStatus.WARNING,
                           detail=f"{SITE_ENGINE}: {shown}; untested: {', '.join(untested)} (tested: {pins})",
                           fix=f"网站可能与测试过的不同，请装回测试过的版本 (pages may differ from the tested ones): {install}")
    return DoctorCheck(section="site", name="site engine", status=CheckStatus.OK,
                       detail=f"{SITE_ENGINE}: {shown} (tested: {pins}; docs/site-engine.md)")


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


def doctor_checks() -> list:
    """What ``weike doctor`` says of the site: its engine, fonts, and what the browser tests need."""
    return [
        site_engine_check(),
        # Checked rather than assumed: the site draws no text with a font; the title cards bring
        # their own (weike.plugins.media reports it as "title card font").
        DoctorCheck(section="site", name="fonts", status=CheckStatus.INFO,
                    detail="不需要安装字体：网站不指定字体（theme.font: false），由读者手机的自带字体显示；视频的片头片尾"
                           "用 weike 自带的字体 (nothing to install: the site names no font, readers' own fonts show it; "
                           "the title cards use the font installed with weike)"),
        *browser_test_checks(),
    ]
