"""Forwarding to a real LRS: Ralph (``ralph-malph``) with its file back end, in a virtual
environment of its own (it pins its own web stack), started as a server on a free port.

The station forwards in batches, sends nothing twice (a second run, and a run after new
statements, send only what the LRS has not acknowledged), keeps everything while the LRS is
down and delivers it when it is back.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.plugins.records.conftest import stop
from tests.plugins.records.test_records_command import ALICE, PLAYED, station, watched
from weike.builder.cli import main
from weike.plugins.records.store import StatementStore

pytestmark = pytest.mark.slow
#: Pinned: the cached environment below is keyed by these. ``requests`` too: Ralph's LRS imports it
#: (its OpenID module) without declaring it in these extras.
RALPH = ["ralph-malph[backend-fs,lrs,cli]==5.1.0", "requests==2.34.2"]
KEY, SECRET = "weike-station", "geheim-123"
#: Ralph's LRS with its file back end, served by uvicorn in one process. Ralph 5.1's file back end
#: writes every POST to its one file in "create" mode, which refuses a file that exists: only the
#: first POST an LRS ever gets is stored, the next ones answer 500 "Statements bulk indexation
#: failed". Appending, the mode its file back end offers for this, makes it the LRS it means to be.
LAUNCHER = """
import sys
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
FSLRSBackend.default_operation_type = BaseOperationType.APPEND
from ralph.api import app
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def ralph_environment() -> Path:
    """A virtual environment with :data:`RALPH`, made once per machine and reused by later runs.

    It lives in the temporary folder under a name keyed by the pinned requirements and this
    Python, so a second run (or a CI cache of that folder) skips pip; a lock makes concurrent
    runs wait for the one that builds it, and a marker written last means "complete" (an
    interrupted build is started again).
    """
    key = hashlib.sha256(json.dumps([RALPH, sys.version]).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"weike-ralph-5.1.0-{key}"
    marker = folder / "weike-ready"
    with open(f"{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            venv.EnvBuilder(with_pip=True).create(folder)
            pip = subprocess.run([folder / "bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                  *RALPH], capture_output=True, text=True)
            assert pip.returncode == 0, pip.stderr[-2000:]  # a failure in CI, never a skip
            marker.write_text("\n".join(RALPH), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def ralph():
    """The ``ralph`` command of the cached environment (:func:`ralph_environment`)."""
    return ralph_environment() / "bin/ralph"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lrs_environment(folder, **settings) -> dict:
    """Ralph's settings (``RALPH_<NAME>``) for an LRS keeping its users and statements in ``folder``."""
    return {**os.environ, "RALPH_AUTH_FILE": str(folder / "auth.json"), "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "data"),
            **{f"RALPH_{name}": value for name, value in settings.items()}}


def add_lrs_user(ralph, folder, key, secret, *scopes, mbox="mailto:station@example.org") -> None:
    scope_options = [option for scope in scopes for option in ("-s", scope)]
    made = subprocess.run([ralph, "auth", "-u", key, "-p", secret, *scope_options, "-w", "-M", mbox],
                          env=lrs_environment(folder), capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]


def start_lrs(ralph, folder, port, **settings):
    """Ralph's LRS on ``port``; ``settings`` are Ralph's own (``RUNSERVER_CORS_ALLOW_ORIGINS=...``)."""
    (folder / "data").mkdir(exist_ok=True)
    environment = lrs_environment(folder, **settings)
    if not (folder / "auth.json").exists():
        add_lrs_user(ralph, folder, KEY, SECRET, "all")
    (folder / "launch.py").write_text(LAUNCHER, encoding="utf-8")
    process = subprocess.Popen([ralph.parent / "python", folder / "launch.py", str(port)], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=folder / "data")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            lrs_statements(port)
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError("ralph did not start:\n" + process.stdout.read()) from None
            time.sleep(0.5)
    raise AssertionError("ralph did not answer")


def lrs_statements(port) -> list[dict]:
    token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    found, url = [], f"http://127.0.0.1:{port}/xAPI/statements?limit=500"
    while url:
        request = urllib.request.Request(url, headers={"X-Experience-API-Version": "1.0.3",
                                                       "Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = json.load(response)
        found.extend(page["statements"])
        url = f"http://127.0.0.1:{port}{page['more']}" if page.get("more") else None
    return found


def test_statements_reach_ralph_once(ralph, make_repo, tmp_path, capsys, monkeypatch):
    port = _free_port()
    root = make_repo({"weike.yml": f"records:\n  lrs:\n    endpoint: http://127.0.0.1:{port}/xAPI/\n"
                                   f"    key: {KEY}\n"}, valid_courses=("demo",))
    monkeypatch.setenv("WEIKE_LRS_SECRET", SECRET)  # the secret from the environment, not weike.yml
    lrs_folder = tmp_path / "lrs"
    lrs_folder.mkdir()
    statements = station(root) + station(root, [dict(PLAYED[0], when=f"2026-12-08T0{n}:00:00Z") for n in range(3)] * 80)
    process = None
    try:
        # The LRS is down: nothing is lost, the run says so and exits 1.
        assert main(["records", "forward", "--path", str(root)]) == 1
        assert "还有 247 条等待" in capsys.readouterr().out
        process = start_lrs(ralph, lrs_folder, port)
        assert main(["records", "forward", "--path", str(root)]) == 0
        assert "已转发 247 条" in capsys.readouterr().out  # three batches of at most 100
        at_lrs = lrs_statements(port)
        assert sorted(s["id"] for s in at_lrs) == sorted(s["id"] for s in statements)
        assert main(["records", "forward", "--path", str(root)]) == 0
        assert "已转发 0 条" in capsys.readouterr().out
        # New statements: only they go.
        later = station(root, [dict(PLAYED[1], device=ALICE, when="2026-12-09T01:00:00Z")])
        assert main(["records", "forward", "--path", str(root)]) == 0
        assert "已转发 1 条" in capsys.readouterr().out
        at_lrs = lrs_statements(port)
        assert len(at_lrs) == len({s["id"] for s in at_lrs}) == 248
        assert later[0]["id"] in {s["id"] for s in at_lrs}
        # A statement the LRS already holds (another station forwarded it first), in a batch with a
        # new one: the LRS keeps one copy of each.
        known, new = (watched(**dict(PLAYED[2], when=f"2026-12-10T0{n}:00:00Z")) for n in (1, 2))
        token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/xAPI/statements", data=json.dumps([known]).encode(), method="POST",
            headers={"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                     "Authorization": f"Basic {token}"}), timeout=30).read()
        with StatementStore.of_repository(root) as store:
            store.add([known, new])
        assert main(["records", "forward", "--path", str(root)]) == 0
        ids = [s["id"] for s in lrs_statements(port)]
        assert len(ids) == len(set(ids)) == 250 and {known["id"], new["id"]} <= set(ids)
        # The LRS holds another statement under one of the station's ids (409 for the whole batch):
        # one at a time, the others go, that one is named and not sent again.
        clash, fine = (watched(**dict(PLAYED[3], when=f"2026-12-11T0{n}:00:00Z")) for n in (1, 2))
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/xAPI/statements", method="POST",
            data=json.dumps([{**clash, "timestamp": "2020-01-01T00:00:00Z"}]).encode(),
            headers={"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                     "Authorization": f"Basic {token}"}), timeout=30).read()
        with StatementStore.of_repository(root) as store:
            store.add([clash, fine])
        capsys.readouterr()
        assert main(["records", "forward", "--path", str(root)]) == 1
        captured = capsys.readouterr()
        assert "已转发 1 条" in captured.out and "还有 0 条等待" in captured.out
        assert clash["id"] in captured.err and "409" in captured.err
        assert fine["id"] in {s["id"] for s in lrs_statements(port)}
        assert main(["records", "forward", "--path", str(root)]) == 0
        assert "已转发 0 条" in capsys.readouterr().out
    finally:
        os.environ.pop("WEIKE_LRS_SECRET", None)
        if process is not None:
            stop(process)


def test_a_wrong_secret_stops_and_keeps_everything(ralph, make_repo, tmp_path, capsys):
    port = _free_port()
    root = make_repo({"weike.yml": f"records:\n  lrs:\n    endpoint: http://127.0.0.1:{port}/xAPI\n"
                                   f"    key: {KEY}\n    secret: wrong\n"}, valid_courses=("demo",))
    (tmp_path / "lrs").mkdir()
    station(root)
    process = start_lrs(ralph, tmp_path / "lrs", port)
    try:
        assert main(["records", "forward", "--path", str(root)]) == 1
        captured = capsys.readouterr()
        assert "还有 7 条等待" in captured.out and "refused the key and secret" in captured.err
        assert lrs_statements(port) == []
    finally:
        stop(process)


def test_a_station_forwards_what_phones_send(ralph, make_repo, tmp_path):
    """``weike share`` with records.lrs: statements a phone posts reach the LRS without a command,
    also those that arrived while the LRS was down."""
    from tests.plugins.records.conftest import start_share
    from tests.plugins.records.test_records_station import post

    port = _free_port()
    root = make_repo({"weike.yml": f"records:\n  lrs:\n    endpoint: http://127.0.0.1:{port}/xAPI/\n"
                                   f"    key: {KEY}\n    secret: {SECRET}\n"}, valid_courses=("demo",))
    (root / "dist/site").mkdir(parents=True)
    (root / "dist/site/index.html").write_text("<title>站</title>", encoding="utf-8")
    (tmp_path / "lrs").mkdir()
    share, base = start_share(root)
    lrs = None
    try:
        station_port = int(base.rstrip("/").rsplit(":", 1)[1])
        early = [watched(**item) for item in PLAYED[:3]]
        assert post(station_port, early)[0] == 200  # the LRS is not up yet
        lrs = start_lrs(ralph, tmp_path / "lrs", port)
        late = [watched(**item) for item in PLAYED[3:]]
        assert post(station_port, late)[0] == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ids = [s["id"] for s in lrs_statements(port)]
            if len(ids) >= 7:
                break
            time.sleep(0.5)
        assert sorted(ids) == sorted(s["id"] for s in early + late)
    finally:
        stop(share)
        if lrs is not None:
            stop(lrs)
