"""`weike serve` in real Chromium: an error shows in the open page, in Chinese with file:line and hint,
and the page comes back by itself once the file is fixed (no reload by hand, no English "404")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.plugins.site.test_site_serve import fetch, free_port, wait_for

pytestmark = pytest.mark.slow

#: How long closing the browser may take before its processes are killed and the test fails.
CLOSE_SECONDS = 30.0


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux's /proc), children and theirs."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.add(child)
            stack.append(child)
    return found


def close_within(browser, processes: set[int], seconds: float) -> list[int]:
    """Close ``browser`` (its contexts with it); if that has not returned after ``seconds``, kill
    its ``processes`` (the Chromium processes it was launched as) and theirs, which makes the
    close return. Playwright's close sometimes never returns (a page mid-reload as the context
    closes): the test then fails saying so instead of hanging. Returns the processes killed."""
    import threading

    killed: list[int] = []

    def kill() -> None:
        for pid in sorted(processes | {child for pid in processes for child in _descendants(pid)}):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass

    timer = threading.Timer(seconds, kill)
    timer.start()
    try:
        browser.close()
    except Exception:  # noqa: BLE001 - killed under it: reported through ``killed``
        if not killed:
            raise
    finally:
        timer.cancel()
    return killed


@pytest.fixture
def own_browser(playwright_driver):
    """``(browser, its processes)``: a headless Chromium of this test's own (launched from the
    session's Playwright: the sync API allows one per thread), closed within
    :data:`CLOSE_SECONDS` or killed (the test then fails with that), so a close that hangs costs
    no other test its browser."""
    before = _descendants(os.getpid())  # the Playwright driver's and any other browser's
    instance = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    processes = _descendants(os.getpid()) - before
    yield instance, processes
    killed = close_within(instance, processes, CLOSE_SECONDS)
    if killed:
        pytest.fail(f"Chromium did not close within {CLOSE_SECONDS:g} s (Playwright's close hung): "
                    f"killed its processes {killed}")


def test_a_browser_that_does_not_close_is_killed_and_reported(own_browser):
    """The bound on closing works: a Chromium stopped (it answers nothing) is killed after the bound."""
    browser, processes = own_browser
    assert processes
    browser.new_context().new_page().goto("about:blank")
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    killed = close_within(browser, processes, 2.0)
    assert set(processes) <= set(killed)


def _start_preview(root: Path, port: int, log: Path) -> subprocess.Popen:
    """``weike serve ROOT --port PORT`` in a session of its own, writing to ``log``.

    A file, not a pipe: nothing has to read the preview while the test waits on the browser (a
    full pipe would stop the preview mid-rebuild), and a process it forked that outlives it
    holds no pipe whose end the test would wait for.
    """
    with log.open("w", encoding="utf-8") as output:
        return subprocess.Popen([sys.executable, "-m", "weike.builder", "serve", str(root), "--port", str(port)],
                                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen, log: Path) -> str:
    """Stop the preview (Ctrl-C's signal, then SIGKILL to its whole group) and return its output."""
    for signum, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 20)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    return log.read_text(encoding="utf-8", errors="replace")


def _open(page, url: str, timeout: float = 30.0) -> None:
    """``page.goto(url)``, again if a live reload of the page before cut the navigation short."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout
    while True:
        try:
            page.goto(url)
            return
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_preview_shows_errors_in_the_browser_and_recovers(delivered_repo, own_browser, tmp_path):
    browser, _ = own_browser
    repository, _, _ = delivered_repo(valid_courses=("demo",))
    root = repository.root
    port = free_port()
    log = tmp_path / "serve.log"
    process = _start_preview(root, port, log)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_for(base + "courses/demo/", "测试课程")
        page = context.new_page()
        _open(page, base + "courses/demo/")
        assert page.locator("#weike-preview-problems").count() == 0

        # The teacher types the title on a Chinese keyboard and forgets the space after the colon.
        course_yml = root / "courses/demo/course.yml"
        good = course_yml.read_text(encoding="utf-8")
        course_yml.write_text(good.replace("title: 测试课程", "title:测试课程"), encoding="utf-8")
        # (The predicate may run while the live reload has the page between two documents: no body.)
        page.wait_for_function("() => document.body && document.body.innerText.includes('E001')", timeout=90_000)
        # One save may rebuild twice (a watcher sees the truncation and the write): a reload may
        # come between the wait and the read.
        text = _read(page, lambda: page.inner_text("body"), lambda found: "E001" in found)
        assert "courses/demo/course.yml:1" in text
        assert "课程里有 1 个错误" in text and "提示：" in text and "title: 测试课程" in text
        assert "Not found" not in text and "404" not in text
        # Every other page carries the same problems as a banner.
        assert 'id="weike-preview-problems"' in (fetch(base) or "")

        # Fixed: the open page reloads by itself and is the course page again.
        course_yml.write_text(good, encoding="utf-8")
        page.wait_for_function("() => document.body && !document.body.innerText.includes('E001')"
                               " && document.body.innerText.includes('测试课程')", timeout=90_000)
        assert _read(page, lambda: page.locator("#weike-preview-problems").count(), lambda count: count == 0) == 0
        assert "weike-preview-problems" not in wait_for(base, "共 <strong>1</strong> 门课程")
    finally:
        # The preview first (the page's pending reload poll ends), then the browser, by the fixture.
        output = _stop(process, log)
    assert "Traceback" not in output


def _facts(page) -> dict[str, str]:
    """The course page's facts list, term -> text."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.weike-facts dt')]
        .map(dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))""")


def _read(page, read, ready, timeout: float = 30.0):
    """``read()`` once ``ready(value)``, or as it is at ``timeout``: the preview may rebuild and
    reload the open page while it is read (a build in another terminal delivers the videos, then
    writes the media manifest: two saves)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read()
        except PlaywrightError:  # the live reload navigated while the page was read
            if time.monotonic() > deadline:
                raise
        else:
            if ready(value) or time.monotonic() > deadline:
                return value
        time.sleep(0.3)


def _facts_when(page, ready, timeout: float = 30.0) -> dict[str, str]:
    """The facts once ``ready(facts)``, or as they are at ``timeout`` (see :func:`_read`)."""
    return _read(page, lambda: _facts(page), ready, timeout)


def test_preview_shows_the_videos_of_a_build_run_beside_it(make_repo, own_browser, tmp_path):
    """A teacher starts `weike serve` before any build, then runs `weike build` in another terminal:
    the open lecture page shows the video by itself (no file saved, no restart), and the totals,
    unknown before the build, are never shown as a wrong figure."""
    browser, _ = own_browser
    root = make_repo(valid_courses=("demo",))
    assert not (root / "dist").exists()
    port = free_port()
    log = tmp_path / "serve.log"
    process = _start_preview(root, port, log)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_for(base + "courses/demo/01-lecture-1/", "视频尚未生成")
        page = context.new_page()
        _open(page, base)
        totals = page.inner_text(".weike-totals")
        assert "共 1 门课程" in totals and "10 个微课的视频还没有生成" in totals and "分钟" not in totals
        _open(page, base + "courses/demo/")
        facts = _facts(page)
        # No figure made up from unknown lengths: what is known, and when the rest will be.
        assert facts["总时长"] == "视频生成后显示（已生成 0/10 个微课的视频）"
        assert facts["学时"].startswith("视频生成后计算")

        _open(page, base + "courses/demo/01-lecture-1/")
        assert page.locator("video").count() == 0 and "视频尚未生成" in page.inner_text("body")
        build = subprocess.run([sys.executable, "-m", "weike.builder", "build", str(root)],
                               capture_output=True, text=True, timeout=600)
        assert build.returncode == 0, build.stdout + build.stderr
        # The open page reloads by itself and plays the delivered video.
        page.wait_for_selector("video", timeout=90_000)
        source = _read(page, lambda: page.locator("video").first.evaluate(
            "v => v.currentSrc || v.querySelector('source')?.src || v.src"), lambda src: "01-lecture-1.mp4" in src)
        assert "media/demo/01-lecture-1.mp4" in source
        assert "视频尚未生成" not in _read(page, lambda: page.inner_text("body"), lambda text: "视频尚未生成" not in text)

        _open(page, base)
        totals = _read(page, lambda: page.inner_text(".weike-totals"), lambda found: "总时长约" in found)
        assert "共 1 门课程、10 个微课，总时长约 1 分钟" in totals and "还没有生成" not in totals
        _open(page, base + "courses/demo/")
        facts = _facts_when(page, lambda found: found.get("总时长") == "1 分钟")
        assert facts["总时长"] == "1 分钟" and facts["学时"].startswith("0.5 学时")
    finally:
        # The preview first (the page's pending reload poll ends), then the browser, by the fixture.
        output = _stop(process, log)
    assert "Traceback" not in output


def test_problems_are_escaped_in_the_page_and_banner():
    from weike.builder.contracts.model import Diagnostic, Severity, SourceLocation
    from weike.plugins.site.serve import problems_banner, problems_page

    hostile = Diagnostic(code="E104", severity=Severity.ERROR,
                         location=SourceLocation(file="courses/<b>x</b>/course.yml", line=3),
                         message="主题“<script>alert(1)</script>”无效", message_en="theme <img src=x onerror=1>",
                         hint="可选：<i>…</i>")
    for html_text in (problems_page([hostile]), problems_banner([hostile])):
        assert "<script>alert" not in html_text and "<img" not in html_text and "<b>x" not in html_text
        assert "&lt;script&gt;" in html_text and "courses/&lt;b&gt;x&lt;/b&gt;/course.yml:3" in html_text
