"""Offline edition benchmark: what ``dist/offline`` (folder + zip) adds to a site build.

    python benchmarks/offline.py                 # 200 courses x 12 lectures
    python benchmarks/offline.py --courses 1000

Writes a synthetic repository (every lecture's delivered video is the same tiny MP4, as in
``benchmarks/site.py``), builds its site, then measures in the same run:

* baseline: a plain ``shutil.copytree`` of the built site (what copying it to a stick costs);
* the offline edition from scratch: pages rewritten, search index as a script, media
  hard-linked, ``使用说明.txt``, the deterministic zip;
* a no-change rebuild of the edition (its stamp matches: nothing written).

Figures depend on the machine and what else runs on it: compare the ratios, taken in one run.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import write_repository  # noqa: E402


def build_site(root: Path) -> tuple[Path, float, int]:
    from weike.builder.contracts.model import DeliveredMedia
    from weike.builder.repository.loading import load_repository
    from weike.plugins.site.website import build_website

    repository = load_repository(root)
    clip = root / "shared" / "clip.mp4"
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    delivered = {lecture.key: DeliveredMedia(course_slug=course.slug, lecture_slug=lecture.slug, path=clip,
                                             duration=300.0, size=clip.stat().st_size, sha256=digest,
                                             source_sha256=digest, profile="default")
                 for course in repository.courses for lecture in course.lectures}
    started = time.perf_counter()
    result = build_website(root=root, site_url=None, courses=repository.courses, delivered=delivered,
                           site_dir=root / "dist/site", work_dir=root / ".weike/site/build",
                           cache_dir=root / ".weike/site")
    return root / "dist/site", time.perf_counter() - started, result.pages


def main(argv: list[str] | None = None) -> int:
    from weike.plugins.site.offline.edition import OfflineSettings, build_offline_edition

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=200, help="synthetic courses (default 200)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="weike-offline-bench-"))
    try:
        root = workdir / "repo"
        write_repository(root, args.courses)
        site, site_seconds, pages = build_site(root)
        files = sum(1 for path in site.rglob("*") if path.is_file())
        print(f"site: {args.courses} courses, {pages} pages, {files} files, built in {site_seconds:.1f} s")

        copy = workdir / "copy"
        started = time.perf_counter()
        shutil.copytree(site, copy)
        copy_seconds = time.perf_counter() - started
        print(f"baseline: plain copy of dist/site             {copy_seconds:7.2f} s   1.00")

        offline = root / "dist/offline"
        settings = OfflineSettings()
        lectures = args.courses * 12
        started = time.perf_counter()
        result = build_offline_edition(source_site=site, offline_dir=offline, settings=settings, site_name="基准",
                                       courses=args.courses, lectures=lectures, force=True)
        edition_seconds = time.perf_counter() - started
        print(f"offline edition from scratch (with the zip)    {edition_seconds:7.2f} s   "
              f"{edition_seconds / copy_seconds:.2f} x the copy, {100 * edition_seconds / site_seconds:.0f} % "
              f"of the site build; zip {result.zip_bytes / 1_000_000:.1f} MB")
        started = time.perf_counter()
        again = build_offline_edition(source_site=site, offline_dir=offline, settings=settings, site_name="基准",
                                      courses=args.courses, lectures=lectures)
        again_seconds = time.perf_counter() - started
        assert not again.rebuilt
        print(f"no-change rebuild of the edition               {again_seconds:7.2f} s   "
              f"{again_seconds / copy_seconds:.2f} x the copy")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
