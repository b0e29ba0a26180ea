"""``weike share``: the built catalogue served to the phones on a teaching station's Wi-Fi.

A small read-only HTTP server on top of :mod:`http.server`, which lacks what phones need to
watch videos: byte ranges (seeking; iOS Safari plays no MP4 without them) and dependable MIME
types (``mimetypes`` reads the machine's own tables, and a Windows registry can make ``.js``
``text/plain``). Everything else :class:`http.server.SimpleHTTPRequestHandler` does is left out on
purpose: no folder listings, no writes, no path that leaves the served folder (``..``, encoded
``%2e%2e``, backslashes, symbolic links out of it), no hidden files (the site's build stamp).

Only 127.0.0.1 unless ``--lan``: a station's computer may sit on a network the county does not
control, so sharing with other machines is something the operator asks for.
"""

from __future__ import annotations

import argparse
import email.utils
import http.server
import re
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from weike.builder.errors import UsageError
from weike.builder.project import Project

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


def resolve_request(root: Path, target: str) -> Path | None:
    """The file a request target names inside ``root``; None when it names nothing servable.

    ``root`` must be resolved. Folders answer with their ``index.html`` or not at all.
    """
    raw = target.partition("#")[0].partition("?")[0]
    path = unquote(raw, errors="strict") if raw.startswith("/") else None
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
    if real.is_dir():
        real = real / "index.html"
        return real if real.is_file() else None
    return real if real.is_file() else None


@dataclass(frozen=True, kw_only=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class UnsatisfiableRange(Exception):
    """The range starts beyond the end of the file (HTTP 416)."""


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
        count = int(last)
        if count == 0:
            raise UnsatisfiableRange(header)
        return ByteRange(start=max(0, size - count), end=size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        raise UnsatisfiableRange(header)
    return ByteRange(start=start, end=end)


# --------------------------------------------------------------------------------------------
# The handler
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ShareRoute:
    """Requests below ``prefix`` (``"/xapi/"``) answered by a plugin (``weike_share_routes``).

    ``handle(request)`` gets the :class:`http.server.BaseHTTPRequestHandler` of the request, for
    every method, and writes the whole response itself.
    """

    prefix: str
    handle: Callable[[http.server.BaseHTTPRequestHandler], None]


class ShareHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files below ``root``; nothing else."""

    server_version = "weike-share"
    protocol_version = "HTTP/1.1"
    root: Path = Path(".")
    routes: Sequence[ShareRoute] = ()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass  # phones make many range requests; the terminal shows the address, not a request log

    def _routed(self) -> bool:
        """Hand the request to the plugin route whose prefix it starts with, if any."""
        route = next((route for route in self.routes if self.path.startswith(route.prefix)), None)
        if route is not None:
            route.handle(self)
        return route is not None

    def do_GET(self) -> None:
        if not self._routed():
            self._send(body=True)

    def do_HEAD(self) -> None:
        if not self._routed():
            self._send(body=False)

    def _refuse_write(self) -> None:
        if not self._routed():
            self._error(405, "只读：不能修改 (read-only)", allow=True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_write

    def _error(self, code: int, text: str, *, allow: bool = False, extra: dict | None = None) -> None:
        body = f"{code} {text}\n".encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", "GET, HEAD")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send(self, *, body: bool) -> None:
        try:
            path = resolve_request(self.root, self.path)
        except UnicodeDecodeError:
            path = None
        if path is None:
            self._error(404, "没有这个网页 (not found)")
            return
        # A folder URL without its slash: relative links on the page would resolve one level up.
        request_path = self.path.partition("#")[0].partition("?")[0]
        if path.name == "index.html" and not request_path.endswith(("/", "index.html")):
            self.send_response(301)
            self.send_header("Location", request_path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        stat = path.stat()
        size = stat.st_size
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        try:
            wanted = parse_range(self.headers.get("Range"), size)
        except UnsatisfiableRange:
            self._error(416, "请求的范围超出文件 (range not satisfiable)", extra={"Content-Range": f"bytes */{size}"})
            return
        if_range = self.headers.get("If-Range")
        if wanted is not None and if_range and if_range not in (etag, modified):
            wanted = None  # the file changed since the client's first part: send it whole
        start, length = (wanted.start, wanted.length) if wanted else (0, size)
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", media_type(path))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.send_header("X-Content-Type-Options", "nosniff")
        if wanted:
            self.send_header("Content-Range", f"bytes {wanted.start}-{wanted.end}/{size}")
        self.end_headers()
        if not body:
            return
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                remaining = length
                while remaining > 0:
                    chunk = handle.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            # A player that seeks drops its earlier request mid-file: normal, not an error.
            self.close_connection = True


class ShareServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A second `weike share` on the same port must fail, not silently share the port.
    allow_reuse_address = False


def make_server(folder: Path, *, lan: bool = False, port: int = DEFAULT_PORT,
                routes: Sequence[ShareRoute] = ()) -> ShareServer:
    """A server for ``folder`` on 127.0.0.1 (every interface with ``lan``); not yet serving.
    ``routes`` answer the requests below their prefixes (``weike_share_routes``)."""
    handler = type("BoundShareHandler", (ShareHandler,), {"root": Path(folder).resolve(), "routes": tuple(routes)})
    return ShareServer((LAN_HOST if lan else LOCAL_HOST, port), handler)


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


    if not 0 <= args.port <= 65535:
        raise UsageError("--port 必须在 0 到 65535 之间 (--port must be 0-65535)")
    folder = shared_folder(Path(args.path), offline=args.offline)
    hook = getattr(project.plugin_manager.hook, "weike_share_routes", None)
    routes = [route for found in (hook(project=project) if hook else []) for route in found or ()]
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

