"""The cyclic garbage collector's share of a `weike build`: every collection timed, by stage.

    python benchmarks/gc_share.py --courses 300 --keep /tmp/gc-300

writes a synthetic repository (benchmarks/catalogue.py), then runs, each a `weike build` in a
fresh child process: a cold build, a no-change rebuild, one lecture's notes edited, a course's
title edited, a course added, that course deleted. Each child times every collection with ``gc.callbacks``
(generation, duration, objects collected, the stage it ran in) and prints, per stage, the
collections of each generation, their time, and how many objects the collector tracked (and kept
frozen) when the stage began, with the child's peak memory (ru_maxrss).
Counts do not suffer from a shared CPU; the seconds do.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import write_course, write_repository  # noqa: E402
from benchmarks.scale import edit_notes, edit_title  # noqa: E402


def run_child(root: Path, jobs: int, *, policy: bool = True) -> None:
    """One `weike build`, its collections recorded (``policy``: False = without the pipeline's
    collector policy between stages, for a before -> after on the same caches)."""
    from weike.builder.running import pipeline
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    if not policy:
        pipeline.stage_handed_on = lambda **_: None

    stage = ["start"]
    tracked: dict[str, tuple[int, int]] = {}
    records: list[tuple[str, int, float, int]] = []
    began: list[float] = []
    walked: list[int] = []

    class StageNoting(Progress):
        def stage(self, name: str, total: int | None = None) -> None:
            stage[0] = name.split()[-1]
            tracked[stage[0]] = (len(gc.get_objects()), gc.get_freeze_count())
            super().stage(name, total)

    def timing(phase: str, info: dict) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            if info["generation"] == 2:
                walked.append(len(gc.get_objects()))
            records.append((stage[0], info["generation"], time.perf_counter() - began.pop(), info["collected"]))

    gc.callbacks.append(timing)
    started = time.perf_counter()
    result = build(root, progress=StageNoting(), jobs=jobs)
    seconds = time.perf_counter() - started
    gc.callbacks.remove(timing)
    by_stage: dict[str, dict] = defaultdict(lambda: {"collections": [0, 0, 0], "seconds": [0.0, 0.0, 0.0],
                                                     "collected": 0})
    for name, generation, duration, collected in records:
        entry = by_stage[name]
        entry["collections"][generation] += 1
        entry["seconds"][generation] += duration
        entry["collected"] += collected
    print(json.dumps({
        "seconds": seconds,
        "stages": result.stage_seconds,
        "failed": sorted(result.failed),
        "gc": by_stage,
        "tracked": tracked,
        "gen2_survivors": walked,
        "after": {"tracked": len(gc.get_objects()), "frozen": gc.get_freeze_count()},
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, ensure_ascii=False))


def child(root: Path, jobs: int, *, policy: bool = True) -> dict:
    completed = subprocess.run([sys.executable, __file__, "--child", str(root), "--jobs", str(jobs),
                                *([] if policy else ["--no-policy"])],
                               capture_output=True, text=True, cwd=REPO_ROOT)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"child build failed ({completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(label: str, figures: dict) -> None:
    total = sum(sum(entry["seconds"]) for entry in figures["gc"].values())
    full = sum(entry["seconds"][2] for entry in figures["gc"].values())
    print(f"{label:<22} build {figures['seconds']:6.2f} s  collections {total:5.3f} s (gen 2: {full:5.3f} s)  "
          f"peak {figures['maxrss_mb']:5.0f} MB  left tracked {figures['after']['tracked']} "
          f"frozen {figures['after']['frozen']}; full collections kept {figures['gen2_survivors']}", flush=True)
    for name, entry in figures["gc"].items():
        objects, frozen = figures["tracked"].get(name, (0, 0))
        print(f"    {name:<10} gen0/1/2 {entry['collections'][0]:4d} {entry['collections'][1]:3d} "
              f"{entry['collections'][2]:2d}  {sum(entry['seconds']):5.3f} s (gen 2 {entry['seconds'][2]:5.3f} s)  "
              f"collected {entry['collected']:7d}  tracked at start {objects:8d} frozen {frozen:8d}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--reuse", action="store_true", help="build the repository already in --keep (no cold build)")
    parser.add_argument("--no-policy", action="store_true",
                        help="builds without the pipeline's collector policy between stages (the before)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.jobs, policy=not args.no_policy)
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-gc-"))
    root = work / "repo"
    try:
        if not args.reuse:
            write_repository(root, args.courses, with_media=True)
            (root / "weike.yml").write_text("site_url: https://weike.example.gov.cn/\n", encoding="utf-8")
            report("cold build", child(root, args.jobs, policy=not args.no_policy))
        report("no-change rebuild", child(root, args.jobs, policy=not args.no_policy))
        edit_notes(root, "course-00000")
        report("one lecture's notes", child(root, args.jobs, policy=not args.no_policy))
        edit_title(root, "course-00002")
        report("title of a course", child(root, args.jobs, policy=not args.no_policy))
        added = len(list((root / "courses").iterdir()))
        slug = f"course-{added:05d}"
        while (root / "courses" / slug).exists():
            added += 1
            slug = f"course-{added:05d}"
        clip = root / "shared" / f"{slug}.mp4"
        shutil.copyfile(root / "shared" / "clip.mp4", clip)
        write_course(root, added, random.Random(added), clip=clip)
        report("a course added", child(root, args.jobs, policy=not args.no_policy))
        shutil.rmtree(root / "courses" / slug)
        clip.unlink()
        report("a course deleted", child(root, args.jobs, policy=not args.no_policy))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
