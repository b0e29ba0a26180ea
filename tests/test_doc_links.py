"""No dangling links in README.md and docs/: every relative link names a file (and heading) that exists."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

_LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
_FENCE_RE = re.compile(r"^```.*?^```", re.S | re.M)


def _documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`", "", heading.strip().lower())
    kept = "".join(ch for ch in heading if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE_RE.sub("", path.read_text(encoding="utf-8"))
    return {_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, flags=re.M)}


def _links(path: Path) -> list[str]:
    text = _FENCE_RE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # `![说明](step1.jpg)` in code is an example, not a link
    return [m.group(1) or m.group(2) for m in _LINK_RE.finditer(text)]


@pytest.mark.parametrize("document", _documents(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_resolve(document: Path):
    dangling = []
    for link in _links(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ...
            continue
        target, _, anchor = link.partition("#")
        path = (document.parent / target).resolve() if target else document
        if not path.exists():
            dangling.append(link)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            dangling.append(link)
    assert not dangling, f"{document.name}: dangling links {dangling}"


def test_no_mention_of_files_that_do_not_exist():
    """Design papers outside the repository (SPEC.md, DESIGN.md) are not sources readers can open."""
    for document in _documents():
        text = document.read_text(encoding="utf-8")
        for name in ("SPEC.md", "DESIGN.md", "STYLE.md"):
            if name in text:
                assert (REPO_ROOT / name).exists(), f"{document.name} mentions {name}, which is not in the repository"


def test_the_checker_catches_a_dangling_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# 标题 Title\n[ok](#标题-title) [bad](missing.md) [bad anchor](#nowhere)\n", encoding="utf-8")
    assert _links(page) == ["#标题-title", "missing.md", "#nowhere"]
    assert _anchors(page) == {"标题-title"}
