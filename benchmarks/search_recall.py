"""Search recall against substring ground truth, and the index size: before and after bigrams, and sharded.

    python benchmarks/search_recall.py                # the demo and 1,000 synthetic courses
    python benchmarks/search_recall.py --courses 200  # a quicker run

For each catalogue (the demo repository beside this file, and ``benchmarks/catalogue.py``'s
synthetic one) the search entries are made twice: as before (jieba words plus the finer words of
its search-engine mode) and as now (plus every Han bigram, see ``plugins/site/search.py``). Each
index is loaded into Material's own search worker (the JavaScript every reader's phone runs) in
headless Chromium, and a list of two- to four-character queries is run against it: common words
of the courses plus substrings sampled at random from the indexed texts, so words that straddle
jieba's cuts are asked for too.

A third row runs the same queries through the site's search as built now: the sharded index
(``plugins/site/search_shards.py``) made from the "after" entries, read by ``assets/weike/search.js``
from a ``file://`` page in the same browser (its size is all the shard files').

Ground truth is plain substring search over each entry's own text (title, text and the hidden
keywords with the zero-width spaces removed), computed here in Python, not by the search. Recall =
ground-truth (query, page) pairs the search returns / all ground-truth pairs. Targets: recall
>= 99 %, index <= 1 MB gzipped per 1,000 courses.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import html
import http.server
import json
import random
import re
import sys
import tempfile
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.catalogue import _WORDS, write_repository  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
COMMON_WORDS = ("手机", "微信", "视频", "通话", "挂号", "拍照", "照片", "健康", "太极", "八段锦", "智能手机",
                "视频通话", "防骗", "支付", "安全", "老年", "社区", "学习", "字体", "放大", "机上", "在手机")
SAMPLED_QUERIES = 300
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")
_ZWSP = "\u200b"


def material_assets() -> Path:
    import material

    return Path(material.__file__).resolve().parent / "templates" / "assets"


def search_config() -> dict:
    """The config MkDocs + Material write for weike's site (language zh, keywords field added)."""
    from weike.plugins.site.search import KEYWORDS_BOOST, KEYWORDS_FIELD, TITLE_WORDS_BOOST, TITLE_WORDS_FIELD

    translations = (material_assets().parent / "partials" / "languages" / "zh.html").read_text(encoding="utf-8")
    separator = json.loads(re.search(r'"search\.config\.separator":\s*("(?:[^"\\]|\\.)*")', translations).group(1))
    return {"lang": ["en"], "separator": separator, "pipeline": ["stemmer"],
            "fields": {"title": {"boost": 1000.0}, "text": {"boost": 1.0}, "tags": {"boost": 1000000.0},
                       KEYWORDS_FIELD: {"boost": KEYWORDS_BOOST}, TITLE_WORDS_FIELD: {"boost": TITLE_WORDS_BOOST}}}


def catalogue_of(root: Path):
    from weike.builder.repository.loading import load_repository
    from weike.plugins.site.catalogue import Catalogue, SiteCourse, site_lectures

    repository = load_repository(root)
    return Catalogue(courses=tuple(SiteCourse(course=c, lectures=site_lectures(c, {})) for c in repository.courses))


def searchable_text(doc: dict) -> str:
    """What a reader could expect to find: every field's text, cuts removed, pieces kept apart."""
    joined = " ".join(doc.get(field, "") for field in ("title", "text", "title_words", "keywords"))
    return html.unescape(joined.replace(_ZWSP, ""))


def queries_for(docs: list[dict], rng: random.Random) -> list[str]:
    runs = [run for doc in docs for run in _HAN_RUN.findall(html.unescape(doc["title"] + " " + doc["text"]).replace(_ZWSP, ""))]
    sampled = set()
    while len(sampled) < SAMPLED_QUERIES and runs:
        run = rng.choice(runs)
        size = rng.randint(2, min(4, len(run)))
        start = rng.randint(0, len(run) - size)
        sampled.add(run[start:start + size])
    words = [w for w in _WORDS if 2 <= len(w) <= 4]
    return list(dict.fromkeys([*COMMON_WORDS, *words, *sorted(sampled)]))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def run_in_material(index: dict, queries: list[str]) -> dict[str, set[str]]:
    """``{query: locations found}`` from Material's search worker in headless Chromium."""
    from playwright.sync_api import sync_playwright

    assets = material_assets()
    worker = next((assets / "javascripts" / "workers").glob("search.*.min.js")).name
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(assets)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/javascripts/workers/")
            found = page.evaluate(
                """async ([url, index, queries]) => {
                    const worker = new Worker(url);
                    const ask = message => new Promise(resolve => {
                        worker.onmessage = event => resolve(event.data); worker.postMessage(message); });
                    await ask({type: 0, data: index});           // SETUP -> READY
                    const found = {};
                    for (const query of queries) {
                        const result = await ask({type: 2, data: query});   // QUERY -> RESULT
                        found[query] = result.data.items.flat().map(item => item.location);
                    }
                    return found;
                }""", [worker, index, queries])
            browser.close()
    finally:
        server.shutdown()
    return {query: set(locations) for query, locations in found.items()}


def run_sharded(docs: list[dict], queries: list[str]) -> tuple[dict[str, set[str]], int, int]:
    """``({query: locations found}, index bytes, gzipped)`` from weike's sharded search in headless Chromium."""
    import shutil

    from playwright.sync_api import sync_playwright

    from weike.plugins.site.search_shards import write_search_shards
    from weike.plugins.site.engine import THEME_DIR

    with tempfile.TemporaryDirectory(prefix="weike-shards-") as folder:
        site = Path(folder)
        (site / "assets" / "weike").mkdir(parents=True)
        shutil.copy(THEME_DIR / "overrides" / "assets" / "weike" / "search.js", site / "assets" / "weike")
        (site / "search").mkdir()
        (site / "search" / "search_index.json").write_text(json.dumps({"docs": docs}, ensure_ascii=False),
                                                          encoding="utf-8")
        size = write_search_shards(site).size
        gz = sum(len(gzip.compress(path.read_bytes())) for path in (site / "search").rglob("*.js"))
        (site / "index.html").write_text(
            '<!doctype html><meta charset="utf-8"><input type="checkbox" id="__search"><form><input class="md-search__input">'
            '</form><div data-weike-search-result><div class="md-search-result__meta"></div>'
            '<ol class="md-search-result__list"></ol></div><script src="assets/weike/search.js"></script>', encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto((site / "index.html").as_uri())
            found = page.evaluate("async queries => { const found = {};"
                                  " for (const q of queries) found[q] = await __weikeSearch.find(q); return found; }", queries)
            browser.close()
    return {query: set(locations) for query, locations in found.items()}, size, gz


def measure(name: str, catalogue, courses: int, rng_seed: int = 7) -> list[tuple]:
    from weike.plugins.site.search import search_entries

    rows = []
    for label, with_bigrams in (("before (jieba words)", False), ("after (+ bigrams)", True)):
        docs = search_entries(catalogue, with_bigrams=with_bigrams)
        index = {"config": search_config(), "docs": docs, "options": {"suggest": False}}
        payload = json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        # The same queries for both variants: sampled from the "after" texts (a superset).
        queries = queries_for(search_entries(catalogue, with_bigrams=True), random.Random(rng_seed))
        truth = {q: {doc["location"] for doc in docs if q in searchable_text(doc)} for q in queries}
        found = run_in_material(index, queries)
        pairs = sum(len(locations) for locations in truth.values())
        hits = sum(len(locations & found[q]) for q, locations in truth.items())
        missed = sorted((q for q, locations in truth.items() if locations - found[q]),
                        key=lambda q: -len(truth[q] - found[q]))
        gz = len(gzip.compress(payload))
        rows.append((name, label, len(queries), pairs, hits, len(payload), gz, gz * 1000 / max(courses, 1), missed))
    # The search as built now: the "after" entries, sharded, in weike's own search.
    found, size, gz = run_sharded(docs, queries)
    pairs = sum(len(locations) for locations in truth.values())
    hits = sum(len(locations & found[q]) for q, locations in truth.items())
    missed = sorted((q for q, locations in truth.items() if locations - found[q]), key=lambda q: -len(truth[q] - found[q]))
    rows.append((name, "sharded (the site)", len(queries), pairs, hits, size, gz, gz * 1000 / max(courses, 1), missed))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", type=int, default=1000, help="synthetic catalogue size (default 1000)")
    args = parser.parse_args()

    rows = []
    demo = catalogue_of(REPO_ROOT)
    rows += measure("demo", demo, len(demo.courses))
    with tempfile.TemporaryDirectory(prefix="weike-recall-") as folder:
        root = Path(folder) / "repo"
        write_repository(root, args.courses)
        rows += measure(f"synthetic {args.courses}", catalogue_of(root), args.courses)

    print()
    print(f"{'catalogue':<16} {'index':<22} {'queries':>7} {'pairs':>7} {'recall':>8} {'index MB':>9} "
          f"{'gzipped MB':>10} {'MB gz/1000 courses':>19}")
    for name, label, queries, pairs, hits, size, gz, per_thousand, missed in rows:
        print(f"{name:<16} {label:<22} {queries:>7} {pairs:>7} {hits / max(pairs, 1):>8.2%} {size / 1e6:>9.2f} "
              f"{gz / 1e6:>10.3f} {per_thousand / 1e6 if 'synthetic' in name else float('nan'):>19.3f}")
        if missed:
            print(f"{'':<16}   missed (some pages): {' '.join(missed[:12])}")
    for name in dict.fromkeys(row[0] for row in rows):
        before, after, sharded = [row for row in rows if row[0] == name]
        print(f"{name}: recall {before[4] / max(before[3], 1):.2%} -> {after[4] / max(after[3], 1):.2%}, "
              f"index gzipped x{after[6] / before[6]:.2f}; sharded: recall {sharded[4] / max(sharded[3], 1):.2%}, "
              f"{sharded[5] / 1e6:.2f} MB in all (a query loads a few of its files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
