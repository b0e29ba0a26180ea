"""`weike serve` in real Chromium: an error shows in the open page, in Chinese with file:line and hint,
and the page comes back by itself once the file is fixed (no reload by hand, no English "404")."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.plugins.site.test_site_serve import fetch, free_port, wait_for

pytestmark = pytest.mark.slow


def test_preview_shows_errors_in_the_browser_and_recovers(delivered_repo, browser):
    repository, _, _ = delivered_repo(valid_courses=("demo",))
    root = repository.root
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "serve", str(root), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_for(base + "courses/demo/", "测试课程")
        page = context.new_page()
        page.goto(base + "courses/demo/")
        assert page.locator("#weike-preview-problems").count() == 0

        # The teacher types the title on a Chinese keyboard and forgets the space after the colon.
        course_yml = root / "courses/demo/course.yml"
        good = course_yml.read_text(encoding="utf-8")
        course_yml.write_text(good.replace("title: 测试课程", "title:测试课程"), encoding="utf-8")
        page.wait_for_function("() => document.body.innerText.includes('E001')", timeout=90_000)
        text = page.inner_text("body")
        assert "courses/demo/course.yml:1" in text
        assert "课程里有 1 个错误" in text and "提示：" in text and "title: 测试课程" in text
        assert "Not found" not in text and "404" not in text
        # Every other page carries the same problems as a banner.
        assert 'id="weike-preview-problems"' in (fetch(base) or "")

        # Fixed: the open page reloads by itself and is the course page again.
        course_yml.write_text(good, encoding="utf-8")
        page.wait_for_function("() => !document.body.innerText.includes('E001')"
                               " && document.body.innerText.includes('测试课程')", timeout=90_000)
        assert page.locator("#weike-preview-problems").count() == 0
        assert "weike-preview-problems" not in wait_for(base, "共 <strong>1</strong> 门课程")
    finally:
        context.close()
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert "Traceback" not in output


def test_problems_are_escaped_in_the_page_and_banner():
    from weike.builder.model import Diagnostic, Severity, SourceLocation
    from weike.plugins.site.serve import problems_banner, problems_page

    hostile = Diagnostic(code="E104", severity=Severity.ERROR,
                         location=SourceLocation(file="courses/<b>x</b>/course.yml", line=3),
                         message="主题“<script>alert(1)</script>”无效", message_en="theme <img src=x onerror=1>",
                         hint="可选：<i>…</i>")
    for html_text in (problems_page([hostile]), problems_banner([hostile])):
        assert "<script>alert" not in html_text and "<img" not in html_text and "<b>x" not in html_text
        assert "&lt;script&gt;" in html_text and "courses/&lt;b&gt;x&lt;/b&gt;/course.yml:3" in html_text
