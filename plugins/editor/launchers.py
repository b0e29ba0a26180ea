"""Double-click launchers of ``weike edit`` that ``weike new repo`` puts in a new repository.

``编辑课程.bat`` (Windows) and ``编辑课程.command`` (macOS, executable) start the editor on the
folder they sit in, with the Python that made the repository (the teacher's virtual environment,
so no terminal and no ``activate``), else with the ``weike`` command on the PATH. The window stays
open with the editor's address; closing it stops the editor.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

WINDOWS_LAUNCHER = "编辑课程.bat"
MACOS_LAUNCHER = "编辑课程.command"


def windows_launcher(python: str) -> str:
    python = python.replace("%", "%%")
    lines = [
        "@echo off",
        "rem 双击打开课程编辑器（weike edit）。关闭这个窗口就停止编辑器。",
        "chcp 65001 >nul",
        'cd /d "%~dp0"',
        f'if exist "{python}" (',
        f'  "{python}" -m weike.builder edit .',
        ") else (",
        "  weike edit .",
        ")",
        "if errorlevel 1 (",
        "  echo.",
        "  echo 编辑器没有启动。请确认已经按 README 的“老师快速上手”安装了 weike。",
        ")",
        "pause",
    ]
    return "\r\n".join(lines) + "\r\n"


def macos_launcher(python: str) -> str:
    return (
        "#!/bin/sh\n"
        "# 双击打开课程编辑器（weike edit）。关闭这个窗口就停止编辑器。\n"
        'cd "$(dirname "$0")" || exit 1\n'
        f"PYTHON={shlex.quote(python)}\n"
        'if [ -x "$PYTHON" ]; then\n'
        '  "$PYTHON" -m weike.builder edit .\n'
        "else\n"
        "  weike edit .\n"
        "fi\n"
        'if [ $? -ne 0 ]; then echo "编辑器没有启动。请确认已经按 README 的“老师快速上手”安装了 weike。"; fi\n'
    )


def write_launchers(folder: Path, *, python: str | None = None) -> list[Path]:
    """Write both launchers into ``folder`` (the repository); the paths written."""
    python = python or sys.executable
    windows = Path(folder) / WINDOWS_LAUNCHER
    windows.write_bytes(windows_launcher(python).encode("utf-8"))
    macos = Path(folder) / MACOS_LAUNCHER
    macos.write_text(macos_launcher(python), encoding="utf-8", newline="\n")
    macos.chmod(0o755)
    return [windows, macos]
