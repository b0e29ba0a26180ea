"""``/xapi/`` on ``weike share``: the phones on the station's Wi-Fi send their statements here.

The statement resource of xAPI 1.0.3, as much of it as a station needs:

* ``GET /xapi/about`` — ``{"version": ["1.0.3"]}``; the pages ask it to learn that a station is there;
* ``POST /xapi/statements`` — one statement or an array; 200 with their ids;
* ``PUT /xapi/statements?statementId=<uuid>`` — one statement; 204.

Every request needs ``X-Experience-API-Version: 1.0.x``. Statements are checked against the
statement rules (:func:`~weike.plugins.records.statements.statement_problems`); anything wrong —
bad JSON, a bad statement, a body over :data:`MAX_BODY_BYTES` or more than
:data:`MAX_STATEMENTS` statements — is 400 with the reason in the body, and nothing of the request
is stored. A known id with the same content is accepted again (the phone lost the first answer); with
other content it is 409. A full disk is 507 with E301: the phones keep their statements and send
them again later. Nothing is read back (no ``GET`` of statements): a station collects, the
``weike records`` command reports.
"""

from __future__ import annotations

import http.server
import json
import sqlite3
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from weike.builder.contracts.model import Diagnostic
from weike.builder.keeping.disk import disk_fault
from weike.plugins.records.statements import ACCEPTED_VERSION, XAPI_VERSION, statement_problems
from weike.plugins.records.store import StatementConflict, StatementStore

PREFIX = "/xapi/"
#: One page view sends a few statements at a time, a phone that was away some hundreds: 1 MiB
#: holds about 1,500 of weike's statements.
MAX_BODY_BYTES = 1024 * 1024
MAX_STATEMENTS = 1000
_JSON = "application/json"


class StatementRoute:
    """The ``/xapi/`` handler of one station (one :class:`StatementStore`)."""

    #: What the phones send (POST/PUT statements) and ask (GET/HEAD about); share answers 405 to the rest.
    METHODS = frozenset({"GET", "HEAD", "POST", "PUT"})

    def __init__(self, store: StatementStore, *, root: Path, stream=None, on_stored=None) -> None:
        self.store = store
        self.root = root
        self.stream = stream or sys.stderr
        #: Called after statements were stored (the LRS forwarder, when weike.yml configures one).
        self.on_stored = on_stored
        self._disk_full_reported = threading.Event()

    # -- replies -------------------------------------------------------------------------------

    def _reply(self, request: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"",
               content_type: str = "text/plain; charset=utf-8", extra: dict | None = None) -> None:
        request.send_response(status)
        request.send_header("X-Experience-API-Version", XAPI_VERSION)
        request.send_header("Cache-Control", "no-store")
        if body or status not in (204, 304):
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            request.send_header(name, value)
        request.end_headers()
        if body and request.command != "HEAD":
            request.wfile.write(body)

    def _refuse(self, request, status: int, reason: str) -> None:
        self._reply(request, status, f"{status} {reason}\n".encode("utf-8"))

    # -- the route -------------------------------------------------------------------------------

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        target = urlsplit(request.path)
        path = target.path
        if path in ("/xapi/about", "/xapi/about/"):
            if request.command not in ("GET", "HEAD"):
                self._reply(request, 405, b"405 GET only\n", extra={"Allow": "GET, HEAD"})
                return
            self._reply(request, 200, json.dumps({"version": [XAPI_VERSION]}).encode(), _JSON)
            return
        if path not in ("/xapi/statements", "/xapi/statements/"):
            self._drain(request)
            self._refuse(request, 404, "没有这个资源 (no such xAPI resource)")
            return
        if request.command not in ("POST", "PUT"):
            self._drain(request)
            self._reply(request, 405, b"405 this station only receives statements (POST, PUT)\n",
                        extra={"Allow": "POST, PUT"})
            return
        body = self._read_body(request)
        if body is None:
            return
        version = request.headers.get("X-Experience-API-Version", "").strip()
        if not ACCEPTED_VERSION.match(version):
            self._refuse(request, 400, f"X-Experience-API-Version must be 1.0.x (got {version!r})")
            return
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != _JSON:
            self._refuse(request, 400, f"Content-Type must be application/json (got {content_type!r})")
            return
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self._refuse(request, 400, f"malformed JSON: {exc}")
            return
        query = parse_qs(target.query)
        if request.command == "PUT":
            statement_id = (query.get("statementId") or [""])[0]
            if not isinstance(parsed, dict):
                self._refuse(request, 400, "PUT takes one statement (a JSON object)")
                return
            if parsed.setdefault("id", statement_id) != statement_id:
                self._refuse(request, 400, "the statement's id differs from statementId")
                return
            statements = [parsed]
        else:
            statements = parsed if isinstance(parsed, list) else [parsed]
            if not statements:
                self._refuse(request, 400, "no statements")
                return
            for statement in statements:
                if isinstance(statement, dict) and "id" not in statement:
                    statement["id"] = str(uuid.uuid4())
        if len(statements) > MAX_STATEMENTS:
            self._refuse(request, 400, f"too many statements in one request ({len(statements)} > {MAX_STATEMENTS})")
            return
        for index, statement in enumerate(statements):
            problems = statement_problems(statement)
            if problems:
                self._refuse(request, 400, f"statement {index} is not a valid xAPI {XAPI_VERSION} statement: "
                                           + "; ".join(problems[:5]))
                return
        ids = [statement["id"] for statement in statements]
        if len(set(ids)) != len(ids):
            self._refuse(request, 400, "the same statement id twice in one request")
            return
        try:
            self.store.add(statements)
        except StatementConflict as exc:
            self._refuse(request, 409, f"statement {exc.statement_id} is stored already with other content")
            return
        except (sqlite3.Error, OSError) as exc:
            fault = disk_fault(exc, root=self.root, writing=self.store.path)
            if fault is None:
                raise
            self._report(fault)
            self._refuse(request, 507, f"{fault.code} {fault.message} ({fault.message_en}); "
                                       "statements are kept on the phone and sent again later")
            return
        if self.on_stored is not None:
            self.on_stored()
        if request.command == "PUT":
            self._reply(request, 204)
        else:
            self._reply(request, 200, json.dumps(ids).encode(), _JSON)

    def _read_body(self, request) -> bytes | None:
        length = request.headers.get("Content-Length")
        if request.headers.get("Transfer-Encoding"):
            request.close_connection = True
            self._refuse(request, 400, "send the body with Content-Length, not chunked")
            return None
        try:
            size = int(length)
        except (TypeError, ValueError):
            request.close_connection = True
            self._refuse(request, 400, "Content-Length is required")
            return None
        if size < 0 or size > MAX_BODY_BYTES:
            request.close_connection = True  # the unread body would be taken for the next request
            self._refuse(request, 400, f"request too large ({size} bytes > {MAX_BODY_BYTES})")
            return None
        return request.rfile.read(size)

    def _drain(self, request) -> None:
        try:
            size = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            size = -1
        if 0 < size <= MAX_BODY_BYTES:
            request.rfile.read(size)
        elif size:
            request.close_connection = True

    def _report(self, fault: Diagnostic) -> None:
        """The station's terminal says E301 once; the phones are told on every refused request."""
        if not self._disk_full_reported.is_set():
            self._disk_full_reported.set()
            print(f"{fault.location}: error {fault.code} {fault.message} ({fault.message_en})\n    {fault.hint}\n"
                  "    手机会保留没有送达的学习记录，学习站恢复后自动补发 (the phones keep what was not stored and "
                  "send it again)", file=self.stream, flush=True)
