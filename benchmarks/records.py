"""Learning-records benchmark: many phones sending statements to one station at once.

    python benchmarks/records.py                    # 50 phones x 40 statements each
    python benchmarks/records.py --phones 50 --statements 100 --batch 1

Starts a real ``weike share`` (its own process, a fresh folder) and runs ``--phones`` threads,
each a phone sending its statements as weike's pages do (``POST /xapi/statements``, one
statement per request by default: a lecture page sends as it records), on its own keep-alive
connection. Prints the latency of every request (p50, p95, max), the throughput, and checks
that the station stored every statement exactly once. The station's every commit is fsynced
(``synchronous=FULL``), so the figures include the disk.

Figures depend on the machine and what else runs on it: the note names both.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}


def a_statement(device: str, number: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://weike.invalid/", "name": device}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/progressed", "display": {"en-US": "progressed"}},
        "object": {"objectType": "Activity", "id": f"urn:weike:courses:demo:{number:02d}-lecture",
                   "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                                  "name": {"zh-CN": f"第 {number} 讲"}}},
        "context": {"contextActivities": {"parent": [{"objectType": "Activity", "id": "urn:weike:courses:demo",
                                                      "definition": {"name": {"zh-CN": "测试课程"}}}]},
                    "platform": "weike", "language": "zh-CN",
                    "extensions": {"https://w3id.org/xapi/video/extensions/length": 600.0}},
        "result": {"duration": "PT30S", "extensions": {"https://w3id.org/xapi/video/extensions/progress": 0.05}},
        "timestamp": "2026-12-07T08:00:00.000Z",
    }


def start_station(folder: Path) -> tuple[subprocess.Popen, int]:
    (folder / "site").mkdir()
    (folder / "site/index.html").write_text("<title>站</title>", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "share", str(folder / "site"), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    for line in process.stdout:
        if "http://127.0.0.1:" in line:
            return process, int(line.rsplit(":", 1)[1].strip(" /\n"))
    raise SystemExit("weike share did not start")


def phone(port: int, statements: int, batch: int, latencies: list, failures: list, resets: list,
          start: threading.Event) -> None:
    """One phone: each request until the station takes it, as the page does with its queue (a
    refused connection is sent again); latency from the first attempt to the answer."""
    device = str(uuid.uuid4())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start.wait()
    for first in range(0, statements, batch):
        body = json.dumps([a_statement(device, n) for n in range(first, min(first + batch, statements))])
        began = time.perf_counter()
        for _attempt in range(10):
            try:
                connection.request("POST", "/xapi/statements", body=body, headers=HEADERS)
                response = connection.getresponse()
                response.read()
                break
            except OSError as exc:
                resets.append(repr(exc))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        else:
            failures.append("gave up after 10 attempts")
            continue
        latencies.append(time.perf_counter() - began)
        if response.status != 200:
            failures.append(response.status)
    connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--statements", type=int, default=40, help="statements each phone sends")
    parser.add_argument("--batch", type=int, default=1, help="statements per request")
    args = parser.parse_args(argv)
    from weike.plugins.records.store import StatementStore

    with tempfile.TemporaryDirectory(prefix="weike-records-bench-") as temp:
        folder = Path(temp)
        process, port = start_station(folder)
        try:
            latencies: list[float] = []
            failures: list = []
            resets: list = []
            start = threading.Event()
            threads = [threading.Thread(target=phone, args=(port, args.statements, args.batch, latencies, failures,
                                                             resets, start)) for _ in range(args.phones)]
            for thread in threads:
                thread.start()
            began = time.perf_counter()
            start.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
        finally:
            process.terminate()
            process.wait(timeout=30)
        with StatementStore(folder / "site/.weike/records/statements.sqlite3", create=False) as store:
            stored = store.count()
    expected = args.phones * args.statements
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"machine: {os.cpu_count()} CPUs; {args.phones} phones x {args.statements} statements, "
          f"{args.batch} per request: {len(latencies)} requests in {elapsed:.1f} s "
          f"({len(latencies) / elapsed:.0f} requests/s, {expected / elapsed:.0f} statements/s)")
    print(f"latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms")
    print(f"stored {stored} of {expected} statements; connections reset and sent again: {len(resets)}; "
          f"failed requests: {len(failures)} {failures[:5]}")
    return 0 if stored == expected and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
