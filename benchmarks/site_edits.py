"""The site stage after each kind of edit: its wall and CPU seconds, and what it did, counted.

    python benchmarks/site_edits.py --courses 300 --keep /tmp/site-edits-300     # write, build, edit
    python benchmarks/site_edits.py --reuse /tmp/siteedit-300/repo               # a repository built before
                                                                                 # (scale.py --keep's repo/)

Writes the synthetic repository of ``benchmarks/catalogue.py`` (or takes a built one), builds it
once (cold, or warm after a change of weike's code), then makes each edit and runs one `weike build`
in a fresh process (start-up and imports count, as for a user): one lecture's notes, one lecture's
media (a new clip), the title of a course on the home page, a course added, that course deleted.

For each, it prints the site stage's wall and CPU seconds, and the offline edition's stage's
after it (the machine is shared: CPU is the steadier figure) and the counts that do not depend on the machine: pages rendered, the theme's
templates compiled (``jinja2.Environment.compile``, Material's search's language partials aside),
whether jieba's dictionary was loaded (``jieba.dt.initialized``) and whether the search shards
were computed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import write_course, write_repository  # noqa: E402
from benchmarks.scale import edit_notes, edit_title, home_courses, own_clip, replace_media  # noqa: E402

EDITS = ("notes", "media", "title", "added", "deleted")


def run_child(root: Path) -> None:
    """One `weike build`, the site stage measured and counted from inside the process."""
    import jieba
    import jinja2

    import weike.plugins.site.stage as stage
    import weike.plugins.site.website as website
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    compiled: list[str] = []
    real_compile = jinja2.Environment.compile

    def counted_compile(self, source, name=None, *args, **kwargs):
        compiled.append(name or "")
        return real_compile(self, source, name, *args, **kwargs)

    jinja2.Environment.compile = counted_compile
    spent: dict[str, float] = {}

    def timed(real, prefix: str):
        def timed_stage(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                spent[f"{prefix}wall"], spent[f"{prefix}cpu"] = time.perf_counter() - wall, time.process_time() - cpu
        return timed_stage

    # The site stage, and the offline edition's stage after it (both import these when they run).
    stage.site_stage = timed(stage.site_stage, "")
    stage.offline_stage = timed(stage.offline_stage, "offline_")
    results = []
    real_build_website = website.build_website

    def kept_result(*args, **kwargs):
        results.append(real_build_website(*args, **kwargs))
        return results[-1]

    website.build_website = kept_result  # (site_stage imports it when it runs)
    result = build(root, progress=Progress(), jobs=2)
    site = results[0] if results else None
    print(json.dumps({
        "wall": spent.get("wall"), "cpu": spent.get("cpu"),
        "offline_wall": spent.get("offline_wall"), "offline_cpu": spent.get("offline_cpu"),
        "rendered": site.rendered if site is not None and site.rebuilt else 0,
        "search_computed": site.search_computed if site is not None and site.rebuilt else False,
        "compiled": len([name for name in compiled if not name.startswith("partials/language")]),
        "jieba_loaded": bool(jieba.dt.initialized),
        "errors": sorted({d.code for d in result.diagnostics if d.is_error}),
    }))


def child(root: Path) -> dict:
    completed = subprocess.run([sys.executable, __file__, "--child", str(root)], capture_output=True, text=True,
                               cwd=REPO_ROOT)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"child build failed ({completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def edit(root: Path, kind: str, state: dict) -> None:
    """Make the edit ``kind`` in ``root`` (``state`` carries the added course to the deletion)."""
    if kind == "notes":
        edit_notes(root, "course-00000")
    elif kind == "media":
        # A course not edited before (a lecture given its new clip already would change nothing).
        courses = sorted(path.name for path in (root / "courses").iterdir()
                         if not (path / "05-lecture-5" / "video-new.mp4").exists())
        replace_media(root, random.Random(time.time()).choice(courses[1:]))
    elif kind == "title":
        edit_title(root, next(slug for slug in home_courses(root / "dist" / "site") if slug != "course-00000"))
    elif kind == "added":
        number = 90000 + int(time.time()) % 9000
        clip = root / "shared" / f"course-{number:05d}.mp4"
        shutil.copyfile(root / "shared" / "clip.mp4", clip)
        write_course(root, number, random.Random(number), clip=clip)
        own_clip(root, f"course-{number:05d}")
        state["added"] = f"course-{number:05d}"
    elif kind == "deleted":
        shutil.rmtree(root / "courses" / state.pop("added"))


def line(kind: str, figures: dict) -> str:
    offline = (f"offline {figures['offline_wall']:5.2f} s wall {figures['offline_cpu']:5.2f} s CPU   "
               if figures.get("offline_wall") is not None else "")
    return (f"  {kind:8s} site {figures['wall']:5.2f} s wall {figures['cpu']:5.2f} s CPU   {offline}"
            f"rendered {figures['rendered']:5d}   templates compiled {figures['compiled']:3d}   "
            f"jieba loaded {'yes' if figures['jieba_loaded'] else 'no ':3s}   "
            f"shards computed {'yes' if figures['search_computed'] else 'no'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=300, help="synthetic courses (default 300)")
    parser.add_argument("--keep", type=Path, help="write the repository in this folder and keep it")
    parser.add_argument("--reuse", type=Path, help="a repository built before (scale.py --keep's repo/)")
    parser.add_argument("--rounds", type=int, default=1, help="times to make every edit (default 1)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-site-edits-"))
    try:
        if args.reuse:
            root = args.reuse
        else:
            root = work / "repo"
            write_repository(root, args.courses, with_media=True)
            (root / "weike.yml").write_text("site_url: https://weike.example.gov.cn/\n", encoding="utf-8")
        first = child(root)
        if first["wall"] is None:  # a reused repository already built: no stage ran
            print("build before the edits: nothing to build")
        else:
            print(f"build before the edits: site {first['wall']:.2f} s wall {first['cpu']:.2f} s CPU, "
                  f"{first['rendered']} pages rendered")
        state: dict = {}
        for _ in range(args.rounds):
            for kind in EDITS:
                edit(root, kind, state)
                print(line(kind, child(root)), flush=True)
        return 0
    finally:
        if args.keep is None and not args.reuse:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
