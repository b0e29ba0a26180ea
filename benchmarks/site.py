"""Benchmark of the site stage on a synthetic catalogue.

    python benchmarks/site.py                 # 1,000 courses x 12 lectures
    python benchmarks/site.py --courses 2000  # national scale

Writes a synthetic course repository (distinct covers, Chinese titles and notes; every lecture's
delivered video is the same tiny MP4), then runs the site stage in a child process twice: a cold
build (empty site and thumbnail cache) and a no-change rebuild. Prints wall time, peak memory
(the child's maximum resident set), pages per second, search-index size gzipped (with and without
lecture notes), home page size, and ratios against a baseline run in this process: plain MkDocs +
Material building the same number of minimal pages with the same small navigation.

Targets on 2 cores: 1,000 courses <= 60 s, peak memory <= 1 GB, search index <= 1 MB gzipped per
1,000 courses, no-change rebuild <= 2 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
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

from benchmarks.catalogue import write_repository  # noqa: E402

# --------------------------------------------------------------------------------------------
# Child: one site-stage run, measured
# --------------------------------------------------------------------------------------------


def run_child(root: Path) -> None:
    import hashlib

    from weike.builder.contracts.model import DeliveredMedia
    from weike.builder.repository.loading import load_repository
    from weike.plugins.site.catalogue import Catalogue, SiteCourse, site_lectures
    from weike.plugins.notes import render_notes
    from weike.plugins.site.search import search_entries
    from weike.plugins.site.website import build_website

    repository = load_repository(root)
    clip = root / "shared" / "clip.mp4"
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    rng = random.Random(1)
    delivered = {}
    for course in repository.courses:
        for lecture in course.lectures:
            delivered[lecture.key] = DeliveredMedia(
                course_slug=course.slug, lecture_slug=lecture.slug, path=clip, duration=rng.uniform(180, 420),
                size=clip.stat().st_size, sha256=digest, source_sha256=digest, profile="default")
    dist = root / "dist"
    started = time.perf_counter()
    result = build_website(root=root, site_url="https://weike.example.gov.cn/", courses=repository.courses,
                           delivered=delivered, site_dir=dist / "site", work_dir=root / ".weike/site/build",
                           cache_dir=root / ".weike/site")
    seconds = time.perf_counter() - started
    figures = {"seconds": seconds, "rebuilt": result.rebuilt, "pages": result.pages,
               "courses": len(result.published), "errors": [str(d.code) for d in result.diagnostics if d.is_error],
               "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    if result.rebuilt:
        # The index as it would be with lecture notes in it (extra.weike.search_notes: true).
        catalogue = Catalogue(courses=tuple(SiteCourse(course=c, lectures=site_lectures(c, delivered))
                                            for c in repository.courses))
        notes = {lecture.key: render_notes(lecture.notes, lecture_folder=lecture.folder, course_folder=c.folder,
                                              with_text=True).text
                 for c in repository.courses for lecture in c.lectures}
        with_notes = json.dumps({"docs": search_entries(catalogue, notes_text=notes)}, ensure_ascii=False)
        figures["index_with_notes_gz"] = len(gzip.compress(with_notes.encode("utf-8")))
    print(json.dumps(figures))


def child(root: Path) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", str(root)], check=True, capture_output=True,
                            text=True, cwd=REPO_ROOT)
    return json.loads(output.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Baseline: plain MkDocs + Material, same page count, minimal pages, same small navigation
# --------------------------------------------------------------------------------------------


def baseline(folder: Path, pages: int) -> float:
    import logging

    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    docs = folder / "docs"
    for number in range(pages):
        page = docs / f"p{number // 100:04d}" / f"{number % 100:02d}.md"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"# 页面{number}\n\n一段文字。\n", encoding="utf-8")
    (docs / "index.md").write_text("# 首页\n", encoding="utf-8")
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    from weike.plugins.site.search import _jieba

    _jieba()  # the same quiet jieba the site stage uses
    (folder / "mkdocs.yml").write_text("site_name: baseline\n", encoding="utf-8")
    config = load_config(config_file=str(folder / "mkdocs.yml"), site_name="baseline",
                         docs_dir=str(docs), site_dir=str(folder / "site"),
                         theme={"name": "material", "language": "zh", "font": False}, nav=[{"首页": "index.md"}],
                         plugins=["search"], validation={"omitted_files": "ignore"})
    started = time.perf_counter()
    build(config)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=1000, help="synthetic courses (default 1000)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temp folder)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-site-"))
    try:
        root = work / "repo"
        write_repository(root, args.courses)
        cold = child(root)
        again = child(root)
        assert cold["rebuilt"] and not again["rebuilt"] and not cold["errors"], (cold, again)
        base = baseline(work / "baseline", cold["pages"])

        site = root / "dist" / "site"
        index = (site / "search" / "search_index.json").read_bytes()
        home = (site / "index.html").read_bytes()
        per_thousand = 1000 / args.courses
        print(f"\nsite stage, {cold['courses']} courses, {cold['pages']} pages (figures from this machine):")
        print(f"  cold build            {cold['seconds']:8.1f} s   (target: 60 s per 1,000 courses)")
        print(f"  pages per second      {cold['pages'] / cold['seconds']:8.0f}")
        print(f"  peak memory           {cold['maxrss_kb'] / 1024:8.0f} MB  (target <= 1024 MB)")
        print(f"  search index          {len(index) / 1e6:8.2f} MB, {len(gzip.compress(index)) / 1e6:.2f} MB gzipped "
              f"({len(gzip.compress(index)) / 1e6 * per_thousand:.2f} MB per 1,000 courses; target <= 1)")
        print(f"  index with notes      {cold['index_with_notes_gz'] / 1e6:8.2f} MB gzipped (extra.weike.search_notes)")
        print(f"  home page             {len(home) / 1e3:8.1f} kB, {len(gzip.compress(home)) / 1e3:.1f} kB gzipped")
        print(f"  no-change rebuild     {again['seconds']:8.2f} s   (target <= 2 s)")
        print(f"\nbaseline in this process: plain MkDocs + Material, {cold['pages']} minimal pages: {base:.1f} s "
              f"({cold['pages'] / base:.0f} pages/s)")
        print(f"  ratio cold build / baseline   {cold['seconds'] / base:6.2f}")
        print(f"  ratio no-change / baseline    {again['seconds'] / base:6.3f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
