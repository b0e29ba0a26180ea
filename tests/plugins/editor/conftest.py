"""Editor fixtures: a course repository in Git, and ``weike edit``'s real server on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from weike.builder.running.project import Project
from weike.plugins.editor.command import editor_site
from weike.plugins.editor.server import make_server
from tests.conftest import serve_in_thread


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def git_repository(root: Path) -> Path:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "测试老师")
    git(root, "config", "user.email", "teacher@example.invalid")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Editor:
    root: Path
    port: int
    server: object

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
        sent = {"Host": f"127.0.0.1:{self.port}"}
        if method == "POST":
            sent["Origin"] = self.origin
        sent.update(headers or {})
        sent = {name: value for name, value in sent.items() if value is not None}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in sent.items():
            connection.putheader(name, value)
        if body is not None and "Content-Length" not in sent:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        if body:
            connection.send(body)
        response = connection.getresponse()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        connection.close()
        return reply

    def api(self, action: str, params: dict | None = None, **kwargs) -> Reply:
        payload = {"action": action, "params": {"branch": "main", **(params or {})}}
        return self.request("POST", "/api/v1", json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                            headers={"Content-Type": "application/json", **kwargs.get("headers", {})})


@pytest.fixture
def start_editor():
    """``start_editor(root, commit=None) -> Editor``: the real server of ``weike edit`` on a free port."""
    servers = []

    def start(root: Path, *, commit: bool | None = None) -> Editor:
        site = editor_site(Project.open(root), commit=commit)
        server = make_server(site, port=0)
        serve_in_thread(server)
        servers.append(server)
        return Editor(root=root, port=server.server_address[1], server=server)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
