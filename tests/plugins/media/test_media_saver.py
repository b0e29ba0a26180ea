"""The 省流量 (data-saver) rendition is made by the media stage, when a plugin asks for it
(``weike_media_renditions``: the site does from ``mkdocs.yml``), and handed forward with the
delivery in ``DeliveredMedia.renditions``; nothing asked, nothing made."""

from __future__ import annotations

import hashlib

import pytest

from weike.builder.running.pipeline import build
from weike.builder.running.progress import Progress
from weike.plugins.media.probe import probe_media

pytestmark = pytest.mark.slow

SAVER_ON = "site_name: 社区教育微课\nextra:\n  weike:\n    data_saver: true\n"
OFFLINE_SAVER = "site_name: 社区教育微课\nextra:\n  weike:\n    offline:\n      data_saver: true\n"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("mkdocs_yml", [SAVER_ON, OFFLINE_SAVER], ids=["pages", "offline-edition"])
def test_the_media_stage_hands_forward_the_rendition_the_site_asks_for(make_repo, mkdocs_yml):
    root = make_repo({"mkdocs.yml": mkdocs_yml}, valid_courses=("aa",))
    result = build(root, progress=Progress(), only="media")
    assert not result.failed_build()
    media = result.delivered["aa/01-lecture-1"]
    saver = media.renditions["saver"]
    # A value of its own, with the facts of its own file; the delivery's poster and subtitles.
    assert saver.sha256 == sha256(saver.path) != media.sha256
    assert saver.size == saver.path.stat().st_size < media.size
    info = probe_media(saver.path)
    assert (info.width, info.height) == (640, 360)
    assert (saver.course_slug, saver.lecture_slug, saver.poster) == ("aa", "01-lecture-1", media.poster)
    assert not saver.renditions
    # Every lecture shares one source: one rendition, handed to each.
    assert {m.renditions["saver"].path for m in result.delivered.values()} == {saver.path}
    # The delivered file is untouched.
    assert sha256(media.path) == media.sha256


def test_nothing_asked_nothing_made(make_repo):
    root = make_repo(valid_courses=("aa",))
    result = build(root, progress=Progress(), only="media")
    assert result.delivered and not any(media.renditions for media in result.delivered.values())
    assert not (root / ".weike/cache/savers").exists()
