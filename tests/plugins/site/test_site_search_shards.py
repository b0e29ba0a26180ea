"""The sharded search index: recall equals substring truth, a query loads only its shards, and the
site never downloads the whole index, in a real headless Chromium (from file:// and from a server)."""

from __future__ import annotations

import html
import json
import random
import re
import shutil
import zlib
from pathlib import Path

import pytest

from benchmarks.catalogue import write_repository
from benchmarks.search_recall import catalogue_of, queries_for
from weike.plugins.site.search import search_entries
from weike.plugins.site.search_shards import normalise, shard_files, write_search_shards
from weike.plugins.site.engine import THEME_DIR

REPO_ROOT = Path(__file__).resolve().parents[3]
SEARCH_JS = THEME_DIR / "overrides" / "assets" / "weike" / "search.js"
#: The dialog markup search.js drives (as partials/search.html writes it).
HARNESS = """<!doctype html><meta charset="utf-8"><input type="checkbox" id="__search">
<form name="weike-search"><input class="md-search__input"></form>
<div class="md-search__scrollwrap"><div class="md-search-result" data-weike-search-result>
<div class="md-search-result__meta"></div><ol class="md-search-result__list"></ol></div></div>
<script src="assets/weike/search.js"></script>"""


def searchable(doc: dict) -> str:
    """Substring truth's text: every field of the entry, markup and zero-width spaces removed."""
    joined = "\n".join(str(doc.get(field, "")) for field in ("title", "text", "title_words", "keywords"))
    return normalise(html.unescape(re.sub(r"<[^>]*>", " ", joined)).replace("\u200b", ""))


def harness(folder: Path, docs: list[dict]) -> Path:
    (folder / "assets" / "weike").mkdir(parents=True)
    shutil.copy(SEARCH_JS, folder / "assets" / "weike" / "search.js")
    (folder / "search").mkdir()
    (folder / "search" / "search_index.json").write_text(json.dumps({"docs": docs}, ensure_ascii=False), encoding="utf-8")
    write_search_shards(folder)
    (folder / "index.html").write_text(HARNESS, encoding="utf-8")
    return folder / "index.html"


def queries(docs: list[dict]) -> list[str]:
    sampled = queries_for(docs, random.Random(11))
    # One character, Latin letters and digits, a query with a space, one found nowhere.
    return [*sampled, "机", "课", "a", "wifi", "1", "12", "手机 拍照", "不存在的字词"]


@pytest.mark.slow
@pytest.mark.parametrize("catalogue", ["demo", "synthetic"])
def test_recall_from_file_urls_equals_substring_truth(catalogue, tmp_path, browser):
    if catalogue == "demo":
        docs = search_entries(catalogue_of(REPO_ROOT))
    else:
        write_repository(tmp_path / "repo", 60)
        docs = search_entries(catalogue_of(tmp_path / "repo"))
    asked = queries(docs)
    truth = {query: sorted({doc["location"] for doc in docs if normalise(query) in searchable(doc)}) for query in asked}
    page = browser.new_page()
    page.goto(harness(tmp_path / "site", docs).as_uri())
    found = page.evaluate("async queries => { const found = {};"
                          " for (const q of queries) found[q] = [...new Set(await __weikeSearch.find(q))].sort();"
                          " return found; }", asked)
    page.close()
    assert sum(map(len, truth.values())) > len(asked)  # the queries do find things
    assert found == truth


def test_shards_follow_the_catalogue_and_hold_only_escaped_script():
    docs = [{"location": f"courses/c{n}/", "title": f"课程{n} &lt;/script&gt;", "text": "手机\u2028视频通话"}
            for n in range(400)]
    files = shard_files(docs)
    manifest = json.loads(files["manifest.js"].decode()[len("__weikeSearch.manifest("):-3])
    assert manifest["entries"] == 400 and manifest["chunks"] == 25
    assert manifest["shards"] > 1 and all(f"p/{n}.js" in files for n in range(manifest["shards"]))
    for data in files.values():
        text = data.decode("utf-8")
        assert "</" not in text and "\u2028" not in text and "\u2029" not in text


@pytest.mark.slow
def test_a_query_loads_only_its_shards_and_a_page_view_loads_no_index(tmp_path, browser, serve):
    write_repository(tmp_path / "repo", 200)
    docs = search_entries(catalogue_of(tmp_path / "repo"))
    harness(tmp_path / "site", docs)
    files = shard_files(docs)
    shards = json.loads(files["manifest.js"].decode()[len("__weikeSearch.manifest("):-3])["shards"]
    url = serve(tmp_path / "site")
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("?")[0][len(url):]))
    page.goto(url)
    page.wait_for_load_state("load")
    assert not [rel for rel in requested if rel.startswith("search/")]  # nothing until the reader searches
    page.locator(".md-search__input").fill("视频通话")
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    page.wait_for_function("() => !/正在查找/.test(document.querySelector('.md-search-result__meta').textContent)")
    expected = {f"search/p/{zlib.crc32(key.encode()) % shards}.js" for key in ("视频", "频通", "通话")}
    loaded = {rel for rel in requested if rel.startswith("search/p/")}
    assert loaded == expected and shards > 10
    assert "search/manifest.js" in requested and "search/search_index.json" not in requested
    chunks = {rel for rel in requested if rel.startswith("search/d/")}
    assert 0 < len(chunks) <= 10  # the first screen's store chunks, not the store
    shown = page.locator(".md-search-result__item h1").all_inner_texts()
    assert shown and all("\u200b" not in title for title in shown)
    # A query whose pairs are found nowhere says so (the reader is not left with "正在查找…").
    page.locator(".md-search__input").fill("不存在的字词")
    page.wait_for_function("() => /没有找到/.test(document.querySelector('.md-search-result__meta').textContent)",
                           timeout=15_000)
    page.close()


@pytest.mark.slow
def test_the_built_site_never_fetches_the_whole_index(built_site, serve, browser):
    built = built_site()
    url = serve(built.site)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("?")[0][len(url):]))
    page.goto(url)
    page.wait_for_load_state("load")
    page.locator(".md-search__input").fill("拍照")
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    assert "search/search_index.json" not in requested
    assert "search/manifest.js" in requested
    page.close()
