"""Forwarding the station's statements to a Learning Record Store (``records.lrs`` in weike.yml).

Any xAPI 1.0.3 LRS (Ralph, Learning Locker, a platform's own): ``POST <endpoint>statements`` with
HTTP basic authentication (``key``/``secret``), in batches of :data:`BATCH` statements, oldest
first. The store remembers, per endpoint, every statement the LRS acknowledged, so nothing is sent
twice: a second run sends only what came in since. A batch the LRS refuses as a whole (one bad or
already-known statement can fail a bulk insert) is sent again one statement at a time; a statement
the LRS refuses on its own (400, 409) is remembered with the reason and not sent again. Network
errors and 5xx answers are retried :data:`ATTEMPTS` times with a growing pause, then the run stops
and the rest waits for the next one: nothing is lost, the station is simply offline.

The ``stored`` and ``authority`` properties are the station's and are left out: an LRS sets its own.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from weike.plugins.records.statements import XAPI_VERSION
from weike.plugins.records.store import StatementStore

BATCH = 100
ATTEMPTS = 3
TIMEOUT_SECONDS = 30
_NOT_SENT = ("stored", "authority")


@dataclass(frozen=True, kw_only=True)
class LrsSettings:
    """``records.lrs``: the LRS's xAPI endpoint (ending in ``/``), and its basic-auth key and secret."""

    endpoint: str
    key: str | None = None
    secret: str | None = None


@dataclass(kw_only=True)
class ForwardReport:
    sent: int = 0
    #: Statements the LRS refused one by one (id -> reason); remembered, not sent again.
    refused: dict[str, str] = field(default_factory=dict)
    #: Why the run stopped early (the LRS unreachable or failing), or None when all was sent.
    stopped: str | None = None
    pending: int = 0


class LrsUnavailable(Exception):
    """The LRS did not answer, or answered 5xx, after every attempt."""


def _request(settings: LrsSettings, body: bytes) -> tuple[int, str]:
    headers = {"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"}
    if settings.key is not None:
        token = base64.b64encode(f"{settings.key}:{settings.secret or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(settings.endpoint + "statements", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - the configured LRS
            return response.status, response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096).decode("utf-8", "replace")


def _post(settings: LrsSettings, statements: list[dict], *, pause: float) -> tuple[int, str]:
    """The LRS's answer to ``statements``; retried on network errors and 5xx, then LrsUnavailable."""
    body = json.dumps([{k: v for k, v in s.items() if k not in _NOT_SENT} for s in statements],
                      ensure_ascii=False).encode("utf-8")
    problem = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(pause * 2 ** (attempt - 1))
        try:
            status, text = _request(settings, body)
        except (OSError, urllib.error.URLError) as exc:
            problem = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            continue
        if status < 500:
            return status, text
        problem = f"HTTP {status}: {text[:200]}"
    raise LrsUnavailable(problem)


def forward(store: StatementStore, settings: LrsSettings, *, batch: int = BATCH, pause: float = 1.0) -> ForwardReport:
    """Send every statement the LRS has not acknowledged yet; see the module's docstring."""
    report = ForwardReport()
    endpoint = settings.endpoint
    while True:
        statements = store.unforwarded(endpoint, limit=batch)
        if not statements:
            break
        try:
            status, text = _post(settings, statements, pause=pause)
            if status in (200, 204):
                store.mark_forwarded(endpoint, [s["id"] for s in statements])
                report.sent += len(statements)
                continue
            if status in (401, 403):
                report.stopped = f"the LRS refused the key and secret (HTTP {status}: {text[:200]})"
                break
            if len(statements) == 1:
                store.mark_forwarded(endpoint, [statements[0]["id"]], refused=f"HTTP {status}: {text[:200]}")
                report.refused[statements[0]["id"]] = f"HTTP {status}: {text[:200]}"
                continue
        except LrsUnavailable as exc:
            if len(statements) == 1:
                report.stopped = str(exc)
                break
        # The batch failed as a whole: one at a time finds the statement that failed it.
        for statement in statements:
            try:
                status, text = _post(settings, [statement], pause=pause)
            except LrsUnavailable as exc:
                report.stopped = str(exc)
                break
            if status in (200, 204):
                store.mark_forwarded(endpoint, [statement["id"]])
                report.sent += 1
            elif status in (401, 403):
                report.stopped = f"the LRS refused the key and secret (HTTP {status}: {text[:200]})"
                break
            else:
                store.mark_forwarded(endpoint, [statement["id"]], refused=f"HTTP {status}: {text[:200]}")
                report.refused[statement["id"]] = f"HTTP {status}: {text[:200]}"
        if report.stopped:
            break
    report.pending = store.count_unforwarded(endpoint)
    return report


def lrs_settings(value: Any) -> LrsSettings | None:
    if not isinstance(value, dict) or not value.get("endpoint"):
        return None
    endpoint = str(value["endpoint"])
    return LrsSettings(endpoint=endpoint if endpoint.endswith("/") else endpoint + "/",
                       key=value.get("key"), secret=value.get("secret"))


class BackgroundForwarder:
    """``weike share``'s forwarding: a thread that forwards soon after statements arrive (and every
    :data:`RETRY_SECONDS` while some wait), so a station that comes online delivers by itself."""

    RETRY_SECONDS = 60.0

    def __init__(self, store: StatementStore, settings: LrsSettings, *, stream=None) -> None:
        import sys
        import threading

        self.store = store
        self.settings = settings
        self.stream = stream or sys.stderr
        self._wake = threading.Event()
        self._last_problem: str | None = None
        self._thread = threading.Thread(target=self._run, name="weike-records-forwarder", daemon=True)

    def start(self) -> BackgroundForwarder:
        self._thread.start()
        return self

    def notify(self) -> None:
        """New statements were stored."""
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.RETRY_SECONDS)
            self._wake.clear()
            try:
                report = forward(self.store, self.settings)
            except Exception as exc:  # noqa: BLE001 - the station goes on receiving; said once
                report = ForwardReport(stopped=f"{type(exc).__name__}: {exc}")
            if report.stopped and report.stopped != self._last_problem:
                print(f"学习记录暂时无法转发到 {self.settings.endpoint}，稍后自动重试 "
                      f"(forwarding stopped, retried later): {report.stopped}", file=self.stream, flush=True)
            self._last_problem = report.stopped
