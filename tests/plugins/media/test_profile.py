"""Delivery profiles as data, and the verdict of a file against one, rule by rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import MediaInfo
from weike.builder.running.plugin_manager import get_plugin_manager
from weike.plugins.media.profile import (
    DEFAULT_PROFILE,
    DuplicateProfile,
    UnknownProfile,
    checks_by_rule,
    collect_profiles,
    conforms,
    resolve_profile,
    verify_media,
)

GOOD = MediaInfo(
    path=Path("x.mp4"), container="mp4", duration=60.0, size=1, video_codec="h264", audio_codec="aac",
    width=1280, height=720, display_width=1280, display_height=720, rotation=0, sample_aspect_ratio="1:1",
    pixel_format="yuv420p", frame_rate=25.0, constant_frame_rate=True, interlaced=False, profile="High", level=31,
    video_streams=1, audio_streams=1, audio_sample_rate=48000, audio_channels=2, video_bitrate=1_500_000,
    audio_bitrate=128_000, fast_start=True, keyframe_interval=2.0, loudness=-16.2, true_peak=-1.6,
)


def test_a_conforming_file_passes_every_rule():
    checks = verify_media(GOOD, DEFAULT_PROFILE)
    assert conforms(checks), [c for c in checks if not c.passed]
    assert {c.rule for c in checks} >= {"container", "display_size", "square_pixels", "progressive",
                                        "constant_frame_rate", "pixel_format", "audio_streams", "fast_start",
                                        "loudness", "true_peak", "keyframe_interval", "h264_profile"}


@pytest.mark.parametrize("change, rule", [
    (dict(container="mov"), "container"),
    (dict(video_codec="hevc"), "video_codec"),
    (dict(level=51), "h264_profile"),
    (dict(profile="High 4:2:2"), "h264_profile"),
    (dict(display_width=720, display_height=1280, rotation=90), "display_size"),
    (dict(rotation=180), "rotation"),
    (dict(sample_aspect_ratio="4:3"), "square_pixels"),
    (dict(interlaced=True), "progressive"),
    (dict(frame_rate=30.0), "frame_rate"),
    (dict(constant_frame_rate=False), "constant_frame_rate"),
    (dict(keyframe_interval=5.0), "keyframe_interval"),
    (dict(pixel_format="yuv420p10le"), "pixel_format"),
    (dict(video_bitrate=3_000_000), "video_bitrate"),
    (dict(audio_streams=2), "audio_streams"),
    (dict(audio_streams=0, audio_codec=None), "audio_streams"),
    (dict(audio_codec="mp3"), "audio_codec"),
    (dict(audio_sample_rate=44100), "audio_sample_rate"),
    (dict(audio_channels=6), "audio_channels"),
    (dict(audio_bitrate=320_000), "audio_bitrate"),
    (dict(loudness=-23.0), "loudness"),
    (dict(true_peak=0.2), "true_peak"),
    (dict(fast_start=False), "fast_start"),
])
def test_each_rule_catches_its_fault(change, rule):
    checks = checks_by_rule(verify_media(dataclasses.replace(GOOD, **change), DEFAULT_PROFILE))
    assert checks[rule].passed is False
    assert [name for name, check in checks.items() if check.passed is not True] == [rule] \
        or rule in ("audio_streams", "display_size", "video_codec")  # these imply others


def test_unmeasured_facts_are_unknown_not_passed():
    checks = checks_by_rule(verify_media(dataclasses.replace(GOOD, loudness=None, keyframe_interval=None),
                                         DEFAULT_PROFILE))
    assert checks["loudness"].passed is None and checks["keyframe_interval"].passed is None
    assert not conforms(checks.values())


def test_silence_passes_the_loudness_rule():
    assert checks_by_rule(verify_media(dataclasses.replace(GOOD, loudness=-70.0, true_peak=-99.0),
                                       DEFAULT_PROFILE))["loudness"].passed


def test_short_files_may_use_the_encoder_buffer():
    # A 2-second file at the cap plus a full VBV buffer is still within what a player sees.
    short = dataclasses.replace(GOOD, duration=2.0, video_bitrate=3_500_000)
    assert checks_by_rule(verify_media(short, DEFAULT_PROFILE))["video_bitrate"].passed


def test_fingerprint_changes_with_any_field():
    assert DEFAULT_PROFILE.fingerprint() == dataclasses.replace(DEFAULT_PROFILE).fingerprint()
    assert DEFAULT_PROFILE.fingerprint() != dataclasses.replace(DEFAULT_PROFILE, encoder_crf=24).fingerprint()


class OtherPlatform:
    @hookimpl
    def weike_media_profiles(self):
        return [dataclasses.replace(DEFAULT_PROFILE, name="other", width=1920, height=1080)]


class Clash:
    @hookimpl
    def weike_media_profiles(self):
        return [dataclasses.replace(DEFAULT_PROFILE, encoder_crf=30)]


def test_profiles_come_from_plugins():
    pm = get_plugin_manager(None, entry_points=False, extra=[OtherPlatform()])
    assert set(collect_profiles(pm)) == {"default", "other"}
    assert resolve_profile(pm, "other").width == 1920
    with pytest.raises(UnknownProfile) as caught:
        resolve_profile(pm, "missing")
    assert caught.value.known == ("default", "other")


def test_two_different_profiles_under_one_name_are_refused():
    pm = get_plugin_manager(None, entry_points=False, extra=[Clash()])
    with pytest.raises(DuplicateProfile):
        collect_profiles(pm)
