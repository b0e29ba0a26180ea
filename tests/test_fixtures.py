"""The shared fixtures themselves produce what they promise."""

from __future__ import annotations

from weike.plugins.media import runner as ffmpeg


def test_delivered_repo_fixture_gives_real_conforming_files(delivered_repo):
    repository, delivered, dist = delivered_repo(valid_courses=("a",))
    assert len(delivered) == 10
    item = delivered["a/01-lecture-1"]
    assert item.path.is_file() and item.poster.is_file() and item.subtitles.read_text().startswith("WEBVTT")
    info = ffmpeg.probe_json(item.path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"], video["r_frame_rate"]) == ("h264", 1280, 720, "25/1")
    assert (audio["codec_name"], audio["sample_rate"]) == ("aac", "48000")
