"""Delivery profiles: what a delivered file must be, as data, and the check of a file against one.

A :class:`DeliveryProfile` holds both the requirements a platform states (container, codecs,
displayed size, frame rate, audio, bitrate caps, loudness) and the encoder settings that meet
them. :data:`DEFAULT_PROFILE` is SPEC.md's delivery spec; plugins add others through the
``weike_media_profiles`` hook and ``weike.yml`` picks one with ``profile:``.

:func:`verify_media` compares probed facts (:class:`~weike.builder.contracts.model.MediaInfo`) with a profile
rule by rule, so ``weike probe`` can print a verdict per rule and the media stage can refuse a
delivered file that fails any of them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from weike.builder.contracts.model import MediaInfo

if TYPE_CHECKING:
    import pluggy


@dataclass(frozen=True, kw_only=True)
class DeliveryProfile:
    """Everything a delivered lecture file must be, and how weike encodes one that is not yet."""

    name: str
    description: str = ""
    # --- requirements (checked by verify_media) ---------------------------------------------
    container: str = "mp4"
    video_codec: str = "h264"
    width: int = 1280
    height: int = 720
    frame_rate: int = 25
    #: Longest allowed distance between key frames: players seek and start streams at key frames.
    max_keyframe_interval: float = 2.0
    pixel_format: str = "yuv420p"
    #: H.264 profiles every phone and browser decodes in hardware, and the highest level accepted.
    h264_profiles: tuple[str, ...] = ("Constrained Baseline", "Baseline", "Main", "High")
    max_h264_level: int = 40
    audio_codec: str = "aac"
    audio_sample_rate: int = 48000
    max_audio_channels: int = 2
    #: Average bitrate caps (bit/s) for slow links; the encoder's VBV keeps peaks near them too.
    max_video_bitrate: int = 2_000_000
    max_audio_bitrate: int = 128_000
    #: Loudness target (EBU R128 integrated, LUFS), accepted deviation (LU), true-peak ceiling (dBTP).
    loudness: float = -16.0
    loudness_tolerance: float = 1.5
    max_true_peak: float = -1.0
    # --- how weike encodes (recipe knobs; part of the cache key) ---------------------------------
    encoder_preset: str = "medium"
    encoder_crf: int = 26
    #: VBV buffer (bits): with ``max_video_bitrate`` as maxrate, ~2 s of slack around the cap.
    encoder_buffer: int = 4_000_000
    encoder_profile: str = "high"
    encoder_level: str = "3.1"
    audio_bitrate: int = 128_000
    audio_channels: int = 2
    #: True-peak target given to loudnorm: below ``max_true_peak`` by the AAC encoder's overshoot.
    true_peak_target: float = -1.5
    loudness_range: float = 11.0
    #: How a picture that does not fill the frame is completed: "blur" fills a portrait phone
    #: video's sides with a blurred copy of itself, "pad" uses black bars. Landscape that is not
    #: 16:9 (4:3 camcorders) is always padded: its bars are narrow.
    portrait_fill: str = "blur"

    def fingerprint(self) -> str:
        """A hash of every field: any change to the profile makes earlier deliveries stale."""
        try:
            return _fingerprint(self)
        except TypeError:  # a plugin's profile holding a list is not hashable: no memo for it
            return _fingerprint.__wrapped__(self)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@functools.cache
def _fingerprint(profile: DeliveryProfile) -> str:
    # Asked once per lecture when planning (24,000 times at national scale, ~0.9 s uncached):
    # profiles are frozen and hashable, so each distinct one is hashed once per process.
    payload = json.dumps(dataclasses.asdict(profile), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# The default profile is SPEC.md's delivery spec. How the encoder settings were chosen (figures
# from `python benchmarks/media.py --sweep`: libvmaf v0.6.1 against the source put through the same
# geometry without compression, on the benchmark's synthetic sources, 10 s each):
#
# * Capped CRF, not a fixed bitrate: a teacher talking in front of a wall needs a fraction of the
#   bits of a hand-held street scene. CRF spends what each scene needs; maxrate/bufsize (the
#   2 Mbit/s cap SPEC.md quotes from provincial specs) bounds what a slow rural link must carry.
# * CRF 26. Where the cap does not bind, VMAF by CRF (camera-like grain / portrait phone):
#   CRF 23 97.3 @ 1465 kbit/s, 96.1 @ 1004; CRF 25 96.0 @ 952, 95.1 @ 738; CRF 27 94.7 @ 677,
#   93.4 @ 559. CRF 27 just keeps 93 on synthetic grain, with no margin for real phone footage,
#   which is harder. CRF 26 measured 95.5 @ 797 and 94.2 @ 641: the hardest uncapped source
#   keeps a point of margin at 35-45 % fewer bits than x264's default CRF 23. Slides and 4:3
#   camcorder material stay above 96 at 100-150 kbit/s.
# * Noise-like content (a zooming fractal, a cellular-automaton animation) hits the 2 Mbit/s cap
#   at any CRF and scores 84 and 45: there the cap, not the CRF, decides. Lectures are rarely
#   like that; raising the cap is a profile change (max_video_bitrate) for platforms that allow it.
# * preset "medium": at equal VMAF, "veryfast" needed 15-20 % more bits (96.0 @ 1169 against
#   medium's 96.0 @ 952 on the camera source) and "faster" 3-5 %; "slow" saved only 2 % for
#   twice the time. Encoding happens once per lecture and is cached; learners pay for bits on
#   every view.
# * High profile, level 3.1: what 720p25 needs, decoded in hardware by every phone since ~2012.
# * -16 LUFS / -1.5 dBTP: speech on phone speakers in a noisy room needs the louder streaming
#   target, not broadcast -23 LUFS; the true-peak margin keeps AAC from clipping.
DEFAULT_PROFILE = DeliveryProfile(
    name="default",
    description="SPEC.md: MP4, H.264 High 8-bit 4:2:0 1280x720 25 fps CFR, AAC 48 kHz, "
                "fast start, <= 2 Mbit/s video, -16 LUFS",
)


class UnknownProfile(Exception):
    """``weike.yml`` names a profile no plugin offers; ``known`` lists those that exist."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        super().__init__(f"unknown delivery profile '{name}' (known: {', '.join(self.known) or 'none'})")

    @property
    def message(self) -> str:
        """What ``weike build`` says (E216), in Chinese; ``str()`` is the English."""
        return f"没有名为“{self.name}”的交付规格"


class DuplicateProfile(Exception):
    """Two plugins offer a profile under the same name."""

    #: What ``weike build`` says (E216), in Chinese; ``str()`` is the English.
    message = "两个插件提供了同名但不同的交付规格"


class UnsupportedProfile(UnknownProfile):
    """The profile asks for something the media stage cannot make (``field`` = ``value``).

    Encoding it anyway would make every lecture fail the profile's own check (E215), so it is
    refused when it is selected. A kind of :class:`UnknownProfile` (no profile by that name can be
    delivered); ``known`` lists the profiles that can.
    """

    def __init__(self, name: str, known: Iterable[str], *, field: str, value: object, makes: str) -> None:
        super().__init__(name, known)
        self.field = field
        self.value = value
        self.makes = makes
        Exception.__init__(self, f"delivery profile '{name}' asks for {field} {value!r}, which the media stage "
                                 f"cannot make ({makes})")

    @property
    def message(self) -> str:
        return f"交付规格“{self.name}”要求 {self.field}: {self.value!r}，媒体阶段无法生成这样的文件"


# What the media stage (weike.plugins.media) makes, hence all a profile may ask for. It encodes
# with libx264 and ffmpeg's AAC encoder into MP4 with the index first (its _encoder_options,
# _audio_options and _CONTAINER_OPTIONS), joins title cards to the content by stream copy, and
# overlays the provider's mark in 8-bit 4:2:0. Whatever else a profile names would be encoded as
# this anyway, then refused by the profile's own check on every lecture.
MADE_CONTAINERS = ("mp4",)
MADE_VIDEO_CODECS = ("h264",)
MADE_AUDIO_CODECS = ("aac",)
MADE_PIXEL_FORMATS = ("yuv420p",)
#: The sample rates ffmpeg's AAC encoder takes.
MADE_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
#: x264 profiles for 8-bit 4:2:0, and what ffprobe then reports (compared with ``h264_profiles``).
MADE_H264_PROFILES = {"baseline": "Constrained Baseline", "main": "Main", "high": "High"}
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
PORTRAIT_FILLS = ("blur", "pad")


def _level_number(text: str) -> int | None:
    """``"3.1"`` -> 31 (how ffprobe reports the level), None when it is no H.264 level."""
    major, dot, minor = str(text).partition(".")
    if not (major.isdigit() and (not dot or minor.isdigit()) and len(minor) <= 1):
        return None
    return int(major) * 10 + int(minor or 0)


def unmakeable_field(profile: DeliveryProfile) -> tuple[str, object, str] | None:
    """``(field, value, what the stage makes instead)`` for the first thing ``profile`` asks that
    the media stage cannot make or that its own rules would refuse; None when it can be delivered."""
    def one_of(choices: Iterable[object]) -> str:
        return "it makes " + ", ".join(str(choice) for choice in choices)

    for field, made in (("container", MADE_CONTAINERS), ("video_codec", MADE_VIDEO_CODECS),
                        ("audio_codec", MADE_AUDIO_CODECS), ("pixel_format", MADE_PIXEL_FORMATS),
                        ("audio_sample_rate", MADE_SAMPLE_RATES), ("encoder_profile", tuple(MADE_H264_PROFILES)),
                        ("encoder_preset", X264_PRESETS), ("portrait_fill", PORTRAIT_FILLS)):
        if getattr(profile, field) not in made:
            return field, getattr(profile, field), one_of(made)
    for field in ("width", "height"):
        value = getattr(profile, field)
        if not isinstance(value, int) or value < 2 or value % 2:
            return field, value, "4:2:0 needs a whole, even number of pixels, at least 2"
    if not isinstance(profile.frame_rate, (int, float)) or not profile.frame_rate > 0:
        return "frame_rate", profile.frame_rate, "a number of frames per second above 0"
    if profile.frame_rate * profile.max_keyframe_interval < 1:
        return "max_keyframe_interval", profile.max_keyframe_interval, "at least one frame between key frames"
    if not 1 <= profile.audio_channels <= profile.max_audio_channels:
        return "audio_channels", profile.audio_channels, f"1 to max_audio_channels ({profile.max_audio_channels})"
    # What the encoder writes must pass the profile's own H.264 rule.
    if MADE_H264_PROFILES[profile.encoder_profile] not in profile.h264_profiles:
        return ("encoder_profile", profile.encoder_profile,
                f"its streams report '{MADE_H264_PROFILES[profile.encoder_profile]}', "
                f"not among h264_profiles {list(profile.h264_profiles)}")
    level = _level_number(profile.encoder_level)
    if level is None or level > profile.max_h264_level:
        return ("encoder_level", profile.encoder_level,
                f"an H.264 level such as '3.1', at most max_h264_level {_level_text(profile.max_h264_level)}")
    return None


def collect_profiles(pm: pluggy.PluginManager) -> dict[str, DeliveryProfile]:
    """Every profile the loaded plugins offer, by name (those the stage cannot make included:
    :func:`resolve_profile` refuses them)."""
    profiles: dict[str, DeliveryProfile] = {}
    for offered in pm.hook.weike_media_profiles():
        for profile in offered or ():
            if profile.name in profiles and profiles[profile.name] != profile:
                raise DuplicateProfile(f"two plugins offer a different delivery profile named '{profile.name}'")
            profiles[profile.name] = profile
    return profiles


def resolve_profile(pm: pluggy.PluginManager, name: str) -> DeliveryProfile:
    """The profile called ``name``; raises :class:`UnknownProfile`, and :class:`UnsupportedProfile`
    when it asks for what the media stage cannot make (nothing is encoded for it)."""
    profiles = collect_profiles(pm)
    if name not in profiles:
        raise UnknownProfile(name, profiles)
    if (problem := unmakeable_field(profiles[name])) is not None:
        field, value, makes = problem
        usable = [other for other, profile in profiles.items() if unmakeable_field(profile) is None]
        raise UnsupportedProfile(name, usable, field=field, value=value, makes=makes)
    return profiles[name]


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RuleCheck:
    """One rule of a profile applied to one file. ``passed`` is ``None`` when not measured."""

    rule: str
    label: str
    expected: str
    actual: str
    passed: bool | None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _sar_is_square(sar: str | None) -> bool:
    if not sar or sar in ("0:1", "N/A"):
        return True  # unset means square
    num, _, den = sar.partition(":")
    try:
        return Fraction(int(num), int(den)) == 1
    except (ValueError, ZeroDivisionError):
        return False


def _level_text(level: int | None) -> str:
    """An H.264 level as written (ffprobe's ``level`` is level_idc = level × 10: 31 -> "3.1")."""
    return "?" if level is None else f"{level // 10}.{level % 10}"


def coded_level_text(codec: str | None, level: int | None) -> str:
    """The level of a stream as its codec writes it: H.264's level_idc is the level × 10, H.265's
    general_level_idc the level × 30 (120 is level 4, 153 level 5.1); "" for other codecs, whose
    numbers mean something else."""
    if level is None or level <= 0:
        return "?" if codec in ("h264", "hevc") else ""
    if codec == "hevc":
        return f"{level / 30:.1f}"
    return _level_text(level) if codec == "h264" else ""


def _kbps(bits: int | None) -> str:
    return "?" if bits is None else f"{bits / 1000:.0f} kbit/s"


#: Bitrates are averages over the file; a little slack keeps a file at the cap from failing on
#: container rounding.
_BITRATE_SLACK = 1.05


def allowed_video_bitrate(info: MediaInfo, profile: DeliveryProfile) -> float:
    """The cap plus what the encoder's buffer may add on top of it over the file's length.

    A rate-capped encoder starts with a full buffer and may spend it at once: over a short file
    the average can exceed the cap by ``buffer / duration`` and still obey the cap everywhere a
    player's buffer can see. Over a lecture of minutes this allowance is a few percent.
    """
    allowance = profile.encoder_buffer / info.duration if info.duration else 0.0
    return profile.max_video_bitrate * _BITRATE_SLACK + allowance


def verify_media(info: MediaInfo, profile: DeliveryProfile) -> tuple[RuleCheck, ...]:
    """Check ``info`` against every rule of ``profile``, in a stable order."""
    checks: list[RuleCheck] = []

    def add(rule: str, label: str, expected: str, actual: str, passed: bool | None) -> None:
        checks.append(RuleCheck(rule=rule, label=label, expected=expected, actual=actual, passed=passed))

    add("container", "容器 container", profile.container, info.container or "?", info.container == profile.container)
    add("video_streams", "视频轨 video tracks", "1", str(info.video_streams), info.video_streams == 1)
    add("video_codec", "视频编码 video codec", profile.video_codec, info.video_codec or "-",
        info.video_codec == profile.video_codec)
    if profile.video_codec == "h264":
        ok_profile = info.profile in profile.h264_profiles and info.level is not None \
            and info.level <= profile.max_h264_level
        add("h264_profile", "编码档次 profile/level",
            f"{'/'.join(profile.h264_profiles)} <= {_level_text(profile.max_h264_level)}",
            f"{info.profile or '?'} {coded_level_text(info.video_codec, info.level)}".strip(), ok_profile if info.video_codec == "h264" else False)
    shown = f"{info.display_width or '?'}x{info.display_height or '?'}"
    add("display_size", "显示尺寸 displayed size", f"{profile.width}x{profile.height}", shown,
        (info.display_width, info.display_height) == (profile.width, profile.height))
    add("rotation", "旋转标记 rotation flag", "0", str(info.rotation), info.rotation == 0)
    add("square_pixels", "像素宽高比 SAR", "1:1", info.sample_aspect_ratio or "1:1",
        _sar_is_square(info.sample_aspect_ratio))
    scan = {True: "interlaced", False: "progressive", None: "unknown"}[info.interlaced]
    add("progressive", "扫描方式 scan", "progressive", scan, info.interlaced is not True if info.video_streams else False)
    rate = "?" if info.frame_rate is None else f"{info.frame_rate:.3f}".rstrip("0").rstrip(".")
    add("frame_rate", "帧率 frame rate", str(profile.frame_rate), rate,
        info.frame_rate is not None and abs(info.frame_rate - profile.frame_rate) < 0.01)
    mode = {True: "constant", False: "variable", None: "unknown"}[info.constant_frame_rate]
    add("constant_frame_rate", "恒定帧率 frame-rate mode", "constant", mode,
        None if info.constant_frame_rate is None else info.constant_frame_rate)
    gop = "?" if info.keyframe_interval is None else f"{info.keyframe_interval:.2f} s"
    add("keyframe_interval", "关键帧间隔 GOP", f"<= {profile.max_keyframe_interval:g} s", gop,
        None if info.keyframe_interval is None
        else info.keyframe_interval <= profile.max_keyframe_interval + 0.5 / profile.frame_rate)
    add("pixel_format", "像素格式 pixel format", profile.pixel_format, info.pixel_format or "?",
        info.pixel_format == profile.pixel_format)
    add("video_bitrate", "视频码率 video bitrate", f"<= {_kbps(profile.max_video_bitrate)}",
        _kbps(info.video_bitrate),
        None if info.video_bitrate is None else info.video_bitrate <= allowed_video_bitrate(info, profile))
    add("audio_streams", "音轨 audio tracks", "1", str(info.audio_streams), info.audio_streams == 1)
    add("audio_codec", "音频编码 audio codec", profile.audio_codec, info.audio_codec or "-",
        info.audio_codec == profile.audio_codec)
    add("audio_sample_rate", "采样率 sample rate", f"{profile.audio_sample_rate} Hz",
        f"{info.audio_sample_rate or '?'} Hz", info.audio_sample_rate == profile.audio_sample_rate)
    add("audio_channels", "声道 channels", f"<= {profile.max_audio_channels}", str(info.audio_channels or "?"),
        info.audio_channels is not None and 1 <= info.audio_channels <= profile.max_audio_channels)
    add("audio_bitrate", "音频码率 audio bitrate", f"<= {_kbps(profile.max_audio_bitrate)}",
        _kbps(info.audio_bitrate),
        None if info.audio_bitrate is None else info.audio_bitrate <= profile.max_audio_bitrate * _BITRATE_SLACK)
    add("loudness", "响度 loudness", f"{profile.loudness:g} ± {profile.loudness_tolerance:g} LUFS",
        "?" if info.loudness is None else ("silent" if is_silent(info.loudness) else f"{info.loudness:.1f} LUFS"),
        None if info.loudness is None else loudness_ok(info.loudness, profile))
    add("true_peak", "真峰值 true peak", f"<= {profile.max_true_peak:g} dBTP",
        "?" if info.true_peak is None else f"{info.true_peak:.1f} dBTP",
        None if info.true_peak is None else info.true_peak <= profile.max_true_peak)
    add("fast_start", "快速启动 fast start (moov before mdat)", "yes",
        {True: "yes", False: "no", None: "?"}[info.fast_start], info.fast_start is True)
    return tuple(checks)


#: Below this integrated loudness (LUFS) a track is silence (the EBU R128 gate sits at -70).
SILENCE_LUFS = -60.0


def is_silent(loudness: float | None) -> bool:
    return loudness is not None and loudness <= SILENCE_LUFS


def loudness_ok(loudness: float, profile: DeliveryProfile) -> bool:
    """On target, or silence (an animation's silent track has nothing to normalise)."""
    return is_silent(loudness) or abs(loudness - profile.loudness) <= profile.loudness_tolerance


def conforms(checks: Iterable[RuleCheck]) -> bool:
    """Every rule passed (a rule that was not measured does not pass)."""
    return all(check.passed is True for check in checks)


def failed_rules(checks: Iterable[RuleCheck]) -> list[RuleCheck]:
    return [check for check in checks if check.passed is not True]


def checks_by_rule(checks: Iterable[RuleCheck]) -> Mapping[str, RuleCheck]:
    return {check.rule: check for check in checks}
