"""The site is rebuilt incrementally: only pages whose inputs changed are rendered, unchanged files
are not rewritten, and the result equals a cold build file by file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.conftest import lecture_md
from tests.plugins.site.conftest import build_site

STAMP = ".weike-site.json"


def tree(site: Path) -> dict[str, bytes]:
    """Every file of a built site but its stamp (which records file times) by relative path."""
    return {path.relative_to(site).as_posix(): path.read_bytes()
            for path in sorted(site.rglob("*")) if path.is_file() and path.name != STAMP}


def identities(site: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every page: a page rewritten gets a new pair."""
    return {path.relative_to(site).as_posix(): (path.stat().st_ino, path.stat().st_mtime_ns)
            for path in site.rglob("index.html")}


def assert_equals_cold(built) -> None:
    """Build the same repository from nothing into the same place and compare every file."""
    incremental = tree(built.site)
    kept = built.site.with_name("site-incremental")
    os.replace(built.site, kept)
    try:
        build_site(built.root, built.delivered)
        cold = tree(built.site)
    finally:
        shutil.rmtree(built.site)
        os.replace(kept, built.site)
    assert sorted(incremental) == sorted(cold)
    different = [rel for rel in cold if incremental[rel] != cold[rel]]
    assert different == []


def test_incremental_builds_equal_a_cold_build_after_every_edit(built_site):
    about = {"site/about.md": "# 关于我们\n\n社区学院的介绍。\n"}
    built = built_site(about, site_url="https://weike.example.gov.cn/")
    photo = built.root / "courses/photo"
    parked = built.root.parent / "parked-photo"
    shutil.move(photo, parked)  # the "new course" of a later step
    built.rebuild()
    assert not (built.site / "courses/photo").exists()

    # A lecture's notes: that lecture's page is rendered again, other pages are not rewritten.
    before = identities(built.site)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()
    after = identities(built.site)
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    rewritten = sorted(rel for rel in after if after[rel] != before.get(rel))
    assert rewritten == ["courses/demo/01-lecture-1/index.html"]
    assert_equals_cold(built)

    # A title that appears in the navigation.
    (built.root / "site/about.md").write_text("# 学院简介\n\n社区学院的介绍。\n", encoding="utf-8")
    built.rebuild()
    assert "学院简介" in built.html("courses/demo")
    assert_equals_cold(built)

    # A new course, then a course deleted.
    shutil.move(parked, photo)
    built.rebuild()
    assert (built.site / "courses/photo/index.html").is_file()
    assert_equals_cold(built)
    shutil.rmtree(built.root / "courses/demo")
    built.rebuild()
    assert not (built.site / "courses/demo").exists()
    assert_equals_cold(built)

    # A theme change.
    (built.root / "mkdocs.yml").write_text(
        "site_name: 社区教育微课\ntheme:\n  name: material\n  palette:\n    primary: red\n", encoding="utf-8")
    built.rebuild()
    assert 'data-md-color-primary="red"' in built.html("courses/photo")
    assert_equals_cold(built)

    # A lecture retitled: its course page lists it, the others stay as they were.
    before = identities(built.site)
    lecture = built.root / "courses/photo/01-lecture-1/lecture.md"
    lecture.write_text(lecture_md(title="新的微课标题", knowledge_point="构图的三分法"), encoding="utf-8")
    built.rebuild()
    after = identities(built.site)
    rewritten = {rel for rel in after if after[rel] != before.get(rel)}
    assert {"courses/photo/index.html", "courses/photo/01-lecture-1/index.html"} <= rewritten
    assert "index.html" not in rewritten and "about/index.html" not in rewritten
    assert_equals_cold(built)


def test_an_edit_to_the_navigation_renders_every_page_that_shows_it(built_site):
    built = built_site({"site/about.md": "# 关于我们\n\n介绍。\n"})
    before = identities(built.site)
    (built.root / "site/about.md").write_text("# 学院简介\n\n介绍。\n", encoding="utf-8")
    built.rebuild()
    after = identities(built.site)
    assert sorted(after) == sorted(before)
    # Every page (the 404 page too) shows the sidebar with the new title.
    stale = [rel for rel in after if after[rel] == before[rel]]
    assert stale == []
    for rel in after:
        assert "学院简介" in (built.site / rel).read_text(encoding="utf-8"), rel
    assert "学院简介" in (built.site / "404.html").read_text(encoding="utf-8")


def test_a_defaced_page_is_rendered_again(built_site):
    built = built_site()
    page = built.site / "courses/demo/01-lecture-1/index.html"
    good = page.read_bytes()
    page.write_bytes(b"defaced")
    built.rebuild()
    assert page.read_bytes() == good
    page.unlink()
    built.rebuild()
    assert page.read_bytes() == good


def test_a_hand_written_link_to_a_kept_page_resolves_as_in_a_cold_build(built_site):
    built = built_site({"site/about.md": "# 关于我们\n\n先看[手机课程](courses/demo/index.md)。\n"})
    assert 'href="../courses/demo/"' in built.html("about")
    notes = built.root / "courses/photo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()  # the course page is kept, the hand-written page that links to it rendered again
    assert 'href="../courses/demo/"' in built.html("about")
    assert_equals_cold(built)
