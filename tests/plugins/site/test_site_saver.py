"""The 省流量 (data-saver) rendition: made from the delivered file, cached, offered on the
lecture page, carried by the offline edition when asked; the delivered file stays as it was.

Sizes and durations are checked with MediaInfo (an independent parser), against the delivered
file's own facts.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
SAVER_ON = "site_name: 社区教育微课\nextra:\n  weike:\n    data_saver: true\n"


def mediainfo_video(path):
    from pymediainfo import MediaInfo

    info = MediaInfo.parse(str(path))
    video = next(track for track in info.tracks if track.track_type == "Video")
    general = next(track for track in info.tracks if track.track_type == "General")
    return video.width, video.height, float(general.duration) / 1000


def test_lecture_pages_offer_the_rendition_and_it_is_640x360_of_the_whole_lecture(offline_site):
    built = offline_site({"mkdocs.yml": SAVER_ON})
    dist = built.root / "dist"
    delivered = dist / "media/demo/01-lecture-1.mp4"
    saver = built.site / "media/demo/01-lecture-1.saver.mp4"
    width, height, seconds = mediainfo_video(saver)
    _, _, delivered_seconds = mediainfo_video(delivered)
    assert (width, height) == (640, 360)
    assert seconds == pytest.approx(delivered_seconds, abs=0.3)
    page = built.html("courses/demo/01-lecture-1")
    assert 'data-weike-saver="../../../media/demo/01-lecture-1.saver.mp4"' in page
    assert "data-weike-saver-toggle" in page and "省流量" in page
    assert 'href="../../../media/demo/01-lecture-1.saver.mp4" download' in page
    # The delivered file (what the bundles carry) is untouched: still the 12-second clip's bytes.
    assert mediainfo_video(delivered)[:2] == (160, 90)
    assert any("省流量视频" in line for line in built.result.summary_lines)


def test_the_rendition_is_cached_like_the_delivery(offline_site):
    built = offline_site({"mkdocs.yml": SAVER_ON})
    saver = built.site / "media/demo/01-lecture-1.saver.mp4"
    cached = [path for path in (built.root / ".weike/cache/savers").rglob("saver.mp4")]
    # One entry per distinct delivered file: the 12-second clip, and the clip every other lecture shares.
    assert len(cached) == 2
    assert any(os.stat(path).st_ino == os.stat(saver).st_ino for path in cached)  # a hard link, not a copy
    before = {path: os.stat(path).st_mtime_ns for path in cached}
    built.rebuild()
    after = {path: os.stat(path).st_mtime_ns for path in (built.root / ".weike/cache/savers").rglob("saver.mp4")}
    assert after == before  # nothing encoded again


def test_off_by_default(built_site):
    built = built_site()
    assert not list(built.site.rglob("*.saver.mp4"))
    assert "data-weike-saver" not in built.html("courses/demo/01-lecture-1")


def test_the_offline_edition_can_carry_the_rendition_instead(offline_site):
    built = offline_site({"mkdocs.yml": "site_name: 社区教育微课\nextra:\n  weike:\n    offline:\n"
                                        "      data_saver: true\n"})
    offline = built.root / "dist/offline"
    video = offline / "media/demo/01-lecture-1.mp4"
    assert mediainfo_video(video)[:2] == (640, 360)
    # The very file the media stage made and handed forward, placed as the lecture's video.
    saver = built.result.delivered["demo/01-lecture-1"].renditions["saver"]
    assert hashlib.sha256(video.read_bytes()).hexdigest() == saver.sha256
    assert not list(offline.rglob("*.saver.mp4"))
    # The public site does not offer it (only the edition asked), and keeps the delivered file.
    assert "data-weike-saver" not in built.html("courses/demo/01-lecture-1")
    assert mediainfo_video(built.site / "media/demo/01-lecture-1.mp4")[:2] == (160, 90)
    assert "省流量" in (offline / "使用说明.txt").read_text(encoding="utf-8-sig")
    from weike.builder.cli import main

    assert main(["offline", str(built.root)]) == 0  # the zip is packed on request
    with zipfile.ZipFile(offline / "社区教育微课-离线版.zip") as archive:
        member = archive.read("社区教育微课-离线版/media/demo/01-lecture-1.mp4")
    assert hashlib.sha256(member).hexdigest() == hashlib.sha256(video.read_bytes()).hexdigest()


def test_the_lecture_page_switches_to_the_rendition_and_remembers_it(offline_site, serve, browser):
    built = offline_site({"mkdocs.yml": SAVER_ON})
    base = serve(built.site)
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(base + "courses/demo/01-lecture-1/")
        switch = page.get_by_role("button", name="省流量")
        assert switch.get_attribute("aria-pressed") == "false"
        page.evaluate("const v = document.querySelector('video'); v.muted = true; v.play()")
        page.wait_for_function("() => document.querySelector('video').currentTime > 1", timeout=20_000)
        assert page.evaluate("document.querySelector('video').videoWidth") == 160

        switch.tap()
        assert switch.get_attribute("aria-pressed") == "true"
        # The small file plays on from about where the full one was.
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return v.currentSrc.endsWith('.saver.mp4') && v.videoWidth === 640"
                               " && v.currentTime > 1 && !v.paused; }", timeout=20_000)

        page.reload()
        assert page.get_by_role("button", name="省流量").get_attribute("aria-pressed") == "true"
        assert page.evaluate("document.querySelector('video source').getAttribute('src')").endswith(".saver.mp4")
        page.get_by_role("button", name="省流量").tap()
        assert page.evaluate("document.querySelector('video source').getAttribute('src')") \
            == "../../../media/demo/01-lecture-1.mp4"
    finally:
        context.close()
