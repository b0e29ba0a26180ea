"""Media rules in ``weike check``: unusable files, durations, subtitles — by code and location."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from weike.builder.keeping.course_memo import CHECKED_FOLDER
from weike.builder.contracts.context import BuildPaths
from weike.builder.keeping.memo import FileMemo
from weike.builder.running.checking import run_check
from weike.plugins.rules.courses import RULES_MEMO_FILE
from weike.plugins.media import shared_memo
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.checks import MEMO_FILE
from tests.plugins.media_sources import make_source, truncated_copy

LECTURE = "courses/c/01-lecture-1"


def codes(root):
    return {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}


def test_unusable_media_files_are_errors_at_the_file(make_repo, media, tmp_path):
    broken = truncated_copy(make_source(media, "faststart.mp4"), tmp_path / "cut.mp4")
    root = make_repo({
        f"{LECTURE}/video.mp4": b"",
        "courses/c/02-lecture-2/video.mp4": "这不是视频\n" * 20,
        "courses/c/03-lecture-3/video.mp4": broken,
        "courses/c/04-lecture-4/video.mp4": media("poster.jpg"),
    }, valid_courses=("c",))
    found = codes(root)
    assert {("E211", f"{LECTURE}/video.mp4", None), ("E211", "courses/c/02-lecture-2/video.mp4", None),
            ("E211", "courses/c/03-lecture-3/video.mp4", None),
            ("E211", "courses/c/04-lecture-4/video.mp4", None)} <= found
    assert not any(code == "E211" for code, file, _ in found if file.startswith("courses/c/05"))


def test_durations_over_7_and_15_minutes(make_repo, media):
    root = make_repo(valid_courses=("c",))
    # Replace two lectures' media with the long sources (audio is a lecture form too).
    for folder, name in (("01-lecture-1", "too-long.mp3"), ("02-lecture-2", "long.mp3")):
        (root / "courses/c" / folder / "video.mp4").unlink()
        os.link(make_source(media, name), root / "courses/c" / folder / name)
    found = codes(root)
    assert ("E203", "courses/c/01-lecture-1/too-long.mp3", None) in found
    assert ("W204", "courses/c/02-lecture-2/long.mp3", None) in found
    messages = {d.code: d.message for d in run_check(root).diagnostics}
    assert "16:01" in messages["E203"] and "7:30" in messages["W204"]


def test_bad_subtitles_point_at_the_line(make_repo):
    srt = "1\n00:00:00,000 --> 00:00:00,900\n你好\n\n2\n00:00:01 -> 00:00:02\n坏的时间轴\n"
    root = make_repo({f"{LECTURE}/video.srt": srt}, valid_courses=("c",))
    assert ("E214", f"{LECTURE}/video.srt", 6) in codes(root)


def test_gbk_subtitles_are_fine(make_repo):
    srt = "1\r\n00:00:00,000 --> 00:00:00,900\r\n字幕测试\r\n".encode("gb18030")
    root = make_repo({f"{LECTURE}/video.srt": srt}, valid_courses=("c",))
    assert not any(code == "E214" for code, _, _ in codes(root))


def test_subtitles_in_another_encoding_are_refused_naming_it(make_repo):
    srt = "1\r\n00:00:00,000 --> 00:00:00,900\r\n打開聊天視窗\r\n\r\n2\r\n00:00:00,900 --> 00:00:01,000\r\n點擊右上角\r\n"
    root = make_repo({f"{LECTURE}/video.srt": srt.encode("big5")}, valid_courses=("c",))
    found = [d for d in run_check(root).diagnostics if d.code == "E214"]
    assert [(d.location.file, d.is_error) for d in found] == [(f"{LECTURE}/video.srt", True)]
    assert "big5" in found[0].message and "big5" in found[0].message_en


def test_oversized_subtitles_are_not_read(make_repo):
    cue = "1\n00:00:00,000 --> 00:00:00,900\n字幕\n\n"
    root = make_repo({f"{LECTURE}/video.srt": cue * (2 * 1024 * 1024 // len(cue.encode()) + 1)},
                     valid_courses=("c",))
    found = [d for d in run_check(root).diagnostics if d.code == "E214"]
    assert len(found) == 1 and "too large" in found[0].message_en


def test_cues_after_the_end_of_the_video_are_a_warning_at_their_line(make_repo):
    # The fixture's clip lasts 1 s: the third cue starts after it ends.
    srt = ("1\n00:00:00,000 --> 00:00:00,500\n一\n\n2\n00:00:00,500 --> 00:00:03,000\n二\n\n"
           "3\n00:00:05,000 --> 00:00:06,000\n三\n\n4\n00:10:00,000 --> 00:10:01,000\n四\n")
    root = make_repo({f"{LECTURE}/video.srt": srt}, valid_courses=("c",))
    late = [d for d in run_check(root).diagnostics if d.code == "W219"]
    assert [(d.location.file, d.location.line, d.is_error) for d in late] == [(f"{LECTURE}/video.srt", 10, False)]
    assert "2 cue(s)" in late[0].message_en


def test_probes_are_memoised_in_one_file_and_edits_are_noticed(make_repo, media):
    root = make_repo(valid_courses=("c",))
    assert codes(root) == set()
    memo_path = BuildPaths.for_root(root).cache / MEMO_FILE
    assert memo_path.is_file()
    # (The rules plugin keeps its own memo of notes and picture verdicts beside it, and the check
    # one entry per course, not per probe.)
    cache_files = [p for p in memo_path.parent.rglob("*")
                   if p.is_file() and not p.name.startswith((MEMO_FILE, RULES_MEMO_FILE))
                   and p.parent.name != CHECKED_FOLDER]
    assert cache_files == []  # one memo file, not one file per probe

    # The memo answers for an unchanged file without running ffprobe: plant a fake fact...
    source = root / f"{LECTURE}/video.mp4"
    memo = shared_memo(BuildPaths.for_root(root).cache)  # the process's memo, as the check uses it
    kind = next(k for (k,) in memo._db.execute("SELECT DISTINCT kind FROM facts") if "headers" in k)
    record = memo.get(kind, source)
    record["info"]["duration"] = 16 * 60.0
    memo.put(kind, source, record)
    with FileMemo(memo_path) as other:  # and it is on disk for the next process too
        assert other.get(kind, source)["info"]["duration"] == 16 * 60.0
    assert ("E203", f"{LECTURE}/video.mp4", None) in codes(root)
    # ...and an edit in place (new bytes, new size and mtime) makes it look again.
    source.write_bytes(source.read_bytes() + b"\0" * 16)
    assert ("E203", f"{LECTURE}/video.mp4", None) not in codes(root)
    assert json.loads(json.dumps(record))  # the memo holds plain JSON


# --------------------------------------------------------------------------------------------
# Probing in parallel: the same report, each source probed once, never again while unchanged
# --------------------------------------------------------------------------------------------

MEDIA_CODES = {"E203", "W204", "E211", "E214", "W219", "E223"}
LATE_CUES = "1\n00:00:00,000 --> 00:00:00,500\n开始\n\n2\n00:00:05,000 --> 00:00:06,000\n太晚了\n"


def problem_courses(make_repo, media, tmp_path):
    """Three courses, each with media problems in different lectures (and one course fine)."""
    cut = truncated_copy(make_source(media, "faststart.mp4"), tmp_path / "cut.mp4")
    files = {}
    for slug, lectures in {
        "a": {"02": ("video.mp4", b""), "05": ("video.mp4", "这不是视频\n" * 20), "09": ("too-long.mp3", None)},
        "b": {"01": ("long.mp3", None), "04": ("video.mp4", cut), "07": ("video.srt", LATE_CUES)},
        "c": {"03": ("video.mp4", media("poster.jpg")), "10": ("video.srt", "1\n00:00:01 -> 00:00:02\n坏\n")},
    }.items():
        for number, (name, content) in lectures.items():
            folder = f"courses/{slug}/{number}-lecture-{int(number)}"
            files[f"{folder}/{name}"] = content if content is not None else make_source(media, name)
    root = make_repo(valid_courses=("a", "b", "c", "d"))
    for path in files:  # a named audio file replaces the lecture's video
        if path.endswith(".mp3"):
            (root / path).parent.joinpath("video.mp4").unlink()
    from tests.conftest import write_tree
    return write_tree(root, files)


def report(root, jobs, cache, monkeypatch):
    monkeypatch.setenv("WEIKE_CACHE", str(cache))  # each run its own memo: both probe every source
    return [(d.code, d.location.file, d.location.line, d.location.column, d.message, d.message_en)
            for d in run_check(root, jobs=jobs).diagnostics]


def test_the_check_reports_the_same_whether_sources_are_probed_one_or_many_at_a_time(make_repo, media, tmp_path,
                                                                                      monkeypatch):
    root = problem_courses(make_repo, media, tmp_path)
    one_at_a_time = report(root, 1, tmp_path / "serial-cache", monkeypatch)
    assert report(root, 4, tmp_path / "parallel-cache", monkeypatch) == one_at_a_time
    assert report(root, 4, tmp_path / "parallel-cache", monkeypatch) == one_at_a_time  # and from the memo
    found = {(code, file) for code, file, *_ in one_at_a_time}
    assert {("E211", "courses/a/02-lecture-2/video.mp4"), ("E211", "courses/a/05-lecture-5/video.mp4"),
            ("E203", "courses/a/09-lecture-9/too-long.mp3"), ("W204", "courses/b/01-lecture-1/long.mp3"),
            ("E211", "courses/b/04-lecture-4/video.mp4"), ("W219", "courses/b/07-lecture-7/video.srt"),
            ("E211", "courses/c/03-lecture-3/video.mp4"), ("E214", "courses/c/10-lecture-10/video.srt")} <= found
    assert not any(file.startswith("courses/d/") and code in MEDIA_CODES for code, file in found)



def logging_ffprobe(tmp_path):
    """``(log, env)``: the real ffprobe behind a script that notes in ``log`` which file each run
    was asked about, and the environment that makes weike run it."""
    log = tmp_path / "probes.log"
    wrapper = tmp_path / "ffprobe"
    wrapper.write_text(f'#!/bin/sh\nfor last; do :; done\necho "$last" >> {log}\n'
                       f'exec {ffmpeg.find_binaries().ffprobe} "$@"\n')
    wrapper.chmod(0o755)
    return log, {**os.environ, "WEIKE_FFPROBE": str(wrapper), "WEIKE_FFMPEG": str(ffmpeg.find_binaries().ffmpeg)}


def test_each_source_is_probed_once_cold_and_never_again_warm(make_repo, media, tmp_path):
    root = problem_courses(make_repo, media, tmp_path)
    log, env = logging_ffprobe(tmp_path)

    def check(*options):
        completed = subprocess.run([sys.executable, "-m", "weike.builder", "check", str(root), *options],
                                   capture_output=True, text=True, env=env)
        assert completed.returncode == 1, completed.stderr  # the problems above are errors
        return log.read_text().splitlines() if log.exists() else []

    cold = check("--jobs", "3")
    # Every lecture's source once (the empty file is refused before ffprobe), none twice.
    sources = sorted(str(path) for path in (root / "courses").glob("*/*/*") if path.suffix in (".mp4", ".mp3")
                     and path.stat().st_size)
    assert sorted(cold) == sources
    assert check("--jobs", "3") == cold  # warm: the memo answers, ffprobe never runs
    assert check("--jobs", "1") == cold


def test_a_file_several_lectures_link_is_probed_once_and_each_path_remembers_its_own_probe(make_repo, media,
                                                                                            tmp_path):
    root = make_repo(valid_courses=("a", "b"))
    # Lectures of both courses hard-link one clip (a recording split by links, a catalogue's shared
    # intro); the other lectures keep their own copies.
    shared = root / "courses/a/01-lecture-1/video.mp4"
    linked = [root / f"courses/{slug}/{number:02d}-lecture-{number}/video.mp4" for slug, number in
              (("a", 2), ("a", 3), ("b", 1), ("b", 4))]
    for path in linked:
        path.unlink()
        os.link(shared, path)
    log, env = logging_ffprobe(tmp_path)
    completed = subprocess.run([sys.executable, "-m", "weike.builder", "check", str(root), "--jobs", "2"],
                               capture_output=True, text=True, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr

    probed = log.read_text().splitlines()
    sources = sorted((root / "courses").glob("*/*/video.mp4"))
    distinct = {(path.stat().st_dev, path.stat().st_ino) for path in sources}
    assert len(probed) == len(distinct) == len(sources) - len(linked)  # one ffprobe per file, not per path
    # Every path's remembered probe is the one probing that path alone gives (it names its own path).
    from weike.plugins.media.checks import probe_kind
    from weike.plugins.media.probe import info_to_dict, probe_media
    with FileMemo(BuildPaths.for_root(root).cache / MEMO_FILE) as memo:
        for path in [shared, *linked]:
            assert memo.get(probe_kind(), path) == {"info": info_to_dict(probe_media(path))}


def test_unreadable_media_names_the_file_relative_to_the_repository(make_repo, tmp_path):
    # ffprobe's own words start with the path it was given: the English message must not carry
    # the absolute path of the author's checkout, any more than the location does.
    root = make_repo({f"{LECTURE}/video.mp4": "这不是视频\n" * 20}, valid_courses=("c",))
    [problem] = [d for d in run_check(root).diagnostics if d.code == "E211"]
    assert problem.location.file == f"{LECTURE}/video.mp4"
    assert str(tmp_path) not in problem.message_en and str(tmp_path) not in problem.message
    assert f"{LECTURE}/video.mp4" in problem.message_en
