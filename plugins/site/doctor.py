"""What the browser tests need from the machine (``weike doctor``): Chromium, Playwright, CJK fonts."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from weike.builder.doctor import CheckStatus, DoctorCheck

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
