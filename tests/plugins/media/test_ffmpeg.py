"""The one ffmpeg runner: exact command logged, progress parsed, failures carry stderr, decode checks."""

from __future__ import annotations

import logging
import shlex

import pytest

from weike.plugins.media import runner as ffmpeg
from tests.plugins.media_sources import check_decodes


def test_run_logs_the_exact_command(caplog, tmp_path):
    target = tmp_path / "a b.wav"
    with caplog.at_level(logging.DEBUG, logger="weike.ffmpeg"):
        ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", "sine=duration=0.2", str(target)])
    line = caplog.records[-1].getMessage()
    assert shlex.split(line)[-1] == str(target) and shlex.split(line)[0].endswith("ffmpeg")


def test_failure_carries_the_tail_of_stderr(tmp_path):
    with pytest.raises(ffmpeg.FfmpegError) as caught:
        ffmpeg.run(["-hide_banner", "-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    assert "No such file or directory" in caught.value.stderr_tail
    assert caught.value.returncode != 0 and "missing.mp4" in str(caught.value)


def test_failure_survives_pickling_for_remote_workers(tmp_path):
    import pickle

    error = ffmpeg.FfmpegError(["ffmpeg", "-i", "x"], 1, "line one\nInvalid data found\n")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.command, copy.returncode, copy.stderr_tail) == (error.command, 1, error.stderr_tail)


def test_run_progress_reports_output_time():
    seen: list[float] = []
    completed = ffmpeg.run_progress(["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2",
                                     "-f", "null", "-"], on_progress=seen.append)
    assert seen and seen == sorted(seen)
    assert abs(float(completed.stdout) - 2.0) < 0.1


def test_run_progress_kills_an_overrunning_ffmpeg():
    # -re reads the input at its natural pace: 60 s of video can't finish within 1 s.
    with pytest.raises(ffmpeg.FfmpegError) as caught:
        ffmpeg.run_progress(["-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=60",
                             "-f", "null", "-"], timeout=1)
    assert "timed out" in caught.value.stderr_tail


def test_run_progress_failure_has_stderr(tmp_path):
    with pytest.raises(ffmpeg.FfmpegError) as caught:
        ffmpeg.run_progress(["-i", str(tmp_path / "nope.mp4"), "-f", "null", "-"])
    assert "No such file" in caught.value.stderr_tail


def test_check_decodes_accepts_good_and_refuses_damaged_files(media, tmp_path):
    good = media("landscape.mp4")
    check_decodes(good)
    data = bytearray(good.read_bytes())
    # Overwrite the middle of the media data with garbage (the index at the end stays intact).
    middle = len(data) // 3
    data[middle:middle + 4000] = bytes((i * 37) % 256 for i in range(4000))
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ffmpeg.FfmpegError):
        check_decodes(damaged)
