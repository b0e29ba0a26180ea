"""A course's remembered pages (plugins/site/course_memo.py): its file holds the summary on its first
line, the pages' metadata on its second and their bodies as they are; a page read back is the page remembered, or the
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
def test_the_pages_of_a_memo_altered_in_any_way_are_no_memo(tmp_path, how):
    remembered(tmp_path)
    (path,) = tmp_path.glob("*.json")
    summary, _, pages = path.read_bytes().partition(b"\n")
    path.write_bytes(summary + b"\n" + damaged(pages, how))
    memo = CourseMemo(tmp_path)
    assert memo.get("demo", "k" * 64) is not None  # the summary is intact
    with pytest.raises(MemoMissing):
        memo.pages("demo")
    assert not path.exists()  # forgotten: the next build makes the course again


@pytest.mark.parametrize("cut", [0, 1, 100, -1])
def test_a_memo_whose_summary_is_cut_short_is_no_memo(tmp_path, cut):
    """A course's file cut within its first line (a build killed while writing it in place)."""
    remembered(tmp_path)
    (path,) = tmp_path.glob("*.json")
    summary = path.read_bytes().partition(b"\n")[0]
    path.write_bytes(summary[:cut])
    memo = CourseMemo(tmp_path)
    assert memo.get("demo", "k" * 64) is None


def test_a_course_made_again_replaces_its_memo_whole(tmp_path):
    remembered(tmp_path)
    pages = {"courses/demo/index.md": GeneratedPage(meta={}, html="<p>又一版</p>")}
    made = CourseMade(digests={rel: content_digest(rel, page) for rel, page in pages.items()}, catalogue="{}")
    assert CourseMemo(tmp_path).put("demo", "j" * 64, pages, made)
    memo = CourseMemo(tmp_path)
    assert memo.get("demo", "k" * 64) is None
    assert memo.get("demo", "j" * 64) is not None
    assert memo.pages("demo") == pages
    assert [path.name for path in tmp_path.iterdir()] == [next(tmp_path.glob("*.json")).name]  # no temporary file left  # forgotten: the next build makes the course again
