"""``weike serve``: a real preview server on localhost that picks up edits without a restart."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from weike.builder.cli import build_parser
from tests.conftest import lecture_md
from tests.plugins.site.conftest import closed_by_server, half_sent_requests, trickled_request_is_dropped

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(url: str, text: str, *, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = fetch(url)
        if page is not None and text in page:
            return page
        time.sleep(0.3)
    raise AssertionError(f"{text!r} did not appear at {url} within {timeout} s")


def test_serve_is_a_weike_command():
    help_text = build_parser().format_help()
    assert "serve" in help_text and "live preview" in help_text


def wait_for_line(log, text: str, *, timeout: float = 90) -> str:
    """The first line of the file ``log`` holding ``text``, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if text in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"{text!r} was not printed within {timeout} s:\n{log.read_text(encoding='utf-8')}")


def test_preview_shows_edits_without_a_restart(delivered_repo, tmp_path):
    repository, delivered, dist = delivered_repo(valid_courses=("demo", "other"))
    root = repository.root
    port = free_port()
    # Its output goes to a file: a pipe nobody reads while the test waits fills up and stops the
    # preview mid-rebuild.
    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen([sys.executable, "-m", "weike.builder", "serve", str(root), "--port", str(port)],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/"
        # Ready means watching: the first save after the address is printed is reported by the
        # watcher, so its rebuild walks only the saved course's folder, not every course's.
        wait_for_line(log, "预览地址 (preview at)")
        first = root / "courses/demo/01-lecture-1/lecture.md"
        first.write_text(lecture_md(title="启动后第一次保存"), encoding="utf-8")
        wait_for(base + "courses/demo/01-lecture-1/", "启动后第一次保存")
        rebuilt = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("预览已更新")]
        assert len(rebuilt) == 2 and "1 walked, 1 read, 1 checked" in rebuilt[-1], rebuilt
        page = wait_for(base + "courses/demo/02-lecture-2/", "第2讲")
        # Videos delivered earlier show up in the preview.
        assert "media/demo/02-lecture-2.mp4" in page
        with urllib.request.urlopen(base + "media/demo/02-lecture-2.mp4", timeout=5) as response:
            assert response.read(8)[4:8] == b"ftyp"
        # A reload poll naming an epoch of 5,000 digits (more than Python turns into a number) is
        # simply not found: no traceback on the author's console.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "livereload/" + "9" * 5000 + "/1", timeout=5)
        assert refused.value.code == 404

        lecture = root / "courses/demo/02-lecture-2/lecture.md"
        lecture.write_text(lecture_md(title="预览中改的标题"), encoding="utf-8")
        wait_for(base + "courses/demo/02-lecture-2/", "预览中改的标题")
        wait_for(base + "courses/demo/", "预览中改的标题")  # the course page's list follows

        # A course with an error disappears from the preview (and the error is printed) ...
        course_yml = root / "courses/demo/course.yml"
        good = course_yml.read_text(encoding="utf-8")
        course_yml.write_text(good.replace("theme: 老年智慧生活", "theme: 没有这个主题"), encoding="utf-8")
        other_yml = root / "courses/other/course.yml"
        other_good = other_yml.read_text(encoding="utf-8")
        other_yml.write_text(other_good.replace("theme: 老年智慧生活", "theme: 没有这个主题"), encoding="utf-8")
        home = wait_for(base, "共 <strong>0</strong> 门课程")
        # ... and the home page's count says so, with no video time made up for no course.
        assert "共 <strong>0</strong> 门课程（另有 2 门课程有错误，改好后显示）。" in home and "分钟" not in home.split(
            'class="weike-totals"')[1].split("</p>")[0]
        # ... and comes back when fixed.
        course_yml.write_text(good, encoding="utf-8")
        other_yml.write_text(other_good, encoding="utf-8")
        wait_for(base, "共 <strong>2</strong> 门课程")
        assert not (dist / "site").exists()  # the preview never touches what gets published
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = log.read_text(encoding="utf-8")
    assert "E104" in output and "Traceback" not in output


def test_the_preview_answers_only_its_own_address(tmp_path):
    """A page whose host name is pointed at 127.0.0.1 (DNS rebinding) reads no draft from the preview."""
    import http.client

    with stub_preview(tmp_path) as (_, port):
        for host, status in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200),
                             (f"evil.example:{port}", 421), ("127.0.0.1:1", 421)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/", headers={"Host": host})
            response = connection.getresponse()
            body = response.read()
            assert response.status == status, host
            assert ("草稿".encode() in body) == (status == 200)
            connection.close()


def test_a_save_reads_again_only_the_course_it_changed(make_repo, media, tmp_path, monkeypatch):
    """The preview's rebuild after a save loads only the saved course again and asks the media
    stage only about it, yet shows what a fresh preview would: the edit, and videos a build in
    another terminal delivered meanwhile."""
    import io

    from weike.builder.contracts.context import BuildContext
    from weike.builder.repository.loading import load_repository
    from weike.builder.running.progress import Progress
    from weike.builder.running.project import Project
    from weike.plugins.site.serve import PreviewBuilder
    from tests.conftest import lay_out_delivered_media

    root = make_repo(valid_courses=("a", "b", "c"))
    rebuild = PreviewBuilder(Project.open(root), stream=io.StringIO())
    rebuild()
    assert sorted(os.path.basename(f) for f in rebuild.courses.loaded) == ["a", "b", "c"]
    page = rebuild.site_dir / "courses/b/02-lecture-2/index.html"
    assert "media/b/02-lecture-2.mp4" not in page.read_text(encoding="utf-8")  # nothing delivered yet

    def fresh_delivered():
        repository = load_repository(root)
        context = BuildContext(config=repository.config, paths=rebuild.paths,
                               plugin_manager=rebuild.plugin_manager, progress=Progress())
        return dict(rebuild.plugin_manager.hook.weike_media_delivered(context=context, courses=repository.courses))

    lay_out_delivered_media(load_repository(root), root / "dist", media)  # `weike build` elsewhere
    (root / "courses/b/02-lecture-2/lecture.md").write_text(lecture_md(title="保存后的标题"), encoding="utf-8")
    rebuild()
    assert [os.path.basename(f) for f in rebuild.courses.loaded] == ["b"]
    assert rebuild.checks.checked_again == ["b"]
    shown = page.read_text(encoding="utf-8")
    assert "保存后的标题" in shown and "media/b/02-lecture-2.mp4" in shown
    assert "media/a/01-lecture-1.mp4" in (rebuild.site_dir / "courses/a/01-lecture-1/index.html").read_text(
        encoding="utf-8")
    repository = load_repository(root)
    assert rebuild._delivered(repository, repository.courses) == fresh_delivered()

    # Nothing saved: nothing read again, and each kept course's findings are looked at once (the
    # files its check read stat'ed once), though the check asks for them more than once.
    from weike.builder.running import reloading

    looked_at = []
    still_hold = reloading.facts_still_hold
    monkeypatch.setattr(reloading, "facts_still_hold", lambda facts: looked_at.append(facts) or still_hold(facts))
    rebuild()
    assert rebuild.courses.loaded == [] and rebuild.checks.checked_again == []
    assert len(looked_at) == 3


def test_a_save_is_checked_as_a_fresh_check_finds_it(make_repo):
    """Only the saved course is checked again, yet the preview's problems are a fresh check's: an
    error saved shows, a fix clears it, and a setting changed in weike.yml checks every course again."""
    import io

    from weike.builder.repository.loading import load_repository
    from weike.builder.running.checking import check_repository
    from weike.builder.running.project import Project
    from weike.plugins.site.serve import PreviewBuilder

    root = make_repo(valid_courses=("a", "b", "c"))
    rebuild = PreviewBuilder(Project.open(root), stream=io.StringIO())
    rebuild()
    assert rebuild.problems == ()

    def fresh_errors():
        return [d for d in check_repository(load_repository(root), rebuild.plugin_manager) if d.is_error]

    notes = root / "courses/b/02-lecture-2/lecture.md"
    good = notes.read_text(encoding="utf-8")
    notes.write_text(good.replace("title:", "title: " + "长" * 200 + "\nold_title:", 1), encoding="utf-8")
    rebuild()
    assert rebuild.checks.checked_again == ["b"]
    assert rebuild.problems and list(rebuild.problems) == fresh_errors()
    notes.write_text(good, encoding="utf-8")
    rebuild()
    assert rebuild.problems == () and fresh_errors() == []
    config = root / "weike.yml"
    config.write_text((config.read_text(encoding="utf-8") if config.exists() else "") + "\njobs: 1\n",
                      encoding="utf-8")
    rebuild()
    assert sorted(rebuild.checks.checked_again) == ["a", "b", "c"]


def test_the_file_watcher_reports_a_save_as_it_happens(tmp_path):
    """A save is reported at once; a file read is not (a rebuild reads the saved course, and
    reported reads set off a second rebuild that held every page until it ended)."""
    import threading

    from watchdog.events import FileSystemEventHandler

    from weike.plugins.site.serve import FileWatcher

    (tmp_path / "courses/c/01-a").mkdir(parents=True)
    (tmp_path / "courses/c/course.yml").write_text("title: 课", encoding="utf-8")
    seen = threading.Event()
    reported: list[tuple[str, str]] = []
    handler = FileSystemEventHandler()

    def on_any_event(event) -> None:
        reported.append((os.path.basename(event.src_path), event.event_type))
        if event.src_path.endswith("lecture.md"):
            seen.set()

    handler.on_any_event = on_any_event
    watcher = FileWatcher(polling_interval=0.5)
    watcher.schedule(handler, str(tmp_path / "courses"), recursive=True)
    watcher.start()
    try:
        # Read first, then saved: the system reports events in order, so any report of the read
        # comes before the save's.
        assert (tmp_path / "courses/c/course.yml").read_text(encoding="utf-8") == "title: 课"
        (tmp_path / "courses/c/01-a/lecture.md").write_text("保存", encoding="utf-8")
        assert seen.wait(timeout=30)
        assert watcher.kind in ("events", "polling")
        if sys.platform == "linux":
            assert watcher.kind == "events"  # inotify: no poll of every file
        assert [name for name, _ in reported if name == "course.yml"] == [], reported
    finally:
        watcher.stop()
        watcher.join(timeout=10)


@contextlib.contextmanager
def stub_preview(tmp_path, limits=None):
    """``(server, port)``: the preview's server, listening, over a one-page site (``limits``: its
    connection limits, the preview's own when None); shut down on leaving."""
    import threading

    from weike.plugins.site.serve import _preview_server

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<title>首页</title><p>草稿</p>", encoding="utf-8")

    class Builder:  # what the server asks of weike's preview builder: no problems, this site
        problems = []
        site_dir = site

        def __call__(self) -> None:
            pass

    port = free_port()
    server = _preview_server(Builder(), host="127.0.0.1", port=port,
                             **({} if limits is None else {"limits": limits}))
    threading.Thread(target=server.serve, daemon=True).start()  # binds, then serves
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield server, port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def preview(tmp_path):
    """``(server, port)``: the preview's server over a one-page site, with a 1-second request
    deadline and at most 4 connections."""
    from weike.plugins.site.share import ConnectionLimits

    with stub_preview(tmp_path, ConnectionLimits(request_timeout=1.0, max_connections=4)) as served:
        yield served


def _ask(port: int, method: str = "GET", headers: dict | None = None) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, "/", headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_preview_drops_half_sent_requests_and_holds_few_connections(preview):
    server, port = preview
    half_sent = half_sent_requests("127.0.0.1", port, host_header=f"127.0.0.1:{port}")  # three times the cap
    # The author's browser is still answered while the half-sent requests wait ...
    assert all(_ask(port)[0] == 200 for _ in range(6))
    # ... the server never holds more connections than its cap ...
    assert server.open_connections <= 4
    # ... and every half-sent request is dropped, pushed out or timed out.
    assert all(closed_by_server(sock) for sock in half_sent)
    for sock in half_sent:
        sock.close()
    assert _ask(port)[0] == 200


def test_the_preview_drops_a_trickled_request_at_the_deadline(preview):
    """A byte at a time keeps every single read short: the deadline is for the whole request."""
    _, port = preview
    assert trickled_request_is_dropped("127.0.0.1", port)


def test_the_preview_refuses_a_huge_request_head(preview):
    _, port = preview
    status, _ = _ask(port, headers={f"X-Filler-{n}": "x" * 1000 for n in range(90)})
    assert status == 431
    assert _ask(port)[0] == 200


def test_the_preview_takes_no_request_that_writes_from_another_site(preview):
    _, port = preview
    own = f"http://127.0.0.1:{port}"
    assert _ask(port, "POST", {"Origin": "http://evil.example", "Content-Length": "0"})[0] == 403
    assert _ask(port, "PUT", {"Origin": own, "Sec-Fetch-Site": "cross-site", "Content-Length": "0"})[0] == 403
    status, body = _ask(port, "POST", {"Origin": own, "Content-Length": "0"})
    assert status == 405 and "草稿".encode() not in body  # read-only, even for its own pages
    assert _ask(port, "HEAD")[0] == 200
    status, body = _ask(port)
    assert status == 200 and "草稿".encode() in body


def _site_tree(site) -> dict[str, bytes]:
    """Every file of a preview but its stamp (which records file times), by relative path."""
    return {path.relative_to(site).as_posix(): path.read_bytes()
            for path in sorted(site.rglob("*")) if path.is_file() and path.name != ".weike-site.json"}


def test_every_save_shows_what_a_fresh_preview_shows(make_repo, media, cover_jpeg):
    """A series of saves, each seen by the file watcher and followed by the preview's rebuild: the
    preview equals, file by file, the one a freshly started `weike serve` (no memory, no site
    cache) makes of the same repository; and a save walks only the saved course's folder."""
    import io
    import shutil
    import threading

    from watchdog.events import FileSystemEventHandler

    from weike.builder.contracts.context import BuildPaths
    from weike.builder.repository.loading import load_repository
    from weike.builder.running.project import Project
    from weike.plugins.site.serve import FileWatcher, PreviewBuilder
    from tests.conftest import lay_out_delivered_media

    root = make_repo(valid_courses=("a", "b", "c"))
    rebuild = PreviewBuilder(Project.open(root), stream=io.StringIO())
    cache = BuildPaths.for_root(root).cache / "site"

    # The watcher as `weike serve` runs it, started before the first build. The system reports one folder's events in order, so once
    # a marker file written after a change is reported, the change's own events are too.
    reported = threading.Condition()
    seen: set[str] = set()

    def on_any_event(event) -> None:
        with reported:
            seen.add(os.path.basename(event.src_path))
            reported.notify_all()

    handler = FileSystemEventHandler()
    handler.on_any_event = on_any_event
    watcher = FileWatcher(polling_interval=0.5, saved=rebuild.saved)
    watcher.schedule(handler, str(root / "courses"), recursive=True)
    watcher.start()
    rebuild()
    markers = iter(range(1000))

    def settled_rebuild() -> None:
        marker = f".settled-{next(markers)}"
        (root / "courses" / marker).write_bytes(b"")
        with reported:
            assert reported.wait_for(lambda: marker in seen, timeout=30)
        rebuild()

    def assert_fresh() -> None:
        warm = _site_tree(rebuild.site_dir)
        aside = cache.with_name("site-warm")
        os.replace(cache, aside)
        try:
            PreviewBuilder(Project.open(root), stream=io.StringIO())()
            cold = _site_tree(rebuild.site_dir)
        finally:
            shutil.rmtree(cache)
            os.replace(aside, cache)
        assert sorted(warm) == sorted(cold)
        assert [rel for rel in cold if warm[rel] != cold[rel]] == []

    def save(rel: str, text: str) -> None:
        (root / rel).write_text(text, encoding="utf-8")
        settled_rebuild()

    try:
        assert len(rebuild.courses.walked) == 3  # the first build: every course folder
        settled_rebuild()  # nothing saved since: none walked, none read
        assert rebuild.courses.walked == [] and rebuild.courses.loaded == []

        keys, made = dict(rebuild.site_kept.keys), dict(rebuild.site_kept.made)
        save("courses/b/02-lecture-2/lecture.md", lecture_md(title="第2讲", notes="保存后的讲义。"))
        # The saved course alone is walked, read, checked, hashed and made again.
        assert [os.path.basename(folder) for folder in rebuild.courses.walked] == ["b"]
        assert [slug for slug, key in rebuild.site_kept.keys.items() if key is not keys.get(slug)] == ["b"]
        assert [slug for slug, (_, entry) in rebuild.site_kept.made.items() if entry is not made[slug][1]] == ["b"]
        assert "保存后的讲义" in (rebuild.site_dir / "courses/b/02-lecture-2/index.html").read_text(encoding="utf-8")
        assert_fresh()

        course_yml = root / "courses/a/course.yml"
        good = course_yml.read_text(encoding="utf-8")
        save("courses/a/course.yml", good.replace("title: 测试课程", "title: 改过的课程名"))  # home page, catalogue
        assert "改过的课程名" in (rebuild.site_dir / "index.html").read_text(encoding="utf-8")
        assert_fresh()

        shutil.copyfile(cover_jpeg, root / "courses/b/01-lecture-1/photo.jpg")  # a picture the notes show
        save("courses/b/01-lecture-1/lecture.md", lecture_md(title="第1讲", notes="![操作步骤](photo.jpg)"))
        assert_fresh()

        save("courses/c/course.yml", good.replace("theme: 老年智慧生活", "theme: 没有这个主题"))  # an error
        assert not (rebuild.site_dir / "courses/c").exists()
        assert_fresh()
        save("courses/c/course.yml", good)
        assert (rebuild.site_dir / "courses/c/index.html").is_file()
        assert_fresh()

        shutil.rmtree(root / "courses/a")  # a course deleted, another added, one renamed
        shutil.copytree(root / "courses/c", root / "courses/d")
        os.rename(root / "courses/b", root / "courses/e")
        settled_rebuild()
        assert not (rebuild.site_dir / "courses/a").exists() and (rebuild.site_dir / "courses/d/index.html").is_file()
        assert (rebuild.site_dir / "courses/e/index.html").is_file()
        assert_fresh()

        lay_out_delivered_media(load_repository(root), root / "dist", media)  # `weike build` in another terminal
        settled_rebuild()
        assert "media/e/02-lecture-2.mp4" in (rebuild.site_dir / "courses/e/02-lecture-2/index.html").read_text(
            encoding="utf-8")
        assert_fresh()
    finally:
        watcher.stop()
        watcher.join(timeout=10)
