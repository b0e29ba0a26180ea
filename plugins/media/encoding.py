"""How a lecture's source becomes its delivered MP4: the ffmpeg commands, and the job that runs them.

A source whose video already meets the profile is *passed through* (remuxed with fast start,
video not re-encoded; audio re-encoded only when it is off target); any other video is
*transcoded*; pure audio becomes a video of a still picture. :func:`deliver_to_store` runs one
:class:`DeliveryJob` into the content store and refuses its output unless it passes every rule
of the profile and lasts as long as the source (:class:`SourceLength`). Jobs are values and the
functions module level, so a job may run on a Dask worker.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_python
from PIL import ExifTags, ImageOps

from weike.builder.contracts.model import MediaInfo
from weike.builder.keeping.memo import sha256_file
from weike.builder.keeping.store import ContentStore
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.probe import ProbeError, decoded_audio_seconds, finite_number, info_to_dict, probe_media
from weike.plugins.media.profile import (
    DeliveryProfile,
    checks_by_rule,
    conforms,
    failed_rules,
    is_silent,
    verify_media,
)
from weike.plugins.pictures import open_picture
from weike.plugins.media.titlecards import mark_offset

#: Bumped whenever the ffmpeg commands below change what they produce: part of every cache key.
#: 2: pure audio is cut at the source's decoded length, no longer ~3 s early at the loudness
#: pass's reported time; EXIF-rotated still pictures are uprighted before the fit.
RECIPE_VERSION = 2

#: A delivered file must last as long as its source, within this many seconds.
DURATION_TOLERANCE = 0.2

#: The rules an audio track must pass to be copied as it is (loudness measured by the first pass).
_AUDIO_RULES = ("audio_streams", "audio_codec", "audio_sample_rate", "audio_channels", "audio_bitrate", "loudness",
                "true_peak")




# --------------------------------------------------------------------------------------------
# Delivery jobs (module level, picklable: they may run on a Dask worker)
# --------------------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """A job could not produce a file that passes the profile; ``detail`` holds ffmpeg's words."""

    def __init__(self, message: str, message_en: str, detail: str = "") -> None:
        self.message = message
        self.message_en = message_en
        self.detail = detail
        super().__init__(message, message_en, detail)

    def __str__(self) -> str:
        return self.message_en + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True, kw_only=True)
class DeliveryJob:
    """Everything one delivery needs, by value: runs anywhere the paths are visible."""

    key: str
    source: Path
    info: MediaInfo
    profile: DeliveryProfile
    store_root: Path
    #: "passthrough" (video copied), "transcode", or "still" (pure audio + picture).
    method: str
    #: The picture for pure audio.
    still: Path | None = None
    #: The provider's mark (transparent PNG) laid over the bottom-right corner, or None.
    mark: Path | None = None
    threads: int = 1
    #: Facts to store with the entry (source hash...), returned with the result.
    facts: dict = dataclasses.field(default_factory=dict)


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def fit_size(width: int, height: int, profile: DeliveryProfile) -> tuple[int, int]:
    """The largest size with the picture's aspect that fits the frame (never stretched, never cropped)."""
    scale = min(profile.width / width, profile.height / height)
    return min(profile.width, _even(width * scale)), min(profile.height, _even(height * scale))


def _fit_video(stream, width: int, height: int, profile: DeliveryProfile):
    """Scale into the frame; fill the rest with black bars, or a blurred copy for portrait."""
    inner_w, inner_h = fit_size(width, height, profile)
    colour = dict(flags="lanczos", out_color_matrix="bt709", out_range="tv")
    if (inner_w, inner_h) == (profile.width, profile.height):
        return stream.filter("scale", inner_w, inner_h, **colour).filter("setsar", 1)
    if height > width and profile.portrait_fill == "blur":
        parts = stream.filter_multi_output("split")
        # Blur a small copy, then enlarge it: a soft background at a fraction of the cost.
        small_w, small_h = _even(profile.width / 5), _even(profile.height / 5)
        background = (parts[0]
                      .filter("scale", small_w, small_h, force_original_aspect_ratio="increase", **colour)
                      .filter("crop", small_w, small_h)
                      .filter("boxblur", luma_radius=6, luma_power=2)
                      .filter("eq", brightness=-0.08)
                      .filter("scale", profile.width, profile.height))
        foreground = parts[1].filter("scale", inner_w, inner_h, **colour)
        return ffmpeg_python.overlay(background, foreground, x="(main_w-overlay_w)/2",
                                     y="(main_h-overlay_h)/2").filter("setsar", 1)
    return (stream.filter("scale", inner_w, inner_h, **colour).filter("setsar", 1)
            .filter("pad", profile.width, profile.height, "(ow-iw)/2", "(oh-ih)/2", color="black"))


def _with_mark(video, mark: Path | None, profile: DeliveryProfile):
    """``video`` with the provider's mark in the bottom-right corner (inside the title-safe area)."""
    if mark is None:
        return video
    margin = mark_offset(profile.height)
    picture = ffmpeg_python.input(str(mark))["v:0"]
    # The frame is fixed in its delivered format (BT.709 from the fit) before the overlay: left to
    # choose, the overlay would have it converted to RGB and back with the BT.601 matrix (every
    # colour shifted, measured: green off by ~20 levels).
    return ffmpeg_python.overlay(video.filter("format", profile.pixel_format), picture, x=f"W-w-{margin}",
                                 y=f"H-h-{margin}", format="yuv420")


def _encoder_options(profile: DeliveryProfile, threads: int, *, still: bool = False) -> dict:
    options = {
        "c:v": "libx264", "preset": profile.encoder_preset, "crf": profile.encoder_crf,
        "maxrate": profile.max_video_bitrate, "bufsize": profile.encoder_buffer,
        "profile:v": profile.encoder_profile, "level:v": profile.encoder_level, "pix_fmt": profile.pixel_format,
        # Key frames at least every max_keyframe_interval; scene cuts may add more.
        "g": int(profile.frame_rate * profile.max_keyframe_interval), "r": profile.frame_rate,
        "color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709",
        "threads": threads,
    }
    if still:
        options["tune"] = "stillimage"
    return options


def _audio_options(profile: DeliveryProfile) -> dict:
    return {"c:a": "aac", "b:a": profile.audio_bitrate, "ar": profile.audio_sample_rate,
            "ac": profile.audio_channels}


#: Options every delivered file gets: no metadata carried over (phones store GPS positions in
#: it), no subtitles/data tracks, the index (moov) before the data so playback starts at once.
_CONTAINER_OPTIONS = {"map_metadata": -1, "map_chapters": -1, "sn": None, "dn": None, "movflags": "+faststart",
                      "f": "mp4"}


def analyse_loudness(source: Path, profile: DeliveryProfile, *, timeout: float | None) -> dict:
    """loudnorm's first pass over the first audio track: its measurements.

    Only the measurements: the pass's progress time trails the sound by loudnorm's ~3 s
    look-ahead, so it says nothing about how long the source is (see :class:`SourceLength`).
    """
    completed = ffmpeg.run_progress(
        ["-hide_banner", "-i", str(source), "-map", "0:a:0", "-vn", "-sn", "-dn",
         "-af", f"loudnorm=I={profile.loudness}:TP={profile.true_peak_target}:LRA={profile.loudness_range}"
                ":print_format=json", "-f", "null", "-"],
        timeout=timeout,
    )
    text = completed.stderr
    start, end = text.rfind("{"), text.rfind("}")
    try:
        return json.loads(text[start:end + 1])
    except ValueError as exc:
        raise DeliveryFailed("无法测量音频响度", "could not measure the audio loudness", text[-300:]) from exc


@dataclass(frozen=True, kw_only=True)
class SourceLength:
    """How long a source is by its own account: what its delivered file must match.

    Taken from the source alone (ffprobe's container and stream durations, the samples its
    sound decodes to), never from one of weike's own passes over it, so a pass that loses the
    end of the sound cannot also move the yardstick.
    """

    container: float | None
    video: float | None = None
    audio: float | None = None
    #: Seconds the first audio track decodes to (None without sound).
    decoded_audio: float | None = None
    #: Sound only (no picture but cover art): then the decoded sound is the length.
    pure_audio: bool = False

    @classmethod
    def of(cls, info: MediaInfo, *, timeout: float | None = 600) -> SourceLength:
        """The source's durations from its probe, plus its sound decoded and counted."""
        decoded = decoded_audio_seconds(info.path, timeout=timeout) if info.audio_streams else None
        return cls(container=info.duration, video=info.video_duration, audio=info.audio_duration,
                   decoded_audio=decoded, pure_audio=info.is_audio_only)

    @property
    def expected(self) -> float:
        """How long the delivered file must last.

        Pure audio: its decoded sound (headers of some MP3s only estimate it). Video: the
        container's duration, which spans every track, or the decoded sound when that runs on
        longer (a header that says less than the data holds): the picture's last frame is held,
        the sound is never cut.
        """
        if self.pure_audio and self.decoded_audio:
            return self.decoded_audio
        return max(self.container or self.video or self.audio or 0.0, self.decoded_audio or 0.0)

    def mismatch(self, delivered: MediaInfo, *, added: float = 0.0) -> tuple[str, str] | None:
        """``(中文, English)`` when ``delivered`` is not as long as this source; None when it is.

        ``added``: seconds of title cards joined to the content, from the settings (never from
        the joined file), so the yardstick stays the source's own length plus a known constant.
        """
        expected = self.expected + added
        measured = {"file": delivered.duration, "video": delivered.video_duration, "audio": delivered.audio_duration}
        for name, value in measured.items():
            if value is not None and abs(value - expected) > DURATION_TOLERANCE:
                return (f"交付文件的{_TRACK_NAMES[name]}时长 {value:.2f} 秒，原文件是 {expected:.2f} 秒"
                        f"（{self.describe()}）",
                        f"delivered {name} duration {value:.2f} s differs from the source's {expected:.2f} s "
                        f"({self.describe()})")
        # Every second of the source's sound is there (a video's sound shorter than its picture
        # is padded with silence, never the other way round).
        sound = delivered.audio_duration or 0.0
        if self.decoded_audio is not None and sound < self.decoded_audio + added - DURATION_TOLERANCE:
            return (f"交付文件的声音只有 {sound:.2f} 秒，原文件的声音有 {self.decoded_audio:.2f} 秒",
                    f"delivered sound duration {sound:.2f} s is shorter than the source's "
                    f"{self.decoded_audio:.2f} s ({self.describe()})")
        return None

    def describe(self) -> str:
        parts = [f"{name} {value:.2f} s" for name, value in (
            ("container", self.container), ("video", self.video), ("audio", self.audio),
            ("decoded sound", self.decoded_audio)) if value is not None]
        return ", ".join(parts)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


_TRACK_NAMES = {"file": "", "video": "画面", "audio": "声音"}


def upright_picture(picture: Path, folder: Path) -> Path:
    """``picture`` as it is meant to be seen: a photo with an EXIF orientation turned upright, once.

    Phones store a portrait photo as landscape pixels plus an orientation tag. ffmpeg turns
    some formats by that tag itself and not others (nor every flip), while Pillow reports the
    stored size: the fit would be computed for one shape and applied to another (a circle
    became a 3.2x ellipse). Pillow applies all eight orientations; the upright copy carries
    none, so the picture ffmpeg reads and the size the fit uses are the same. A picture
    without an orientation is used as it is.
    """
    with open_picture(picture) as image:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation in (0, 1):
            return picture
        upright = ImageOps.exif_transpose(image)
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha else "RGB")
        target = folder / f"upright-{picture.stem}.png"
        # Lossless and quick: it lives only as long as the job.
        upright.save(target, "PNG", compress_level=1)
    return target


def _audio_chain(stream, measured: dict | None, profile: DeliveryProfile):
    """Loudness-normalise (two-pass, linear when possible), resample, pad to the video's end."""
    loud = None if measured is None else finite_number(measured.get("input_i"))
    if loud is not None and not is_silent(loud):
        stream = stream.filter(
            "loudnorm", I=profile.loudness, TP=profile.true_peak_target, LRA=profile.loudness_range,
            measured_I=measured["input_i"], measured_TP=measured["input_tp"], measured_LRA=measured["input_lra"],
            measured_thresh=measured["input_thresh"], offset=measured["target_offset"], linear="true",
            print_format="none",
        )
    return stream.filter("aresample", profile.audio_sample_rate).filter("apad")


def _audio_conforms(info: MediaInfo, measured: dict | None, profile: DeliveryProfile) -> bool:
    """The source's audio track can be copied as it is (passes every audio rule, loudness on target)."""
    if measured is None:
        return False
    loud, peak = finite_number(measured.get("input_i")), finite_number(measured.get("input_tp"))
    checks = checks_by_rule(verify_media(dataclasses.replace(info, loudness=loud, true_peak=peak), profile))
    return all(checks[rule].passed is True for rule in _AUDIO_RULES)


def build_command(job: DeliveryJob, output: Path, *, measured: dict | None, duration: float) -> tuple[list[str], str]:
    """The ffmpeg arguments that deliver ``job`` into ``output``, and the method actually used."""
    profile, info = job.profile, job.info
    container = dict(_CONTAINER_OPTIONS, t=f"{duration:.3f}")
    if job.method == "still":
        # The picture is used as stored (upright_picture() has turned a rotated photo already):
        # ffmpeg must not turn it again, or the fit below would be for the other shape.
        picture = ffmpeg_python.input(str(job.still), autorotate=0)
        audio_input = ffmpeg_python.input(str(job.source), threads=job.threads)
        with open_picture(job.still) as image:
            width, height = image.size
        video = (_with_mark(_fit_video(picture["v:0"], width, height, profile), job.mark, profile)
                 .filter("format", profile.pixel_format)
                 # Decode and scale the picture once, then repeat that frame: far cheaper than
                 # re-reading the image 25 times a second.
                 .filter("loop", loop=-1, size=1, start=0)
                 .filter("setpts", f"N/{profile.frame_rate}/TB").filter("fps", profile.frame_rate))
        audio = _audio_chain(audio_input["a:0"], measured, profile)
        stream = ffmpeg_python.output(video, audio, str(output), **_encoder_options(profile, job.threads, still=True),
                                      **_audio_options(profile), **container)
        return [*_filter_threads(job.threads), *stream.get_args()], "still"

    source = ffmpeg_python.input(str(job.source), threads=job.threads)
    if info.audio_streams:
        audio_in = source["a:0"]
    else:
        # An animation without sound still gets its one audio track, silent.
        audio_in = ffmpeg_python.input(f"anullsrc=r={profile.audio_sample_rate}:cl=stereo", f="lavfi")["a"]

    if job.method == "passthrough":
        copy_audio = _audio_conforms(info, measured, profile)
        if copy_audio:
            stream = ffmpeg_python.output(source["V:0"], source["a:0"], str(output),
                                          **{"c:v": "copy", "c:a": "copy"}, **dict(_CONTAINER_OPTIONS))
        else:
            audio = _audio_chain(audio_in, measured, profile)
            stream = ffmpeg_python.output(source["V:0"], audio, str(output), **{"c:v": "copy"},
                                          **_audio_options(profile), **container)
        return stream.get_args(), "passthrough"

    video = source["V:0"]
    if info.interlaced:
        # Only frames flagged interlaced are touched; one output frame per input frame.
        video = video.filter("bwdif", mode="send_frame", parity="auto", deint="interlaced")
    video = video.filter("fps", profile.frame_rate)
    if info.video_duration and duration - info.video_duration > 0.04:
        # The sound runs on after the picture stops: hold the last frame, do not cut the sound.
        video = video.filter("tpad", stop_mode="clone", stop_duration=f"{duration - info.video_duration + 0.1:.3f}")
    width, height = info.display_width or profile.width, info.display_height or profile.height
    video = _with_mark(_fit_video(video, width, height, profile), job.mark, profile).filter("format",
                                                                                          profile.pixel_format)
    audio = _audio_chain(audio_in, measured, profile)
    stream = ffmpeg_python.output(video, audio, str(output), **_encoder_options(profile, job.threads),
                                  **_audio_options(profile), **container)
    return [*_filter_threads(job.threads), *stream.get_args()], "transcode"


def _filter_threads(threads: int) -> list[str]:
    return ["-filter_complex_threads", str(threads)]


def _timeout_for(duration: float) -> float:
    # Generous: a slow machine encodes 720p at a fraction of real time. Stalls are caught sooner
    # by run_progress's stall timeout.
    return 600 + 20 * duration


def deliver_to_store(job: DeliveryJob, on_progress: Callable[[float], None] | None = None) -> dict:
    """Deliver ``job`` into the content store (unless already there) and return the entry's facts.

    Raises :class:`DeliveryFailed` when ffmpeg fails or the output does not pass the profile;
    nothing is stored then.
    """
    store = ContentStore(job.store_root)
    existing = store.get(job.key)
    if existing is not None:
        return dict(existing.facts)
    info, profile = job.info, job.profile
    timeout = _timeout_for(info.duration or 0.0)
    measured = None
    try:
        source_length = SourceLength.of(info, timeout=timeout)
    except ProbeError as exc:
        raise DeliveryFailed("原文件的声音无法完整解码", f"the source's sound cannot be decoded ({exc})") from exc
    expected = source_length.expected
    with store.writing() as temp:
        try:
            if info.audio_streams:
                measured = analyse_loudness(job.source, profile, timeout=timeout)
            output = temp / "video.mp4"
            if job.still is not None:
                job = dataclasses.replace(job, still=upright_picture(job.still, temp))
            args, method = build_command(job, output, measured=measured, duration=expected)
            ffmpeg.run_progress(["-hide_banner", "-y", *args], on_progress=on_progress, timeout=timeout)
            if job.still is not None and job.still.parent == temp:
                job.still.unlink()  # only the delivered files belong in the entry
            delivered = probe_media(output, packets=True, loudness=True)
            poster = temp / "poster.jpg"
            at = min(5.0, delivered.duration * 0.1) if method != "still" else 0.0
            ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", str(output),
                        "-frames:v", "1", "-q:v", "3", "-update", "1", "-f", "image2", str(poster)], timeout=120)
        except ffmpeg.FfmpegError as exc:
            raise DeliveryFailed("ffmpeg 转码失败", f"ffmpeg failed ({exc.last_line})", exc.stderr_tail) from exc
        except ProbeError as exc:
            raise DeliveryFailed("转码结果无法读取", f"the output cannot be read ({exc})") from exc
        except OSError as exc:  # the still picture vanished or cannot be read since it was hashed
            raise DeliveryFailed("配图无法读取", f"the still picture cannot be read ({exc})") from exc
        checks = verify_media(delivered, profile)
        if not conforms(checks):
            failed = "; ".join(f"{c.rule} {c.actual} (expected {c.expected})" for c in failed_rules(checks))
            raise DeliveryFailed("交付文件不符合交付规格", f"the delivered file fails the profile: {failed}")
        # Every track must last as long as the source says, by the source's own account: a
        # track that stops early means lost sound, or a source whose data ended before its
        # header said (a damaged or cut-short file).
        mismatch = source_length.mismatch(delivered)
        if mismatch is not None:
            raise DeliveryFailed(f"{mismatch[0]}（原文件可能已损坏）", f"{mismatch[1]} (the source may be damaged)")
        facts = {
            **job.facts,
            "method": method,
            "from_audio": job.method == "still",
            "duration": delivered.duration,
            "source_length": source_length.as_dict(),
            "size": output.stat().st_size,
            "sha256": sha256_file(output),
            "profile": profile.name,
            "info": info_to_dict(delivered),
            "checks": [check.as_dict() for check in checks],
        }
        # The stored info must not name the temp folder it was probed in.
        facts["info"]["path"] = "video.mp4"
        entry = store.commit(job.key, temp, facts)
    return dict(entry.facts)
