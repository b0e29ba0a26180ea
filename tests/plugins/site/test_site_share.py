"""``weike share``: byte ranges, MIME types, no listings, read-only, no traversal, localhost.

Real sockets on 127.0.0.1 only: the server under test is started on a free port there, and the
requests are sent with :mod:`http.client`, which sends the path exactly as written (no
normalising of ``..``), like a hostile client would.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weike.plugins.site.share import LAN_HOST, LOCAL_HOST, ConnectionLimits, make_server
from tests.conftest import serve_in_thread
from tests.plugins.site.conftest import closed_by_server, half_sent_requests, trickled_request_is_dropped

VIDEO = bytes(range(256)) * 400  # 102,400 bytes, every offset distinguishable
SECRET = "secret-beside-the-site"


@pytest.fixture
def shared(tmp_path):
    """``(folder, request)``: a small site served on 127.0.0.1; ``request(method, path, headers)``."""
    site = tmp_path / "site"
    (site / "media/c").mkdir(parents=True)
    (site / "media/c/l.mp4").write_bytes(VIDEO)
    (site / "media/c/l.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n字幕\n", encoding="utf-8")
    (site / "search").mkdir()
    (site / "search/search_index.json").write_text('{"docs": []}', encoding="utf-8")
    (site / "assets").mkdir()
    (site / "assets/app.js").write_text("var x = 1;\n", encoding="utf-8")
    (site / "index.html").write_text("<!doctype html><title>首页</title>", encoding="utf-8")
    (site / "courses/c").mkdir(parents=True)
    (site / "courses/c/index.html").write_text("<title>课程</title>", encoding="utf-8")
    (site / ".weike-site.json").write_text("{}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (site / "media/out").symlink_to(tmp_path)  # a link out of the shared folder

    server = make_server(site, port=0)
    serve_in_thread(server)
    port = server.server_address[1]

    def request(method: str, path: str, headers: dict | None = None):
        connection = http.client.HTTPConnection(LOCAL_HOST, port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    yield site, request, server
    server.shutdown()
    server.server_close()


def test_range_requests_get_206_and_exactly_those_bytes(shared):
    _, request, _ = shared
    status, headers, body = request("GET", "/media/c/l.mp4", {"Range": "bytes=1000-1999"})
    assert status == 206 and body == VIDEO[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(VIDEO)}" and headers["Content-Length"] == "1000"
    status, _, body = request("GET", "/media/c/l.mp4", {"Range": "bytes=100000-"})
    assert status == 206 and body == VIDEO[100000:]
    status, _, body = request("GET", "/media/c/l.mp4", {"Range": "bytes=-10"})
    assert status == 206 and body == VIDEO[-10:]
    # An end beyond the file is cut to the file (what players send to ask "from here on").
    status, headers, body = request("GET", "/media/c/l.mp4", {"Range": f"bytes=102390-{10**9}"})
    assert status == 206 and body == VIDEO[102390:] and headers["Content-Range"].endswith(f"/{len(VIDEO)}")
    status, headers, _ = request("GET", "/media/c/l.mp4", {"Range": f"bytes={len(VIDEO)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(VIDEO)}"
    status, headers, body = request("GET", "/media/c/l.mp4")
    assert status == 200 and body == VIDEO and headers["Accept-Ranges"] == "bytes"
    # HEAD: the headers of GET, no body.
    status, headers, body = request("HEAD", "/media/c/l.mp4", {"Range": "bytes=0-1"})
    assert status == 206 and headers["Content-Length"] == "2" and body == b""
    # If-Range with an old validator: the file changed, so it comes whole.
    status, _, body = request("GET", "/media/c/l.mp4", {"Range": "bytes=0-9", "If-Range": '"old"'})
    assert status == 200 and body == VIDEO


@pytest.mark.parametrize(("path", "expected"), [
    ("/media/c/l.mp4", "video/mp4"),
    ("/media/c/l.vtt", "text/vtt; charset=utf-8"),
    ("/search/search_index.json", "application/json"),
    ("/assets/app.js", "text/javascript; charset=utf-8"),
    ("/", "text/html; charset=utf-8"),
])
def test_media_types(shared, path, expected):
    _, request, _ = shared
    status, headers, _ = request("GET", path)
    assert status == 200 and headers["Content-Type"] == expected
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/media/../../secret.txt", "/%2e%2e/secret.txt", "/media/%2E%2E%2F%2E%2E%2Fsecret.txt",
    "/media/..%5C..%5Csecret.txt", "/media/out/secret.txt", "/.weike-site.json", "/%00", "/%ff",
])
def test_traversal_and_hidden_files_are_refused(shared, path):
    _, request, _ = shared
    status, _, body = request("GET", path)
    assert status == 404 and SECRET.encode() not in body


def test_folders_are_never_listed(shared):
    _, request, _ = shared
    status, _, body = request("GET", "/media/c/")
    assert status == 404 and b"l.mp4" not in body
    status, _, body = request("GET", "/courses/c/")
    assert status == 200 and "课程".encode() in body
    # Without its slash a page folder redirects, so the page's relative links resolve.
    status, headers, _ = request("GET", "/courses/c")
    assert status == 301 and headers["Location"] == "/courses/c/"


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_read_only(shared, method):
    site, request, _ = shared
    status, headers, _ = request(method, "/media/c/l.mp4")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert (site / "media/c/l.mp4").read_bytes() == VIDEO


def test_listens_on_localhost_unless_lan(shared):
    _, _, server = shared
    assert server.server_address[0] == LOCAL_HOST
    from weike.plugins.site.share import add_share_command
    import argparse

    parser = argparse.ArgumentParser()
    add_share_command(parser.add_subparsers())
    assert parser.parse_args(["share"]).lan is False
    assert parser.parse_args(["share", "--lan"]).lan is True
    # --lan's address, checked without binding to it (tests never listen beyond 127.0.0.1).
    assert LAN_HOST == "0.0.0.0"


def test_the_command_prints_the_address_and_a_qr_code_and_serves(tmp_path):
    site = tmp_path / "repo" / "dist" / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<title>首页</title>", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "share", str(tmp_path / "repo"), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(lines)
        address = re.search(r"http://127\.0\.0\.1:(\d+)/", output)
        assert address, output
        assert "█" in output and "▄" in output  # the QR code, drawn in block characters
        connection = http.client.HTTPConnection(LOCAL_HOST, int(address.group(1)), timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read().decode("utf-8") == "<title>首页</title>"
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_a_station_killed_mid_connection_gets_its_port_back_at_once(tmp_path):
    """The phones know the station by its address: restarted after a crash, it must listen on the
    same port right away, not a minute later when the dead server's connections leave TIME_WAIT.
    A second station on a port that is listening still fails."""
    site = tmp_path / "repo" / "dist" / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<title>首页</title>", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "share", str(tmp_path / "repo"), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        port = None
        for line in process.stdout:
            if address := re.search(r"http://127\.0\.0\.1:(\d+)/", line):
                port = int(address.group(1))
                break
        assert port, "weike share did not start"
        connection = http.client.HTTPConnection(LOCAL_HOST, port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read()  # a keep-alive connection the server holds open
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
    connection.close()
    restarted = make_server(site, port=port)
    try:
        with pytest.raises(OSError):
            make_server(site, port=port)
    finally:
        restarted.server_close()


def test_nothing_built_is_a_usage_error(tmp_path, capsys):
    from weike.builder.cli import main

    (tmp_path / "courses").mkdir()
    assert main(["share", str(tmp_path), "--port", "0"]) == 2
    assert "weike build" in capsys.readouterr().err


@pytest.mark.slow
def test_a_phone_browser_plays_and_seeks_through_the_share(offline_site, browser):
    """The offline edition shared over HTTP: Chromium seeks with range requests answered 206."""
    built = offline_site()
    server = make_server(built.root / "dist" / "offline", port=0)
    serve_in_thread(server)
    base = f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    context = browser.new_context(viewport={"width": 390, "height": 844})
    statuses = []
    try:
        page = context.new_page()
        page.on("response", lambda response: statuses.append((response.url, response.status)))
        page.goto(base + "courses/demo/01-lecture-1/index.html")
        page.evaluate("const v = document.querySelector('video'); v.muted = true; v.play()")
        page.wait_for_function("() => document.querySelector('video').currentTime > 0.2", timeout=20_000)
        page.evaluate("document.querySelector('video').currentTime = 9")
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return !v.seeking && v.currentTime >= 9 && v.readyState >= 2; }", timeout=10_000)
        assert page.evaluate("document.querySelector('video').error") is None
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    assert (base + "media/demo/01-lecture-1.mp4", 206) in statuses
    assert all(url.startswith(base) for url, _ in statuses)


# --------------------------------------------------------------------------------------------
# Hostile requests: huge numbers, wrong addresses for a page, clients that never finish
# --------------------------------------------------------------------------------------------


def test_ranges_with_thousands_of_digits_are_answered(shared, capfd):
    """Python refuses to turn over 4,300 digits into a number: such a header once killed the request
    with a traceback on the station's console."""
    _, request, _ = shared
    huge = "9" * 5000
    status, headers, _ = request("GET", "/media/c/l.mp4", {"Range": f"bytes={huge}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(VIDEO)}"
    status, _, body = request("GET", "/media/c/l.mp4", {"Range": f"bytes=10-{huge}"})
    assert status == 206 and body == VIDEO[10:]
    status, _, body = request("GET", "/media/c/l.mp4", {"Range": f"bytes=-{huge}"})
    assert status == 206 and body == VIDEO
    # Leading zeros are still the small number they write.
    status, _, body = request("GET", "/media/c/l.mp4", {"Range": f"bytes={'0' * 5000}10-{'0' * 5000}19"})
    assert status == 206 and body == VIDEO[10:20]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(("path", "status", "location"), [
    ("/ind%65x.html", 200, None),  # the home page's own file, percent-encoded: no redirect into a folder
    ("/courses/c/ind%65x.html", 200, None),
    ("/index.html/", 404, None),  # a file named with a slash after it would put the page one level down
    ("/courses/c/index.html/", 404, None),
    ("/media/c/l.mp4/", 404, None),
    ("/cour%73es/c", 301, "/courses/c/"),
    ("/courses/c?x=1", 301, "/courses/c/?x=1"),
    ("/courses//c/", 301, "/courses/c/"),
    ("//courses//c", 301, "/courses/c/"),  # never a protocol-relative address (another host)
    ("/courses//c/index.html", 301, "/courses/c/index.html"),
])
def test_every_page_is_served_at_its_own_address_only(shared, path, status, location):
    _, request, _ = shared
    got, headers, _ = request("GET", path)
    assert (got, headers.get("Location")) == (status, location)


@pytest.fixture
def limited(tmp_path):
    """``(server, port)``: a share with a 1-second request deadline and at most 4 connections."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<title>首页</title>", encoding="utf-8")
    server = make_server(site, port=0, limits=ConnectionLimits(request_timeout=1.0, max_connections=4))
    serve_in_thread(server)
    yield server, server.server_address[1]
    server.shutdown()
    server.server_close()


def _get_home(port: int) -> int:
    connection = http.client.HTTPConnection(LOCAL_HOST, port, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_half_sent_requests_and_idle_connections_are_dropped(limited):
    server, port = limited
    half_sent = half_sent_requests(LOCAL_HOST, port, host_header="station")  # three times the cap
    # Phones are still answered while the half-sent requests wait ...
    assert all(_get_home(port) == 200 for _ in range(6))
    # ... the server never holds more connections than its cap ...
    assert server.open_connections <= 4
    # ... and every half-sent request is dropped, whether it was pushed out or timed out.
    assert all(closed_by_server(sock) for sock in half_sent)
    for sock in half_sent:
        sock.close()

    # A keep-alive connection that asks nothing more is closed after the deadline too.
    idle = socket.create_connection((LOCAL_HOST, port), timeout=10)
    idle.sendall(b"GET / HTTP/1.1\r\nHost: station\r\n\r\n")
    answer = b""
    while "首页".encode() not in answer:
        answer += idle.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200")
    assert closed_by_server(idle)
    idle.close()
    assert _get_home(port) == 200


def test_a_trickled_request_is_dropped_at_the_deadline(limited):
    """A byte at a time keeps every single read short: the deadline is for the whole request."""
    _, port = limited
    assert trickled_request_is_dropped(LOCAL_HOST, port)


def test_connections_busy_answering_leave_newcomers_a_503(limited, tmp_path):
    server, port = limited
    big = tmp_path / "site" / "big.bin"
    big.write_bytes(b"x" * (64 * 1024 * 1024))
    readers = []
    for _ in range(4):  # four downloads that stop reading: every connection is busy answering
        sock = socket.create_connection((LOCAL_HOST, port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: station\r\n\r\n")
        sock.recv(100)
        readers.append(sock)
    status = _get_home(port)
    for sock in readers:
        sock.close()
    assert status == 503
    # Once the downloads are gone (or timed out), their places are free again.
    for _ in range(100):
        if (status := _get_home(port)) == 200:
            break
        time.sleep(0.1)
    assert status == 200


def test_a_request_head_over_its_limit_is_refused(shared):
    _, request, _ = shared
    status, _, _ = request("GET", "/", {f"X-Filler-{n}": "x" * 1000 for n in range(90)})
    assert status == 431
