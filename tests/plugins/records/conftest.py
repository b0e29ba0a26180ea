"""Records fixtures: the site fixtures (a built catalogue with real delivered MP4s), and a real
``weike share`` started as a subprocess on a free port."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from tests.plugins.site.conftest import (  # noqa: F401 - fixtures
    build_site, built_site, offline_site, shared_offline_site, shared_site)

__all__ = ["build_site", "built_site", "offline_site", "shared_offline_site", "shared_site", "start_share", "stop"]


def start_share(root: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """``weike share ROOT --port 0`` in its own process; (process, its address) once it listens.

    A port given again (``--port N``) right after a station was killed is free at once (share
    reuses addresses); where a system still holds it, it is tried again until it is free.
    """
    deadline = time.monotonic() + 120
    seen: list[str] = []
    while time.monotonic() < deadline:
        process = subprocess.Popen([sys.executable, "-m", "weike.builder", "share", str(root), "--port", "0", *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
        seen = []
        while True:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if match := re.search(r"(http://127\.0\.0\.1:\d+/)", line):
                return process, match.group(1)
        stop(process)
        if "Address already in use" not in "".join(seen):
            break
        time.sleep(1)
    raise AssertionError("weike share did not start:\n" + "".join(seen))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)
    if process.stdout:
        process.stdout.close()


def records_facts(site) -> dict:
    """catalogue.js's facts, with ``courses`` from each course's own script (records/courses/<slug>.js)."""
    import json

    text = (site / "assets/records/catalogue.js").read_text(encoding="utf-8")
    data = json.loads(text.removeprefix("window.weikeRecordsData = ").rstrip().removesuffix(";"))
    data["courses"] = {}
    for script in sorted((site / "assets/records/courses").glob("*.js")):
        head, _, facts = script.read_text(encoding="utf-8").partition("] = ")
        slug = json.loads(head.removeprefix("(window.weikeRecordsCourses = window.weikeRecordsCourses || {})["))
        assert slug == script.stem
        data["courses"][slug] = json.loads(facts.rstrip().removesuffix(";"))
    return data
