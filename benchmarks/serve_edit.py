"""`weike serve` on a large repository: seconds from saving a lecture's notes to the page showing them.

    python benchmarks/serve_edit.py                     # a 300-course synthetic repository
    python benchmarks/serve_edit.py --courses 1000
    python benchmarks/serve_edit.py --repo PATH         # an existing repository (its notes are restored)

Starts `weike serve` in a child process, waits for its first preview, then appends a line to one
lecture's notes and polls that lecture's page over HTTP (as the browser's live reload would fetch
it) until the line is there. The figure is that wait: the rebuild the save triggers, with the
watcher's delay; the first preview build is printed but not counted. Target: <= 2 s at 1,000
courses (issue: catalogue at interactive speed).

:func:`measure_serve_edit` is the same measurement for a caller (benchmarks/scale.py).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

#: How often the page is fetched while waiting (the figure's resolution).
POLL_SECONDS = 0.05


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _page(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _wait_for(url: str, text: str, *, timeout: float, process: subprocess.Popen) -> float:
    """Seconds until ``text`` is on the page at ``url``."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"weike serve exited ({process.returncode}):\n{process.stdout.read()}")
        page = _page(url)
        if page is not None and text in page:
            return time.perf_counter() - started
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"{text!r} did not appear at {url} within {timeout:.0f} s")


def _first_lecture(root: Path) -> Path:
    for course in sorted((root / "courses").iterdir()):
        if (course / "course.yml").is_file():
            for lecture in sorted(course.iterdir()):
                if (lecture / "lecture.md").is_file():
                    return lecture
    raise SystemExit(f"no lecture under {root / 'courses'}")


def measure_serve_edit(root: Path, *, edits: int = 1, startup_timeout: float = 900,
                       edit_timeout: float = 120) -> float:
    """Seconds from saving one lecture's notes to its page in `weike serve` showing them, on the
    repository at ``root`` (the median of ``edits`` edits; the notes are restored afterwards)."""
    root = Path(root).resolve()
    lecture = _first_lecture(root)
    notes = lecture / "lecture.md"
    original = notes.read_bytes()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/courses/{lecture.parent.name}/{lecture.name}/"
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "serve", str(root), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=root)
    figures = []
    try:
        first = _wait_for(url, "</html>", timeout=startup_timeout, process=process)
        print(f"  first preview served after {first:.1f} s", flush=True)
        for _ in range(edits):
            marker = f"预览测速{uuid.uuid4().hex[:12]}"
            time.sleep(1)  # a save is not a burst of saves: let the watcher settle
            notes.write_bytes(original + f"\n\n{marker}\n".encode("utf-8"))
            figures.append(_wait_for(url, marker, timeout=edit_timeout, process=process))
            print(f"  edit -> page: {figures[-1]:.2f} s", flush=True)
    finally:
        notes.write_bytes(original)
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    return sorted(figures)[len(figures) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=300, help="synthetic courses (default 300)")
    parser.add_argument("--repo", type=Path, help="measure this existing repository instead")
    parser.add_argument("--edits", type=int, default=3, help="edits to time (the median is printed)")
    args = parser.parse_args()
    work = None
    if args.repo:
        root = args.repo
    else:
        from benchmarks.catalogue import write_repository

        work = Path(tempfile.mkdtemp(prefix="weike-bench-serve-"))
        root = work / "repo"
        write_repository(root, args.courses, with_media=False)
    try:
        seconds = measure_serve_edit(root, edits=args.edits)
        print(f"weike serve, {root}: edit -> page {seconds:.2f} s (median of {args.edits}; target <= 2 s)")
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
