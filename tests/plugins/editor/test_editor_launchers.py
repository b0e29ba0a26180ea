"""``weike new repo`` puts double-click launchers of ``weike edit`` in the new repository."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import yaml

from weike.builder.cli import main
from weike.plugins.editor.launchers import MACOS_LAUNCHER, WINDOWS_LAUNCHER


def test_new_repo_writes_both_launchers(tmp_path):
    assert main(["new", "repo", str(tmp_path / "mine")]) == 0
    windows = (tmp_path / "mine" / WINDOWS_LAUNCHER).read_bytes()
    assert b"\r\n" in windows and b"\n" not in windows.replace(b"\r\n", b"")  # cmd.exe wants CRLF
    text = windows.decode("utf-8")
    assert f'"{sys.executable}" -m weike.builder edit .' in text and 'cd /d "%~dp0"' in text
    assert os.access(tmp_path / "mine" / MACOS_LAUNCHER, os.X_OK)


def test_the_macos_launcher_starts_the_editor_on_its_folder(tmp_path):
    assert main(["new", "repo", str(tmp_path / "mine")]) == 0
    launcher = tmp_path / "mine" / MACOS_LAUNCHER
    # Double-clicked from anywhere: Finder starts it from the home folder.
    environment = {**os.environ, "BROWSER": "true"}  # webbrowser "opens" the page with true(1)
    process = subprocess.Popen(["/bin/sh", str(launcher)], cwd=tmp_path, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line + process.stderr.read()
        url = line[line.index("http://"):].strip()
        config = yaml.safe_load(urllib.request.urlopen(url + "config.yml").read())
        assert config["collections"][0]["folder"] == "courses"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=30)
