"""A static file server on 127.0.0.1 for the benchmarks that load the site in a browser: files
gzipped for the suffixes asked when the browser accepts it, as nginx or a CDN would (nginx's
default ``gzip_types`` compresses HTML alone)."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from pathlib import Path

#: What a well-set server compresses.
COMPRESSIBLE = frozenset({".html", ".css", ".js", ".json", ".svg", ".xml", ".vtt"})


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzipped for the suffixes in ``compress`` when the browser accepts it."""

    compress: frozenset[str] = COMPRESSIBLE

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if (path.suffix in self.compress and path.is_file()
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(path.read_bytes())
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return _Body(body)
        return super().send_head()


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, *args) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    """A browser that has what it needs closes its other connections mid-file (a page load timed,
    then ended): the server goes on quietly, as a static host does, rather than printing a traceback."""

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(site: Path, compress: frozenset[str] = COMPRESSIBLE) -> http.server.ThreadingHTTPServer:
    """Serve ``site`` in a background thread on a free port; the caller shuts it down."""
    handler = type("Host", (GzipHandler,), {"compress": frozenset(compress)})
    server = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
