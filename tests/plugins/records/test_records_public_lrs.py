"""The public site sends straight to an LRS (``records.public_lrs``), with a write-only key that
is published in its pages, and nothing else changes: the only new host a page contacts is that
LRS, only from the public site's own origin (site_url), never a mirror, a station or file://.

Tested in Chromium against a real Ralph LRS that answers the CORS preflight for exactly the
site's origin (Ralph's own ``RUNSERVER_CORS_ALLOW_ORIGINS``) and enforces scopes, so the
published key can write statements but not read them.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.conftest import serve_in_thread
from tests.plugins.records.conftest import stop
from tests.plugins.records.test_records_lrs import KEY, SECRET, _free_port, add_lrs_user, ralph, start_lrs  # noqa: F401
from tests.plugins.site.test_site_hosts import INERT_SCRIPT_URLS, _URL_IN_SCRIPT, scripts_pages_load
from weike.plugins.records.statements import VERB_COMPLETED, VERB_LAUNCHED, statement_problems
from tests.plugins.records.conftest import records_facts

pytestmark = pytest.mark.slow
PUBLIC_KEY, PUBLIC_SECRET = "weike-public-write", "public-but-write-only"
LECTURE = "courses/demo/01-lecture-1/"


def public_lrs_yml(site_url: str, endpoint: str, *, key: str = PUBLIC_KEY, secret: str = PUBLIC_SECRET,
                   station: str = "") -> str:
    return (f"site_url: {site_url}\nrecords:\n  public_lrs:\n    endpoint: {endpoint}\n    key: {key}\n"
            f"    secret: {secret}\n{station}")




def test_the_pages_name_exactly_one_more_host_the_public_lrs(built_site):
    site_url, endpoint = "https://weike.example.gov.cn/county/", "https://lrs.example.cn:8443/xAPI"
    built = built_site(files={"weike.yml": public_lrs_yml(site_url, endpoint)})
    assert not [d for d in built.result.diagnostics if d.code.startswith("E")], built.result.diagnostics
    public = records_facts(built.site)["publicLrs"]
    assert public == {"endpoint": endpoint + "/", "siteOrigin": "https://weike.example.gov.cn",
                      "authorization": "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{PUBLIC_SECRET}".encode()).decode()}
    own, lrs = urlsplit(site_url).netloc, urlsplit(endpoint).netloc
    found = set()
    for script in scripts_pages_load(built.site):
        for url in _URL_IN_SCRIPT.findall(script.read_text(encoding="utf-8")):
            host = urlsplit(url if not url.startswith("//") else "https:" + url).netloc
            if url.startswith("//") or host == own or any(url.startswith(known) for known in INERT_SCRIPT_URLS):
                continue
            found.add(host)
    assert found == {lrs}


def test_without_public_lrs_the_pages_name_no_lrs(built_site):
    built = built_site(files={"weike.yml": "site_url: https://weike.example.gov.cn/\nrecords:\n  lrs:\n"
                                           "    endpoint: https://lrs.example.cn/xAPI/\n    key: station\n"
                                           "    secret: station-secret\n"})
    assert "publicLrs" not in records_facts(built.site)
    text = (built.site / "assets/records/catalogue.js").read_text(encoding="utf-8")
    assert "lrs.example.cn" not in text and "station-secret" not in text


@pytest.mark.parametrize("yml, reason", [
    # The station's forwarding key, in the file or in the environment, is never published.
    (public_lrs_yml("https://w.example.cn/", "https://lrs.example.cn/xAPI/", key="station", secret="s3",
                    station="  lrs:\n    endpoint: https://lrs.example.cn/xAPI/\n    key: station\n"), "key"),
    (public_lrs_yml("https://w.example.cn/", "https://lrs.example.cn/xAPI/", key="public", secret="from-env",
                    station="  lrs:\n    endpoint: https://lrs.example.cn/xAPI/\n    key: station\n"), "secret"),
    # Without site_url the pages could not tell the public site from a mirror.
    ("records:\n  public_lrs:\n    endpoint: https://lrs.example.cn/xAPI/\n    key: p\n    secret: q\n", "site_url"),
])
def test_the_station_key_is_never_published(built_site, monkeypatch, yml, reason):
    monkeypatch.setenv("WEIKE_LRS_SECRET", "from-env")
    built = built_site(files={"weike.yml": yml})
    codes = [(d.code, d.message) for d in built.result.diagnostics if d.code == "E411"]
    assert codes and reason in codes[0][1], built.result.diagnostics
    text = (built.site / "assets/records/catalogue.js").read_text(encoding="utf-8") \
        if (built.site / "assets/records/catalogue.js").exists() else ""
    assert "publicLrs" not in text and "from-env" not in text and "s3" not in text


def _serve_site(folder, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    serve_in_thread(server)
    return server


def _at_lrs(folder) -> list[dict]:
    """Every statement Ralph's file back end holds (JSON lines), whoever's authority."""
    found = []
    for path in sorted((folder / "data").iterdir()):
        if path.is_file():
            found += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return found


def _wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_public_site_sends_to_the_lrs_through_cors(ralph, built_site, browser, tmp_path):  # noqa: F811
    site_port, lrs_port = _free_port(), _free_port()
    site_origin, lrs_origin = f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{lrs_port}"
    mirror_origin = f"http://localhost:{site_port}"  # the same files at another origin
    built = built_site(files={"weike.yml": public_lrs_yml(site_origin + "/", lrs_origin + "/xAPI/")})
    lrs_folder = tmp_path / "lrs"
    lrs_folder.mkdir()
    add_lrs_user(ralph, lrs_folder, KEY, SECRET, "all")
    add_lrs_user(ralph, lrs_folder, PUBLIC_KEY, PUBLIC_SECRET, "statements/write", mbox="mailto:site@example.org")
    # CORS for the site's origin only; scopes enforced (Ralph needs authority restriction for that).
    lrs = start_lrs(ralph, lrs_folder, lrs_port, RUNSERVER_CORS_ALLOW_ORIGINS=json.dumps([site_origin]),
                    LRS_RESTRICT_BY_AUTHORITY="true", LRS_RESTRICT_BY_SCOPES="true")
    server = _serve_site(built.site, site_port)
    context = browser.new_context()
    requested: list[str] = []

    allowed = (site_origin + "/", mirror_origin + "/", lrs_origin + "/")

    # Watched, not intercepted: with any route in place Playwright answers every CORS preflight
    # itself, and the test would no longer see Ralph's. Chromium's own preflight meets Ralph's answer.
    context.on("request", lambda request: requested.append(f"{request.method} {request.url}"))
    try:
        # The published key writes but cannot read.
        token = base64.b64encode(f"{PUBLIC_KEY}:{PUBLIC_SECRET}".encode()).decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(
                lrs_origin + "/xAPI/statements", headers={"X-Experience-API-Version": "1.0.3",
                                                          "Authorization": f"Basic {token}"}), timeout=30)
        assert refused.value.code in (401, 403)

        # A mirror of the site (another origin: "localhost") keeps its statements on the device.
        mirror = context.new_page()
        mirror.goto(f"{mirror_origin}/{LECTURE}")
        mirror.evaluate("document.querySelector('video').play()")
        mirror.wait_for_function("document.querySelector('video').ended", timeout=60_000)
        kept = _wait_for(lambda: [s for s in mirror.evaluate(
            "JSON.parse(localStorage.getItem('weike-records:queue') || '[]')") if s["verb"]["id"] == VERB_COMPLETED],
            "completed kept on the mirror's device")
        assert kept

        # The public site: launched and completed reach the LRS, the queue empties.
        page = context.new_page()
        page.goto(f"{site_origin}/{LECTURE}")
        page.evaluate("document.querySelector('video').play()")
        page.wait_for_function("document.querySelector('video').ended", timeout=60_000)
        device = page.evaluate("JSON.parse(localStorage.getItem('weike-records:device'))")
        mine = _wait_for(lambda: [s for s in _at_lrs(lrs_folder) if s["actor"]["account"]["name"] == device
                                  and s["verb"]["id"] == VERB_COMPLETED], "completed at the LRS")
        _wait_for(lambda: page.evaluate("(localStorage.getItem('weike-records:queue') || '[]') === '[]'"),
                  "the queue emptied")
        at_lrs = [s for s in _at_lrs(lrs_folder) if s["actor"]["account"]["name"] == device]
        assert {s["verb"]["id"] for s in at_lrs} >= {VERB_LAUNCHED, VERB_COMPLETED} and len(mine) == 1
        assert len({s["id"] for s in at_lrs}) == len(at_lrs)
        for statement in at_lrs:
            assert statement_problems({k: v for k, v in statement.items() if k not in ("stored", "authority")}) == []
        assert mine[0]["object"]["id"] == f"{site_origin}/{LECTURE}"
        # Nothing from the mirror reached the LRS; no page asked any other host.
        mirror_device = mirror.evaluate("JSON.parse(localStorage.getItem('weike-records:device'))")
        assert not [s for s in _at_lrs(lrs_folder) if s["actor"]["account"]["name"] == mirror_device]
        assert [r for r in requested if not r.split(" ", 1)[1].startswith(allowed)] == []
        page.goto(f"{site_origin}/records/")
        assert page.locator(".weike-records__queue").inner_text() == "学习记录都已保存。"
        mirror.goto(f"{mirror_origin}/records/")
        assert "没有交给学习站" in mirror.locator(".weike-records__queue").inner_text()
        assert any(r.startswith(f"POST {lrs_origin}/xAPI/statements") for r in requested)
        assert len(requested) == len([r for r in requested if lrs_origin not in r]) + len(
            [r for r in requested if r.startswith(f"POST {lrs_origin}/xAPI/statements")])  # only statements went there
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        stop(lrs)
