"""Site-stage fixtures: a repository with delivered media, built through the real pipeline.

The media stage is another plugin; here a small plugin hands the pipeline the fixture's real,
conforming MP4s (``delivered_repo``) so the site stage runs exactly as in ``weike build``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import pytest

from weike.builder.contracts.context import BuildPaths, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.stamp import STAMP_FILE
from weike.builder.running.pipeline import build
from weike.builder.running.plugin_manager import get_plugin_manager
from weike.builder.running.progress import Progress
from weike.builder.running.project import Project
from tests.conftest import COURSE_YML, lecture_md, serving

def page_scripts(html: str) -> list[str]:
    """The ``src`` of every script a page loads, in order: its ``<script src>`` tags and those the
    frame writes after the stylesheets (``<script id="__weike_scripts">``, theme/overrides/main.html)."""
    found = []
    for tag, written in re.findall(r'<script\b[^>]*\bsrc="([^"]*)"|<script id="__weike_scripts">document\.write\((".*?")\)'
                                   r'</script>', html):
        found.extend([tag] if tag else re.findall(r'<script\b[^>]*\bsrc="([^"]*)"', json.loads(written)))
    return found


#: A second course in another theme and level, with a lecture title to search for.
OTHER_COURSE_YML = (COURSE_YML.replace("title: 测试课程", "title: 手机摄影入门")
                    .replace("theme: 老年智慧生活", "theme: 科学素质与互联网学习")
                    .replace("level: 县(市、区)", "level: 村(社区)")
                    .replace("created: 2023-09-01", "created: 2024-05-01"))
SEARCH_TITLE = "智能手机拍照技巧"


class DeliveredMediaPlugin:
    """Stands in for the media stage by handing over files that are already delivered, with the
    renditions the site asks for made from them by the media stage's own last step."""

    def __init__(self, delivered) -> None:
        self.delivered = delivered

    @hookimpl
    def weike_media_stage(self, context, courses):
        from weike.plugins.media.stage import make_asked_renditions

        keys = {lecture.key for course in courses for lecture in course.lectures}
        delivered, problems = make_asked_renditions(context, {k: v for k, v in self.delivered.items() if k in keys})
        return StageOutcome(delivered=MappingProxyType(delivered), diagnostics=tuple(problems))


@dataclass
class BuiltSite:
    root: Path
    site: Path
    delivered: dict
    result: object

    def rebuild(self, *, force: bool = False):
        self.result = build_site(self.root, self.delivered, force=force)
        return self.result

    def html(self, rel: str) -> str:
        return (self.site / rel / "index.html").read_text(encoding="utf-8")


def build_site(root: Path, delivered, *, force: bool = False):
    pm = get_plugin_manager(root, extra=[DeliveredMediaPlugin(delivered)])
    # No whole-build stamp: these tests watch the site stage's own skipping (--force would
    # rebuild the site on purpose).
    (BuildPaths.for_root(root).cache / STAMP_FILE).unlink(missing_ok=True)
    return build(Project.open(root, plugin_manager=pm), progress=Progress(), only="offline", force=force)


def site_files(extra_files=None, *, site_url: str | None = None) -> dict:
    files = {
        "courses/photo/course.yml": OTHER_COURSE_YML,
        "courses/photo/01-lecture-1/lecture.md": lecture_md(title=SEARCH_TITLE, knowledge_point="构图的三分法"),
    }
    if site_url:
        files["weike.yml"] = f"site_url: {site_url}\n"
    files.update(extra_files or {})
    return files


@pytest.fixture
def built_site(delivered_repo):
    """``built_site(files=None, site_url=None) -> BuiltSite`` for courses "demo" and "photo"."""

    def make(files=None, *, site_url: str | None = None) -> BuiltSite:
        repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo"),
                                                     files=site_files(files, site_url=site_url))
        result = build_site(repository.root, delivered)
        return BuiltSite(root=repository.root, site=dist / "site", delivered=delivered, result=result)

    return make


def build_site_once(root: Path, media, cover, files=None, *, site_url: str | None = None) -> BuiltSite:
    """The site of courses "demo" and "photo" built in ``root``, as :func:`built_site` makes it,
    for module-wide fixtures: a build shared by tests that only read it."""
    from weike.builder.repository.loading import load_repository
    from tests.conftest import course_files, lay_out_delivered_media, write_tree

    for slug in ("demo", "photo"):
        write_tree(root, course_files(slug, media_file=media("landscape.mp4"), cover=cover))
    write_tree(root, site_files(files, site_url=site_url))
    delivered = lay_out_delivered_media(load_repository(root), root / "dist", media)
    result = build_site(root, delivered)
    return BuiltSite(root=root, site=root / "dist/site", delivered=delivered, result=result)


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory, media, cover_jpeg) -> BuiltSite:
    """What ``built_site()`` makes, built once for a test module: only for tests that read it."""
    return build_site_once(tmp_path_factory.mktemp("site") / "repo", media, cover_jpeg)


#: A clip long enough to seek in (the shared conforming clip lasts one second).
LONG_CLIP = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=12",
             "-f", "lavfi", "-i", "sine=frequency=440:duration=12:sample_rate=48000",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
             "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart"]


def deliver_long_clip(built, media) -> Path:
    """Lecture 1 of "demo" delivered again as a 12-second video (its file replaced, its record
    updated); the delivered file is returned. The next ``built.rebuild()`` shows it."""
    delivered = dict(built.delivered)
    video = delivered["demo/01-lecture-1"].path
    video.unlink()
    shutil.copyfile(media("long.mp4", LONG_CLIP), video)
    delivered["demo/01-lecture-1"] = replace(delivered["demo/01-lecture-1"], duration=12.0,
                                             size=video.stat().st_size,
                                             sha256=hashlib.sha256(video.read_bytes()).hexdigest())
    built.delivered = delivered
    return video


@pytest.fixture
def offline_site(built_site, media):
    """The built site of courses "demo" and "photo", lecture 1 of "demo" with a 12-second video."""

    def make(files=None):
        built = built_site(files)
        deliver_long_clip(built, media)
        built.rebuild()
        return built

    return make


@pytest.fixture(scope="module")
def shared_offline_site(tmp_path_factory, media, cover_jpeg):
    """What ``offline_site()`` makes, built once for a test module: only for tests that read it
    (a browser test watching on a device of its own, a new browser context, reads it)."""
    built = build_site_once(tmp_path_factory.mktemp("offline") / "repo", media, cover_jpeg)
    deliver_long_clip(built, media)
    built.rebuild()
    return built


# --------------------------------------------------------------------------------------------
# A phone in front of the served site (the learner-facing browser tests)
# --------------------------------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
#: "在手机上" cut by jieba as 在 / 手机 / 上: "机上" and "上放大" straddle its words.
KNOWLEDGE_POINT = "学会在手机上放大字体"
#: Lecture 2's notes: sentences to read aloud, a table and code, which Material sets small.
NOTES_WITH_TABLE = ("先打开手机的设置。再找到显示和亮度！\n\n"
                    "| 步骤 | 做法 |\n|---|---|\n| 第一步 | 打开设置 |\n| 第二步 | 点 `字体大小` |\n")
#: A hand-written page of the site (Material indexes it with its own jieba cuts).
GUIDE_PAGE = "# 学习指南\n\n在手机上学习微课，先调大字号。\n"


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory):
    """A 14-second MP4 (the shared test clip lasts 1 s: too short to stop part-way through)."""
    from weike.plugins.media import runner as ffmpeg

    path = tmp_path_factory.mktemp("long") / "long.mp4"
    ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=14",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)])
    return path


@pytest.fixture(scope="module")
def phone_site(tmp_path_factory, media, cover_jpeg, long_clip):
    """The built site of "demo" and "photo" served over HTTP; demo's lecture 1 video lasts 14 s.

    One build and one server for a test module: its tests only read the site, and each phone
    (a new browser context) starts with nothing remembered."""
    built = build_site_once(tmp_path_factory.mktemp("phone") / "repo", media, cover_jpeg, {
        "courses/photo/01-lecture-1/lecture.md": lecture_md(title=SEARCH_TITLE, knowledge_point=KNOWLEDGE_POINT),
        "courses/demo/02-lecture-2/lecture.md": lecture_md(title="第2讲", knowledge_point="知识点2",
                                                           notes=NOTES_WITH_TABLE),
        "site/guide.md": GUIDE_PAGE})
    assert not [d for d in built.result.diagnostics if d.is_error]
    served = built.site / "media" / "demo" / "01-lecture-1.mp4"
    served.unlink()
    shutil.copyfile(long_clip, served)
    with serving(built.site) as url:
        yield url


@pytest.fixture
def phone(browser):
    """A browser context the size of a common phone (390×844 CSS pixels, touch)."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    yield context
    context.close()


def open_page(context, url):
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page


def showing_cue_style(page) -> dict:
    """The computed style of the subtitle cue on screen, as the browser draws it.

    The cue lives in the video's user-agent shadow tree, which scripts cannot reach: the
    DevTools protocol can. Seeks into the first cue (the fixture's lasts 0–0.9 s) first.
    """
    # Lecture videos load nothing until played (preload="none"): load the start, then seek.
    page.evaluate("(() => { const v = document.querySelector('video'); v.preload = 'auto'; v.load(); })()")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=10_000)
    page.evaluate("document.querySelector('video').currentTime = 0.3")
    page.wait_for_function("() => { const t = document.querySelector('video').textTracks[0];"
                           " return t && t.activeCues && t.activeCues.length > 0; }", timeout=10_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")

    def find(node):
        attributes = node.get("attributes", [])
        if node.get("nodeName") == "DIV" and attributes[:2] == ["pseudo", "cue"]:
            return node
        for child in node.get("children", []) + node.get("shadowRoots", []):
            if (found := find(child)) is not None:
                return found
        return None

    for _ in range(50):  # the cue box is laid out on the next frame after the seek
        cue = find(cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"])
        if cue is not None:
            break
        page.wait_for_timeout(100)
    assert cue is not None, "no subtitle cue on screen"
    style = cdp.send("CSS.getComputedStyleForNode", {"nodeId": cue["nodeId"]})["computedStyle"]
    return {item["name"]: item["value"] for item in style}


def watch_lecture_until(page, seconds: float, *, to_the_end: bool = False) -> None:
    """Play the lecture's video (muted) from ``seconds`` on, then pause it, or let it end."""
    page.evaluate("s => { const v = document.querySelector('video'); v.muted = true; v.currentTime = s; v.play(); }",
                  seconds)
    if to_the_end:
        page.wait_for_function("() => document.querySelector('video').ended", timeout=30_000)
        return
    page.wait_for_function("s => document.querySelector('video').currentTime > s + 0.5", arg=seconds, timeout=20_000)
    page.evaluate("document.querySelector('video').pause()")


#: A stand-in for the browser's speech synthesis with the voices given by ``window.__voices``
#: (set before the page's scripts run). ``__speech.said`` lists the texts spoken,
#: ``__speech.finish()`` ends the utterance being spoken, ``__speech.addVoices(list)`` makes
#: voices arrive late, as Chrome's do.
FAKE_SPEECH = """
(() => {
  const listeners = [];
  const speech = {
    said: [], cancelled: 0, current: null, voices: window.__voices || [],
    getVoices() { return this.voices; },
    speak(utterance) { this.said.push(utterance.text); this.current = utterance; this.lang = utterance.lang;
                       this.voice = utterance.voice && utterance.voice.name; },
    cancel() { const u = this.current; this.current = null; this.cancelled++;
               if (u) u.dispatchEvent(new Event("error")); },
    pause() {}, resume() {},
    addEventListener(type, listener) { if (type === "voiceschanged") listeners.push(listener); },
    finish() { const u = this.current; this.current = null; u.dispatchEvent(new Event("end")); },
    addVoices(voices) { this.voices = voices; listeners.forEach(l => l(new Event("voiceschanged"))); },
  };
  // Utterances the stand-in can carry its voices on (the real one takes only the browser's own).
  class Utterance extends EventTarget {
    constructor(text) {
      super();
      Object.assign(this, { text, lang: "", voice: null, rate: 1, onend: null, onerror: null });
      this.addEventListener("end", e => this.onend && this.onend(e));
      this.addEventListener("error", e => this.onerror && this.onerror(e));
    }
  }
  window.SpeechSynthesisUtterance = Utterance;
  window.__speech = speech;
  Object.defineProperty(window, "speechSynthesis", { value: speech, configurable: true });
})();
"""
CHINESE_VOICES = [{"name": "粤语", "lang": "zh-HK"}, {"name": "普通话", "lang": "zh-CN"}]


def speaking_phone(browser, voices):
    """A phone context whose ``speechSynthesis`` is :data:`FAKE_SPEECH` with ``voices``."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.add_init_script(f"window.__voices = {json.dumps(voices, ensure_ascii=False)};" + FAKE_SPEECH)
    return context


# --------------------------------------------------------------------------------------------
# The local servers' limits (weike share, weike serve): real sockets
# --------------------------------------------------------------------------------------------


def closed_by_server(sock) -> bool:
    """Whether the server ends the connection (the client waits up to 10 s, far beyond the deadline)."""
    sock.settimeout(10)
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def half_sent_requests(host: str, port: int, *, host_header: str, count: int = 12) -> list:
    """``count`` connections, each with a request head whose ending blank line never comes."""
    import socket

    half_sent = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\n".encode())
        half_sent.append(sock)
    return half_sent


def trickled_request_is_dropped(host: str, port: int) -> bool:
    """A request head sent a line every 0.05 s, 60 lines: every single read is short, the whole
    head far beyond a 1-second deadline. Fewer header lines than http.client's cap of 100, so only
    the deadline can close it (over 100 the head is refused on its own). Whether it was dropped."""
    import socket
    import time

    with socket.create_connection((host, port), timeout=10) as sock:
        try:
            for n in range(60):
                sock.sendall(f"X-Slow-{n}: a\r\n".encode() if n else b"GET / HTTP/1.1\r\n")
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            return True
        return closed_by_server(sock)
