"""How fast the bundle stage packs a course, against plain file copies of the same bytes.

    python benchmarks/bundles.py [--lectures 10] [--mb 20] [--repeat 3]

Builds a throw-away course repository with ``--lectures`` delivered "MP4s" of ``--mb`` MB each
(random bytes: the zip writer treats media as opaque, so their content does not change the
timing), then times the real bundle stage (every built-in target: smartedu, ouchn, scorm) and,
as the baseline in the same process, ``shutil.copyfile`` of the same media once per target.
Prints the best of ``--repeat`` runs and the ratio (1.0 would be "as fast as copying").
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from weike.builder.contracts.context import BuildContext, BuildPaths
from weike.builder.contracts.model import DeliveredMedia
from weike.builder.repository.loading import load_repository
from weike.builder.running.plugin_manager import get_plugin_manager
from weike.builder.running.progress import Progress
from weike.builder.running.scaffold import new_course, new_lecture


def make_repository(root: Path, *, lectures: int, megabytes: int):
    course = new_course(root, "bench", title="基准测试课程", plugin_manager=get_plugin_manager(None))
    # The skeleton leaves the attestations false; the national targets need them true.
    course_yml = course / "course.yml"
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace(": false", ": true"), encoding="utf-8")
    for number in range(1, lectures + 1):
        new_lecture(root, "bench", f"lecture-{number}", title=f"第{number}讲")
    repository = load_repository(root)
    delivered = {}
    media_dir = root / "dist" / "media" / "bench"
    media_dir.mkdir(parents=True)
    for lecture in repository.course("bench").lectures:
        path = media_dir / f"{lecture.slug}.mp4"
        data = os.urandom(megabytes * 1_000_000)
        path.write_bytes(data)
        poster = path.with_suffix(".jpg")
        shutil.copyfile(course / "cover.jpg", poster)
        delivered[lecture.key] = DeliveredMedia(
            course_slug="bench", lecture_slug=lecture.slug, path=path, duration=300.0, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), source_sha256="", profile="default", poster=poster)
    return repository, delivered


def time_bundle_stage(repository, delivered, dist: Path) -> float:
    pm = get_plugin_manager(None)
    context = BuildContext(config=repository.config, paths=BuildPaths.for_root(repository.root, dist=dist),
                           plugin_manager=pm, progress=Progress())
    started = time.perf_counter()
    outcome = pm.hook.weike_bundle_stage(context=context, courses=list(repository.courses), delivered=delivered)
    elapsed = time.perf_counter() - started
    if any(d.is_error for d in outcome.diagnostics) or len(outcome.outputs) != 3:
        raise SystemExit(f"bundle stage failed: {outcome.diagnostics}")
    return elapsed


def time_copies(delivered, folder: Path, targets: int) -> float:
    started = time.perf_counter()
    for target in range(targets):
        out = folder / str(target)
        out.mkdir(parents=True)
        for media in delivered.values():
            shutil.copyfile(media.path, out / media.path.name)
            with open(out / media.path.name, "rb+") as handle:
                os.fsync(handle.fileno())  # the zips are fsynced too
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lectures", type=int, default=10)
    parser.add_argument("--mb", type=int, default=20, help="size of each delivered video in MB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="weike-bench-") as temporary:
        root = Path(temporary) / "repo"
        repository, delivered = make_repository(root, lectures=args.lectures, megabytes=args.mb)
        total_mb = sum(m.size for m in delivered.values()) / 1e6 * 3
        stage, copies = [], []
        for run in range(args.repeat):
            stage.append(time_bundle_stage(repository, delivered, Path(temporary) / f"dist-{run}"))
            copies.append(time_copies(delivered, Path(temporary) / f"copy-{run}", targets=3))
            shutil.rmtree(Path(temporary) / f"dist-{run}")
            shutil.rmtree(Path(temporary) / f"copy-{run}")
    best_stage, best_copy = min(stage), min(copies)
    print(f"course: {args.lectures} lectures × {args.mb} MB, 3 targets -> {total_mb:.0f} MB of media packed")
    print(f"bundle stage (smartedu + ouchn + scorm): best {best_stage:.2f} s  ({total_mb / best_stage:.0f} MB/s)"
          f"  runs: {', '.join(f'{t:.2f}' for t in stage)}")
    print(f"baseline shutil.copyfile of the same media: best {best_copy:.2f} s  ({total_mb / best_copy:.0f} MB/s)"
          f"  runs: {', '.join(f'{t:.2f}' for t in copies)}")
    print(f"ratio bundle / copy: {best_stage / best_copy:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
