"""National-scale build: a 2,000-course catalogue (~26,000 pages) through every stage.

    python benchmarks/scale.py                  # 2,000 courses x 12 lectures
    python benchmarks/scale.py --courses 200    # a quick look
    python benchmarks/scale.py --courses 200 --check-only   # only `weike check`, cold then warm

Writes a synthetic repository whose lectures all share one tiny clip (the content-addressed
cache transcodes it once), then runs `weike build` four times, each in a fresh child process so
start-up and imports count the way a user sees them:

1. full build (empty dist/ and cache),
2. no-change rebuild,
3. one lecture's notes edited,
4. one lecture's media replaced by a different clip (one real transcode).

With ``--check-only``, runs `weike check` instead: cold (no media memo: one ffprobe per source,
``--jobs`` at a time), then warm (every course remembered), then with one lecture's notes edited
(one course loaded and checked again), each with how many courses it loaded and checked.

Prints wall time, per-stage times, peak memory (the child's maximum resident set) and, as the
baseline from the same machine and run, the time to walk and stat every file of the repository
(the least any rebuild that notices changes must do).

Targets on 2 cores: site stage <= 120 s, peak memory <= 1.5 GB, no-change rebuild <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import LECTURES_PER_COURSE, write_repository  # noqa: E402


def run_child(root: Path, jobs: int) -> None:
    """One `weike build`, measured from inside the process that does it."""
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    started = time.perf_counter()
    result = build(root, progress=Progress(), jobs=jobs)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds,
        "stages": result.stage_seconds,
        "built": len(result.built),
        "failed": sorted(result.failed),
        "errors": sorted({d.code for d in result.diagnostics if d.is_error}),
        "summary": result.summary_lines,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, ensure_ascii=False))


def run_check_child(root: Path, jobs: int) -> None:
    """One `weike check`, measured from inside the process that does it."""
    from weike.builder.running.checking import run_check

    started = time.perf_counter()
    result = run_check(root, jobs=jobs)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds,
        "stages": {"check": seconds},
        "built": len(result.repository.courses),
        "rechecked": len(result.rechecked) if result.rechecked is not None else len(result.repository.courses),
        "failed": sorted({d.location.file.split("/")[1] for d in result.diagnostics if d.is_error}),
        "errors": sorted({d.code for d in result.diagnostics if d.is_error}),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, ensure_ascii=False))


def child(root: Path, jobs: int, *, check_only: bool = False) -> dict:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, __file__, "--child", str(root), "--jobs", str(jobs),
                                *(["--check-only"] if check_only else [])],
                               capture_output=True, text=True, cwd=REPO_ROOT)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"child build failed ({completed.returncode})")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["wall"] = wall  # includes interpreter start-up and imports
    return figures


def stat_walk(root: Path) -> tuple[float, int]:
    """Baseline: seconds to stat every file below courses/ (and how many)."""
    started = time.perf_counter()
    count = 0
    stack = [str(root / "courses")]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat()
                    count += 1
    return time.perf_counter() - started, count


def report(label: str, figures: dict, *, target: str = "") -> None:
    stages = "  ".join(f"{name} {seconds:.1f}" for name, seconds in figures["stages"].items())
    print(f"  {label:<24} {figures['wall']:7.1f} s  peak {figures['maxrss_mb']:6.0f} MB  [{stages}]"
          + (f"  {target}" if target else ""))
    if figures["failed"] or figures["errors"]:
        print(f"    !! failed courses: {len(figures['failed'])}, error codes: {figures['errors']}")


def check_figures(root: Path, args: argparse.Namespace) -> int:
    """`weike check` cold and warm, against the stat walk of the same run (the repository was just
    written: its cache is empty, unless WEIKE_CACHE names one)."""
    cold = child(root, args.jobs, check_only=True)
    warm = child(root, args.jobs, check_only=True)
    notes = root / "courses" / "course-00000" / "03-lecture-3" / "lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段讲义。\n", encoding="utf-8")
    edited = child(root, args.jobs, check_only=True)
    walk, files = stat_walk(root)
    print(f"\nweike check, {cold['built']} courses, {args.courses * LECTURES_PER_COURSE} lectures, "
          f"--jobs {args.jobs} (figures from this machine):")
    report("cold check", cold, target=f"(one ffprobe per source; {cold['rechecked']} courses loaded and checked)")
    report("warm check", warm, target=f"(every course remembered; {warm['rechecked']} loaded and checked)")
    report("one lecture's notes", edited, target=f"({edited['rechecked']} course(s) loaded and checked)")
    print(f"\nbaseline in this process: stat every file of courses/ ({files:,} files): {walk:.2f} s")
    print(f"  ratio cold check / stat walk   {cold['wall'] / walk:6.1f}")
    print(f"  ratio warm check / stat walk   {warm['wall'] / walk:6.1f}")
    print(f"  ratio notes edit / stat walk   {edited['wall'] / walk:6.1f}")
    print(f"  ratio cold check / warm check  {cold['wall'] / warm['wall']:6.1f}")
    return 1 if cold["failed"] or warm["failed"] or edited["failed"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=2000, help="synthetic courses (default 2000)")
    parser.add_argument("--jobs", type=int, default=2, help="media jobs (default 2)")
    parser.add_argument("--check-only", action="store_true", help="time only `weike check`, cold then warm")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (run_check_child if args.check_only else run_child)(args.child, args.jobs)
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-scale-"))
    try:
        root = work / "repo"
        write_repository(root, args.courses, with_media=True)
        (root / "weike.yml").write_text("site_url: https://weike.example.gov.cn/\n", encoding="utf-8")

        if args.check_only:
            return check_figures(root, args)

        full = child(root, args.jobs)
        again = child(root, args.jobs)

        notes = root / "courses" / "course-00000" / "03-lecture-3" / "lecture.md"
        notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段讲义。\n", encoding="utf-8")
        edited = child(root, args.jobs)

        from weike.plugins.media import runner as ffmpeg

        # The new clip goes beside the old one and lecture.md names it. Unlinking the old file would
        # change the ctime (part of the memo's key) of the one clip every lecture here hard-links,
        # so every source would be probed again: an artefact of this synthetic repository, whose
        # lectures share one inode; a real repository's sources are separate files.
        lecture = root / "courses" / "course-00001" / "05-lecture-5"
        video = lecture / "video-new.mp4"
        ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)])
        front = lecture / "lecture.md"
        front.write_text(front.read_text(encoding="utf-8").replace("---\n", "---\nmedia: video-new.mp4\n", 1),
                         encoding="utf-8")
        remedied = child(root, args.jobs)

        walk, files = stat_walk(root)
        pages = sum(1 for _ in (root / "dist" / "site").rglob("index.html"))
        print(f"\nweike build, {full['built']} courses, {args.courses * LECTURES_PER_COURSE} lectures, "
              f"{pages} pages, --jobs {args.jobs} (figures from this machine):")
        report("full build", full, target=f"(site stage {full['stages'].get('site', 0):.1f} s; target <= 120 s, "
                                          "peak <= 1536 MB)")
        report("no-change rebuild", again, target="(target <= 5 s)")
        report("one lecture's notes", edited)
        report("one lecture's media", remedied)
        print(f"\nbaseline in this process: stat every file of courses/ ({files:,} files): {walk:.2f} s")
        print(f"  ratio no-change rebuild / stat walk   {again['wall'] / walk:6.1f}")
        print(f"  ratio full build / no-change rebuild  {full['wall'] / again['wall']:6.1f}")
        if any(f["failed"] for f in (full, again, edited, remedied)):
            return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
