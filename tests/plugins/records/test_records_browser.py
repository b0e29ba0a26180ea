"""Acceptance: a phone (headless Chromium) watches lectures through a real ``weike share``.

Played to the end, a lecture yields launched, progressed and completed statements at the
station, with ``result.duration`` within 2 s of the time watched; seeking to the end completes
nothing; the 学习档案 page shows the lecture; with the station stopped the phone keeps its
statements and delivers them once the station is back. Every statement, on the phone and at the
station, follows the xAPI 1.0.3 statement rules.
"""

from __future__ import annotations

import time

import pytest

from tests.plugins.records.conftest import start_share, stop
from weike.plugins.records.statements import (
    EXT_PROGRESS,
    VERB_COMPLETED,
    VERB_LAUNCHED,
    VERB_PROGRESSED,
    iso_duration_seconds,
    statement_problems,
)
from weike.plugins.records.store import StatementStore

pytestmark = pytest.mark.slow
LECTURE = "courses/demo/01-lecture-1/"  # 12 seconds long in the offline_site fixtures


def _stored(root) -> list[dict]:
    path = root / ".weike/records/statements.sqlite3"
    if not path.is_file():
        return []
    with StatementStore(path, create=False) as store:
        return list(store.statements())


def _wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


#: Played at four times the speed: records.js counts media time (a step of up to 1.5 × the rate
#: between two timeupdates is watching, see watchLecture), so what is recorded is the same.
FAST = 4


def _play(page) -> None:
    """Play the page's lecture video at :data:`FAST` times the speed."""
    page.evaluate("r => { const v = document.querySelector('video'); v.defaultPlaybackRate = r;"
                  " v.playbackRate = r; v.play(); }", FAST)


def _play_to_the_end(page) -> None:
    _play(page)
    page.wait_for_function("document.querySelector('video').ended", timeout=60_000)


def _device(page) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('weike-records:device'))")


def _queue(page) -> list[dict]:
    return page.evaluate("JSON.parse(localStorage.getItem('weike-records:queue') || '[]')")


def _of(statements, device, verb=None):
    return [s for s in statements if s["actor"]["account"]["name"] == device
            and (verb is None or s["verb"]["id"] == verb)]


def test_a_phone_records_lectures_at_the_station(shared_offline_site, browser):
    built = shared_offline_site
    process, base = start_share(built.root)
    port = base.rstrip("/").rsplit(":", 1)[1]
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(base + LECTURE)
        _play(page)
        page.wait_for_function("document.querySelector('video').currentTime >= 5")
        page.evaluate("document.querySelector('video').pause()")
        device = _device(page)
        at_station = _wait_for(lambda: _of(_stored(built.root), device, VERB_PROGRESSED), "progressed at the station")
        assert _of(_stored(built.root), device, VERB_LAUNCHED)
        assert at_station[0]["result"]["extensions"][EXT_PROGRESS] < 0.9

        # The station stops; the phone plays on (the short video is buffered) and keeps its statements.
        stop(process)
        _play_to_the_end(page)
        queued = _wait_for(lambda: [s for s in _queue(page) if s["verb"]["id"] == VERB_COMPLETED], "completed queued")
        assert not _of(_stored(built.root), device, VERB_COMPLETED)

        # The station is back on the same address: the phone delivers what it kept.
        process, again = start_share(built.root, "--port", port)
        assert again == base
        page.evaluate("window.dispatchEvent(new Event('online'))")
        completed = _wait_for(lambda: _of(_stored(built.root), device, VERB_COMPLETED), "completed at the station")
        assert completed[0]["id"] == queued[0]["id"] and len(completed) == 1
        assert completed[0]["result"]["completion"] is True
        _wait_for(lambda: not _queue(page), "the queue emptied")
        # result.duration is the time watched: the share of the 12 s seen when each was sent, and
        # all 12 s in the last report, sent when the video ended.
        mine = _of(_stored(built.root), device)
        for statement in mine:
            if "result" in statement:
                seen = statement["result"]["extensions"][EXT_PROGRESS] * 12.0
                assert abs(iso_duration_seconds(statement["result"]["duration"]) - seen) <= 2.0, statement["result"]
        last = max((s for s in mine if "result" in s), key=lambda s: s["timestamp"])
        assert abs(iso_duration_seconds(last["result"]["duration"]) - 12.0) <= 2.0, last["result"]

        # 学习档案 on the phone.
        page.goto(base + "records/")
        card = page.locator("[data-weike-course=demo]")
        card.wait_for()
        text = card.inner_text()
        assert "测试课程" in text and "学完 1 讲" in text and "已学完" in text

        # Another phone seeks to the end: it watched a second or two, and completes nothing.
        other = browser.new_context().new_page()
        other.goto(base + LECTURE)
        other.evaluate("document.querySelector('video').play()")
        other.wait_for_function("document.querySelector('video').currentTime > 0.2")
        other.evaluate("document.querySelector('video').currentTime = 11")
        other.wait_for_function("document.querySelector('video').ended", timeout=60_000)
        seeker = _device(other)
        reports = _wait_for(lambda: _of(_stored(built.root), seeker, VERB_PROGRESSED), "the seeker's progress")
        assert not _of(_stored(built.root), seeker, VERB_COMPLETED)
        assert not [s for s in _queue(other) if s["verb"]["id"] == VERB_COMPLETED]
        assert max(s["result"]["extensions"][EXT_PROGRESS] for s in reports) < 0.5
        other.context.close()

        everything = _stored(built.root) + _queue(page)
        assert everything
        for statement in everything:
            assert statement_problems(statement) == [], statement
    finally:
        context.close()
        stop(process)


def test_the_offline_edition_records_on_the_device(shared_offline_site, browser):
    """From file:// nothing is sent anywhere; the 学习档案 page still lists what was watched."""
    built = shared_offline_site
    offline = built.root / "dist/offline"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((offline / LECTURE / "index.html").as_uri())
        _play_to_the_end(page)
        queue = _wait_for(lambda: [s for s in _queue(page) if s["verb"]["id"] == VERB_COMPLETED], "completed kept")
        assert all(statement_problems(s) == [] for s in _queue(page))
        assert queue[0]["object"]["id"] == "urn:weike:courses:demo:01-lecture-1"
        page.goto((offline / "records/index.html").as_uri())
        card = page.locator("[data-weike-course=demo]")
        card.wait_for()
        assert "学完 1 讲" in card.inner_text()
    finally:
        context.close()


def test_progress_is_reported_every_30_seconds_of_playing(built_site, media, browser):
    """A 70-second lecture played at 4× speed: progressed after 30 and 60 s of video, then completed."""
    import dataclasses
    import hashlib
    import shutil

    from tests.plugins.site.conftest import LONG_CLIP

    built = built_site()
    clip = media("seventy.mp4", [part.replace("duration=12", "duration=70") for part in LONG_CLIP])
    delivered = dict(built.delivered)
    video = delivered["demo/01-lecture-1"].path
    video.unlink()
    shutil.copyfile(clip, video)
    delivered["demo/01-lecture-1"] = dataclasses.replace(
        delivered["demo/01-lecture-1"], duration=70.0, size=video.stat().st_size,
        sha256=hashlib.sha256(video.read_bytes()).hexdigest())
    built.delivered = delivered
    built.rebuild()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((built.root / "dist/offline" / LECTURE / "index.html").as_uri())
        page.evaluate("var v = document.querySelector('video'); v.playbackRate = 4; v.play()")
        page.wait_for_function("document.querySelector('video').ended", timeout=120_000)
        statements = _wait_for(lambda: (q := _queue(page)) and any(s["verb"]["id"] == VERB_COMPLETED for s in q)
                               and q, "completed")
        verbs = [s["verb"]["id"] for s in statements]
        assert verbs[0] == VERB_LAUNCHED and verbs.count(VERB_COMPLETED) == 1
        progressed = [iso_duration_seconds(s["result"]["duration"]) for s in statements
                      if s["verb"]["id"] == VERB_PROGRESSED]
        assert len(progressed) >= 2 and 30 <= progressed[0] <= 32 and 60 <= progressed[1] <= 62, progressed
        # Completed as soon as 90 % was watched; the last report, at the end, counts all 70 seconds.
        completed = next(s for s in statements if s["verb"]["id"] == VERB_COMPLETED)
        assert 63 <= iso_duration_seconds(completed["result"]["duration"]) <= 65
        assert abs(progressed[-1] - 70) <= 2
        assert all(statement_problems(s) == [] for s in statements)
    finally:
        context.close()


def test_a_completed_course_prints_a_certificate(built_site, browser):
    """All ten lectures of a course watched (offline edition, file://): 学习档案 offers the 结业证明,
    with the course, its provider, the date and the 学时, and the name only once the learner types one."""
    built = built_site()
    offline = built.root / "dist/offline"
    context = browser.new_context()
    try:
        page = context.new_page()
        for number in range(1, 11):
            page.goto((offline / f"courses/demo/{number:02d}-lecture-{number}/index.html").as_uri())
            _play_to_the_end(page)
        page.goto((offline / "records/index.html").as_uri())
        card = page.locator("[data-weike-course=demo]")
        card.wait_for()
        assert "学完 10 讲" in card.inner_text()
        page.evaluate("window.print = function () { window.weikePrinted = true; }")
        card.get_by_role("button", name="打印结业证明").click()
        certificate = card.locator(".weike-certificate")
        text = certificate.inner_text()
        assert "结业证明" in text and "《测试课程》" in text and "测试县社区教育学院" in text and "学时" in text
        assert "＿＿＿＿＿＿ 同志" in text  # no name typed: a line to write it on
        page.locator("[data-weike-records-name]").fill("王阿姨")
        assert "王阿姨 同志" in certificate.inner_text()
        assert page.evaluate("window.weikePrinted") is True
        # On paper only the certificate: the lecture list and the page's chrome are hidden.
        page.emulate_media(media="print")
        assert certificate.is_visible() and not card.locator("ol").is_visible()
        assert not page.locator("[data-weike-records-name]").is_visible()
        # The name stays on the device: no statement carries it (the station did not ask for names).
        assert all("name" not in s["actor"] for s in _queue(page))
    finally:
        context.close()


def test_a_station_that_asks_for_names_gets_the_typed_one(built_site, browser):
    built = built_site(files={"weike.yml": "records:\n  ask_name: true\n"})
    offline = built.root / "dist/offline"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((offline / "records/index.html").as_uri())
        name = page.locator("[data-weike-records-name]")
        assert "学习站请你登记" in page.locator(".weike-records").inner_text()
        name.fill("李大爷")
        page.goto((offline / "courses/demo/01-lecture-1/index.html").as_uri())
        _play_to_the_end(page)
        statements = _wait_for(lambda: _queue(page), "statements")
        assert {s["actor"].get("name") for s in statements} == {"李大爷"}
        assert all(statement_problems(s) == [] for s in statements)
    finally:
        context.close()


def test_a_hostile_course_title_is_text_on_the_offline_records_page(built_site, browser):
    """The 学习档案 page of the offline edition (file://) shows a course title and provider that
    are markup as text: nothing of them becomes an element or runs, on the page or the certificate."""
    from tests.plugins.site.conftest import OTHER_COURSE_YML

    title = "<img src=x onerror=weikePwned=1>拍照"  # within 40 characters
    provider = "<svg onload=alert(1)>镇学校"
    hostile = OTHER_COURSE_YML.replace("title: 手机摄影入门", f"title: '{title}'").replace(
        "测试县社区教育学院", f"'{provider}'", 1)
    built = built_site(files={"courses/photo/course.yml": hostile})
    assert [d for d in built.result.diagnostics if d.code.startswith("E")] == [], built.result.diagnostics
    offline = built.root / "dist/offline"
    context = browser.new_context()
    dialogs: list[str] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for number in range(1, 11):
            page.goto((offline / f"courses/photo/{number:02d}-lecture-{number}/index.html").as_uri())
            _play_to_the_end(page)
        page.goto((offline / "records/index.html").as_uri())
        card = page.locator("[data-weike-course=photo]")
        card.wait_for()
        assert card.locator("h2").first.inner_text() == title
        assert provider in card.inner_text() and "学完 10 讲" in card.inner_text()
        page.evaluate("window.print = function () {}")
        card.get_by_role("button", name="打印结业证明").click()
        certificate = card.locator(".weike-certificate").inner_text()
        assert f"《{title}》" in certificate and f"开课机构：{provider}" in certificate
        records = page.locator(".weike-records")
        assert records.locator("img, script, svg").count() == 0
        assert page.evaluate("window.weikePwned") is None and dialogs == []
        assert all(s["context"]["contextActivities"]["parent"][0]["definition"]["name"]["zh-CN"] == title
                   for s in _queue(page))
    finally:
        context.close()
