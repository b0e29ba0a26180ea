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
browser cache off) and types a query into the search box as soon as the page has parsed. The time
to the first result is from the start of navigation to the first result item in the list; Material
fetches the whole index and builds its lunr index before it can answer. Each figure is the median
of ``--runs`` page loads, printed with the bytes the page fetched, as a ratio to the 2 s target, and
as the wait after the page was shown (its load event): a reader who taps the search box as soon as
the page appears waits that long, since Material starts fetching the index when the page runs.

Each size is measured twice in the same run: **before**, Material's search over the whole index;
**after**, the same page with weike's search dialog (``partials/search.html``, ``assets/weike/search.js``)
over the sharded index (``plugins/site/search_shards.py``) made from the same index, which loads
the manifest, the query's shards and the first screen's store chunks only when the reader types.
The last lines give after / before for each size and host.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
plugins:
  - search
"""


ENGINES = ("before: Material", "after: sharded")


def build_site(folder: Path, courses: int, *, sharded: bool = False) -> tuple[Path, int]:
    """A one-page Material site whose search index holds weike's entries for ``courses`` courses;
    ``sharded``: searched by weike's dialog over the sharded index (its size is returned then)."""
    import shutil

    from weike.plugins.site.search import merge_search_index, search_entries
    from weike.plugins.site.search_shards import write_search_shards
    from weike.plugins.site.engine import THEME_DIR

    project = folder / "mkdocs"
    (project / "docs").mkdir(parents=True)
    config = MKDOCS_YML
    if sharded:
        overrides = project / "overrides"
        (overrides / "partials").mkdir(parents=True)
        shutil.copy(THEME_DIR / "overrides" / "partials" / "search.html", overrides / "partials")
        (project / "docs" / "assets" / "weike").mkdir(parents=True)
        shutil.copy(THEME_DIR / "overrides" / "assets" / "weike" / "search.js", project / "docs" / "assets" / "weike")
        config = config.replace("  language: zh\n", "  language: zh\n  custom_dir: overrides\n")
        config += "extra_javascript:\n  - assets/weike/search.js\n"
    (project / "mkdocs.yml").write_text(config, encoding="utf-8")
    (project / "docs" / "index.md").write_text("# 社区教育微课\n\n在上方的查找框里输入课程名称。\n", encoding="utf-8")
    site = folder / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(project / "mkdocs.yml"),
                    "-d", str(site)], check=True, capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    repository = folder.parent / "repo"
    if not repository.is_dir():
        write_repository(repository, courses)
    size = merge_search_index(site, search_entries(catalogue_of(repository)))
    return site, write_search_shards(site) if sharded else size


def first_result(browser, url: str, *, cpu_slowdown: float, query: str = QUERY) -> tuple[float, float, int]:
    """``(seconds from navigation to the first result, seconds after the page was shown, bytes received)``
    for one cold page load, typing ``query``."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", LINK)
    if cpu_slowdown > 1:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
    received = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    # The reader types at once; Material answers when its index is built.
    page.locator("input.md-search__input").wait_for(state="attached", timeout=120_000)
    page.evaluate("""query => {
        const input = document.querySelector("input.md-search__input");
        input.focus(); input.value = query;
        input.dispatchEvent(new Event("input", {bubbles: true}));
        input.dispatchEvent(new KeyboardEvent("keyup", {bubbles: true}));
    }""", query)
    page.locator(".md-search-result__item").first.wait_for(state="attached", timeout=300_000)
    seconds = time.perf_counter() - start
    # The page's own clock: how long after the page was shown (its load event) the result came.
    shown = page.evaluate("""() => {
        const load = performance.getEntriesByType("navigation")[0].loadEventEnd;
        return load > 0 ? (performance.now() - load) / 1000 : null;
    }""")
    context.close()
    return seconds, max(shown or 0.0, 0.0), sum(received)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", type=int, nargs="+", default=[300, 1000], help="catalogue sizes (default 300 1000)")
    parser.add_argument("--runs", type=int, default=3, help="page loads per figure (median; default 3)")
    parser.add_argument("--cpu-slowdown", type=float, default=1.0, help="DevTools CPU throttling rate (default 1: none)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="weike-search-speed-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for courses, engine in ((courses, engine) for courses in args.courses for engine in ENGINES):
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
                print(f"{courses} courses, {host}: after / before = x{after[0] / before[0]:.2f} from navigation, "
                      f"x{after[1] / max(before[1], 1e-9):.2f} after the page was shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
