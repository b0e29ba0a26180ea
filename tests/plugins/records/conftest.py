"""Records fixtures: the site fixtures (a built catalogue with real delivered MP4s), and a real
``weike share`` started as a subprocess on a free port."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.plugins.site.conftest import build_site, built_site, offline_site  # noqa: F401 - fixtures

__all__ = ["build_site", "start_share"]


def start_share(root: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """``weike share ROOT --port 0`` in its own process; (process, its address) once it listens."""
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "share", str(root), "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if match := re.search(r"(http://127\.0\.0\.1:\d+/)", line):
            return process, match.group(1)
    process.kill()
    raise AssertionError("weike share did not start:\n" + "".join(seen))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)
    if process.stdout:
        process.stdout.close()
