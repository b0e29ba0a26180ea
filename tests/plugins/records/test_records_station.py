"""The station's ``/xapi/``: the header and the statements checked, ids de-duplicated, reasons
for every refusal, durable across ``kill -9``, and E301 on a full disk.

Real sockets on 127.0.0.1, a real SQLite file; the kill and the full disk use a real
``weike share`` process (SIGKILL; a file-size limit the kernel enforces).
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import uuid

import pytest

from tests.conftest import serve_in_thread
from tests.plugins.records.conftest import stop
from tests.plugins.records.test_records_statements import weike_statement
from weike.plugins.records.station import MAX_BODY_BYTES, StatementRoute
from weike.plugins.records.store import StatementStore
from weike.plugins.site import ShareRoute
from weike.plugins.site.share import LOCAL_HOST, make_server

HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}


def statement(**changes) -> dict:
    return weike_statement(id=str(uuid.uuid4()), **changes)


def post(port: int, body, headers=HEADERS, method="POST", path="/xapi/statements"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection = http.client.HTTPConnection(LOCAL_HOST, port, timeout=30)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.fixture
def station(tmp_path):
    """(port, store) of a share server of an empty site with the records route."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site/index.html").write_text("<title>站</title>", encoding="utf-8")
    store = StatementStore.of_repository(tmp_path)
    server = make_server(tmp_path / "site", port=0,
                         routes=(ShareRoute(prefix="/xapi/", methods=StatementRoute.METHODS,
                                                    answer=StatementRoute(store, root=tmp_path).handle),))
    serve_in_thread(server)
    yield server.server_address[1], store
    server.shutdown()
    server.server_close()
    store.close()


def test_about_says_the_version(station):
    port, _ = station
    connection = http.client.HTTPConnection(LOCAL_HOST, port, timeout=10)
    connection.request("GET", "/xapi/about")
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"version": ["1.0.3"]}
    assert response.getheader("X-Experience-API-Version") == "1.0.3"


def test_statements_are_stored_once(station):
    port, store = station
    batch = [statement(), statement()]
    status, body = post(port, batch)
    assert status == 200 and json.loads(body) == [s["id"] for s in batch]
    assert post(port, batch)[0] == 200  # the phone lost the answer and sends again
    assert store.count() == 2
    stored = {s["id"]: s for s in store.statements()}
    assert set(stored) == {s["id"] for s in batch} and all("stored" in s for s in stored.values())


@pytest.mark.parametrize("origin", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                    {"Sec-Fetch-Site": "cross-site"}])
def test_another_site_cannot_write_the_stations_records(station, origin):
    """A page of another site open on the learner's phone posts to the station: refused, nothing stored;
    the station's own page (Origin = the address it was asked at) is taken."""
    port, store = station
    assert post(port, [statement()], headers={**HEADERS, **origin})[0] == 403
    assert store.count() == 0
    own = {**HEADERS, "Origin": f"http://{LOCAL_HOST}:{port}", "Sec-Fetch-Site": "same-origin"}
    assert post(port, [statement()], headers=own)[0] == 200 and store.count() == 1


def test_put_takes_one_statement_by_id(station):
    port, store = station
    one = statement()
    status, _ = post(port, {k: v for k, v in one.items() if k != "id"}, method="PUT",
                     path=f"/xapi/statements?statementId={one['id']}")
    assert status == 204 and store.ids() == {one["id"]}
    status, body = post(port, one, method="PUT", path=f"/xapi/statements?statementId={uuid.uuid4()}")
    assert status == 400 and "differs from statementId" in body


def test_the_same_id_with_other_content_is_a_conflict(station):
    port, store = station
    first = statement()
    assert post(port, [first])[0] == 200
    status, body = post(port, [{**first, "timestamp": "2020-01-01T00:00:00Z"}])
    assert status == 409 and first["id"] in body
    assert store.count() == 1


@pytest.mark.parametrize(("headers", "body", "reason"), [
    ({"Content-Type": "application/json"}, [weike_statement()], "X-Experience-API-Version must be 1.0.x"),
    ({**HEADERS, "X-Experience-API-Version": "0.95"}, [weike_statement()], "X-Experience-API-Version"),
    ({**HEADERS, "Content-Type": "text/plain"}, [weike_statement()], "Content-Type must be application/json"),
    (HEADERS, b"{not json", "malformed JSON"),
    (HEADERS, [], "no statements"),
    (HEADERS, [weike_statement(verb={"id": "watched"})], "statement 0 is not a valid xAPI 1.0.3 statement: verb.id"),
    (HEADERS, [weike_statement(id=str(uuid.uuid4())), weike_statement(result={"duration": "12s"})],
     "statement 1 is not a valid"),
    # Refused from its Content-Length, before any of the body is read: a client that then sent
    # the whole body could be cut off mid-send (its connection closed under it, a broken pipe on
    # this side), so the test announces the size and sends nothing.
    ({**HEADERS, "Content-Length": str(MAX_BODY_BYTES + 1)}, b"", "request too large"),
])
def test_what_is_refused_gets_400_with_a_reason(station, headers, body, reason):
    port, store = station
    status, text = post(port, body, headers=headers)
    assert status == 400 and reason in text, text
    assert store.count() == 0  # nothing of a refused request is kept


def test_two_copies_in_one_request_are_refused(station):
    port, store = station
    one = statement()
    status, text = post(port, [one, one])
    assert status == 400 and "twice" in text and store.count() == 0


def test_the_rest_of_the_site_stays_read_only(station):
    port, _ = station
    assert post(port, [statement()], path="/index.html")[0] == 405
    assert post(port, [statement()], method="DELETE")[0] == 405


# --------------------------------------------------------------------------------------------
# A real station process: kill -9 and a full disk
# --------------------------------------------------------------------------------------------


def _share(root, *, small_disk: bool = False):
    """A real ``weike share`` of ``root/site``; with ``small_disk`` its records folder is a 256 KiB
    tmpfs of its own (a mount namespace: ``unshare -rm``, no root needed), so the disk really fills."""
    (root / "site/.weike").mkdir(parents=True, exist_ok=True)
    (root / "site/index.html").write_text("<title>站</title>", encoding="utf-8")
    command = [sys.executable, "-m", "weike.builder", "share", str(root / "site"), "--port", "0"]
    if small_disk:
        if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"]).returncode:
            pytest.skip("no unshare -rm (user and mount namespaces) to make a small disk")
        mount = f"mount -t tmpfs -o size=256k tmpfs {shlex.quote(str(root / 'site/.weike'))}"
        command = ["unshare", "-rm", "sh", "-c", f"{mount} && exec {shlex.join(command)}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               encoding="utf-8", cwd=root)
    for line in process.stdout:
        if "http://127.0.0.1:" in line:
            return process, int(line.rsplit(":", 1)[1].strip(" /\n"))
    raise AssertionError("weike share did not start")


def test_nothing_acknowledged_is_lost_after_kill_9(tmp_path):
    process, port = _share(tmp_path)
    acknowledged: list[str] = []
    stop_sending = threading.Event()

    def phone():
        while not stop_sending.is_set():
            batch = [statement() for _ in range(5)]
            try:
                status, _ = post(port, batch)
            except (OSError, http.client.HTTPException):
                return  # the station is gone (an answer cut short by the kill acknowledges nothing)
            if status == 200:
                acknowledged.extend(s["id"] for s in batch)

    phones = [threading.Thread(target=phone) for _ in range(8)]
    for thread in phones:
        thread.start()
    try:
        while len(acknowledged) < 200:
            if process.poll() is not None:
                raise AssertionError("the station stopped on its own")
            threading.Event().wait(0.05)
        os.kill(process.pid, signal.SIGKILL)  # mid-burst: requests are in flight
        process.wait(timeout=30)
    finally:
        stop_sending.set()
        for thread in phones:
            thread.join(timeout=60)
        stop(process)
    # The shared folder is no repository: its records live beside it, in the folder itself.
    with StatementStore(tmp_path / "site/.weike/records/statements.sqlite3", create=False) as store:
        kept = store.ids()
    assert len(acknowledged) >= 200
    assert set(acknowledged) <= kept


def test_a_full_disk_is_e301_and_nothing_acknowledged_is_missing(tmp_path):
    process, port = _share(tmp_path, small_disk=True)
    try:
        refused = None
        acknowledged = []
        for _ in range(2000):
            batch = [statement() for _ in range(5)]
            status, text = post(port, batch)
            if status != 200:
                refused = (status, text)
                break
            acknowledged.extend(s["id"] for s in batch)
        assert refused is not None, "the small disk never filled"
        assert refused[0] == 507 and "E301" in refused[1] and "kept on the phone" in refused[1], refused
        # Phones keep sending (what fits in the last free pages is stored, the rest refused and kept).
        for _ in range(20):
            batch = [statement() for _ in range(5)]
            status, text = post(port, batch)
            assert status in (200, 507), text
            if status == 200:
                acknowledged.extend(s["id"] for s in batch)
        # The station's own view of its disk (its mount namespace), while it runs, copied out
        # (SQLite would resolve the /proc link to this process's own root).
        there = f"/proc/{process.pid}/root{tmp_path}/site/.weike/records/statements.sqlite3"
        (tmp_path / "copy").mkdir()
        for suffix in ("", "-wal"):
            shutil.copyfile(there + suffix, tmp_path / f"copy/statements.sqlite3{suffix}")
        with StatementStore(tmp_path / "copy/statements.sqlite3", create=False) as store:
            assert acknowledged and set(acknowledged) <= store.ids()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        output = process.stdout.read()
        stop(process)
    assert "error E301" in output
