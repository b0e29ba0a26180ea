"""Title cards (片头/片尾), end to end through ``weike build`` with real ffmpeg.

Delivered with a plugin profile that is the default one shrunk to 320x180 (every other rule and
encoder setting the same): the cards are drawn at the profile's size, and what is tested here --
the card at the start, the lengths, the subtitles, the sound across the join -- does not depend
on the frame size. Every figure is measured on the delivered file and compared with the SOURCE's
own facts (ffprobe of the source, MediaInfo of the output), never with what the build recorded.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import struct
from pathlib import Path

import pytest

from weike.plugins.media import runner as ffmpeg
from weike.builder.cli import main
from weike.builder.repository.loading import load_repository
from weike.plugins.media.titlecards import opening_lines, render_card
from tests.plugins.media_sources import check_decodes, mediainfo_facts

pytestmark = pytest.mark.slow

SMALL_PROFILE = '''
import dataclasses

from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.media.profile import DEFAULT_PROFILE


@hookimpl
def weike_media_profiles():
    return [dataclasses.replace(DEFAULT_PROFILE, name="cards-320x180", width=320, height=180)]
'''
OPENING, CLOSING = 2.0, 1.0
CONFIG = f"profile: cards-320x180\ntitle_cards:\n  opening: true\n  closing: true\n" \
         f"  opening_seconds: {OPENING}\n  closing_seconds: {CLOSING}\n"
SRT = "1\n00:00:00,000 --> 00:00:00,800\n你好\n\n2\n00:00:05,250 --> 00:00:07,000\n第二句\n"
#: Where the click is in the source.
CLICK_AT = 5.0
SAMPLE_RATE = 48000


def click_source(path: Path) -> Path:
    """12 s of moving picture (30 fps: it is transcoded) over a quiet tone, with a loud 5 ms click at CLICK_AT."""
    sound = (f"aevalsrc='0.02*sin(2*PI*300*t)+if(between(t,{CLICK_AT},{CLICK_AT + 0.005}),0.9,0)'"
             f":s={SAMPLE_RATE}:c=stereo:d=12")
    ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=12",
                "-f", "lavfi", "-i", sound, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "192k", "-shortest", str(path)])
    return path


def source_seconds(path: Path) -> float:
    return float(ffmpeg.probe_json(path)["format"]["duration"])


def first_loud_sample(path: Path, threshold: float = 0.4) -> float:
    """Seconds into ``path`` of the first sample louder than ``threshold`` of full scale (the click)."""
    completed = ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
                            "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"], capture_stdout=True)
    samples = struct.unpack(f"<{len(completed.stdout) // 2}h", completed.stdout[: len(completed.stdout) // 2 * 2])
    limit = threshold * 32767
    for index, value in enumerate(samples):
        if abs(value) > limit:
            return index / SAMPLE_RATE
    raise AssertionError("no click found")


def ssim(frame_of: Path, at: float, picture: Path) -> float:
    """ffmpeg's SSIM of the frame at ``at`` s of the video against ``picture`` (both as yuv420p)."""
    completed = ffmpeg.run(["-hide_banner", "-nostdin", "-ss", f"{at:.3f}", "-i", str(frame_of), "-i", str(picture),
                            "-lavfi", "[0:v]trim=end_frame=1,format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]ssim",
                            "-f", "null", "-"])
    return float(re.search(r"All:([0-9.]+)", completed.stderr).group(1))


@pytest.fixture(scope="module")
def carded(tmp_path_factory, media, cover_jpeg):
    """A course built with opening and closing cards: lecture 1 a clip with a click and subtitles,
    lecture 2 pure audio."""
    from tests.conftest import course_files, write_tree

    root = tmp_path_factory.mktemp("cards") / "repo"
    (root / "courses").mkdir(parents=True)
    write_tree(root, course_files("c", media_file=media("landscape.mp4"), cover=cover_jpeg))
    write_tree(root, {"plugins/small_profile.py": SMALL_PROFILE, "weike.yml": CONFIG,
                      "courses/c/01-lecture-1/video.srt": SRT})
    click_source(root / "courses/c/01-lecture-1/video.mp4")
    (root / "courses/c/02-lecture-2/video.mp4").unlink()
    (root / "courses/c/02-lecture-2/voice.mp3").write_bytes(media("tone.mp3").read_bytes())
    assert main(["build", str(root), "--only", "media", "--jobs", "2"]) == 0
    return root


def test_the_delivered_file_starts_with_the_rendered_card(carded, tmp_path):
    course = load_repository(carded).course("c")
    picture = tmp_path / "card.png"
    render_card(opening_lines(course, course.lectures[0]), cover=course.cover.path, size=(320, 180)).save(picture)
    delivered = carded / "dist/media/c/01-lecture-1.mp4"
    assert ssim(delivered, 0.8, picture) >= 0.9
    # ...and only the opening: by CLICK_AT the content is showing, not the card.
    assert ssim(delivered, OPENING + 1.0, picture) < 0.5


def test_duration_is_card_plus_source_plus_card_and_every_rule_passes(carded):
    for lecture, source in (("01-lecture-1", "01-lecture-1/video.mp4"), ("02-lecture-2", "02-lecture-2/voice.mp3")):
        delivered = carded / f"dist/media/c/{lecture}.mp4"
        expected = OPENING + source_seconds(carded / "courses/c" / source) + CLOSING
        facts = mediainfo_facts(delivered)  # an independent parser
        assert abs(facts["duration"] - expected) <= 0.1, (lecture, facts["duration"], expected)
        assert abs(source_seconds(delivered) - expected) <= 0.1
        assert {key: facts[key] for key in ("container", "streamable", "video_format", "frame_rate_mode",
                                            "frame_rate", "audio_format", "sampling_rate", "video_tracks",
                                            "audio_tracks")} == {
            "container": "MPEG-4", "streamable": "Yes", "video_format": "AVC", "frame_rate_mode": "CFR",
            "frame_rate": 25.0, "audio_format": "AAC", "sampling_rate": 48000, "video_tracks": 1, "audio_tracks": 1}
        check_decodes(delivered)  # one stream that decodes without an error across both joins
    manifest = json.loads((carded / "dist/media/manifest.json").read_text(encoding="utf-8"))
    record = manifest["lectures"]["c/01-lecture-1"]
    assert record["title_cards"]["opening_seconds"] == OPENING
    assert record["title_cards"]["opening_text"][1] == "第 1 讲　" + "第1讲"


def test_audio_stays_in_sync_across_the_join(carded):
    source = first_loud_sample(carded / "courses/c/01-lecture-1/video.mp4")
    assert abs(source - CLICK_AT) <= 0.01  # the yardstick itself
    delivered = first_loud_sample(carded / "dist/media/c/01-lecture-1.mp4")
    assert abs(delivered - (OPENING + source)) <= 0.040, delivered


def test_subtitle_cues_are_shifted_by_exactly_the_opening_card(carded):
    vtt = (carded / "dist/media/c/01-lecture-1.vtt").read_text(encoding="utf-8")
    assert "00:00:02.000 --> 00:00:02.800" in vtt
    assert "00:00:07.250 --> 00:00:09.000" in vtt
    # And the SubRip the upload forms take, the same cues shifted alike.
    srt = (carded / "dist/media/c/01-lecture-1.srt").read_text(encoding="utf-8")
    assert "00:00:02,000 --> 00:00:02,800" in srt and "00:00:07,250 --> 00:00:09,000" in srt


def frame_pixels(video: Path, at: float):
    """The frame at ``at`` s as an RGB picture (decoded by ffmpeg, read by Pillow)."""
    from PIL import Image

    completed = ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", str(video),
                            "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"], capture_stdout=True)
    return Image.open(io.BytesIO(completed.stdout)).convert("RGB")


def test_the_providers_mark_is_in_the_bottom_right_corner_only(make_repo, tmp_path):
    """Mark on: the institution's name is laid over the content's bottom-right corner; the rest of
    the picture is the same as without the mark (compared frame against frame, same source)."""
    from PIL import ImageChops, ImageStat

    from weike.plugins.media.profile import DEFAULT_PROFILE
    from weike.plugins.media.titlecards import TitleCardSettings
    from weike.plugins.media import plan_lecture, shared_memo
    from weike.plugins.media.encoding import deliver_to_store

    root = make_repo(valid_courses=("c",))
    click_source(root / "courses/c/01-lecture-1/video.mp4")
    course = load_repository(root).course("c")
    profile = dataclasses.replace(DEFAULT_PROFILE, name="mark-320x180", width=320, height=180)
    memo = shared_memo(root / ".weike" / "cache")
    frames = {}
    for mark in (False, True):
        plan = plan_lecture(course, course.lectures[0], root=root, memo=memo, profile=profile,
                            store_root=tmp_path / "store", cards=TitleCardSettings(mark=mark))
        assert plan.card_job is None  # the mark alone joins no card
        deliver_to_store(plan.job)
        frames[mark] = frame_pixels(tmp_path / "store" / plan.job.key[:2] / plan.job.key / "video.mp4", 6.0)
    difference = ImageChops.difference(frames[False], frames[True])
    corner = ImageStat.Stat(difference.crop((200, 140, 320, 180))).mean
    elsewhere = ImageStat.Stat(difference.crop((0, 0, 200, 120))).mean
    assert max(corner) > 3 and max(elsewhere) < 1, (corner, elsewhere)
