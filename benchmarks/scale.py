"""National-scale catalogue: every figure of the "catalogue at interactive speed" table, in one run.

    python benchmarks/scale.py --courses 1000                # the issue's table (a quiet 2-core machine)
    python benchmarks/scale.py --courses 300                 # a quick run
    python benchmarks/scale.py --courses 300 --no-browser    # without Chromium (no search figures)
    python benchmarks/scale.py --courses 100 --compare-cold  # and the edited catalogue built cold: dist/ equal?
    python benchmarks/scale.py --courses 200 --check-only    # only `weike check`, cold then warm

Writes a synthetic repository (``benchmarks/catalogue.py``: 12 lectures a course, distinct covers and
Chinese text, every lecture's source the same tiny clip, which the content-addressed cache transcodes
once), then measures on that one repository, in this order:

1. full build (empty ``dist/`` and cache),
2. no-change rebuild,
3. one lecture's notes edited,
4. one lecture's media replaced by a different clip (one real transcode, also timed alone),
5. the title of a course shown on the home page edited,
6. a course added, 7. a course deleted,

each a `weike build` in a fresh child process (start-up and imports count as a user sees them);
with ``--compare-cold``, the courses as they are now are then built cold in another folder (only the
content-addressed media store copied) and the two ``dist/`` compared file by file; then

8. `weike serve`: an edit to a lecture's notes until its page shows it over HTTP (median of 3),
9. the first search result on an emulated phone link (1.6 Mbit/s, 150 ms) from the built
   ``dist/site``, served without gzip for JSON and with gzip (``benchmarks/search_speed.py``),
10. Hugo rendering the same pages (each page's ``<article>`` from ``dist/site``) with a minimal
    layout, cold (the best of three runs),

and, as the baseline, the time to walk and stat every file of ``courses/``. Prints each run's
stages and peak memory, then one table: figure, value, ratio to the stat walk, ratio to the full
build, target, ✓/✗. No figure is asserted: the table says which targets are met.

With ``--check-only``, runs `weike check` instead: cold (no media memo: one ffprobe per source,
``--jobs`` at a time), then warm (every course remembered), then with one lecture's notes edited
(one course loaded and checked again), each with how many courses it loaded and checked.
"""

from __future__ import annotations

import argparse
import compileall
import filecmp
import html
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import _WORDS, LECTURES_PER_COURSE, write_course, write_repository  # noqa: E402

#: The issue's targets (2 cores): seconds, or a factor where named so.
EDIT_SECONDS = 5.0
FULL_BUILD_SECONDS = 90.0
SITE_PER_HUGO = 2.0
NO_CHANGE_PER_WALK = 5.0
SERVE_EDIT_SECONDS = 2.0
SEARCH_SECONDS = 2.0
PEAK_MB = 1536.0
SERVE_RUNS = 3
#: Cold Hugo runs, the best of which is the site stage's baseline.
HUGO_RUNS = 3

# --------------------------------------------------------------------------------------------
# The table: figures, their ratios and verdicts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One row of the final table."""

    name: str
    #: Seconds (or MB, or a factor: ``unit``); None when not measured (``note`` says why).
    value: float | None
    unit: str = "s"
    #: What the target says, as printed ("<= 5 s").
    target: str = ""
    #: The value at or under which the target is met; None: no target (a reference figure).
    limit: float | None = None
    note: str = ""


def ratio(value: float | None, base: float | None) -> str:
    """``value / base`` as "12.3x", or "-" when either is missing or the base is zero."""
    if value is None or not base:
        return "-"
    quotient = value / base
    return f"{quotient:.2f}x" if quotient < 10 else f"{quotient:.1f}x" if quotient < 100 else f"{quotient:.0f}x"


def verdict(figure: Figure) -> str:
    """✓ when the target is met, ✗ when not, "-" without a target or a value."""
    if figure.limit is None or figure.value is None:
        return "-"
    return "✓" if figure.value <= figure.limit else "✗"


def format_value(figure: Figure) -> str:
    if figure.value is None:
        return "-"
    if figure.unit == "s":
        digits = 3 if figure.value < 0.1 else 2 if figure.value < 10 else 1
        return f"{figure.value:.{digits}f} s"
    if figure.unit == "x":
        return f"{figure.value:.2f}x"
    return f"{figure.value:.0f} {figure.unit}"


def format_table(figures: list[Figure], *, walk: float, full: float | None) -> list[str]:
    """The table's lines: figure, value, ratio to the stat walk and to the full build (for figures
    in seconds), target, ✓/✗, and a note when a figure was not measured."""
    header = ("figure", "value", "/ stat walk", "/ full build", "target", "")
    rows = [header]
    for figure in figures:
        timed = figure.unit == "s"
        rows.append((figure.name, format_value(figure), ratio(figure.value, walk) if timed else "-",
                     ratio(figure.value, full) if timed else "-", figure.target or "-",
                     verdict(figure) + (f"  ({figure.note})" if figure.note else "")))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:4], widths[1:4])),
                 row[4].ljust(widths[4]), row[5]]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths) + "  --")
    return lines


# --------------------------------------------------------------------------------------------
# Children: one `weike build` or `weike check`, measured from inside the process that does it
# --------------------------------------------------------------------------------------------


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


def child(root: Path, jobs: int, *, check_only: bool = False, env: dict[str, str] | None = None) -> dict:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, __file__, "--child", str(root), "--jobs", str(jobs),
                                *(["--check-only"] if check_only else [])],
                               capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"child build failed ({completed.returncode})")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["wall"] = wall  # includes interpreter start-up and imports
    return figures


def site_figures(stages: dict[str, float], hugo_seconds: float | None, hugo_note: str = "", *,
                 cold_stages: dict[str, float] | None = None) -> list[Figure]:
    """The full build's site rows: its site stage (the website) and its offline stage (the edition),
    each as the build timed it, and the site stage against Hugo, the issue's target. The two stages
    together against Hugo are shown too, with no target: Hugo's run makes no offline edition.

    With ``cold_stages`` (``--compare-cold``: the same courses built cold in another folder), that
    build's site stage is shown as well, and the ratio to Hugo takes the faster of the two cold
    site stages, as Hugo's figure is the fastest of its cold runs: the same work timed twice, one
    sample each way slowed or not by the machine (this disk's speed swings from minute to minute)."""
    site, offline = stages.get("site"), stages.get("offline")
    both = site + offline if site is not None and offline is not None else None
    cold_site = (cold_stages or {}).get("site")
    samples = [seconds for seconds in (site, cold_site) if seconds is not None]
    best = min(samples) if samples else None

    def per_hugo(seconds: float | None) -> float | None:
        return seconds / hugo_seconds if hugo_seconds and seconds else None

    rows = [
        Figure(name="  its site stage", value=site, note="the website"),
        Figure(name="  its offline stage", value=offline, note="the offline edition"),
    ]
    if cold_site is not None:
        rows.append(Figure(name="  the cold build's site stage", value=cold_site,
                           note="the same work again: the same courses, cold, in another folder"))
    return [
        *rows,
        Figure(name="Hugo, same pages, cold", value=hugo_seconds, note=hugo_note),
        Figure(name="site stage / Hugo", value=per_hugo(best), unit="x", target=f"<= {SITE_PER_HUGO:g}x",
               limit=SITE_PER_HUGO,
               note=hugo_note or ("the faster of the two cold site stages; Hugo: the fastest of its runs"
                                  if cold_site is not None else "")),
        Figure(name="site + offline stages / Hugo", value=per_hugo(both), unit="x",
               note=hugo_note or "no target: the offline edition is a second rendering of every page, for "
                                 "file://, which Hugo's run does not make"),
    ]


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
    print(f"  {label:<28} {figures['wall']:7.1f} s  peak {figures['maxrss_mb']:6.0f} MB  [{stages}]"
          + (f"  {target}" if target else ""), flush=True)
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


def measured_process(argv: list[str], **popen) -> tuple[float, float, int]:
    """``(wall seconds, peak MB, exit status)`` of one process run to its end (its own maximum
    resident set, from wait4: this process's other children do not count)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, **popen)
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


# --------------------------------------------------------------------------------------------
# The edits, each followed by one `weike build`
# --------------------------------------------------------------------------------------------


def edit_notes(root: Path, slug: str) -> Path:
    """One lecture's notes get a paragraph more; the lecture's page is returned."""
    notes = root / "courses" / slug / "03-lecture-3" / "lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段讲义。\n", encoding="utf-8")
    return notes


def replace_media(root: Path, slug: str) -> Path:
    """One lecture gets a different clip (lecture.md names it); the new clip is returned.

    The new clip goes beside the old one. Unlinking the old file would change the ctime (part of the
    memo's key) of the one clip every lecture here hard-links, so every source would be probed again:
    an artefact of this synthetic repository, whose lectures share one inode; a real repository's
    sources are separate files."""
    from weike.plugins.media import runner as ffmpeg

    lecture = root / "courses" / slug / "05-lecture-5"
    video = lecture / "video-new.mp4"
    ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)])
    front = lecture / "lecture.md"
    front.write_text(front.read_text(encoding="utf-8").replace("---\n", "---\nmedia: video-new.mp4\n", 1),
                     encoding="utf-8")
    return video


def own_clip(root: Path, slug: str) -> Path:
    """A copy of the shared clip for course ``slug`` alone, hard-linked into its lectures; returned.

    Every lecture of the synthetic repository hard-links one clip, and adding or removing a link
    changes that inode's ctime (part of the media memo's key): adding or deleting a course would then
    probe every source again, an artefact of the synthetic repository (a real one's sources are
    separate files). A course added or deleted has its own clip, the same bytes (the content-addressed
    cache still delivers it without a transcode)."""
    clip = root / "shared" / f"{slug}.mp4"
    shutil.copyfile(root / "shared" / "clip.mp4", clip)
    for video in sorted((root / "courses" / slug).glob("*/video.mp4")):
        video.unlink()
        os.link(clip, video)
    return clip


def one_transcode(source: Path, folder: Path) -> float:
    """Seconds to deliver ``source`` alone with the default profile (probe, loudness pass, encode):
    the part of the media edit that no incremental build can skip."""
    from weike.builder.running.executor import available_cores
    from weike.plugins.media.encoding import DeliveryJob, deliver_to_store
    from weike.plugins.media.planning import choose_method
    from weike.plugins.media.probe import probe_media
    from weike.plugins.media.profile import DEFAULT_PROFILE

    shutil.rmtree(folder, ignore_errors=True)  # a kept run's store would answer without encoding
    started = time.perf_counter()
    info = probe_media(source, packets=True)
    job = DeliveryJob(key="scale-benchmark-one-transcode", source=source, info=info, profile=DEFAULT_PROFILE,
                      store_root=folder, method=choose_method(info, DEFAULT_PROFILE), threads=available_cores())
    deliver_to_store(job)
    return time.perf_counter() - started


def home_courses(site: Path) -> list[str]:
    """The courses the home page links to, in its order (their titles show in the catalogue's front door)."""
    return list(dict.fromkeys(re.findall(r'href="courses/(course-[0-9]+)/"',
                                         (site / "index.html").read_text(encoding="utf-8"))))


def edit_title(root: Path, slug: str) -> str:
    """The course's title gets a suffix; the new title is returned."""
    course = root / "courses" / slug / "course.yml"
    text = course.read_text(encoding="utf-8")
    old = re.search(r"^title: (.*)$", text, re.MULTILINE).group(1)
    new = f"{old}（修订版）"
    course.write_text(text.replace(f"title: {old}\n", f"title: {new}\n", 1), encoding="utf-8")
    return new


def sanity(problems: list[str], ok: bool, message: str) -> None:
    """A benchmark whose edit did not reach the site measures nothing: say so (not an assertion)."""
    if not ok:
        problems.append(message)
        print(f"    !! {message}", flush=True)


#: The records of what the site and the offline edition wrote: they hold file times (as the
#: incremental-equals-cold tests, the comparison leaves them out).
BUILD_RECORDS = frozenset({".weike-site.json", ".weike-offline.json"})


def differing_files(left: Path, right: Path) -> list[str]:
    """Relative paths of the files that are not byte-equal in both trees (or are in one only),
    build records aside."""
    def files(top: Path) -> set[str]:
        return {path.relative_to(top).as_posix() for path in top.rglob("*")
                if path.is_file() and path.name not in BUILD_RECORDS} if top.is_dir() else set()

    ours, theirs = files(left), files(right)
    return sorted((ours ^ theirs) | {name for name in ours & theirs
                                     if not filecmp.cmp(left / name, right / name, shallow=False)})


def compare_with_cold(root: Path, cold: Path, jobs: int, problems: list[str]) -> dict:
    """The courses as they are after the edits, built cold in another folder: its ``dist/`` must
    equal the incremental one file by file.

    The cold build starts from an empty cache but for the media store, copied: its entries are
    content-addressed (the same source and recipe give the entry), and x264 on several threads does
    not encode a clip to the same bytes twice, so without it every video, poster and bundle would
    differ for a reason that is not the incremental build's."""
    from weike.builder.contracts.context import CACHE_DIR_ENV, BuildPaths
    from weike.plugins.media.stage import STORE_FOLDER

    if cold.exists():
        shutil.rmtree(cold)
    cold.mkdir(parents=True)
    shutil.copytree(root / "courses", cold / "courses")
    # copytree and copy2 keep the files' times: the zips and forms are dated by the newest source.
    shutil.copy2(root / "weike.yml", cold / "weike.yml")
    shutil.copytree(BuildPaths.for_root(root).cache / STORE_FOLDER, cold / ".weike" / "cache" / STORE_FOLDER)
    environment = {name: value for name, value in os.environ.items() if name != CACHE_DIR_ENV}
    figures = child(cold, jobs, env=environment)
    report("cold build of the same", figures)
    differ = differing_files(root / "dist", cold / "dist")
    sanity(problems, not differ, f"incremental dist/ differs from a cold build's in {len(differ)} files: "
                                 + ", ".join(differ[:10]) + (" ..." if len(differ) > 10 else ""))
    if not differ:
        print("    incremental dist/ = the cold build's, file by file", flush=True)
    return figures


# --------------------------------------------------------------------------------------------
# `weike serve`: an edit until the page shows it
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch_text(url: str) -> str | None:
    """The page's text, or None while the server does not answer it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None


def serve_edit_here(root: Path, slug: str, log: Path, *, runs: int = SERVE_RUNS) -> tuple[float, float]:
    """``(median seconds, peak MB of the server)``: `weike serve` on ``root``, then ``runs`` times a
    line appended to one lecture's notes and its page fetched over HTTP until the line shows."""
    port = free_port()
    lecture = f"courses/{slug}/02-lecture-2"
    url = f"http://127.0.0.1:{port}/{lecture}/"
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen([sys.executable, "-m", "weike.builder", "serve", str(root), "--port", str(port)],
                                  stdout=output, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    seconds = []
    try:
        deadline = time.monotonic() + 3600  # the first preview is a whole site build
        while fetch_text(url) is None:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"weike serve did not answer {url}; its output: {log}")
            time.sleep(0.2)
        notes = root / lecture / "lecture.md"
        for run in range(runs):
            marker = f"预览测量第{run + 1}段{time.time_ns()}"
            started = time.perf_counter()
            notes.write_text(notes.read_text(encoding="utf-8") + f"\n{marker}\n", encoding="utf-8")
            deadline = time.monotonic() + 600
            while marker not in (fetch_text(url) or ""):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"weike serve never showed the edit on {url}; its output: {log}")
                time.sleep(0.05)
            seconds.append(time.perf_counter() - started)
            time.sleep(1.0)  # let the rebuild finish its tail before the next edit
    finally:
        server.terminate()
        _pid, _status, usage = os.wait4(server.pid, 0)
        server.returncode = 0
    return statistics.median(seconds), usage.ru_maxrss / 1024


def serve_edit(root: Path, slug: str, work: Path) -> tuple[float, float | None, str]:
    """The `weike serve` figure: ``benchmarks/serve_edit.py``'s ``measure_serve_edit`` when it is
    there, else measured here; ``(seconds, peak MB or None, how)``."""
    if importlib.util.find_spec("benchmarks.serve_edit") is not None:
        from benchmarks.serve_edit import measure_serve_edit

        return measure_serve_edit(root), None, "benchmarks/serve_edit.py"
    seconds, peak = serve_edit_here(root, slug, work / "serve.log")
    return seconds, peak, f"median of {SERVE_RUNS}"


# --------------------------------------------------------------------------------------------
# The first search result on a phone's link, from the built site
# --------------------------------------------------------------------------------------------


def search_query(site: Path) -> str:
    """search_speed's query when some title of this catalogue holds it (a small catalogue may have
    none), else the first word of the synthetic vocabulary that one does."""
    from benchmarks.search_speed import QUERY

    index = site / "search" / "search_index.json"
    if not index.is_file():
        return QUERY
    titles = "\n".join(doc.get("title", "") for doc in json.loads(index.read_text(encoding="utf-8"))["docs"])
    return next((word for word in (QUERY, *_WORDS) if word in titles), QUERY)


def search_figures(site: Path, runs: int) -> tuple[dict[str, float], str]:
    """Median seconds from navigation to the first result, per host (gzip or not), and the query."""
    from playwright.sync_api import sync_playwright

    from benchmarks.search_speed import CHROMIUM, HOSTS, first_result
    from benchmarks.static_server import serve

    query = search_query(site)
    figures = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for host, compress in HOSTS.items():
                server = serve(site, compress)
                try:
                    figures[host] = statistics.median(
                        first_result(browser, f"http://127.0.0.1:{server.server_port}/", cpu_slowdown=1.0,
                                     query=query)[0] for _ in range(runs))
                finally:
                    server.shutdown()
                print(f"  first search result, {host}: {figures[host]:.2f} s", flush=True)
        finally:
            browser.close()
    return figures, query


def browser_missing() -> str | None:
    """Why the search figures cannot be measured here, or None."""
    from benchmarks.search_speed import CHROMIUM

    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright not installed: pip install playwright"
    return None


# --------------------------------------------------------------------------------------------
# Hugo: the same pages with a minimal layout
# --------------------------------------------------------------------------------------------

HUGO_CONFIG = """\
baseURL = "https://weike.example.gov.cn/"
languageCode = "zh-cn"
title = "社区教育微课"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "section", "404", "robotsTXT"]
"""
HUGO_LAYOUT = """\
<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ .Title }}</title></head>
<body><main><article>{{ .Content }}</article></main></body></html>
"""
_ARTICLE = re.compile(r"<article\b[^>]*>(.*?)</article>", re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def hugo_project(site: Path, project: Path) -> int:
    """A Hugo project whose pages are ``site``'s pages (each one's ``<article>`` and title, at the same
    URL); returns how many."""
    if project.exists():
        shutil.rmtree(project)
    (project / "layouts" / "_default").mkdir(parents=True)
    (project / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name in ("single.html", "list.html"):
        (project / "layouts" / "_default" / name).write_text(HUGO_LAYOUT, encoding="utf-8")
    (project / "layouts" / "index.html").write_text(HUGO_LAYOUT, encoding="utf-8")
    content = project / "content"
    content.mkdir()
    pages = 0
    for page in sorted(site.rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        article, title = _ARTICLE.search(text), _TITLE.search(text)
        if article is None:
            continue
        relative = page.parent.relative_to(site).as_posix()
        front = {"title": html.unescape(title.group(1)) if title else relative}
        if relative == ".":
            target = content / "_index.html"
        else:
            front["url"] = f"/{relative}/"
            target = content / "pages" / f"{pages // 1000:03d}" / f"{pages:06d}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(front, ensure_ascii=False) + "\n" + article.group(1), encoding="utf-8")
        pages += 1
    return pages


def hugo_figure(site: Path, project: Path, *, runs: int = HUGO_RUNS) -> tuple[float, float, int, list[float]] | str:
    """``(seconds, peak MB, pages, every run's seconds)`` of a cold `hugo` over ``site``'s pages, or
    why it was not run. The best of ``runs`` cold runs (its output and cache removed before each):
    a run slowed by the machine would make the site stage's ratio to it look better than it is."""
    hugo = shutil.which("hugo")
    if hugo is None:
        return "Hugo not installed: apt-get install hugo"
    pages = hugo_project(site, project)
    times, peaks = [], []
    for _ in range(runs):
        for made in ("public", "cache"):
            shutil.rmtree(project / made, ignore_errors=True)
        with (project.parent / "hugo.log").open("w", encoding="utf-8") as log:
            seconds, peak, status = measured_process(
                [hugo, "--quiet", "--source", str(project), "--destination", str(project / "public"),
                 "--cacheDir", str(project / "cache")], stdout=log, stderr=subprocess.STDOUT)
        if status != 0:
            return f"hugo failed ({status}): see {project.parent / 'hugo.log'}"
        times.append(seconds)
        peaks.append(peak)
    return min(times), max(peaks), pages, times


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=1000, help="synthetic courses (default 1000; at least 4)")
    parser.add_argument("--jobs", type=int, default=2, help="media jobs (default 2)")
    parser.add_argument("--check-only", action="store_true", help="time only `weike check`, cold then warm")
    parser.add_argument("--no-browser", action="store_true", help="skip the first-search-result figures (Chromium)")
    parser.add_argument("--compare-cold", action="store_true",
                        help="after the edits, build the same courses cold elsewhere and compare dist/ file by file")
    parser.add_argument("--search-runs", type=int, default=3, help="page loads per search figure (median; default 3)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (run_check_child if args.check_only else run_child)(args.child, args.jobs)
        return 0
    if args.courses < 4:
        parser.error("--courses must be at least 4 (edits touch four different courses)")

    work = args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-scale-"))
    try:
        root = work / "repo"
        write_repository(root, args.courses, with_media=True)
        (root / "weike.yml").write_text("site_url: https://weike.example.gov.cn/\n", encoding="utf-8")
        if args.check_only:
            return check_figures(root, args)
        return build_figures(root, work, args)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def bytecode_as_installed() -> None:
    """Compile weike's own modules to bytecode when this environment keeps Python from writing it
    (``PYTHONDONTWRITEBYTECODE``, as some sandboxes and CI images set): each child build would
    otherwise compile every module it imports from source (0.1-0.2 s a process), which no install
    does after its first run (pip compiles the libraries it installs; Python then writes weike's
    own ``__pycache__`` on the first import)."""
    if not (os.environ.get("PYTHONDONTWRITEBYTECODE") or sys.dont_write_bytecode):
        return
    for package in ("builder", "plugins"):
        compileall.compile_dir(REPO_ROOT / package, quiet=1)
    print("  (PYTHONDONTWRITEBYTECODE is set: weike's modules compiled to bytecode first, "
          "as a first run of an install leaves them)", flush=True)


def build_figures(root: Path, work: Path, args: argparse.Namespace) -> int:
    from benchmarks.search_speed import HOSTS

    site = root / "dist" / "site"
    courses = root / "courses"
    problems: list[str] = []
    print(f"\nweike build, {args.courses} courses, {args.courses * LECTURES_PER_COURSE} lectures, "
          f"--jobs {args.jobs} (each a fresh process; figures from this machine):", flush=True)
    runs: dict[str, dict] = {}
    bytecode_as_installed()

    deleted = f"course-{args.courses - 1:05d}"
    own_clip(root, deleted)
    runs["full"] = full = child(root, args.jobs)
    pages = sum(1 for _ in site.rglob("index.html"))
    report("full build", full, target=f"({pages} pages)")
    runs["again"] = child(root, args.jobs)
    report("no-change rebuild", runs["again"])

    notes = edit_notes(root, "course-00000")
    runs["notes"] = child(root, args.jobs)
    report("one lecture's notes", runs["notes"])
    sanity(problems, "补充一段讲义" in (site / "courses/course-00000/03-lecture-3/index.html").read_text(encoding="utf-8"),
           f"the notes edit ({notes.relative_to(root)}) is not on its page")

    clip = replace_media(root, "course-00001")
    runs["media"] = child(root, args.jobs)
    report("one lecture's media", runs["media"])
    transcode = one_transcode(clip, work / "one-transcode")
    print(f"    the new clip delivered alone: {transcode:.2f} s", flush=True)

    titled = next((slug for slug in home_courses(site) if slug != deleted), "course-00002")
    title = edit_title(root, titled)
    runs["title"] = child(root, args.jobs)
    report(f"title of {titled}", runs["title"])
    sanity(problems, html.escape(title, quote=False) in (site / "index.html").read_text(encoding="utf-8"),
           f"the new title of {titled} is not on the home page")

    added = f"course-{args.courses:05d}"
    clip = root / "shared" / f"{added}.mp4"
    shutil.copyfile(root / "shared" / "clip.mp4", clip)
    write_course(root, args.courses, random.Random(args.courses), clip=clip)
    runs["added"] = child(root, args.jobs)
    report(f"{added} added", runs["added"])
    sanity(problems, (site / "courses" / added / "index.html").is_file(), f"the added {added} has no page")

    shutil.rmtree(courses / deleted)
    runs["deleted"] = child(root, args.jobs)
    report(f"{deleted} deleted", runs["deleted"])
    sanity(problems, not (site / "courses" / deleted).exists(), f"the deleted {deleted} still has pages")
    cold = compare_with_cold(root, work / "cold", args.jobs, problems) if args.compare_cold else None

    print("\nweike serve, an edit to one lecture's notes until its page shows it:", flush=True)
    serve_seconds, serve_peak, serve_how = serve_edit(root, "course-00000", work)
    print(f"  {serve_how}: {serve_seconds:.2f} s"
          + (f", peak {serve_peak:.0f} MB" if serve_peak is not None else ""), flush=True)

    print("\nfirst search result on an emulated phone link (dist/site of the last build):", flush=True)
    search: dict[str, float] = {}
    search_note = "--no-browser" if args.no_browser else browser_missing()
    if search_note:
        print(f"  skipped: {search_note}", flush=True)
    else:
        search, query = search_figures(site, args.search_runs)
        print(f"  query {query!r}", flush=True)

    print("\nHugo, the same pages with a minimal layout, cold:", flush=True)
    hugo = hugo_figure(site, work / "hugo" / "project")
    if isinstance(hugo, str):
        print(f"  {hugo}", flush=True)
        hugo_seconds, hugo_note = None, hugo.split(":")[0]
    else:
        hugo_seconds, hugo_peak, hugo_pages, hugo_runs = hugo
        hugo_note = ""
        print(f"  hugo: best of {len(hugo_runs)} cold runs {hugo_seconds:.2f} s "
              f"({', '.join(f'{seconds:.2f}' for seconds in hugo_runs)}), {hugo_pages} pages, "
              f"peak {hugo_peak:.0f} MB", flush=True)

    walk, files = min(stat_walk(root) for _ in range(3))
    print(f"\nbaseline in this process: stat every file of courses/ ({files:,} files), best of 3: {walk:.3f} s")

    peaks = [run["maxrss_mb"] for run in runs.values()] + ([serve_peak] if serve_peak is not None else [])
    edit = f"<= {EDIT_SECONDS:g} s"
    figures = [
        Figure(name=f"stat walk of courses/ ({files:,} files)", value=walk, note="baseline"),
        Figure(name="full build", value=full["wall"], target=f"<= {FULL_BUILD_SECONDS:g} s", limit=FULL_BUILD_SECONDS),
        *site_figures(full["stages"], hugo_seconds, hugo_note,
                      cold_stages=cold["stages"] if cold is not None else None),
        Figure(name="no-change rebuild", value=runs["again"]["wall"],
               target=f"<= {NO_CHANGE_PER_WALK:g}x stat walk", limit=NO_CHANGE_PER_WALK * walk),
        Figure(name="one lecture's notes edited", value=runs["notes"]["wall"], target=edit, limit=EDIT_SECONDS),
        Figure(name="one lecture's media replaced", value=runs["media"]["wall"],
               target=f"<= {EDIT_SECONDS:g} s + {transcode:.2f} s transcode", limit=EDIT_SECONDS + transcode),
        Figure(name="a course title on the home page", value=runs["title"]["wall"], target=edit, limit=EDIT_SECONDS),
        Figure(name="a course added", value=runs["added"]["wall"], target=edit, limit=EDIT_SECONDS),
        Figure(name="a course deleted", value=runs["deleted"]["wall"], target=edit, limit=EDIT_SECONDS),
        Figure(name="weike serve: edit -> page", value=serve_seconds, target=f"<= {SERVE_EDIT_SECONDS:g} s",
               limit=SERVE_EDIT_SECONDS),
        *(Figure(name=f"first search result, {host}", value=search.get(host), target=f"<= {SEARCH_SECONDS:g} s",
                 limit=SEARCH_SECONDS, note=search_note or "")
          for host in HOSTS),
        Figure(name="peak memory, largest run", value=max(peaks), unit="MB", target=f"<= {PEAK_MB:g} MB",
               limit=PEAK_MB),
    ]
    print(f"\n{args.courses} courses, {pages} pages, --jobs {args.jobs}:")
    for line in format_table(figures, walk=walk, full=full["wall"]):
        print("  " + line)
    for problem in problems:
        print(f"!! {problem}")
    return 1 if problems or any(run["failed"] for run in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
