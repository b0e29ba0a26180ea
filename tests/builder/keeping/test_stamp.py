"""A whole build is replayed when nothing it reads changed, and never otherwise."""

from __future__ import annotations

import os

import pytest

from weike.builder.cli import main
from tests.conftest import lecture_md


def build(root, *extra) -> int:
    return main(["build", str(root), "--quiet", *extra])


@pytest.fixture
def built(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    assert build(root) == 0
    capsys.readouterr()
    return root


def replayed(capsys) -> bool:
    return "nothing changed since the last build" in capsys.readouterr().out


@pytest.mark.slow
def test_unchanged_build_is_replayed_and_any_change_runs_again(built, capsys):
    root = built
    assert build(root) == 0 and replayed(capsys)

    lecture = root / "courses/c/02-lecture-2/lecture.md"
    lecture.write_text(lecture_md(title="新标题"), encoding="utf-8")
    assert build(root) == 0 and not replayed(capsys)
    assert "新标题" in (root / "dist/site/courses/c/02-lecture-2/index.html").read_text(encoding="utf-8")
    assert build(root) == 0 and replayed(capsys)

    (root / "courses/c/01-lecture-1/extra.txt").write_text("a new file", encoding="utf-8")  # added file
    assert build(root) == 0 and not replayed(capsys)

    (root / "weike.yml").write_text("province: 某省\n", encoding="utf-8")  # settings
    assert build(root) == 0 and not replayed(capsys)

    assert build(root, "--only", "site") == 0 and not replayed(capsys)  # other options: another build
    assert build(root) == 0 and not replayed(capsys)
    assert build(root, "--force") == 0 and not replayed(capsys)


@pytest.mark.slow
def test_touched_or_missing_outputs_run_the_build_again(built, capsys):
    root = built
    video = root / "dist/media/c/03-lecture-3.mp4"
    video.unlink()
    assert build(root) == 0 and not replayed(capsys)
    assert video.is_file()
    report = next((root / "dist/reports").glob("*.xlsx"))
    os.utime(report, ns=(1, 1))
    assert build(root) == 0 and not replayed(capsys)
    assert build(root) == 0 and replayed(capsys)


@pytest.mark.slow
def test_replay_repeats_the_warnings(built, capsys):
    root = built
    path = root / "courses/c/course.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("created: 2023-09-01", "created: 2099-01-01"),
                    encoding="utf-8")
    assert build(root) == 0
    first = capsys.readouterr().out
    assert build(root) == 0
    again = capsys.readouterr().out
    assert "W113" in first and "W113" in again and "nothing changed" in again
    assert build(root, "--strict") == 1  # replayed warnings still fail a strict build


@pytest.mark.slow
def test_failed_build_is_never_replayed(built, capsys):
    root = built
    video = root / "courses/c/04-lecture-4/video.mp4"
    video.write_bytes(b"not a video")
    assert build(root) == 1
    capsys.readouterr()
    assert build(root) == 1 and not replayed(capsys)


@pytest.mark.slow
def test_a_plugin_change_runs_the_build_again(built, capsys):
    root = built
    (root / "plugins").mkdir()
    (root / "plugins/county.py").write_text("X = 1\n", encoding="utf-8")
    assert build(root) == 0 and not replayed(capsys)
    assert build(root) == 0 and replayed(capsys)
