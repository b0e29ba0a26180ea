"""``weike share``: the built catalogue served to the phones on a teaching station's Wi-Fi.

A small read-only HTTP server on top of :mod:`http.server`, which lacks what phones need to
watch videos: byte ranges (seeking; iOS Safari plays no MP4 without them) and dependable MIME
types (``mimetypes`` reads the machine's own tables, and a Windows registry can make ``.js``
``text/plain``). Everything else :class:`http.server.SimpleHTTPRequestHandler` does is left out on
purpose: no folder listings, no writes, no path that leaves the served folder (``..``, encoded
``%2e%2e``, backslashes, symbolic links out of it), no hidden files (the site's build stamp).

It runs unattended at a station, so no client can hold it: a connection has 30 s to send a
complete request (an idle keep-alive connection likewise), at most 256 are served at once, and a
newcomer beyond that takes the place of the one that has waited longest for its request
(:class:`ConnectionLimits`). Requests go to :class:`ShareRoute` values by path prefix; the site's files are
one route, so other answers (statements from the players, say) are one more route each.

Only 127.0.0.1 unless ``--lan``: a station's computer may sit on a network the county does not
control, so sharing with other machines is something the operator asks for.
"""

from __future__ import annotations

import argparse
import email.utils
import http.server
import io
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from weike.builder.contracts.errors import UsageError
from weike.builder.running.project import Project

LOCAL_HOST = "127.0.0.1"
#: ``--lan`` listens on every interface of the machine (the Wi-Fi's among them).
LAN_HOST = "0.0.0.0"
DEFAULT_PORT = 8000
#: The types the catalogue's files need, fixed here rather than taken from the machine.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


# --------------------------------------------------------------------------------------------
# Requests -> files, and byte ranges
# --------------------------------------------------------------------------------------------


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


#: Characters a path segment may hold unencoded (RFC 3986 ``pchar`` besides letters and digits).
_SEGMENT_SAFE = "!$&'()*+,;=:@"


@dataclass(frozen=True, kw_only=True)
class Found:
    """What a request path names: a ``file`` to send, or the address the client must ask instead
    (``redirect``: a folder without its closing slash, or a path with empty segments)."""

    file: Path | None = None
    redirect: str | None = None


def request_path(target: str) -> str | None:
    """The decoded path of a request target (``/a%20b?x`` -> ``/a b``); None when it is not an
    absolute path or not UTF-8."""
    raw = target.partition("#")[0].partition("?")[0]
    if not raw.startswith("/"):
        return None
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return None


def resolve_request(root: Path, target: str) -> Found | None:
    """What a request target names inside ``root``; None when it names nothing servable.

    ``root`` must be resolved. Folders answer with their ``index.html`` or not at all. Every page
    is served at one address only, the one its relative links are written for: a folder is asked
    for with its closing slash (else a redirect), a file never with one after it (404), and a path
    with empty segments (``//courses``) is sent to its canonical form. Redirects name the canonical
    path, built from the decoded segments: never the request's own text, so ``//host/`` cannot
    become a redirect to another host.
    """
    path = request_path(target)
    if path is None or "\0" in path or "\\" in path:
        return None
    parts = [part for part in path.split("/") if part]
    # Hidden files (the build stamps) and any step up are refused before the file system is asked.
    if any(part in (".", "..") or part.startswith(".") for part in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root):  # a symbolic link out of the folder
        return None
    folder = real.is_dir()
    if folder:
        real = real / "index.html"
    if not real.is_file() or (not folder and path.endswith("/")):
        return None
    canonical = "/" + "/".join(quote(part, safe=_SEGMENT_SAFE) for part in parts)
    if folder and parts:
        canonical += "/"
    if (folder and not path.endswith("/")) or "//" in path:
        query = target.partition("#")[0].partition("?")[2]
        return Found(redirect=canonical + (f"?{query}" if query else ""))
    return Found(file=real)


@dataclass(frozen=True, kw_only=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class UnsatisfiableRange(Exception):
    """The range starts beyond the end of the file (HTTP 416)."""


#: Digits beyond these name a position past the end of any file (and Python refuses to convert
#: more than 4,300 digits to a number at all).
_POSITION_DIGITS = 18


def _position(digits: str) -> int:
    """A byte position as written in a ``Range`` header, however many digits it has."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _POSITION_DIGITS else 10 ** _POSITION_DIGITS


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range of a ``Range`` header, or None to send the whole file.

    Several ranges in one request, or a header that is not ``bytes=a-b``, are answered with the
    whole file, as RFC 9110 allows; players ask for one range at a time.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        count = _position(last)
        if count == 0:
            raise UnsatisfiableRange(header)
        return ByteRange(start=max(0, size - count), end=size - 1)
    start = _position(first)
    if last and _position(last) < start:
        return None
    if start >= size:
        raise UnsatisfiableRange(header)
    end = min(_position(last), size - 1) if last else size - 1
    return ByteRange(start=start, end=end)


# --------------------------------------------------------------------------------------------
# Connections: a deadline for every request, and a cap on how many are served at once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConnectionLimits:
    """How long and how many: a station runs unattended, so no client may hold it."""

    #: Seconds a connection has to send a complete request head, counted from when it opens or
    #: from the end of its previous answer (so an idle keep-alive connection is closed as well).
    #: Also the longest wait for a slow reader to take more of an answer.
    request_timeout: float = 30.0
    #: Connections served at once, a thread each (a phone's browser opens about six). One more
    #: takes the place of the connection that has waited longest for its request; when every one
    #: is busy answering, it gets 503.
    max_connections: int = 256
    #: Bytes a request line and its headers may take together (http.server alone allows 6.5 MB).
    max_request_head: int = 64 * 1024


class RequestHeadTooLarge(Exception):
    """The request line and headers are over :attr:`ConnectionLimits.max_request_head`."""


class _RequestReader(io.RawIOBase):
    """The connection's incoming bytes, read against the handler's request deadline.

    A socket timeout alone bounds each wait, not the whole request: a client sending one byte
    every few seconds would never be dropped. Each read here waits at most until the deadline.
    """

    def __init__(self, handler: RequestDeadline) -> None:
        self._handler = handler
        self._socket = handler.connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        handler = self._handler
        deadline = handler.request_deadline
        if deadline is None:  # reading a body: each wait bounded by the socket's timeout
            return self._socket.recv_into(buffer)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete request in time")
        if handler.head_bytes >= handler.limits.max_request_head:
            raise RequestHeadTooLarge(handler.head_bytes)
        self._socket.settimeout(min(left, handler.limits.request_timeout))
        try:
            count = self._socket.recv_into(buffer)
        finally:
            self._socket.settimeout(handler.limits.request_timeout)
        handler.head_bytes += count
        return count


class LimitedConnections:
    """A threading server's mixin: at most :attr:`ConnectionLimits.max_connections` connections at
    once, a newcomer beyond that taking the place of the one that has waited longest for its
    request (503 when every one is busy answering), and a client that went away no error.

    Its handler is a :class:`RequestDeadline`, which says when a connection waits and when it is
    answered. ``weike share`` and ``weike serve`` (on MkDocs' live-reload server) both use it.
    """

    limits: ConnectionLimits

    def __init__(self, *args, limits: ConnectionLimits, **kwargs) -> None:
        self.limits = limits
        self._guard = threading.Lock()
        #: Open connections -> since when each has been waiting for its request (None: answering).
        self._connections: dict[socket.socket, float | None] = {}
        super().__init__(*args, **kwargs)

    @property
    def open_connections(self) -> int:
        with self._guard:
            return len(self._connections)

    def process_request(self, request, client_address) -> None:
        with self._guard:
            if len(self._connections) >= self.limits.max_connections:
                waiting = [(since, sock) for sock, since in self._connections.items() if since is not None]
                if not waiting:
                    self._refuse(request)
                    return
                _, oldest = min(waiting, key=lambda item: item[0])
                del self._connections[oldest]
                _drop(oldest)  # its thread wakes to an ended connection and finishes
            self._connections[request] = time.monotonic()
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._guard:
                self._connections.pop(request, None)

    def connection_waiting(self, request) -> None:
        """``request``'s connection waits for its next request (it may be dropped for a new one)."""
        with self._guard:
            if request in self._connections:
                self._connections[request] = time.monotonic()

    def connection_answering(self, request) -> None:
        with self._guard:
            if request in self._connections:
                self._connections[request] = None

    def _refuse(self, request) -> None:
        body = "503 连接太多，请稍后再试 (too many connections, try again shortly)\n".encode("utf-8")
        head = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Retry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            request.setblocking(False)  # a few bytes into an empty send buffer: never waits
            request.send(head + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """One line on the console, not a traceback; a client that went away (or was too slow) is no error."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        print(f"请求出错 (request failed) from {client_address[0]}: {type(error).__name__}: {error}"[:300],
              file=sys.stderr, flush=True)


class RequestDeadline:
    """A request handler's mixin (over :class:`http.server.BaseHTTPRequestHandler`): each request's
    head read within :attr:`ConnectionLimits.request_timeout` and
    :attr:`ConnectionLimits.max_request_head` bytes; its server is a :class:`LimitedConnections`.

    The handler reads and answers each request through :meth:`within_limits`.
    """

    limits: ConnectionLimits = ConnectionLimits()
    #: When the request being read must be complete (None while answering it).
    request_deadline: float | None = None
    head_bytes: int = 0

    def setup(self) -> None:
        self.timeout = self.limits.request_timeout  # every later wait, writes included
        super().setup()
        self.rfile = io.BufferedReader(_RequestReader(self))

    def within_limits(self, read: Callable[[], None]) -> None:
        """``read()`` (the base handler reading and answering one request) with the clock started
        for its head; a head over the size limit is answered 431 and the connection closed."""
        self.server.connection_waiting(self.connection)
        self.request_deadline = time.monotonic() + self.limits.request_timeout
        self.head_bytes = 0
        try:
            read()
        except RequestHeadTooLarge:
            self._refuse_head_too_large()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        # The head is complete: answering may take long (a film to a slow phone), reading no more.
        self.request_deadline = None
        self.server.connection_answering(self.connection)
        return parsed

    def _refuse_head_too_large(self) -> None:
        """431, and the connection closed (what is left of the head is not read)."""
        self.close_connection = True
        body = "431 请求头太大 (request header fields too large)\n".encode("utf-8")
        try:
            self.wfile.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                             b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%b" % (len(body), body))
        except OSError:
            pass


def same_site(*, origin: str | None, fetch_site: str | None, host: str | None) -> bool:
    """Whether a request that writes comes from the server's own pages: a browser names the page's
    origin (``Origin``, and ``Sec-Fetch-Site``), which must be this server as the request addresses
    it (``Host``). A client that names no origin is no web page."""
    if (fetch_site or "same-origin") not in ("same-origin", "none"):
        return False
    return origin is None or origin == f"http://{host or ''}"


class ShareServer(LimitedConnections, http.server.ThreadingHTTPServer):
    """A thread per connection, at most :attr:`ConnectionLimits.max_connections` of them."""

    daemon_threads = True
    # A station restarted after a crash takes its port back at once (the phones know it by its
    # address), not after the dead server's connections leave TIME_WAIT. A second `weike share`
    # on a listening port still fails: POSIX SO_REUSEADDR never shares a listening port, while
    # Windows' would, so there it stays off.
    allow_reuse_address = os.name != "nt"
    # Connections the system holds until accepted (socketserver's 5 dropped a classroom's burst of
    # phones, each opening several, and made them retry a second or more later).
    request_queue_size = 128


def _drop(request: socket.socket) -> None:
    try:
        request.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# Routes and the handler
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ShareRoute:
    """Requests whose decoded path starts with ``prefix``, answered by ``answer(handler)``.

    The longest matching prefix wins; a method the route does not take is answered 405 with the
    route's own ``Allow``. ``answer`` sends a complete response through the handler's
    :meth:`ShareHandler.send_text` or the :class:`http.server.BaseHTTPRequestHandler` methods.
    """

    prefix: str
    methods: frozenset[str]
    answer: Callable[[ShareHandler], None]


class ShareHandler(RequestDeadline, http.server.BaseHTTPRequestHandler):
    """One connection: its requests, each read within the deadline and passed to its route."""

    server_version = "weike-share"
    protocol_version = "HTTP/1.1"
    root: Path = Path(".")
    routes: tuple[ShareRoute, ...] = ()
    server: ShareServer

    def handle_one_request(self) -> None:
        self.within_limits(super().handle_one_request)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass  # phones make many range requests; the terminal shows the address, not a request log

    def _dispatch(self) -> None:
        path = request_path(self.path)
        route = None if path is None else max(
            (route for route in self.routes if path.startswith(route.prefix)),
            key=lambda route: len(route.prefix), default=None)
        if route is None:
            self.send_text(404, "没有这个网页 (not found)")
        elif self.command not in ("GET", "HEAD") and not self._same_site():
            # A page of another site the learner has open must not write the station's records.
            self.close_connection = True
            self.send_text(403, "别的网站不能向学习站写入 (another site may not write here)",
                           extra={"Connection": "close"})
        elif self.command not in route.methods:
            # The request's body (if any) is not read: the connection cannot be reused after it.
            self.close_connection = True
            self.send_text(405, "只读：不能修改 (read-only)",
                           extra={"Allow": ", ".join(sorted(route.methods)), "Connection": "close"})
        else:
            route.answer(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _same_site(self) -> bool:
        """A write comes from the station's own pages (a phone's queue sent by the page's own
        script always names its origin)."""
        return same_site(origin=self.headers.get("Origin"), fetch_site=self.headers.get("Sec-Fetch-Site"),
                         host=self.headers.get("Host"))

    def send_text(self, code: int, text: str, *, extra: dict | None = None) -> None:
        """A short plain-text answer (errors, refusals)."""
        body = f"{code} {text}\n".encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def send_site_file(handler: ShareHandler) -> None:
    """GET and HEAD of the files below the handler's ``root``, with byte ranges."""
    found = resolve_request(handler.root, handler.path)
    if found is None:
        handler.send_text(404, "没有这个网页 (not found)")
        return
    if found.redirect is not None:
        handler.send_response(301)
        handler.send_header("Location", found.redirect)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    path = found.file
    stat = path.stat()
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
    try:
        wanted = parse_range(handler.headers.get("Range"), size)
    except UnsatisfiableRange:
        handler.send_text(416, "请求的范围超出文件 (range not satisfiable)", extra={"Content-Range": f"bytes */{size}"})
        return
    if_range = handler.headers.get("If-Range")
    if wanted is not None and if_range and if_range not in (etag, modified):
        wanted = None  # the file changed since the client's first part: send it whole
    start, length = (wanted.start, wanted.length) if wanted else (0, size)
    handler.send_response(206 if wanted else 200)
    handler.send_header("Content-Type", media_type(path))
    handler.send_header("Content-Length", str(length))
    handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("ETag", etag)
    handler.send_header("Last-Modified", modified)
    handler.send_header("X-Content-Type-Options", "nosniff")
    if wanted:
        handler.send_header("Content-Range", f"bytes {wanted.start}-{wanted.end}/{size}")
    handler.end_headers()
    if handler.command == "HEAD":
        return
    try:
        with path.open("rb") as source:
            source.seek(start)
            remaining = length
            while remaining > 0:
                chunk = source.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                handler.wfile.write(chunk)
                remaining -= len(chunk)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        # A player that seeks drops its earlier request mid-file: normal, not an error. A phone
        # that stopped reading for request_timeout seconds is let go.
        handler.close_connection = True


#: The catalogue's files: everything below ``/`` that no other route takes.
SITE_FILES = ShareRoute(prefix="/", methods=frozenset({"GET", "HEAD"}), answer=send_site_file)


def make_server(folder: Path, *, lan: bool = False, port: int = DEFAULT_PORT, routes: tuple[ShareRoute, ...] = (),
                limits: ConnectionLimits = ConnectionLimits()) -> ShareServer:
    """A server for ``folder`` on 127.0.0.1 (every interface with ``lan``); not yet serving.

    ``routes`` are answered besides the site's files (:data:`SITE_FILES`), each below its own prefix.
    """
    handler = type("BoundShareHandler", (ShareHandler,), {
        "root": Path(folder).resolve(), "routes": (SITE_FILES, *routes), "limits": limits})
    return ShareServer((LAN_HOST if lan else LOCAL_HOST, port), handler, limits=limits)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def add_share_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "share", help="在教学站用Wi-Fi播放：把建好的网站分享给同一Wi-Fi的手机 (share the built site on local Wi-Fi)",
        description="Serve the built catalogue (dist/site, or dist/offline with --offline, or any folder with an "
                    "index.html) read-only with HTTP byte ranges, so phones can play and seek the videos. "
                    "Listens on 127.0.0.1 only unless --lan. Prints the address and a QR code. Ctrl-C stops.")
    parser.add_argument("path", nargs="?", default=".",
                        help="repository (its dist/site is shared), or a folder with index.html (e.g. a USB stick's copy)")
    parser.add_argument("--offline", action="store_true", help="share dist/offline instead of dist/site")
    parser.add_argument("--lan", action="store_true",
                        help="let other devices on the network (the station's Wi-Fi) connect; default: this computer only")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    parser.set_defaults(func=cmd_share)


def shared_folder(path: Path, *, offline: bool) -> Path:
    """The folder ``weike share PATH`` serves; raises UsageError when there is nothing built."""


    if (path / "index.html").is_file() and not offline:
        return path
    folder = path / "dist" / ("offline" if offline else "site")
    if not (folder / "index.html").is_file():
        raise UsageError(f"{folder} 中没有建好的网站，请先运行 weike build "
                         f"(nothing built in {folder}: run weike build first)")
    return folder


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses that phones on its local network can reach, best first.

    Connecting a UDP socket sends nothing: it only makes the system choose the interface it would
    route through. A station computer that is itself the Wi-Fi hotspot often has no route at
    all, so the addresses of the host name follow.
    """
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            found.append(probe.getsockname()[0])
        except OSError:
            pass
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    found.extend(info[4][0] for info in infos)
    return [address for address in dict.fromkeys(found) if not address.startswith(("127.", "0.", "169.254."))]


def terminal_qr(url: str) -> str:
    """``url`` as a QR code drawn with block characters (dark modules on a light terminal or not)."""
    import io

    import qrcode

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(url)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def cmd_share(project: Project, args: argparse.Namespace) -> int:
    """Serve the built site until Ctrl+C, with the routes plugins add (``weike_share_routes``)."""
    if not 0 <= args.port <= 65535:
        raise UsageError("--port 必须在 0 到 65535 之间 (--port must be 0-65535)")
    folder = shared_folder(Path(args.path), offline=args.offline)
    hook = getattr(project.plugin_manager.hook, "weike_share_routes", None)
    routes = tuple(route for found in (hook(project=project) if hook else []) for route in found or ())
    try:
        server = make_server(folder, lan=args.lan, port=args.port, routes=routes)
    except OSError as exc:
        raise UsageError(f"端口 {args.port} 无法使用（{exc.strerror}），请换一个，例如 --port 8080 "
                         f"(port {args.port} cannot be used: {exc.strerror}; try another with --port)") from exc
    port = server.server_address[1]
    addresses = lan_addresses() if args.lan else []
    url = f"http://{addresses[0] if addresses else LOCAL_HOST}:{port}/"
    print(f"正在分享 (sharing) {folder}")
    print(f"地址 (address): {url}")
    for other in addresses[1:]:
        print(f"          或 (or): http://{other}:{port}/")
    if args.lan and not addresses:
        print("这台电脑没有连上局域网，手机暂时打不开；连上Wi-Fi后再运行 (no network address found: connect to the Wi-Fi first)")
    elif args.lan:
        print("同一Wi-Fi的手机扫描下面的二维码，或在浏览器里输入上面的地址 (scan with a phone on the same Wi-Fi):")
    else:
        print("只有这台电脑能打开；要让手机打开，请加 --lan (this computer only; add --lan for phones):")
    sys.stdout.write(terminal_qr(url))
    print("按 Ctrl-C 停止分享 (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("已停止分享 (sharing stopped)")
    finally:
        server.server_close()
    return 0

