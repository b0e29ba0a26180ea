"""Benchmark of the checks that read whole files: what rendering every lecture's notes (E220) and
decoding every cover in full (E106) add to `weike check`.

    python benchmarks/notes_check.py                # 200 courses x 12 lectures
    python benchmarks/notes_check.py --courses 2000 # national scale (24,000 lectures)

`weike check` renders each lecture's notes exactly as the site and the SCORM pages do, so notes
nested too deep are reported before a build trips on them. Writes a synthetic course
repository, then times, per lecture: loading the repository (the baseline every check pays), the
notes check rendering every note, the same with the notes memo cold (first check) and warm (every
later check), and the same for decoding each course's cover in full. Prints milliseconds per
lecture (or cover), the seconds it would add at 24,000 lectures (2,000 covers), and ratios
against the loading baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import write_repository  # noqa: E402
from weike.builder.contracts.context import BuildPaths  # noqa: E402

NATIONAL_LECTURES = 24_000
NATIONAL_COURSES = 2_000


def _notes_pass(repository, *, memoised: bool) -> float:
    """Seconds for one notes check over every lecture (the memo opened once per course, as the hook does)."""
    from weike.plugins.rules import courses as course_rules

    started = time.perf_counter()
    for course in repository.courses:
        memo = course_rules._rules_memo(BuildPaths.for_root(repository.root)) if memoised else None
        for lecture in course.lectures:
            list(course_rules.check_notes(lecture, course.folder, memo))
    return time.perf_counter() - started


def _covers_pass(repository, *, memoised: bool) -> float:
    """Seconds for the full-decode check of every course's cover."""
    from weike.plugins.rules import courses as course_rules

    started = time.perf_counter()
    for course in repository.courses:
        memo = course_rules._rules_memo(BuildPaths.for_root(repository.root)) if memoised else None
        list(course_rules.check_image_file(course.cover, what="首页图片", what_en="cover", code="E106", memo=memo))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=200)
    args = parser.parse_args(argv)

    from weike.builder.repository.loading import load_repository

    with tempfile.TemporaryDirectory(prefix="weike-notes-bench-") as folder:
        root = Path(folder) / "repo"
        write_repository(root, args.courses)
        started = time.perf_counter()
        repository = load_repository(root)
        loading = time.perf_counter() - started
        lectures = sum(len(course.lectures) for course in repository.courses)
        rows = [("load the repository (baseline)", loading),
                ("notes check, rendering every note", _notes_pass(repository, memoised=False)),
                ("notes check, memo cold (first check)", _notes_pass(repository, memoised=True)),
                ("notes check, memo warm (later checks)", _notes_pass(repository, memoised=True))]
        covers = [("covers decoded in full, every check", _covers_pass(repository, memoised=False)),
                  ("covers, memo cold (first check)", _covers_pass(repository, memoised=True)),
                  ("covers, memo warm (later checks)", _covers_pass(repository, memoised=True))]
    print(f"{args.courses} courses, {lectures} lectures")
    for label, seconds in rows:
        per_lecture = seconds / lectures
        print(f"  {label:40s} {per_lecture * 1000:7.3f} ms/lecture  "
              f"{per_lecture * NATIONAL_LECTURES:6.1f} s at {NATIONAL_LECTURES:,} lectures  "
              f"{seconds / loading:5.2f}x loading")
    for label, seconds in covers:
        per_cover = seconds / len(repository.courses)
        print(f"  {label:40s} {per_cover * 1000:7.3f} ms/cover    "
              f"{per_cover * NATIONAL_COURSES:6.1f} s at {NATIONAL_COURSES:,} covers    "
              f"{seconds / loading:5.2f}x loading")
    return 0


if __name__ == "__main__":
    sys.exit(main())
