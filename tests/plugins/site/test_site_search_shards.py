"""The sharded search index: recall equals substring truth, a query loads only its shards, and the
site never downloads the whole index, in a real headless Chromium (from file:// and from a server)."""

from __future__ import annotations

import html
import json
import os
import random
import re
import shutil
import zlib
from pathlib import Path

import pytest

from benchmarks.catalogue import write_repository
from benchmarks.search_recall import catalogue_of, queries_for
from weike.plugins.site.search import search_entries
from weike.plugins.site.search_shards import (
    DIGITS,
    READER_SCRIPT,
    encode_postings,
    normalise,
    shard_files,
    write_search_shards,
)
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


def decode_postings(encoded: str) -> list[int]:
    """What search.js reads from a key's postings: ``entry << 1 | in title``, entries ascending."""
    values, number, value, scale = [], 0, 0, 1
    for char in encoded:
        digit = DIGITS.index(char)
        value += (digit & 31) * scale
        if digit & 32:
            scale *= 32
            continue
        number += value >> 1
        values.append(number << 1 | value & 1)
        value, scale = 0, 1
    return values


def test_postings_are_variable_length_deltas_with_the_title_bit():
    # entries 0 (title), 5, 40 (title), 2000: deltas x2 (+1 in title) 1, 10, 71, 3920 -> 1 | A | d2 | mw3
    assert encode_postings([0 << 1 | 1, 5 << 1, 40 << 1 | 1, 2000 << 1]) == "1Ad2mw3"
    rng = random.Random(5)
    numbers = sorted(rng.sample(range(200_000), 3000))
    values = [number << 1 | rng.randrange(2) for number in numbers]
    assert decode_postings(encode_postings(values)) == values


def test_the_reader_script_carries_the_manifest_once_in_a_new_file(tmp_path):
    """The manifest rides in search.js (no request of its own); a rebuild replaces it, never appends a
    second; the file is written anew, so a hard link to it elsewhere (the offline edition) is left alone."""
    docs = [{"location": f"courses/c{n}/", "title": f"课程{n}", "text": "手机视频通话"} for n in range(40)]
    harness(tmp_path / "site", docs)
    reader = tmp_path / "site" / READER_SCRIPT
    os.link(reader, tmp_path / "linked.js")
    linked = reader.read_bytes()
    (tmp_path / "site/search/search_index.json").write_text(json.dumps({"docs": docs[:30]}), encoding="utf-8")
    write_search_shards(tmp_path / "site")
    script = reader.read_bytes()
    manifest = shard_files(docs[:30])["manifest.js"]
    assert script.startswith(SEARCH_JS.read_bytes().rstrip(b"\n")) and script.endswith(manifest)
    assert script.count(b"__weikeSearch.manifest(") == 1
    assert (tmp_path / "linked.js").read_bytes() == linked != script


@pytest.mark.slow
def test_a_query_typed_before_the_script_ran_is_answered_without_a_manifest_request(tmp_path, browser, serve):
    write_repository(tmp_path / "repo", 20)
    harness(tmp_path / "site", search_entries(catalogue_of(tmp_path / "repo")))
    (tmp_path / "site/index.html").write_text(HARNESS.replace('class="md-search__input"',
                                                              'class="md-search__input" value="手机"'), encoding="utf-8")
    url = serve(tmp_path / "site")
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("?")[0][len(url):]))
    page.goto(url)
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    assert [rel for rel in requested if rel.startswith("search/p/")]
    assert "search/manifest.js" not in requested
    page.close()


@pytest.mark.slow
def test_a_query_typed_before_the_script_ran_asks_for_its_shards_before_the_page_goes_on(tmp_path, browser, serve):
    """On a phone's link the page's images and late scripts take the six connections a host gets:
    a query typed while the page loads has its shards asked for as soon as search.js (with its
    manifest) has run, before the parser reaches anything after it, and at high priority."""
    write_repository(tmp_path / "repo", 20)
    harness(tmp_path / "site", search_entries(catalogue_of(tmp_path / "repo")))
    # A script's load event fires right after it ran (and its microtasks), before any other task.
    count = "window.__shardsWhenRun = document.querySelectorAll('script[src*=&quot;search/p/&quot;]').length"
    page_html = HARNESS.replace('class="md-search__input"', 'class="md-search__input" value="手机"').replace(
        'src="assets/weike/search.js">', f'src="assets/weike/search.js" onload="{count}">')
    (tmp_path / "site/index.html").write_text(page_html, encoding="utf-8")
    url = serve(tmp_path / "site")
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    priorities: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent",
           lambda event: priorities.setdefault(event["request"]["url"].split("?")[0][len(url):], event["request"]["initialPriority"]))
    page.goto(url)
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    assert page.evaluate("window.__shardsWhenRun") > 0
    index = {rel: priority for rel, priority in priorities.items() if rel.startswith(("search/p/", "search/d/"))}
    assert any(rel.startswith("search/d/") for rel in index) and set(index.values()) == {"High"}, index
    context.close()


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
    assert "search/manifest.js" not in requested and "search/search_index.json" not in requested
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
def test_a_short_lists_store_chunks_are_asked_for_while_the_other_shards_load(tmp_path, browser, serve):
    """视频通话: 频通's list is short, so its first screen's chunks are requested while the shards of
    视频 and 通话 (held back here) have not arrived; the result then shows as usual."""
    write_repository(tmp_path / "repo", 200)
    docs = search_entries(catalogue_of(tmp_path / "repo"))
    harness(tmp_path / "site", docs)
    shards = json.loads(shard_files(docs)["manifest.js"].decode()[len("__weikeSearch.manifest("):-3])["shards"]
    shard = {key: zlib.crc32(key.encode()) % shards for key in ("视频", "频通", "通话")}
    rare = (tmp_path / f"site/search/p/{shard['频通']}.js").read_text(encoding="utf-8")
    rare_list = decode_postings(json.loads(rare[rare.index(",") + 1:-3])["频通"])
    assert 0 < len(rare_list) <= 20 and len({shard["视频"], shard["通话"]} - {shard["频通"]}) == 2
    held = []
    url = serve(tmp_path / "site")
    page = browser.new_page()
    for key in ("视频", "通话"):
        page.route(f"{url}search/p/{shard[key]}.js*", lambda route: held.append(route))
    page.goto(url)
    with page.expect_request(lambda request: "/search/d/" in request.url, timeout=10_000):
        page.locator(".md-search__input").fill("视频通话")
    assert len(held) == 2  # both common keys' shards still held back
    for route in held:
        route.continue_()
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    page.close()


@pytest.mark.slow
def test_the_first_result_shows_while_the_rest_of_the_first_screens_chunks_load(tmp_path, browser, serve):
    write_repository(tmp_path / "repo", 200)
    docs = search_entries(catalogue_of(tmp_path / "repo"))
    harness(tmp_path / "site", docs)
    manifest = json.loads(shard_files(docs)["manifest.js"].decode()[len("__weikeSearch.manifest("):-3])
    lists = []
    for key in ("视频", "频通", "通话"):
        n = zlib.crc32(key.encode()) % manifest["shards"]
        text = (tmp_path / f"site/search/p/{n}.js").read_text(encoding="utf-8")
        lists.append({value >> 1: value & 1 for value in decode_postings(json.loads(text[text.index(",") + 1:-3])[key])})
    found = {number: min(each[number] for each in lists) for number in lists[0] if all(number in each for each in lists)}
    ranked = sorted(found, key=lambda number: (-found[number], number))
    first_chunk = ranked[0] // manifest["chunk"]
    assert len({number // manifest["chunk"] for number in ranked[:10]}) > 1  # the first screen spans chunks
    held = []
    url = serve(tmp_path / "site")
    page = browser.new_page()
    page.route(f"{url}search/d/*", lambda route: held.append(route))
    page.goto(url)
    page.locator(".md-search__input").fill("视频通话")
    page.wait_for_function("() => document.querySelectorAll('script[src*=\"search/d/\"]').length > 1")
    page.wait_for_function(f"() => document.querySelector('script[src*=\"search/d/{first_chunk}.js\"]')")
    first = [route for route in held if f"/search/d/{first_chunk}.js" in route.request.url]
    assert len(first) == 1 and len(held) > 1
    first[0].continue_()
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)  # the others still held
    assert docs[ranked[0]]["location"] in page.locator(".md-search-result__link").first.get_attribute("href")
    for route in held:
        if route is not first[0]:
            route.continue_()
    page.close()


@pytest.mark.slow
def test_the_built_site_never_fetches_the_whole_index(shared_site, serve, browser):
    built = shared_site
    url = serve(built.site)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("?")[0][len(url):]))
    page.goto(url)
    page.wait_for_load_state("load")
    page.locator(".md-search__input").fill("拍照")
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    assert "search/search_index.json" not in requested
    assert "search/manifest.js" not in requested  # search.js carries it
    page.close()


@pytest.mark.slow
def test_the_frame_loads_the_stylesheets_first_and_materials_bundle_still_runs(shared_site, serve, browser):
    """Material's bundle and weike's scripts are written after the stylesheets (the preload scanner does
    not fetch them beside the stylesheets on a phone's link); search.js is preloaded beside the stylesheets.
    All still run: Material's (document$), weike.js's (the text-size buttons), search.js's (the dialog)."""
    built = shared_site
    home = (built.site / "index.html").read_text(encoding="utf-8")
    assert not re.search(r'<script src="[^"]*bundle\.[0-9a-f]+\.min\.js"', home)
    # search.js is preloaded, and no page waits for it (no plain tag names it).
    assert re.search(r'<link rel="preload" as="script" href="assets/weike/search\.js"', home)
    assert not re.search(r'<script[^>]*search\.js', home)
    url = serve(built.site)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(url)
    page.wait_for_load_state("load")
    timing = page.evaluate("""() => Object.fromEntries(performance.getEntriesByType("resource")
        .map(e => [e.name.split("/").pop(), [e.startTime, e.responseEnd]]))""")
    stylesheets_in = max(end for name, (_start, end) in timing.items() if name.endswith(".css"))
    scripts = [name for name in timing if name.startswith("bundle.") or name in ("weike.js", "progress.js")]
    assert len(scripts) == 3 and all(timing[name][0] >= stylesheets_in for name in scripts)
    assert page.evaluate("() => typeof window.document$ === 'object'")
    size = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    page.locator("[data-weike-text-step='1']").first.click()
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") != size
    page.locator(".md-search__input").fill("拍照")
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    page.close()


#: A reader who types the moment the search box exists, while the page is still loading.
EARLY_READER = """query => new MutationObserver((records, observer) => {
    const input = document.querySelector("input.md-search__input");
    if (input) { observer.disconnect(); input.value = query; input.dispatchEvent(new Event("input", {bubbles: true})); }
}).observe(document, {childList: true, subtree: true})"""


@pytest.mark.slow
def test_a_query_typed_while_the_page_loads_asks_for_its_shards_before_materials_bundle(built_site, serve, browser):
    """On a phone's link the page's late scripts and images take the six connections a host gets:
    a query typed while the page loads runs in the parser's flow (search.js written as a plain tag),
    so its shards are asked for before Material's bundle, and answered; a page nobody typed into
    runs search.js async, and search still works once it has loaded."""
    built = built_site()
    url = serve(built.site)
    for typed in (True, False):
        context = browser.new_context(viewport={"width": 390, "height": 844})
        if typed:
            context.add_init_script(f"({EARLY_READER})({json.dumps('拍照')})")
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        order: list[str] = []
        cdp.on("Network.requestWillBeSent", lambda event: order.append(event["request"]["url"].split("?")[0][len(url):]))
        page.goto(url)
        if not typed:
            page.wait_for_load_state("load")
            page.locator(".md-search__input").fill("拍照")
        page.locator(".md-search-result__item").first.wait_for(state="attached", timeout=15_000)
        bundle = next(n for n, rel in enumerate(order) if re.search(r"bundle\.[0-9a-f]+\.min\.js$", rel))
        shards = [n for n, rel in enumerate(order) if rel.startswith("search/p/")]
        assert shards and (max(shards) < bundle) == typed, order
        assert order.count("assets/weike/search.js") == 1  # the preload, used by either tag
        context.close()


def test_entries_parts_made_side_by_side_equal_those_made_here(tmp_path, monkeypatch):
    """A cold build's entries (none remembered) have their parts made by worker processes; the
    files are those one process makes, and the parts are remembered as one process remembers them."""
    from weike.plugins.site import search_shards, workers

    docs = [{"location": f"courses/c{n % 40}/l{n}/", "title": f"课程{n % 7} 手机&amp;视频 {n}",
             "text": f"<p>第{n}讲：微信视频通话 WiFi {n * 13}</p>", "title_words": "手机 视频", "keywords": f"老年 {n % 5}"}
            for n in range(300)]
    docs.append(dict(docs[3]))  # the same entry twice: made once
    made_by: list[int] = []
    fork_worker = workers._fork_worker
    monkeypatch.setattr(workers, "_fork_worker", lambda items, work: made_by.append(len(items)) or fork_worker(items, work))
    monkeypatch.setattr(search_shards, "ENTRIES_PER_PROCESS", 50)
    monkeypatch.setattr(workers, "available_cores", lambda: 3)
    shared_parts = search_shards.RememberedParts(tmp_path / "shared.json", read=False)
    shared = shard_files(docs, parts=shared_parts)
    assert len(made_by) == 2 and sum(made_by) < 300 and shared_parts.made == 300
    monkeypatch.setattr(workers, "available_cores", lambda: 1)
    alone_parts = search_shards.RememberedParts(tmp_path / "alone.json", read=False)
    assert shard_files(docs, parts=alone_parts) == shared == shard_files(docs)

    def remembered(parts) -> dict:  # (an entry's keys in any order: a set's)
        return {digest: (stored, set(in_title), set(rest)) for digest, (stored, in_title, rest) in parts.used.items()}

    assert remembered(alone_parts) == remembered(shared_parts)


def test_an_entrys_parts_are_made_by_their_definition_for_any_text():
    """What the index holds of an entry is its definition: plain text is markup replaced by a space,
    entities decoded, zero-width spaces dropped and every run of white space (``\\s``: every Unicode
    space) one space; the keys are those of the normalised title, and of the normalised text and
    hidden words, each taken whole (so a title's end never meets its text's start in one
    normalisation, whatever the characters: combining marks, final sigma, compatibility forms)."""
    from weike.plugins.site.search_shards import entry_parts, index_keys, normalise, plain, store_entry

    def defined_plain(text: str) -> str:
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", text)).replace("\u200b", "")).strip()

    spaces = [chr(code) for code in range(0x3100) if chr(code).isspace()]
    alphabet = [*spaces, *"aAΣσİ中文가\u1100\u1161ﬁ①Å\u212b'.:<>&;", "\u0301", "\u0308", "\u00a8", "\u0345", "&amp;",
                "&lt;b&gt;", "<i>", "&#931;", "&#x200b;", "\u200b", "&nbsp;"]
    rng = random.Random(5)

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))

    for _ in range(20_000):
        doc = {"location": text(), "title": text(), "text": text(), "title_words": text(), "keywords": text()}
        title, body = defined_plain(doc["title"]), defined_plain(doc["text"])
        shown = normalise(f"{title}\n{body}")
        hidden = [word for word in defined_plain(f"{doc['title_words']} {doc['keywords']}").split()
                  if normalise(word) not in shown]
        entry = [doc["location"], title, body, " ".join(dict.fromkeys(hidden))]
        assert store_entry(doc) == entry and plain(doc["text"]) == body
        stored, in_title, rest = entry_parts(doc)
        assert stored == entry
        assert set(in_title) == index_keys(title) and len(in_title) == len(set(in_title))
        assert set(rest) == index_keys(f"{body}\n{entry[3]}") - index_keys(title)


def reference_shard_files(docs: list[dict]) -> dict[str, bytes]:
    """The sharded index as first written, one entry and one key at a time (what the tuned
    :func:`shard_files` must equal byte for byte)."""
    from weike.plugins.site.search_shards import CHUNK, FORMAT, SHARD_BYTES, index_keys, script_text, shard_of, store_entry

    def script(call: str, *values) -> bytes:
        text = script_text(",".join(json.dumps(value, ensure_ascii=False, separators=(",", ":")) for value in values))
        return f"__weikeSearch.{call}({text});\n".encode("utf-8")

    stored, postings = [], {}
    for number, doc in enumerate(docs):
        entry = store_entry(doc)
        stored.append(entry)
        in_title = index_keys(entry[1])
        for key in in_title:
            postings.setdefault(key, []).append(number << 1 | 1)
        for key in index_keys(f"{entry[2]}\n{entry[3]}") - in_title:
            postings.setdefault(key, []).append(number << 1)
    encoded = {}
    for key, values in postings.items():
        previous, digits = 0, []
        for value in values:
            delta = (value >> 1) - previous
            number, previous = delta << 1 | value & 1, value >> 1
            while True:
                digit, number = number & 31, number >> 5
                digits.append(DIGITS[digit | 32 if number else digit])
                if not number:
                    break
        encoded[key] = "".join(digits)
    shards = max(1, round(sum(len(key.encode("utf-8")) + len(value) + 6 for key, value in encoded.items()) / SHARD_BYTES))
    by_shard = [{} for _ in range(shards)]
    for key in sorted(encoded):
        by_shard[shard_of(key, shards)][key] = encoded[key]
    files = {f"p/{n}.js": script("p", n, shard) for n, shard in enumerate(by_shard)}
    chunks = (len(stored) + CHUNK - 1) // CHUNK
    for n in range(chunks):
        files[f"d/{n}.js"] = script("d", n, stored[n * CHUNK:(n + 1) * CHUNK])
    import hashlib

    version = hashlib.sha256(b"".join(files[name] for name in sorted(files))).hexdigest()[:16]
    files["manifest.js"] = script("manifest", {"format": FORMAT, "shards": shards, "chunk": CHUNK, "chunks": chunks,
                                               "entries": len(stored), "version": version})
    return files


def hostile_docs(count: int) -> list[dict]:
    """Entries of hostile text: every white space, markup, entities, combining marks, compatibility
    forms, final sigma, script closers, line separators, NULs, fields of other types or missing."""
    spaces = [chr(code) for code in range(0x3100) if chr(code).isspace()]
    alphabet = [*spaces, *"aAΣσİ中文手机视频가\u1100\u1161ﬁ①Å\u212b'.:<>&;\"\\/", "\u0301", "\u0308", "\u00a8", "\u0345",
                "&amp;", "&lt;b&gt;", "<i>", "</script>", "&#931;", "&#x200b;", "&#10;", "\u200b", "&nbsp;",
                "\u2028", "\u2029", "\0", "课程：手机", "手机视频"]
    rng = random.Random(7)

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))

    docs = [{"location": text(), "title": text(), "text": text(), "title_words": text(), "keywords": text()}
            for _ in range(count)]
    return [*docs, dict(docs[5]), {"title": 5, "text": None, "keywords": ["手机"]}, {}]


@pytest.mark.parametrize("catalogue", ["synthetic", "hostile"])
def test_the_files_equal_those_of_the_entries_taken_one_key_at_a_time(catalogue, tmp_path):
    """The tuned shards (keys in C-level maps, postings filled over every entry at once, parts
    remembered as they were made) are byte for byte those of the index's definition, made one
    entry and one key at a time: on a real catalogue's entries and on hostile text, with no parts,
    with parts made now, and with parts read back from the file an earlier build wrote."""
    from weike.plugins.site.search_shards import RememberedParts

    if catalogue == "synthetic":
        write_repository(tmp_path / "repo", 40)
        docs = search_entries(catalogue_of(tmp_path / "repo"))
    else:
        docs = hostile_docs(1500)
    expected = reference_shard_files(docs)
    assert shard_files(docs) == expected
    made_now = RememberedParts(tmp_path / "parts.json")
    assert shard_files(docs, parts=made_now) == expected and made_now.made == len({json.dumps(d) for d in docs})
    made_now.save()
    read_back = RememberedParts(tmp_path / "parts.json")
    assert shard_files(docs, parts=read_back) == expected and read_back.made == 0
    mtime = (tmp_path / "parts.json").stat().st_mtime_ns
    read_back.save()  # every entry remembered: the file is not written again
    assert (tmp_path / "parts.json").stat().st_mtime_ns == mtime
    fewer = RememberedParts(tmp_path / "parts.json")
    assert shard_files(docs[10:], parts=fewer) == reference_shard_files(docs[10:]) and fewer.made == 0
    fewer.save()  # fewer entries: written, and holds only those
    assert len(json.loads((tmp_path / "parts.json").read_bytes())["parts"]) == len({json.dumps(d) for d in docs[10:]})


def test_normalise_is_nfkc_then_lower_case_for_any_text():
    """The full-width punctuation replaced before NFKC changes nothing of its result, whatever
    surrounds it: combining marks after it, other compatibility forms, final sigma."""
    import unicodedata

    from weike.plugins.site.search_shards import normalise

    alphabet = [*"：，（）；！？:,()中文ΣσAa ﬁ①Å\u212b가\u1100\u1161", "\u0301", "\u0308", "\u0338", "\u0345", "\u00a8",
                "\u3000", "\uff21", "\uff41", "\uff10"]
    rng = random.Random(3)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert normalise(text) == unicodedata.normalize("NFKC", text).lower()
