"""Time to the first search result on a phone's link: Material's search (before) and weike's sharded one (after).

    python benchmarks/search_speed.py                        # 300 and 1,000 synthetic courses
    python benchmarks/search_speed.py --courses 300          # one size
    python benchmarks/search_speed.py --cpu-slowdown 4       # a phone's CPU as well as its link

For each catalogue size, a synthetic repository (``benchmarks/catalogue.py``) gives weike's search
entries (``search_entries``, exactly what ``weike build`` indexes), merged by ``merge_search_index``
into the index Material's search plugin writes for a one-page Material site (language zh). So the
page frame, the JavaScript bundle, the search worker (lunr) and the index are the real ones; only
the page body is small, as a course page's body is next to the index.

The site is served twice from 127.0.0.1, as two kinds of host serve it:

- **no gzip for JSON**: HTML gzipped, nothing else (nginx's ``gzip on`` with the default
  ``gzip_types``, which is ``text/html`` only: Debian's nginx.conf ships it so);
- **gzip**: HTML, CSS, JavaScript and JSON gzipped (``gzip_types`` set, or any CDN).

Headless Chromium opens the home page under DevTools network emulation (Playwright's CDP session,
``Network.emulateNetworkConditions``: 1.6 Mbit/s down, 750 kbit/s up, 150 ms latency, the
browser cache off). The reader types the query the moment the search box exists (a script of the
page's own, so the moment does not depend on the test driver's round trips; the box exists once
the stylesheets are in, as nothing is drawn before). The time to the first result is on the page's
clock, from the start of navigation to the first frame drawn after the first result item is in
the list; Material fetches the whole index and builds its lunr index before it can answer. Each
figure is the median of ``--runs`` page loads, printed with the bytes the page fetched, as a ratio
to the 2 s target, and as the wait after the page was shown (its load event; negative when the
result was on screen before the load event): a reader who taps the search box as soon as the page
appears waits that long, since Material starts fetching the index when the page runs.
``--waterfall`` prints each figure's last page load request by request (Resource Timing: start,
first byte, end, bytes) with the page's milestones.

The "after" page is weike's page frame (its theme overrides, ``weike.css`` and scripts) around a
one-page body, so the bytes the frame costs on each host are counted.

Each size is measured twice in the same run: **before**, Material's search over the whole index;
**after**, the same page with weike's search dialog (``partials/search.html``, ``assets/weike/search.js``)
over the sharded index (``plugins/site/search_shards.py``) made from the same index, which loads
the query's shards and the first screen's store chunks only when the reader types.
The last lines give after / before for each size and host.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import write_repository  # noqa: E402
from benchmarks.search_recall import catalogue_of  # noqa: E402
from benchmarks.static_server import serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
QUERY = "视频通话"
TARGET_SECONDS = 2.0
#: Chromium DevTools' "Slow 4G" (Lighthouse's mobile throttling): 1.6 Mbit/s, 150 ms.
LINK = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
#: What each host compresses (by file suffix), when the browser accepts gzip.
HOSTS = {
    "no gzip for JSON": frozenset({".html"}),
    "gzip": frozenset({".html", ".css", ".js", ".json", ".svg", ".xml"}),
}
MKDOCS_YML = """\
site_name: 微课
site_url: http://127.0.0.1/
theme:
  name: material
  language: zh
  font: false
plugins:
  - search
"""


ENGINES = ("before: Material", "after: sharded")


def plugin_assets(repository: Path) -> list:
    """The assets weike's built-in plugins add to every page of ``repository``'s site, every lecture
    delivered (5 minutes each), as ``weike build`` makes them."""
    from weike.builder.contracts.model import DeliveredMedia
    from weike.builder.repository.loading import load_repository
    from weike.plugins.records.page import catalogue_data, records_assets
    from weike.plugins.records.settings import RecordsSettings

    courses = load_repository(repository).courses
    delivered = {lecture.key: DeliveredMedia(course_slug=course.slug, lecture_slug=lecture.slug,
                                             path=Path(f"{lecture.slug}.mp4"), duration=300.0, size=1, sha256="",
                                             source_sha256="", profile="")
                 for course in courses for lecture in course.lectures}
    return records_assets(catalogue_data(courses, delivered, site_url=None, settings=RecordsSettings()))


def build_site(folder: Path, courses: int, *, sharded: bool = False) -> tuple[Path, int]:
    """A one-page Material site whose search index holds weike's entries for ``courses`` courses;
    ``sharded``: searched by weike's dialog over the sharded index (its size is returned then)."""
    import shutil

    from weike.plugins.site.search import merge_search_index, search_entries
    from weike.plugins.site.search_shards import write_search_shards
    from weike.plugins.site.engine import THEME_DIR, WEIKE_SCRIPTS

    project = folder / "mkdocs"
    (project / "docs").mkdir(parents=True)
    config = MKDOCS_YML
    repository = folder.parent / "repo"
    if not repository.is_dir():
        write_repository(repository, courses)
    if sharded:
        # weike's page frame as a course page has it: its theme overrides, stylesheet and scripts,
        # and the built-in plugins' assets (the records plugin's catalogue facts grow with the catalogue).
        shutil.copytree(THEME_DIR / "overrides", project / "overrides")
        config = config.replace("  language: zh\n", "  language: zh\n  custom_dir: overrides\n")
        assets = plugin_assets(repository)
        for asset in assets:
            (project / "docs" / asset.site_path).parent.mkdir(parents=True, exist_ok=True)
            (project / "docs" / asset.site_path).write_bytes(asset.data)
        styles = ["assets/weike/weike.css", *(a.site_path for a in assets if a.load == "style")]
        scripts = [*WEIKE_SCRIPTS, *(a.site_path for a in assets if a.load == "script")]
        config += "extra_css:\n" + "".join(f"  - {style}\n" for style in styles)
        config += "extra_javascript:\n" + "".join(f"  - {script}\n" for script in scripts)
    (project / "mkdocs.yml").write_text(config, encoding="utf-8")
    (project / "docs" / "index.md").write_text("# 社区教育微课\n\n在上方的查找框里输入课程名称。\n", encoding="utf-8")
    site = folder / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(project / "mkdocs.yml"),
                    "-d", str(site)], check=True, capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    size = merge_search_index(site, search_entries(catalogue_of(repository)))
    return site, write_search_shards(site).size if sharded else size


#: The reader types the query the moment the search box exists (from the page itself, so the
#: moment does not depend on the test driver's round trips), and the page's own clock records
#: when the first result is in the list.
READER = """query => {
    let typed = false;
    new MutationObserver((records, observer) => {
        const input = document.querySelector("input.md-search__input");
        if (input && !typed) {
            typed = true; window.__typedAt = performance.now();
            input.focus(); input.value = query;
            input.dispatchEvent(new Event("input", {bubbles: true}));
            input.dispatchEvent(new KeyboardEvent("keyup", {bubbles: true}));
        }
        if (document.querySelector(".md-search-result__item")) {
            window.__firstResultAt = performance.now(); observer.disconnect();
            // On screen: the next frame (none is drawn while a stylesheet is still loading).
            requestAnimationFrame(() => { window.__firstResultShownAt = performance.now(); });
        }
    }).observe(document, {childList: true, subtree: true});
}"""
#: Every request of the page on the page's clock (Resource Timing), and the page's milestones.
PAGE_TIMELINE = """() => ({
    resources: performance.getEntriesByType("resource").map(e => ({
        name: e.name, start: e.startTime, requestStart: e.requestStart, responseStart: e.responseStart,
        end: e.responseEnd, bytes: e.transferSize, body: e.decodedBodySize, initiator: e.initiatorType})),
    navigation: (({responseStart, responseEnd, domContentLoadedEventEnd, loadEventEnd, transferSize}) =>
        ({responseStart, responseEnd, domContentLoadedEventEnd, loadEventEnd, transferSize}))(
        performance.getEntriesByType("navigation")[0]),
    paint: Object.fromEntries(performance.getEntriesByType("paint").map(e => [e.name, e.startTime])),
    typed: window.__typedAt || null,
    firstResult: window.__firstResultAt || null,
    firstResultShown: window.__firstResultShownAt || null,
})"""


def print_waterfall(timeline: dict) -> None:
    """One line a request, on the page's clock (ms from navigation): start, first byte, end, bytes."""
    navigation = timeline["navigation"]
    rows = [("(page)", 0.0, navigation["responseStart"], navigation["responseEnd"], navigation["transferSize"], "")]
    rows += [(entry["name"].split("/", 3)[-1], entry["start"], entry["responseStart"], entry["end"], entry["bytes"],
              entry["initiator"]) for entry in timeline["resources"]]
    print(f"    {'ms start':>8} {'ms 1st byte':>11} {'ms end':>7} {'kB':>6}  request")
    for name, start, first_byte, end, size, initiator in sorted(rows, key=lambda row: row[1]):
        print(f"    {start:>8.0f} {first_byte:>11.0f} {end:>7.0f} {size / 1000:>6.1f}  {name} {initiator}")
    for label, at in (("first paint", timeline["paint"].get("first-paint")),
                      ("DOMContentLoaded", navigation["domContentLoadedEventEnd"]),
                      ("load", navigation["loadEventEnd"]), ("query typed", timeline["typed"]),
                      ("first result in the list", timeline["firstResult"]),
                      ("first result on screen", timeline["firstResultShown"])):
        print(f"    {at or 0:>8.0f} {'':>11} {'':>7} {'':>6}  -- {label}")


def first_result(browser, url: str, *, cpu_slowdown: float, query: str = QUERY) -> tuple[float, float, int, dict]:
    """``(seconds from navigation to the first result, seconds after the page was shown, bytes received,
    the page's timeline)`` for one cold page load, the reader typing ``query``."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.add_init_script(f"({READER})({json.dumps(query)})")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", LINK)
    if cpu_slowdown > 1:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
    received = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    page.goto(url, wait_until="commit")
    # The reader types at once (READER); Material answers when its index is built.
    page.wait_for_function("() => window.__firstResultShownAt", timeout=300_000, polling=100)
    page.wait_for_load_state("load")
    timeline = page.evaluate(PAGE_TIMELINE)
    context.close()
    # On the page's clock, from the start of navigation; and after the page was shown (its load event).
    seconds = timeline["firstResultShown"] / 1000
    shown = seconds - timeline["navigation"]["loadEventEnd"] / 1000
    return seconds, shown, sum(received), timeline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", type=int, nargs="+", default=[300, 1000], help="catalogue sizes (default 300 1000)")
    parser.add_argument("--runs", type=int, default=3, help="page loads per figure (median; default 3)")
    parser.add_argument("--cpu-slowdown", type=float, default=1.0, help="DevTools CPU throttling rate (default 1: none)")
    parser.add_argument("--engine", choices=("both", "sharded", "material"), default="both",
                        help="measure both searches (default), or only one of them")
    parser.add_argument("--waterfall", action="store_true", help="print each figure's last page load, request by request")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="weike-search-speed-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for courses, engine in ((courses, engine) for courses in args.courses for engine in ENGINES
                               if args.engine == "both" or args.engine in engine.lower()):
            sharded = engine == ENGINES[1]
            site, index_bytes = build_site(Path(folder) / str(courses) / ("sharded" if sharded else "material"), courses,
                                           sharded=sharded)
            index_files = sorted((site / "search").rglob("*.js")) if sharded else [site / "search" / "search_index.json"]
            index_gz = sum(len(gzip.compress(path.read_bytes())) for path in index_files)
            for host, compress in HOSTS.items():
                server = serve(site, compress)
                try:
                    runs = [first_result(browser, f"http://127.0.0.1:{server.server_port}/", cpu_slowdown=args.cpu_slowdown)
                            for _ in range(args.runs)]
                finally:
                    server.shutdown()
                seconds = statistics.median(run[0] for run in runs)
                rows.append((courses, engine, host, index_bytes, index_gz, seconds, statistics.median(run[1] for run in runs),
                             statistics.median(run[2] for run in runs)))
                print(f"  {courses} courses, {engine}, {host}: {', '.join(f'{run[0]:.1f}' for run in runs)} s", flush=True)
                if args.waterfall:
                    print_waterfall(runs[-1][3])
        browser.close()

    link = f"{LINK['downloadThroughput'] * 8 / 1e6:.1f} Mbit/s, {LINK['latency']} ms"
    cpu = f", CPU slowed x{args.cpu_slowdown:g}" if args.cpu_slowdown > 1 else ""
    print()
    print(f"First search result for {QUERY!r} on an emulated {link} link{cpu} (index: all files of the index on disk)")
    print(f"{'courses':>7}  {'search':<17} {'host':<17} {'index MB':>8} {'index gz MB':>11} {'fetched MB':>10} "
          f"{'first result s':>14} {'x target (2 s)':>14} {'after page shown s':>18}")
    for courses, engine, host, index_bytes, index_gz, seconds, shown, fetched in rows:
        print(f"{courses:>7}  {engine:<17} {host:<17} {index_bytes / 1e6:>8.2f} {index_gz / 1e6:>11.3f} "
              f"{fetched / 1e6:>10.2f} {seconds:>14.1f} {seconds / TARGET_SECONDS:>14.1f} {shown:>18.1f}")
    by_key = {(courses, engine, host): (seconds, shown) for courses, engine, host, _s, _g, seconds, shown, _f in rows}
    for courses in dict.fromkeys(row[0] for row in rows):
        for host in HOSTS:
            before, after = by_key.get((courses, ENGINES[0], host)), by_key.get((courses, ENGINES[1], host))
            if before and after:
                shown = (f"x{after[1] / before[1]:.2f} after the page was shown" if after[1] > 0 else
                         "after: on screen before the page's load event")
                print(f"{courses} courses, {host}: after / before = x{after[0] / before[0]:.2f} from navigation, {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
