"""No page, stylesheet or script of the built site makes a reader's browser contact another host.

Google Fonts, CDNs and the like are slow or blocked in China, and a public-service site should
not report its readers to third parties. Pages and stylesheets may name no outside host at all.
Material's scripts contain a few absolute URLs; each is listed below with the reason it is never
requested on this site, and the test checks that reason holds. A new URL in a Material upgrade
fails the test until someone has looked at it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.plugins.site.test_site_build import html_pages, parse
from tests.plugins.site.conftest import build_site_once, page_scripts

pytestmark = pytest.mark.slow

OWN_SITE = "https://weike.example.gov.cn/county/"
OWN_HOST = urlsplit(OWN_SITE).netloc

#: Absolute URLs inside Material's scripts, and why the site never requests them.
INERT_SCRIPT_URLS = {
    # Loaded only when the browser lacks ResizeObserver; main.html loads our own copy first.
    "https://unpkg.com/resize-observer-polyfill": "polyfill",
    # Loaded only for diagrams in <pre class="mermaid">: generated pages have none, notes lose classes.
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js": "mermaid",
    # Repository facts in the header, only with repo_url set in mkdocs.yml.
    "https://api.github.com/users/": "repo_url",
    "https://api.github.com/repos/": "repo_url",
    # Licence and comment text in the minified bundles.
    "https://clipboardjs.com/": "text",
    "https://bit.ly/2s3ChXG": "text",
    "http://lunrjs.com": "text",
    "http://tartarus.org/~martin/PorterStemmer/js.txt": "text",
    # Comments in the vendored ResizeObserver polyfill.
    "https://drafts.fxtf.org/geometry/": "text",
    # xAPI identifiers in the learning records' data (verbs, activity types, extensions): names, never fetched.
    "http://adlnet.gov/expapi/": "xapi",
    "https://w3id.org/xapi/": "xapi",
    # The records' device-id home page without site_url: a reserved name (RFC 2606), never fetched.
    "https://weike.invalid/": "xapi",
}
_URL_IN_SCRIPT = re.compile(r"""(?:https?:)?//[A-Za-z0-9.\-]+\.[A-Za-z]{2,}[^\s"'`)<>]*""")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


def outside(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "mailto", "tel", "blob") or not (parts.scheme or url.startswith("//")):
        return False
    return parts.netloc != OWN_HOST


@pytest.fixture(scope="module")
def site(tmp_path_factory, media, cover_jpeg):
    # A module-wide build (the checks below only read it), with site_url so that canonical
    # links, the feed link and the QR codes are present and checked too.
    built = build_site_once(tmp_path_factory.mktemp("hosts") / "repo", media, cover_jpeg, site_url=OWN_SITE)
    assert built.result.built == ["demo", "photo"], built.result.diagnostics
    return built.site


def test_pages_reference_no_outside_host(site):
    found = []
    for page in html_pages(site):
        refs = parse(page)
        found += [f"{page.relative_to(site)}: <{tag} {attr}={url}>" for tag, attr, url in refs.urls if outside(url)]
        text = page.read_text(encoding="utf-8")
        found += [f"{page.relative_to(site)}: url({m})" for m in re.findall(r"url\(\s*['\"]?([^'\")\s]+)", text)
                  if outside(m)]
        # The conditions that keep Material's scripted URLs inert hold on every page.
        assert "mermaid" not in text, page
        assert "md-source" not in text, page  # no repo_url, so no GitHub API calls
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
    assert not found, found


def test_stylesheets_reference_no_outside_host(site):
    sheets = sorted(site.rglob("*.css"))
    assert sheets
    found = []
    for sheet in sheets:
        for match in _CSS_URL.finditer(sheet.read_text(encoding="utf-8")):
            url = match.group(1) or match.group(2)
            if outside(url):
                found.append(f"{sheet.relative_to(site)}: {url}")
    assert not found, found


def scripts_pages_load(site: Path) -> set[Path]:
    """The scripts pages load (<script src>), plus the search worker they start."""
    loaded: set[Path] = set()

    def local(page: Path, url: str) -> Path:
        if url.startswith("/"):  # 404.html links from the site_url path, wherever it is shown
            return (site / url.removeprefix(urlsplit(OWN_SITE).path)).resolve()
        return (page.parent / url).resolve()

    for page in html_pages(site):
        for tag, attr, url in parse(page).urls:
            if tag == "script" and attr == "src":
                loaded.add(local(page, url))
        text = page.read_text(encoding="utf-8")
        # Material's bundle and the scripts after it, written after the stylesheets (main.html).
        loaded.update(local(page, url) for url in page_scripts(text))
        for worker in re.findall(r'"search": "([^"]+)"', text):
            loaded.add(local(page, worker))
    loaded.add((site / "assets/weike/vendor/resize-observer-polyfill-1.5.1.js").resolve())
    return loaded


def test_scripts_request_no_outside_host(site):
    scripts = scripts_pages_load(site)
    assert any(p.name.startswith("bundle.") for p in scripts) and any(p.parent.name == "workers" for p in scripts)
    unexpected = []
    for script in sorted(scripts):
        assert script.is_file(), script
        for url in _URL_IN_SCRIPT.findall(script.read_text(encoding="utf-8")):
            if url.startswith("//") and not url.startswith("//" + OWN_HOST):
                continue  # a "//" comment in minified code, not a URL
            if outside(url) and not any(url.startswith(known) for known in INERT_SCRIPT_URLS):
                unexpected.append(f"{script.relative_to(site)}: {url}")
    assert not unexpected, unexpected


#: Pages open at once in the browser test.
TABS = 6


def test_every_page_in_chromium_asks_only_its_own_origin(site, serve, browser):
    """Every page, opened in Chromium from an address that is not site_url, at a path prefix
    (a mirror, a USB stick's web server), as a phone without ResizeObserver (so the polyfill path
    runs too): any request to another origin is blocked and fails the test."""
    base = serve(site.parent) + site.name + "/"
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
    assert urlsplit(base).netloc != OWN_HOST and urlsplit(base).path != "/"
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script("delete window.ResizeObserver;")
    outside_requests: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(origin + "/"):
            route.continue_()
        else:
            outside_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    pages = html_pages(site)
    assert len(pages) > 20 and site / "404.html" in pages
    try:
        # A few tabs at once: each waits out its own half second of network quiet in parallel.
        for batch in range(0, len(pages), TABS):
            opened = []
            for path in pages[batch:batch + TABS]:
                tab = context.new_page()
                tab.goto(base + path.relative_to(site).as_posix(), wait_until="commit")
                opened.append((path, tab))
            for path, tab in opened:
                tab.wait_for_load_state("networkidle")
                if path.name != "404.html":  # 404.html links from site_url's path: it is shown at any URL
                    assert tab.evaluate("typeof window.ResizeObserver") == "function", path
                tab.close()
    finally:
        context.close()
    assert outside_requests == []
