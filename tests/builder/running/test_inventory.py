"""``weike cache info|prune`` on real builds: prune never costs the current courses a rebuild."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from weike.builder.cli import main
from weike.builder.keeping.memo import FileMemo
from weike.builder.keeping.store import ContentStore
from tests.conftest import COURSE_YML, course_files, write_tree

pytestmark = pytest.mark.slow

#: A second, different clip: a lecture switched to it leaves the first one's entry behind.
OTHER_CLIP = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-f", "lavfi", "-i",
              "sine=frequency=660:duration=1:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast",
              "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]


def info(root: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["cache", "info", str(root), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def part(survey: dict, name: str) -> dict:
    return next(p for p in survey["parts"] if p["name"] == name)


def store_keys(cache: Path) -> set[str]:
    return {key for key, _ in ContentStore(cache / "media").entries()}


@pytest.fixture(scope="module")
def built_once(tmp_path_factory, media, cover_jpeg):
    """A repository with two courses (one with a pure-audio lecture), fully built once per module."""
    root = tmp_path_factory.mktemp("inventory") / "repo"
    write_tree(root, course_files("a", media_file=media("landscape.mp4"), cover=cover_jpeg))
    write_tree(root, course_files("b", media_file=media("landscape.mp4"), cover=cover_jpeg))
    (root / "courses/a/02-lecture-2/video.mp4").unlink()
    shutil.copyfile(media("tone.mp3"), root / "courses/a/02-lecture-2/voice.mp3")
    assert main(["build", str(root), "--jobs", "2", "-q"]) == 0
    return root


@pytest.fixture
def built(built_once, tmp_path, capsys):
    """A copy of the built repository, cache and dist/ included, for one test to change."""
    root = tmp_path / "repo"
    shutil.copytree(built_once, root)
    capsys.readouterr()
    return root


def test_info_after_a_build_finds_nothing_to_prune_but_scratch(built, capsys):
    survey = info(built, capsys)
    assert survey["cache"] == str(built / ".weike/cache") and not survey["from_environment"]
    media = part(survey, "media")
    assert media["items"] == 2 and media["needed"] == 2 and media["unneeded"] == 0 and media["size"] > 0
    assert part(survey, "site-covers")["needed"] == 1
    assert part(survey, "media-memo")["unneeded"] == 0
    # What each report and submission form was made from: one ledger per folder of forms.
    assert part(survey, "province-forms")["items"] == 2 and part(survey, "province-forms")["unneeded"] == 0
    # The site's work folder is rebuilt by every site build: the only thing a prune takes now.
    assert [p["name"] for p in survey["parts"] if p["unneeded"]] == ["site-work"]
    assert survey["unclaimed"] == []

    assert main(["cache", "info", str(built)]) == 0
    text = capsys.readouterr().out
    assert "转码结果" in text and "weike cache prune" in text


def test_prune_removes_what_no_course_uses_and_a_rebuild_redoes_nothing(built, media, capsys):
    cache = built / ".weike/cache"
    before = store_keys(cache)
    # Lecture a/02 now has a video instead of the recording, and both courses have a new cover:
    # the pure-audio entry and the old thumbnail are no longer used by anything.
    (built / "courses/a/02-lecture-2/voice.mp3").unlink()
    shutil.copyfile(media("other.mp4", OTHER_CLIP), built / "courses/a/02-lecture-2/video.mp4")
    from PIL import Image

    for slug in ("a", "b"):
        Image.new("RGB", (1280, 720), (200, 40, 40)).save(built / f"courses/{slug}/cover.jpg", "JPEG")
    assert main(["build", str(built), "--jobs", "2", "-q"]) == 0
    capsys.readouterr()
    after_edit = store_keys(cache)
    lectures = json.loads((built / "dist/media/manifest.json").read_text(encoding="utf-8"))["lectures"]
    (stale,) = after_edit - {record["cache_key"] for record in lectures.values()}
    assert stale in before
    survey = info(built, capsys)
    assert part(survey, "media")["unneeded"] == 1 and part(survey, "site-covers")["unneeded"] == 1

    # A dry run lists and removes nothing.
    assert main(["cache", "prune", str(built), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove" in out and stale[:12] in out and store_keys(cache) == after_edit

    assert main(["cache", "prune", str(built)]) == 0
    out = capsys.readouterr().out
    assert f"removed media/{stale[:2]}/{stale}" in out
    assert store_keys(cache) == after_edit - {stale}
    survey = info(built, capsys)
    assert all(p["unneeded"] == 0 for p in survey["parts"])

    # Nothing the current courses need went: the next build encodes nothing, and the site is unchanged
    # (without the stamp every stage runs, instead of the whole build being replayed).
    (cache / "build-stamp.json").unlink()
    assert main(["build", str(built), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "转码 0，直通 0，缓存 20" in out and "输入没有变化" in out


def test_prune_keeps_courses_that_fail_the_check_and_other_courses_of_the_repository(built, capsys):
    cache = built / ".weike/cache"
    keys = store_keys(cache)
    # Course a breaks a rule (summary over 100 characters): it is not built, but its media stays
    # for when it is fixed. Pruning from inside course b's folder still counts course a.
    course_yml = built / "courses/a/course.yml"
    course_yml.write_text(COURSE_YML.replace("一门用于测试的课程。", "长" * 120), encoding="utf-8")
    assert main(["check", str(built)]) == 1
    assert main(["cache", "prune", str(built / "courses/b")]) == 0
    capsys.readouterr()
    assert store_keys(cache) == keys

    course_yml.write_text(COURSE_YML, encoding="utf-8")
    assert main(["build", str(built), "--jobs", "2", "--only", "media"]) == 0
    assert "转码 0" in capsys.readouterr().out


def test_prune_forgets_facts_about_files_that_are_gone(built, capsys):
    memo_path = built / ".weike/cache/media-memo.sqlite"
    info(built, capsys)  # hashes and probes this copy's sources into the memo
    shutil.rmtree(built / "courses/b")
    survey = info(built, capsys)
    gone = part(survey, "media-memo")["unneeded"]
    assert gone >= 10  # hash and probes of course b's ten sources
    assert main(["cache", "prune", str(built)]) == 0
    assert f"{gone} 条" in capsys.readouterr().out
    with FileMemo(memo_path) as memo:
        facts = memo.survey()
    assert facts and all(current for *_, current in facts)


def test_prune_removes_temp_folders_of_dead_builds_only(built, capsys):
    store = built / ".weike/cache/media"
    dead = store / f".tmp-abcdef012345-999999999@{socket.gethostname()}"
    running = store / f".tmp-abcdef012346-{os.getpid()}@{socket.gethostname()}"
    foreign_old = store / ".tmp-abcdef012347-1234@worker7"
    foreign_new = store / ".tmp-abcdef012348-1234@worker8"
    for folder in (dead, running, foreign_old, foreign_new):
        folder.mkdir()
        (folder / "video.mp4").write_bytes(b"half a file")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(foreign_old, (day_ago, day_ago))

    assert main(["cache", "prune", str(built)]) == 0
    capsys.readouterr()
    assert not dead.exists() and not foreign_old.exists()
    assert running.exists() and foreign_new.exists()  # maybe still being written


def test_unclaimed_files_are_reported_and_left_alone(built, capsys):
    stray = built / ".weike/cache/notes.txt"
    stray.write_text("kept by someone", encoding="utf-8")
    survey = info(built, capsys)
    assert survey["unclaimed"] == [{"path": str(stray), "size": stray.stat().st_size}]
    assert main(["cache", "prune", str(built)]) == 0
    assert stray.exists()


def test_weike_cache_dir_moves_the_cache(tmp_path, make_repo, monkeypatch, capsys):
    root = make_repo(valid_courses=("c",))
    elsewhere = tmp_path / "shared-cache"
    monkeypatch.setenv("WEIKE_CACHE_DIR", str(elsewhere))
    assert main(["build", str(root), "--only", "media", "-q"]) == 0
    survey = info(root, capsys)
    assert survey["cache"] == str(elsewhere) and survey["from_environment"]
    assert part(survey, "media")["needed"] == 1 and not (root / ".weike/cache").exists()
    assert main(["cache", "info", str(root)]) == 0
    assert "$WEIKE_CACHE_DIR" in capsys.readouterr().out
