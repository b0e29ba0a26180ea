"""Delivering each input class the media stage meets, checked by ffprobe and by MediaInfo."""

from __future__ import annotations

import dataclasses

import pytest

from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.probe import ProbeError, ProbeProblem, probe_media
from weike.plugins.media.profile import DEFAULT_PROFILE, conforms, failed_rules, verify_media
from weike.plugins.media.encoding import DeliveryFailed, DeliveryJob, deliver_to_store, fit_size
from weike.plugins.media.planning import choose_method
from tests.plugins.media_sources import assert_delivery_spec, make_source, truncated_copy

pytestmark = pytest.mark.slow


@pytest.fixture
def deliver(tmp_path, cover_jpeg):
    """``deliver(source, still=None) -> (output mp4, facts, source info)`` through a fresh store."""

    def run(source, *, still=None, profile=DEFAULT_PROFILE):
        info = probe_media(source, packets=True)
        method = choose_method(info, profile)
        job = DeliveryJob(key=f"test-{source.name}", source=source, info=info, profile=profile,
                          store_root=tmp_path / "store", method=method,
                          still=(still or cover_jpeg) if method == "still" else None, threads=1)
        facts = deliver_to_store(job)
        output = tmp_path / "store" / job.key[:2] / job.key / "video.mp4"
        return output, facts, info

    return run


def assert_delivered(output, facts, source_duration, *, tolerance=0.2):
    """ffprobe (through weike's own probe) and MediaInfo agree the file meets the spec."""
    info = probe_media(output, packets=True, loudness=True)
    checks = verify_media(info, DEFAULT_PROFILE)
    assert conforms(checks), failed_rules(checks)
    independent = assert_delivery_spec(output)
    assert abs(info.duration - source_duration) <= tolerance
    assert abs(independent["duration"] - source_duration) <= tolerance
    assert facts["sha256"] and facts["size"] == output.stat().st_size
    assert (output.parent / "poster.jpg").stat().st_size > 0
    return info


def packet_hash(path, kind):
    """A hash of one stream's packets: equal only if that stream was copied, not re-encoded."""
    completed = ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:{kind}:0",
                            "-c", "copy", "-f", "streamhash", "-hash", "sha256", "-"], capture_stdout=True)
    return completed.stdout.decode().strip()


def test_portrait_phone_video_is_fitted_with_a_blurred_fill(media, deliver):
    source = make_source(media, "portrait.mp4")
    output, facts, info = deliver(source)
    assert (info.display_width, info.display_height) == (90, 160) and facts["method"] == "transcode"
    assert_delivered(output, facts, info.duration)
    # Never stretched: the picture keeps 9:16 inside the frame, centred; the sides are blurred
    # picture (not black bars).
    assert fit_size(90, 160, DEFAULT_PROFILE) == (404, 720)
    from PIL import Image

    with Image.open(output.parent / "poster.jpg") as poster:
        left_edge = poster.convert("L").crop((0, 0, 200, 720))
        assert left_edge.getextrema()[1] > 40  # blurred colour, not black


def test_variable_frame_rate_becomes_constant_25(media, deliver):
    source = make_source(media, "vfr.mp4")
    output, facts, info = deliver(source)
    assert info.constant_frame_rate is False
    assert_delivered(output, facts, info.duration)


def test_rotation_flag_counts_and_is_applied(media, deliver):
    source = make_source(media, "rotated.mp4")
    output, facts, info = deliver(source)
    assert (info.width, info.height, info.rotation) == (160, 90, 90)
    assert (info.display_width, info.display_height) == (90, 160)
    delivered = assert_delivered(output, facts, info.duration)
    assert delivered.rotation == 0


def test_sixty_fps_becomes_25(media, deliver):
    source = make_source(media, "60fps.mp4")
    output, facts, info = deliver(source)
    assert info.frame_rate == 60
    assert_delivered(output, facts, info.duration)


def test_interlaced_4_3_with_non_square_pixels_is_deinterlaced_and_pillarboxed(media, deliver):
    source = make_source(media, "interlaced.mp4")
    output, facts, info = deliver(source)
    assert info.interlaced is True and info.sample_aspect_ratio == "12:11"
    assert (info.display_width, info.display_height) == (192, 144)  # 4:3 as shown
    assert_delivered(output, facts, info.duration)
    assert fit_size(192, 144, DEFAULT_PROFILE) == (960, 720)
    from PIL import Image

    with Image.open(output.parent / "poster.jpg") as poster:
        bar = poster.convert("L").crop((0, 0, 150, 720))
        assert bar.getextrema()[1] < 30  # black pillarbox bars, picture not stretched to 16:9


def test_prores_10_bit_422_becomes_8_bit_420(media, deliver):
    source = make_source(media, "prores.mov")
    output, facts, info = deliver(source)
    assert (info.video_codec, info.pixel_format) == ("prores", "yuv422p10le")
    assert_delivered(output, facts, info.duration)


def test_odd_size_is_fitted_on_even_dimensions(media, deliver):
    source = make_source(media, "odd.mkv")
    output, facts, info = deliver(source)
    assert (info.width, info.height) == (161, 97)
    assert_delivered(output, facts, info.duration)


def test_video_without_audio_gets_one_silent_track(media, deliver):
    source = make_source(media, "no-audio.mp4")
    output, facts, info = deliver(source)
    assert info.audio_streams == 0
    delivered = assert_delivered(output, facts, info.duration)
    assert delivered.audio_streams == 1 and delivered.loudness <= -60


def test_mono_low_rate_audio_only_becomes_video_with_the_still_picture(media, deliver):
    source = make_source(media, "mono-8k.wav")
    output, facts, info = deliver(source)
    assert info.is_audio_only and (info.audio_sample_rate, info.audio_channels) == (8000, 1)
    assert facts["method"] == "still" and facts["from_audio"] is True
    delivered = assert_delivered(output, facts, info.duration)
    assert delivered.audio_sample_rate == 48000


def test_audio_with_embedded_cover_art_uses_the_course_picture(media, deliver, tmp_path):
    from PIL import Image

    source = make_source(media, "cover-art.mp3")
    info = probe_media(source)
    assert info.is_audio_only and info.attached_pictures == 1
    red = tmp_path / "red.png"
    Image.new("RGB", (640, 360), (200, 20, 20)).save(red)
    output, facts, _ = deliver(source, still=red)
    delivered = assert_delivered(output, facts, info.duration)
    assert delivered.video_streams == 1 and delivered.attached_pictures == 0
    with Image.open(output.parent / "poster.jpg") as poster:
        r, g, b = poster.convert("RGB").getpixel((640, 360))
        assert r > 150 and g < 80 and b < 80  # the lecture's picture, not the embedded art


def test_already_conforming_video_is_passed_through_not_re_encoded(media, deliver):
    source = make_source(media, "conforming.mp4")
    output, facts, info = deliver(source)
    assert facts["method"] == "passthrough"
    assert_delivered(output, facts, info.duration)
    assert packet_hash(output, "v") == packet_hash(source, "v")
    # Its sound was on target as well, so it was copied too.
    assert packet_hash(output, "a") == packet_hash(source, "a")


def test_conforming_video_with_off_target_sound_keeps_its_video(media, deliver):
    source = media("landscape.mp4")
    conforming = make_source(media, "conforming.mp4")
    quiet = source.with_name("conforming-quiet.mp4")
    if not quiet.exists():
        ffmpeg.run(["-hide_banner", "-y", "-i", str(conforming), "-map", "0", "-c:v", "copy", "-af", "volume=-12dB",
                    "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(quiet)])
    output, facts, info = deliver(quiet)
    assert facts["method"] == "passthrough"
    delivered = assert_delivered(output, facts, info.duration)
    assert packet_hash(output, "v") == packet_hash(quiet, "v")
    assert abs(delivered.loudness - DEFAULT_PROFILE.loudness) <= DEFAULT_PROFILE.loudness_tolerance


def test_clipped_loud_audio_is_normalised(media, deliver):
    source = make_source(media, "loud.mp4")
    before = probe_media(source, loudness=True)
    assert before.loudness > -8 and before.true_peak > -0.5  # far too loud, clipping
    output, facts, info = deliver(source)
    delivered = assert_delivered(output, facts, info.duration)
    assert abs(delivered.loudness - DEFAULT_PROFILE.loudness) <= 1.0
    assert delivered.true_peak <= DEFAULT_PROFILE.max_true_peak


@pytest.mark.parametrize("name, kind", [("moov-at-end.mp4", ProbeProblem.UNREADABLE),
                                        ("faststart.mp4", ProbeProblem.TRUNCATED)])
def test_truncated_files_are_refused(media, tmp_path, name, kind):
    broken = truncated_copy(make_source(media, name), tmp_path / name)
    with pytest.raises(ProbeError) as caught:
        probe_media(broken)
    assert caught.value.kind is kind


def test_empty_and_not_media_files_are_refused(media, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("这不是视频\n" * 50, encoding="utf-8")
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(media("poster.jpg").read_bytes())
    kinds = {}
    for path in (empty, text, photo):
        with pytest.raises(ProbeError) as caught:
            probe_media(path)
        kinds[path.name] = caught.value.kind
    assert kinds == {"empty.mp4": ProbeProblem.EMPTY, "notes.mp4": ProbeProblem.UNREADABLE,
                     "photo.mp4": ProbeProblem.NOT_MEDIA}


def test_output_failing_the_profile_is_an_error_and_not_stored(media, tmp_path, cover_jpeg):
    # A profile whose encoder settings cannot meet its own rules: the output must be refused.
    impossible = dataclasses.replace(DEFAULT_PROFILE, name="impossible", max_video_bitrate=1000, encoder_buffer=1000)
    source = make_source(media, "60fps.mp4")
    info = probe_media(source, packets=True)
    job = DeliveryJob(key="refused", source=source, info=info, profile=impossible, store_root=tmp_path / "store",
                      method="transcode", threads=1)
    with pytest.raises(DeliveryFailed) as caught:
        deliver_to_store(job)
    assert "video_bitrate" in str(caught.value)
    assert not (tmp_path / "store" / "re" / "refused").exists()
    assert list((tmp_path / "store").iterdir()) == []  # no temp folder left either


def test_damaged_source_whose_output_is_short_is_refused(media, tmp_path):
    # The header promises 1 s more than the data holds, as in a file cut short: the picture of
    # the output stops early, and the duration check catches it.
    source = make_source(media, "vfr.mp4")
    info = probe_media(source, packets=True)
    lying = dataclasses.replace(info, duration=info.duration + 1.0, video_duration=info.video_duration + 1.0)
    job = DeliveryJob(key="short", source=source, info=lying, profile=DEFAULT_PROFILE, store_root=tmp_path / "s",
                      method="transcode", threads=1)
    with pytest.raises(DeliveryFailed) as caught:
        deliver_to_store(job)
    assert "duration" in str(caught.value)


def test_jobs_and_their_failures_pickle_for_remote_executors(media, tmp_path):
    """What is submitted to an executor must travel to a Dask worker and back."""
    import pickle

    from weike.plugins.media import encoding

    source = media("landscape.mp4")
    job = DeliveryJob(key="k", source=source, info=probe_media(source), profile=DEFAULT_PROFILE,
                      store_root=tmp_path, method="transcode", facts={"source_sha256": "x"})
    assert pickle.loads(pickle.dumps(job)) == job
    assert pickle.loads(pickle.dumps(encoding.deliver_to_store)) is encoding.deliver_to_store
    failure = pickle.loads(pickle.dumps(DeliveryFailed("坏", "bad", "stderr tail")))
    assert (failure.message, failure.message_en, failure.detail) == ("坏", "bad", "stderr tail")
    error = pickle.loads(pickle.dumps(ProbeError(ProbeProblem.TRUNCATED, "cut")))
    assert (error.kind, error.detail) == (ProbeProblem.TRUNCATED, "cut")
