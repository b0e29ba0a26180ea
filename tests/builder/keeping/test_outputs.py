"""Atomic outputs: nothing half-written, nothing rewritten when unchanged."""

from __future__ import annotations

import os

import pytest

from weike.builder.keeping.outputs import link_file, remove_temps, same_file, write_atomic, write_atomic_with


def test_write_atomic_writes_once_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out" / "manifest.json"
    assert write_atomic(target, b"one") is True
    stamp = target.stat().st_mtime_ns
    assert write_atomic(target, b"one") is False
    assert target.stat().st_mtime_ns == stamp
    assert write_atomic(target, b"two") is True and target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["manifest.json"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "report.xlsx"
    write_atomic(path, b"old")

    def explode(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic_with(path, explode)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_publish_hard_links_and_skips_when_already_linked(tmp_path):
    source = tmp_path / "cache.mp4"
    source.write_bytes(b"video")
    target = tmp_path / "dist" / "lecture.mp4"
    assert link_file(source, target) is True
    assert os.path.samefile(source, target) and same_file(source, target)
    assert link_file(source, target) is False
    other = tmp_path / "other.mp4"
    other.write_bytes(b"other video")
    assert link_file(other, target) is True and target.read_bytes() == b"other video"


def test_link_file_makes_missing_folders_and_reports_a_missing_source(tmp_path):
    source = tmp_path / "video.mp4"
    source.write_bytes(b"video")
    target = tmp_path / "site" / "media" / "demo" / "lecture.mp4"
    assert link_file(source, target) is True and os.path.samefile(source, target)
    assert link_file(source, target.with_name("again.mp4")) is True  # (its folder there now)
    assert sorted(p.name for p in target.parent.iterdir()) == ["again.mp4", "lecture.mp4"]
    with pytest.raises(FileNotFoundError):
        link_file(tmp_path / "gone.mp4", tmp_path / "site" / "media" / "other" / "lecture.mp4")
    assert not (tmp_path / "site" / "media" / "other" / "lecture.mp4").exists()
    assert not [p for p in (tmp_path / "site").rglob(".tmp-*")]


def test_remove_temps_clears_leftovers_of_a_killed_build(tmp_path):
    (tmp_path / ".tmp-abc-lecture.mp4").write_bytes(b"half")
    (tmp_path / "lecture.mp4").write_bytes(b"whole")
    assert remove_temps(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["lecture.mp4"]
