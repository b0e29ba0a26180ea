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

from PIL import Image

from builder.context import BuildContext, BuildPaths
from builder.loading import load_repository
from builder.model import DeliveredMedia
from builder.plugin_manager import get_plugin_manager
from builder.progress import Progress

COURSE_YML = """\
title: 基准测试课程
summary: 用来测量打包速度的课程。
theme: 老年智慧生活
cover: cover.jpg
created: 2023-09-01
instructors:
  - name: 张老师
    bio: 社区学校教师。
provider:
  name: 示范县社区教育学院
  level: 县(市、区)
  region: 示范省示范县
  contact: 李老师
  phone: 0571-88886666
rights:
  public_good: true
  no_copyright_dispute: true
  share_to_national_platforms: true
"""


def make_repository(root: Path, *, lectures: int, megabytes: int):
    course = root / "courses" / "bench"
    course.mkdir(parents=True)
    (course / "course.yml").write_text(COURSE_YML, encoding="utf-8")
    Image.new("RGB", (1280, 720), (30, 90, 160)).save(course / "cover.jpg", "JPEG")
    for number in range(1, lectures + 1):
        folder = course / f"{number:02d}-lecture-{number}"
        folder.mkdir()
        (folder / "lecture.md").write_text(f"---\ntitle: 第{number}讲\nknowledge_point: 知识点{number}\n---\n",
                                           encoding="utf-8")
        (folder / "video.mp4").write_bytes(b"")  # the source is never read by the bundle stage
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
