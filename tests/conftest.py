"""Shared fixtures: temporary course repositories written from dicts, tiny lavfi media."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import io
import json
import http.server
import os
import shutil
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from weike.plugins.media import runner as ffmpeg

REPO_ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# Tiny media, generated once per session with lavfi (160×90, 1–2 s)
# --------------------------------------------------------------------------------------------

#: name -> ffmpeg arguments (between the input options and the output file).
MEDIA_RECIPES: dict[str, list[str]] = {
    "landscape.mp4": ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1",
                      "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=48000",
                      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                      "-c:a", "aac", "-b:a", "64k", "-shortest"],
    "tone.mp3": ["-f", "lavfi", "-i", "sine=frequency=330:duration=1", "-c:a", "libmp3lame", "-b:a", "32k"],
    # Already at the delivery spec (1280×720, 25 fps, H.264 yuv420p, AAC 48 kHz, fast start).
    "conforming.mp4": ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=1",
                       "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=48000",
                       "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "25",
                       "-b:v", "1200k", "-maxrate", "1500k", "-bufsize", "3000k",
                       "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", "-movflags", "+faststart"],
    "poster.jpg": ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=1:duration=1", "-frames:v", "1"],
}


class MediaFactory:
    """Makes (and caches) tiny media files by recipe name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, name: str, recipe: list[str] | None = None) -> Path:
        args = recipe if recipe is not None else MEDIA_RECIPES[name]
        # Keyed by the recipe too: two test modules may use one name for different clips.
        digest = hashlib.sha256("\0".join(args).encode()).hexdigest()[:12]
        target = self.folder / digest / name
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            tmp = target.with_name(f"tmp-{name}")
            ffmpeg.run(["-hide_banner", "-y", *args, str(tmp)])
            tmp.replace(target)
        return target


@pytest.fixture(scope="session", autouse=True)
def compiled_templates_of_the_session(tmp_path_factory):
    """The templates the tests' site builds compile are kept in the session's temp folder, not in
    the user's own (``weike-templates-<uid>``), which would gather every test repository's."""
    from weike.plugins.site import generated

    folder = tmp_path_factory.mktemp("compiled-templates")
    folder.chmod(0o700)
    kept = generated.COMPILED_TEMPLATES
    generated.COMPILED_TEMPLATES = generated.CompiledTemplates(folder)
    yield
    generated.COMPILED_TEMPLATES = kept


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> MediaFactory:
    """``media("landscape.mp4")`` -> path of a tiny real clip, shared by the whole session."""
    return MediaFactory(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def cover_jpeg(tmp_path_factory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "cover.jpg"
    Image.new("RGB", (1280, 720), (30, 90, 160)).save(path, "JPEG")
    return path


# --------------------------------------------------------------------------------------------
# Course repositories from dicts
# --------------------------------------------------------------------------------------------

FileSpec = str | bytes | Path


def write_tree(root: Path, files: dict[str, FileSpec]) -> Path:
    """Write ``{relative path: text | bytes | Path to copy}`` below ``root``."""
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


COURSE_YML = """\
title: 测试课程
summary: 一门用于测试的课程。
theme: 老年智慧生活
cover: cover.jpg
created: 2023-09-01
instructors:
  - name: 张老师
    bio: 社区学校教师。
provider:
  name: 测试县社区教育学院
  level: 县(市、区)
  region: 测试省测试县
  contact: 李老师
  phone: 0571-88886666
rights:
  public_good: true
  no_copyright_dispute: true
  share_to_national_platforms: true
"""


def lecture_md(title: str = "第一讲", knowledge_point: str = "一个知识点", extra: str = "",
               notes: str = "讲义正文。") -> str:
    return f"---\ntitle: {title}\nknowledge_point: {knowledge_point}\n{extra}---\n\n{notes}\n"


def course_files(slug: str, *, media_file: Path, cover: Path, lectures: int = 10,
                 course_yml: str = COURSE_YML) -> dict[str, FileSpec]:
    """Files of a valid course with ``lectures`` lectures, each using a copy of ``media_file``."""
    files: dict[str, FileSpec] = {
        f"courses/{slug}/course.yml": course_yml,
        f"courses/{slug}/cover.jpg": cover,
    }
    for number in range(1, lectures + 1):
        folder = f"courses/{slug}/{number:02d}-lecture-{number}"
        files[f"{folder}/lecture.md"] = lecture_md(title=f"第{number}讲", knowledge_point=f"知识点{number}")
        files[f"{folder}/video{media_file.suffix}"] = media_file
    return files


@pytest.fixture
def make_repo(tmp_path, media, cover_jpeg) -> Callable[..., Path]:
    """``make_repo({path: content}, valid_courses=("a",))`` -> a repository root in tmp_path."""

    def make(files: dict[str, FileSpec] | None = None, *, valid_courses: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "repo"
        (root / "courses").mkdir(parents=True, exist_ok=True)
        for slug in valid_courses:
            write_tree(root, course_files(slug, media_file=media("landscape.mp4"), cover=cover_jpeg))
        write_tree(root, files or {})
        return root

    return make


# --------------------------------------------------------------------------------------------
# Installed (entry-point) plugins: a real distribution on sys.path
# --------------------------------------------------------------------------------------------


def install_entry_point_plugin(site: Path, monkeypatch, *, module: str, source: str, entry: str,
                               files: dict[str, FileSpec] | None = None) -> None:
    """An installed distribution ``module.replace("_", "-")`` 1.0 whose ``weike`` entry point
    ``entry`` is the module ``module`` with ``source``, importable for this test (``files``:
    more files in the same site folder, e.g. a package the module imports). The caller removes
    ``module`` from ``sys.modules`` when done."""
    site.mkdir(parents=True, exist_ok=True)
    write_tree(site, files or {})
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[weike]\n{entry} = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


# --------------------------------------------------------------------------------------------
# A real headless Chromium (Debian's), driven by Playwright, and a localhost HTTP server
# --------------------------------------------------------------------------------------------

CHROMIUM = os.environ.get("WEIKE_CHROMIUM", "/usr/bin/chromium")
#: Set by .ci/run: a missing browser is then a failure, not a skip.
REQUIRE_BROWSER = os.environ.get("WEIKE_REQUIRE_BROWSER") == "1"
#: Flags that keep Chromium from reaching for Google's hosts on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def playwright_driver():
    """The session's one Playwright (sync API: one per thread, so every browser of the session is
    launched from it); skipped when it or Chromium is missing unless WEIKE_REQUIRE_BROWSER=1."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set WEIKE_CHROMIUM)"
    if reason:
        if REQUIRE_BROWSER:
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """A headless Chromium shared by the session."""
    instance = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Python's file server, quiet, and answering a ``Range`` as the web servers a site is put on
    do (Chromium seeks in a video only where the server answers ranges; without them a seek
    plays the video from the start instead)."""

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass

    def send_head(self):
        from weike.plugins.site.share import UnsatisfiableRange, parse_range

        path = Path(self.translate_path(self.path))
        if "Range" not in self.headers or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        try:
            wanted = parse_range(self.headers["Range"], len(data))
        except UnsatisfiableRange:
            self.send_error(416)
            return None
        if wanted is None:
            return super().send_head()
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {wanted.start}-{wanted.end}/{len(data)}")
        self.send_header("Content-Length", str(wanted.length))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data[wanted.start:wanted.end + 1])


#: How often a test's server thread looks for ``shutdown()``: at ``serve_forever``'s default of
#: 0.5 s, every test that stops a server waited up to half a second for it to notice.
SERVER_POLL_INTERVAL = 0.02


def serve_in_thread(server) -> threading.Thread:
    """Start ``server.serve_forever`` on a daemon thread that notices ``shutdown()`` at once."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SERVER_POLL_INTERVAL},
                              daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def serving(folder: Path):
    """``with serving(folder) as url``: a real HTTP server on localhost for the block (module-wide
    fixtures use it directly; tests take :func:`serve`)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serve_in_thread(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def serve():
    """``serve(folder) -> "http://127.0.0.1:PORT/"``: a real HTTP server on localhost."""
    with contextlib.ExitStack() as servers:
        yield lambda folder: servers.enter_context(serving(folder))


# --------------------------------------------------------------------------------------------
# Delivered media for stages after media (site, bundles, reports), without running the media stage
# --------------------------------------------------------------------------------------------

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\n字幕测试\n"
#: The same subtitles as the media stage hands them on for the upload forms.
SRT = "1\n00:00:00,000 --> 00:00:00,900\n字幕测试\n"


def lay_out_delivered_media(repository, dist: Path, media) -> dict:
    """Lay out the media stage's output for every lecture without encoding: a copy of one
    session-wide conforming 1-second MP4, its poster and, for lecture 1, WebVTT and SubRip subtitles, under
    ``dist/media``, with the stage's ``manifest.json`` (what ``weike serve`` asks the media plugin
    for). Returns the ``DeliveredMedia`` map the later stages take."""
    from weike.builder.contracts.model import DeliveredMedia, repository_path
    from weike.plugins.media.manifest import MANIFEST_FILE, MANIFEST_FORMAT

    clip, poster = media("conforming.mp4"), media("poster.jpg")
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    delivered, records = {}, {}
    for course in repository.courses:
        for lecture in course.lectures:
            target = dist / "media" / course.slug / f"{lecture.slug}.mp4"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clip, target)
            shutil.copyfile(poster, target.with_suffix(".jpg"))
            subtitles = subtitles_srt = None
            if lecture.number == 1:
                subtitles, subtitles_srt = target.with_suffix(".vtt"), target.with_suffix(".srt")
                subtitles.write_text(VTT, encoding="utf-8")
                subtitles_srt.write_text(SRT, encoding="utf-8")
            delivered[lecture.key] = DeliveredMedia(
                course_slug=course.slug, lecture_slug=lecture.slug, path=target, duration=1.0,
                size=target.stat().st_size, sha256=digest, source_sha256=digest, profile="default",
                poster=target.with_suffix(".jpg"), subtitles=subtitles, subtitles_srt=subtitles_srt,
            )
            records[lecture.key] = {
                "course": course.slug, "lecture": lecture.slug, "file": f"{course.slug}/{target.name}",
                "poster": f"{course.slug}/{target.with_suffix('.jpg').name}",
                "subtitles": f"{course.slug}/{subtitles.name}" if subtitles else None,
                "subtitles_srt": f"{course.slug}/{subtitles_srt.name}" if subtitles_srt else None,
                "source": repository_path(lecture.media.path, repository.root) if lecture.media else None,
                "source_sha256": digest, "sha256": digest, "size": target.stat().st_size, "duration": 1.0,
                "from_audio": False, "profile": "default"}
    (dist / "media").mkdir(parents=True, exist_ok=True)
    (dist / "media" / MANIFEST_FILE).write_text(json.dumps(
        {"format": MANIFEST_FORMAT, "profile": {"name": "default"}, "lectures": records}, ensure_ascii=False),
        encoding="utf-8")
    return delivered


@pytest.fixture
def delivered_repo(make_repo, media):
    """``delivered_repo(valid_courses=("a", "b"), files=None) -> (repository, delivered, dist)``.

    Each lecture gets a real, conforming 1-second MP4 (a copy of one session-wide encode), a
    poster JPEG and, for lecture 1, WebVTT subtitles, laid out like the media stage's output in
    ``<repo>/dist/media``.
    """
    from weike.builder.repository.loading import load_repository

    def make(valid_courses: tuple[str, ...] = ("demo",), files: dict[str, FileSpec] | None = None):
        root = make_repo(files, valid_courses=valid_courses)
        repository = load_repository(root)
        dist = root / "dist"
        delivered = lay_out_delivered_media(repository, dist, media)
        return repository, delivered, dist

    return make


def bomb_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A tiny PNG (about 25 KB) that declares ``width`` × ``height`` one-bit pixels: all zeros, so
    it compresses to almost nothing, yet decoding it costs the full size."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\0" * ((width + 7) // 8 + 1) * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
