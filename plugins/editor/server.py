"""The editor's HTTP server: the Decap page, its generated configuration, the local-backend API and
the streamed video upload, on 127.0.0.1 only.

Safe by default, because any web page the teacher visits can send requests to 127.0.0.1:

- ``Host`` must name this server (``127.0.0.1:<port>`` or ``localhost:<port>``): a DNS-rebinding
  page, whose host name now points at 127.0.0.1, is answered 421 and reads nothing;
- every POST must come from this server's own page (``Origin``), with a JSON or upload body, so a
  cross-site form or ``fetch`` cannot write the repository;
- bodies have a declared length, capped (the video upload alone may be large, and goes to disk in
  chunks, never into memory); a client that stops sending is dropped after a timeout;
- the page may talk to this server only (``Content-Security-Policy: connect-src 'self' blob:``: local data only).
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from weike.builder.keeping.outputs import temp_beside
from weike.builder.repository.loading import MEDIA_EXTENSIONS
from weike.plugins.editor.files import RefusedPath, RepositoryFiles
from weike.plugins.editor.protocol import LocalBackend, Reply

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"
DEFAULT_PORT = 8081
#: The largest JSON request (a picture sent as base64 by Decap's media library is the largest).
MAX_JSON_BODY = 32 * 1024 * 1024
#: The largest video or recording the upload takes (a phone's 15 minutes in 4K stays below).
MAX_UPLOAD = 16 * 1024 ** 3
#: Seconds a client may stay silent in the middle of a request before it is dropped.
CLIENT_TIMEOUT = 60
_CHUNK = 1024 * 1024
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' blob: data:; media-src 'self' blob: data:; font-src 'self' data:; "
                               "connect-src 'self' blob: data:; worker-src 'self' blob:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class EditorSite:
    """What the server hands out: fixed files by URL path, and the two APIs."""

    backend: LocalBackend
    #: URL path -> (content type, bytes or a function making them).
    pages: dict[str, tuple[str, bytes | Callable[[], bytes]]] = field(default_factory=dict)
    #: Called with the repository paths a save changed; returns the problems to show.
    check: Callable[[str], list[dict]] | None = None
    #: Called with an uploaded file's path; returns weike probe's verdict.
    probe: Callable[[Path], dict] | None = None

    @property
    def files(self) -> RepositoryFiles:
        return self.backend.files


class RequestRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class EditorHandler(http.server.BaseHTTPRequestHandler):
    server_version = "weike-edit"
    protocol_version = "HTTP/1.1"
    timeout = CLIENT_TIMEOUT
    site: EditorSite

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        log.debug("%s %s", self.address_string(), format % args)

    # ----------------------------------------------------------------------------------------
    # Who may ask
    # ----------------------------------------------------------------------------------------

    def _own_origins(self) -> set[str]:
        port = self.server.server_address[1]
        return {f"{LOCAL_HOST}:{port}", f"localhost:{port}"}

    def _check_host(self) -> None:
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in self._own_origins():
            raise RequestRefused(421, "这个地址不是 weike 编辑器 (Host is not this editor: request refused)")

    def _check_origin(self) -> None:
        origin = (self.headers.get("Origin") or "").strip().lower()
        if origin not in {f"http://{own}" for own in self._own_origins()}:
            raise RequestRefused(403, "只接受编辑器自己网页的请求 (cross-origin request refused)")
        if (self.headers.get("Sec-Fetch-Site") or "same-origin") not in ("same-origin", "none"):
            raise RequestRefused(403, "只接受编辑器自己网页的请求 (cross-site request refused)")

    def _body_length(self, limit: int) -> int:
        if self.headers.get("Transfer-Encoding"):
            raise RequestRefused(411, "请求必须写明长度 (Content-Length required, no chunked bodies)")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise RequestRefused(411, "请求必须写明长度 (Content-Length required)") from None
        if length < 0:
            raise RequestRefused(400, "长度无效 (bad Content-Length)")
        if length > limit:
            raise RequestRefused(413, f"请求太大（上限 {limit // (1024 * 1024)} MB）(request too large)")
        return length

    # ----------------------------------------------------------------------------------------
    # Answers
    # ----------------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, *, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**PAGE_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _refuse(self, exc: RequestRefused) -> None:
        self.close_connection = True  # the rest of a refused body is never read
        self._json(exc.status, {"error": str(exc)})

    def do_GET(self) -> None:
        try:
            self._check_host()
        except RequestRefused as exc:
            self._refuse(exc)
            return
        path = urlsplit(self.path).path
        page = self.site.pages.get("/index.html" if path == "/" else path)
        if page is None:
            self._json(404, {"error": "没有这个网页 (not found)"})
            return
        content_type, body = page
        self._send(200, body() if callable(body) else body, content_type)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        try:
            self._check_host()
            self._check_origin()
            url = urlsplit(self.path)
            if url.path == "/api/v1":
                self._api()
            elif url.path == "/api/upload":
                self._upload(parse_qs(url.query))
            elif url.path == "/api/check":
                self._check()
            else:
                raise RequestRefused(404, "没有这个接口 (no such API)")
        except RequestRefused as exc:
            self._refuse(exc)
        except (ConnectionError, socket.timeout):
            self.close_connection = True

    def _read_json(self) -> object:
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            raise RequestRefused(415, "请求应为 JSON (Content-Type must be application/json)")
        length = self._body_length(MAX_JSON_BODY)
        raw = self.rfile.read(length)
        if len(raw) < length:
            raise ConnectionError("client closed mid-request")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RequestRefused(400, "请求不是有效的 JSON (invalid JSON)") from None

    def _api(self) -> None:
        reply: Reply = self.site.backend.handle(self._read_json())
        self._json(reply.status, reply.body)

    def _check(self) -> None:
        body = self._read_json()
        path = body.get("path") if isinstance(body, dict) else None
        if path == "" and self.site.backend.last_saved:
            path = self.site.backend.last_saved[0]  # a new entry: Decap's event has no path yet
        try:
            rel, _ = self.site.files.resolve(self.site.backend.folders.actual(path))
        except RefusedPath as exc:
            raise RequestRefused(403, str(exc)) from None
        problems = self.site.check(rel) if self.site.check else []
        self._json(200, {"path": rel, "problems": problems})

    def _upload(self, query: dict) -> None:
        """``POST /api/upload?entry=<lecture.md as the editor knows it>&name=<file name>``: the body,
        streamed to a temp file in that lecture's folder and renamed into place; then weike
        probe's verdict on it. The folder is the one the lecture really is in (a new lecture's
        was named by :class:`FolderPlanner`, not by the path the editor still uses)."""
        entry = (query.get("entry") or [None])[0]
        name = (query.get("name") or [""])[0]
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise RequestRefused(403, f"文件名无效：{name!r} (a plain file name is required)")
        try:
            lecture_rel, lecture = self.site.files.resolve(self.site.backend.folders.actual(entry))
            rel, target = self.site.files.resolve(lecture_rel.rsplit("/", 1)[0] + "/" + name)
        except RefusedPath as exc:
            raise RequestRefused(403, str(exc)) from None
        parts = rel.split("/")
        if parts[0] != "courses" or len(parts) != 4 or lecture.name != "lecture.md" or not lecture.is_file():
            raise RequestRefused(403, "视频只能上传到已保存的微课文件夹里 (videos go into a saved lecture's folder)")
        if os.path.splitext(target.name)[1].lower() not in MEDIA_EXTENSIONS:
            raise RequestRefused(415, f"{target.name} 不是视频或音频文件 (not a video or audio file)")
        if target.exists() and (query.get("replace") or [""])[0] != "1":
            raise RequestRefused(409, f"{rel} 已经存在 (already exists)")
        length = self._body_length(MAX_UPLOAD)
        temp = temp_beside(target)
        try:
            with temp.open("wb") as handle:
                remaining = length
                while remaining:
                    chunk = self.rfile.read(min(_CHUNK, remaining))
                    if not chunk:
                        raise ConnectionError("client closed mid-upload")
                    handle.write(chunk)
                    remaining -= len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        history = self.site.backend.history
        self.site.backend.commit_change([rel], "上传视频")
        verdict = self.site.probe(target) if self.site.probe else None
        self._json(200, {"path": rel, "size": length, "probe": verdict, "committed": bool(history and history.enabled)})


class EditorServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def make_server(site: EditorSite, *, port: int = DEFAULT_PORT) -> EditorServer:
    """The editor's server on 127.0.0.1 (never another interface); not yet serving."""
    handler = type("BoundEditorHandler", (EditorHandler,), {"site": site})
    return EditorServer((LOCAL_HOST, port), handler)
