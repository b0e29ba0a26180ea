"""The media stage through ``weike build``: outputs, manifest, cache, failures, profiles, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weike.builder.cli import main
from weike.plugins.media.probe import probe_media
from weike.plugins.media.manifest import MANIFEST_FILE
from tests.conftest import REPO_ROOT
from tests.plugins.media_sources import assert_delivery_spec, check_decodes, make_source, truncated_copy

pytestmark = pytest.mark.slow

SRT = "1\n00:00:00,000 --> 00:00:00,800\n<font color=red>你好</font> & 再见\n"


def build(root, *extra: str) -> int:
    return main(["build", str(root), "--only", "media", "--jobs", "2", *extra])


def media_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under dist/media -> (inode, mtime_ns)."""
    folder = root / "dist" / "media"
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest(root: Path) -> dict:
    return json.loads((root / "dist" / "media" / MANIFEST_FILE).read_text(encoding="utf-8"))


@pytest.fixture
def course_repo(make_repo, media):
    """One valid course: ten lectures sharing one clip, lecture 1 with subtitles, lecture 2 pure audio."""
    root = make_repo({"courses/c/01-lecture-1/video.srt": SRT}, valid_courses=("c",))
    (root / "courses/c/02-lecture-2/video.mp4").unlink()
    (root / "courses/c/02-lecture-2/voice.mp3").write_bytes(media("tone.mp3").read_bytes())
    return root


def test_build_delivers_every_lecture_with_poster_subtitles_and_manifest(course_repo, capsys):
    assert build(course_repo) == 0
    out, err = capsys.readouterr()
    # Ten lectures, two distinct sources: the shared clip is encoded once.
    assert "10/10" in out and "2 transcoded" in out and "8 from cache" in out
    # CI (no terminal): a plain line per finished job.
    assert "[转码 transcode 2/2] ok" in err

    media_dir = course_repo / "dist" / "media" / "c"
    for number in range(1, 11):
        stem = media_dir / f"{number:02d}-lecture-{number}"
        assert stem.with_suffix(".mp4").is_file() and stem.with_suffix(".jpg").stat().st_size > 0
    assert_delivery_spec(media_dir / "02-lecture-2.mp4")
    vtt = (media_dir / "01-lecture-1.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n") and "00:00:00.000 --> 00:00:00.800" in vtt and "你好 &amp; 再见" in vtt
    # The same cues as SubRip for the upload forms: the tags a player would not show dropped.
    assert (media_dir / "01-lecture-1.srt").read_text(encoding="utf-8") == \
        "1\n00:00:00,000 --> 00:00:00,800\n你好 & 再见\n"
    assert not (media_dir / "03-lecture-3.vtt").exists() and not (media_dir / "03-lecture-3.srt").exists()

    data = manifest(course_repo)
    assert data["profile"]["name"] == "default" and len(data["lectures"]) == 10
    first, audio = data["lectures"]["c/01-lecture-1"], data["lectures"]["c/02-lecture-2"]
    assert first["file"] == "c/01-lecture-1.mp4" and first["subtitles"] == "c/01-lecture-1.vtt"
    assert first["subtitles_srt"] == "c/01-lecture-1.srt"
    assert first["source"] == "courses/c/01-lecture-1/video.mp4" and len(first["source_sha256"]) == 64
    assert first["probe"]["display_width"] == 1280 and first["probe"]["loudness"] is not None
    assert audio["from_audio"] is True and audio["method"] == "still"
    # The figures the delivered duration was held against are the source's own (1 s of tone).
    assert abs(audio["source_length"]["decoded_audio"] - 1.0) < 0.05 and audio["source_length"]["pure_audio"]
    import hashlib

    assert hashlib.sha256((media_dir / "01-lecture-1.mp4").read_bytes()).hexdigest() == first["sha256"]
    # The delivered files are hard links to the cache: no second copy on disk.
    assert (media_dir / "01-lecture-1.mp4").stat().st_nlink >= 2


def test_stage_hands_delivered_media_to_later_stages(course_repo):
    from weike.builder.contracts.context import BuildContext, BuildPaths
    from weike.builder.running.pipeline import build as run_build
    from weike.builder.running.progress import Progress
    from weike.builder.running.project import Project

    result = run_build(course_repo, progress=Progress(), only="media", jobs=2)
    assert not result.failed
    item = result.delivered["c/01-lecture-1"]
    assert item.path == course_repo / "dist/media/c/01-lecture-1.mp4"
    assert item.poster.is_file() and item.subtitles.is_file() and item.profile == "default"
    assert item.info.display_width == 1280 and abs(item.duration - 1.0) <= 0.2
    assert item.size == item.path.stat().st_size and not item.from_audio
    assert result.delivered["c/02-lecture-2"].from_audio
    # Other plugins (weike serve) ask for what is delivered without delivering: the same facts.
    project = Project.open(course_repo)
    repository = project.load()
    context = BuildContext(config=repository.config, paths=BuildPaths.for_root(course_repo),
                           plugin_manager=project.plugin_manager, progress=Progress())
    offered = project.plugin_manager.hook.weike_media_delivered(context=context, courses=repository.courses)
    assert offered == dict(result.delivered)
    # A lecture whose source is another file now is not offered its old delivery.
    lecture = course_repo / "courses/c/01-lecture-1"
    source = next(path for path in lecture.iterdir() if path.suffix == ".mp4")
    source.rename(source.with_name("renamed.mp4"))
    offered = project.plugin_manager.hook.weike_media_delivered(context=context, courses=project.load().courses)
    assert "c/01-lecture-1" not in offered and "c/02-lecture-2" in offered


def test_no_change_rebuild_transcodes_nothing_and_rewrites_nothing(course_repo, capsys):
    assert build(course_repo) == 0
    before = media_files(course_repo)
    capsys.readouterr()
    assert build(course_repo, "--force") == 0  # the media stage itself runs, finding everything cached
    out = capsys.readouterr().out
    assert "0 transcoded" in out and "10 from cache" in out
    assert media_files(course_repo) == before


def test_editing_a_source_in_place_is_noticed(course_repo, media, capsys):
    assert build(course_repo) == 0
    old = manifest(course_repo)["lectures"]["c/03-lecture-3"]
    capsys.readouterr()
    source = course_repo / "courses/c/03-lecture-3/video.mp4"
    source.write_bytes(make_source(media, "60fps.mp4").read_bytes())
    assert build(course_repo) == 0
    assert "1 transcoded" in capsys.readouterr().out
    new = manifest(course_repo)["lectures"]["c/03-lecture-3"]
    assert new["source_sha256"] != old["source_sha256"] and new["sha256"] != old["sha256"]


def test_one_failing_course_does_not_stop_the_others(make_repo, media, tmp_path, capsys):
    # Its header promises 2 s but the data stops halfway: passes `weike check`, fails delivery.
    cut = truncated_copy(make_source(media, "clip.mkv"), tmp_path / "cut.mkv", 0.5)
    root = make_repo(valid_courses=("good", "bad"))
    (root / "courses/bad/05-lecture-5/video.mp4").unlink()
    (root / "courses/bad/05-lecture-5/video.mkv").write_bytes(cut.read_bytes())
    assert build(root) == 1
    out = capsys.readouterr().out
    assert "courses/bad/05-lecture-5/video.mkv: error E215" in out
    assert "FAILED courses/bad/05-lecture-5/video.mkv" in out
    assert "courses/bad: 在媒体阶段失败 (failed at media)" in out
    lectures = manifest(root)["lectures"]
    assert len([key for key in lectures if key.startswith("good/")]) == 10
    assert "bad/05-lecture-5" not in lectures
    assert not (root / "dist/media/bad/05-lecture-5.mp4").exists()


def test_unknown_profile_is_reported_at_weike_yml(make_repo, capsys):
    root = make_repo({"weike.yml": "province: 测试省\nprofile: nosuch\n"}, valid_courses=("c",))
    assert build(root) == 1
    out = capsys.readouterr().out
    assert "weike.yml:2:10: error E216" in out and "courses/c: 在媒体阶段失败" in out


LOCAL_PROFILE = '''
import dataclasses

from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.media.profile import DEFAULT_PROFILE


@hookimpl
def weike_media_profiles():
    return [dataclasses.replace(DEFAULT_PROFILE, name="small", width=640, height=360, encoder_level="3.0",
                                encoder_preset="veryfast")]
'''


def test_a_plugin_profile_is_chosen_in_weike_yml(make_repo, capsys):
    root = make_repo({"plugins/small_profile.py": LOCAL_PROFILE, "weike.yml": "profile: small\n"},
                     valid_courses=("c",))
    assert build(root) == 0
    info = probe_media(root / "dist/media/c/01-lecture-1.mp4")
    assert (info.display_width, info.display_height) == (640, 360)
    assert manifest(root)["profile"]["name"] == "small"


def _ffmpeg_processes_under(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if "ffmpeg" in cmdline and str(folder) in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and PR_SET_PDEATHSIG")
def test_kill_9_mid_transcode_then_build_again(make_repo, media, capsys):
    root = make_repo(valid_courses=("c",))
    # Three distinct 4-second sources, so the build is busy long enough to be killed mid-way.
    for number, frequency in ((1, 300), (2, 400), (3, 500)):
        source = media(f"kill-{frequency}.mp4", [
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4",
            "-f", "lavfi", "-i", f"sine=frequency={frequency}:duration=4",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"])
        (root / f"courses/c/{number:02d}-lecture-{number}/video.mp4").write_bytes(source.read_bytes())
    store = root / ".weike" / "cache" / "media"
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "build", str(root), "--only", "media", "--jobs", "2"],
                               cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            partial = [p for p in store.glob(".tmp-*/video.mp4") if p.stat().st_size > 0] if store.is_dir() else []
            if partial:
                break
            assert process.poll() is None, "the build finished before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no transcode started within 120 s")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # Its ffmpeg children died with it (nothing keeps encoding into a temp file).
    deadline = time.monotonic() + 10
    while _ffmpeg_processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ffmpeg_processes_under(root) == []
    assert list(store.glob(".tmp-*")), "the kill should have left a temp folder behind"

    assert build(root) == 0
    assert "10/10" in capsys.readouterr().out
    assert list(store.glob(".tmp-*")) == []
    delivered = sorted((root / "dist/media/c").glob("*.mp4"))
    assert len(delivered) == 10
    assert not list((root / "dist/media/c").glob(".tmp-*"))
    for path in delivered:
        check_decodes(path)
