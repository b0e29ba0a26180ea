"""A course's remembered pages (plugins/site/course_memo.py): their file holds the pages' metadata on
its first line and their bodies as they are; a page read back is the page remembered, or the
course's memo is no memo (made again), whatever happened to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from weike.plugins.site.course_memo import CourseMade, CourseMemo, MemoMissing, content_digest
from weike.plugins.site.pages import GeneratedPage

PAGES = {
    "courses/demo/index.md": GeneratedPage(meta={"title": "测试课程 &amp; &lt;b&gt;", "search": {"exclude": True}},
                                           html='<div class="weike-page">\n<h1>测试课程</h1>\n"引号" \\ 😀\n</div>\n'),
    "courses/demo/01-lecture-1.md": GeneratedPage(meta={"title": "第一讲", "hide": ["toc"]},
                                                  html="<p>讲义\u2028\r\n\x00</p>"),
    "courses/demo/02-lecture-2.md": GeneratedPage(meta={}, html=""),
}


def remembered(folder: Path) -> CourseMade:
    made = CourseMade(digests={rel: content_digest(rel, page) for rel, page in PAGES.items()}, catalogue="{}")
    assert CourseMemo(folder).put("demo", "k" * 64, PAGES, made)
    return made


def test_remembered_pages_are_read_back_as_they_were_made(tmp_path):
    remembered(tmp_path)
    memo = CourseMemo(tmp_path)
    assert memo.get("demo", "k" * 64) is not None
    assert memo.pages("demo") == PAGES
    assert memo.get("demo", "another key") is None


def damaged(data: bytes, how: str) -> bytes:
    header, _, bodies = data.partition(b"\n")
    return {
        "zeroed bodies, the same size": header + b"\n" + bytes(len(bodies)),
        "a byte of a body changed": header + b"\n" + bodies.replace("测试".encode(), "测验".encode()),
        "cut short": data[:-1],
        "a byte more": data + b" ",
        "header only": header + b"\n",
        "no line": header,
        "empty": b"",
    }[how]


@pytest.mark.parametrize("how", ["zeroed bodies, the same size", "a byte of a body changed", "cut short",
                                 "a byte more", "header only", "no line", "empty"])
def test_a_pages_file_altered_in_any_way_is_no_memo(tmp_path, how):
    remembered(tmp_path)
    (path,) = tmp_path.glob("*.pages.json")
    path.write_bytes(damaged(path.read_bytes(), how))
    memo = CourseMemo(tmp_path)
    assert memo.get("demo", "k" * 64) is not None  # the summary is intact
    with pytest.raises(MemoMissing):
        memo.pages("demo")
    assert not path.exists()  # forgotten: the next build makes the course again
