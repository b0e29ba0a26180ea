"""Lecture notes -> safe HTML: what the author wrote stays, and only what is not allowed is named."""

from __future__ import annotations

from weike.plugins.notes import render_notes


def test_a_top_level_heading_is_a_heading_not_unsafe_markup():
    """The page's own title is its top heading: the notes' headings move one level down with their
    hierarchy, and nothing is reported as removed (W406 once called ``# 标题`` unsafe content)."""
    notes = render_notes("# 第一步\n\n## 打开设置\n\n正文。\n\n###### 最小\n\n<h1>手写的标题</h1>\n",
                         lecture_folder=None, course_folder=None)
    assert notes.removed == ()
    assert "<h2>第一步</h2>" in notes.html and "<h3>打开设置</h3>" in notes.html
    assert "<h6>最小</h6>" in notes.html and "<h2>手写的标题</h2>" in notes.html
    assert "<h1" not in notes.html


def test_headings_below_the_top_level_keep_their_level():
    notes = render_notes("## 小节\n\n### 更小\n", lecture_folder=None, course_folder=None)
    assert notes.removed == ()
    assert "<h2>小节</h2>" in notes.html and "<h3>更小</h3>" in notes.html


def test_markup_that_is_not_allowed_is_still_named():
    notes = render_notes("# 标题\n\n<script>alert(1)</script>\n", lecture_folder=None, course_folder=None)
    assert notes.removed == ("<script>",)
    assert "<h2>标题</h2>" in notes.html and "alert" not in notes.html
