"""The values every stage passes on: courses as authored, diagnostics about them, media facts.

All are frozen, keyword-only dataclasses. Loaded values remember where they came from through a
``locations`` map (field path -> :class:`SourceLocation`), so any rule can point a teacher at the
exact line of the file that holds the problem.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

# Declared beside its types; plugins import it from here or from there.
from weike.builder.contracts.settings import Setting  # noqa: F401


# --------------------------------------------------------------------------------------------
# Vocabulary of the course call (附件2, 附件3)
# --------------------------------------------------------------------------------------------

#: The ten brand-course themes (社区教育品牌课程主题), in the order the call lists them.
THEMES: tuple[str, ...] = (
    "科学素质与互联网学习",
    "职业技能",
    "老年智慧生活",
    "家庭教育指导",
    "乡村振兴",
    "非遗传承",
    "道德与法治",
    "人文艺术",
    "康养健身",
    "社区治理与应急管理",
)

#: Provider levels of the three-level network (县域社区教育三级办学服务机构), as the forms write them.
PROVIDER_LEVELS: tuple[str, ...] = ("县(市、区)", "乡镇(街道)", "村(社区)")

#: How people write the levels short (each level's label too, without brackets and separators),
#: after :func:`_level_key`: "县级", "区", "乡镇级", "街道", "村级", "社区", "县（市、区）"...
_LEVEL_SHORT_FORMS: Mapping[str, str] = {
    **dict.fromkeys(("县", "区", "县区", "区县", "县市", "市县", "县市区", "县级市", "市辖区"), PROVIDER_LEVELS[0]),
    **dict.fromkeys(("乡", "镇", "乡镇", "街道", "镇街", "镇街道", "乡镇街", "乡镇街道", "街镇", "镇乡"),
                    PROVIDER_LEVELS[1]),
    **dict.fromkeys(("村", "社区", "村社区", "社区村", "村居", "居"), PROVIDER_LEVELS[2]),
}


#: The hint of a level that names none of them (E109, E704).
LEVEL_CHOICES_HINT = "可选：" + "、".join(PROVIDER_LEVELS) + "（也可以写县级、乡镇级、村级）。"


def _level_key(text: str) -> str:
    """``text`` without spaces, brackets, separators and a trailing 级 ("县（市、区）级" -> "县市区")."""
    key = "".join(ch for ch in text if ch not in " \t\u3000()（）[]【】、,，/／·")
    return key.removesuffix("级") if len(key) > 1 else key


def form_level(text: str | None) -> str | None:
    """The form's label (one of :data:`PROVIDER_LEVELS`) for a level as people write it
    ("县级", "乡镇级", "社区", full-width brackets...), or ``None`` when it names none of them."""
    if text is None:
        return None
    if text in PROVIDER_LEVELS:
        return text
    return _LEVEL_SHORT_FORMS.get(_level_key(text))

#: 课程简介 and 授课人简介: 100 字以内 (附件2). The editors' schema and the default of the rules'
#: limits (E102, E103; weike.yml's max_summary_chars, max_bio_chars) both come from here.
SUMMARY_MAX_CHARS = 100
BIO_MAX_CHARS = 100

#: Lecture forms the call allows (视频、动画或者纯音频).
LECTURE_FORMS: tuple[str, ...] = ("视频", "动画", "音频")


# --------------------------------------------------------------------------------------------
# Where things are
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, order=True)
class SourceLocation:
    """A place in an authored file.

    ``file`` is relative to the repository root in POSIX form (``courses/x/course.yml``), so it
    reads the same on every machine; ``line`` and ``column`` are 1-based, or ``None`` when the
    problem concerns the file (or folder) as a whole.
    """

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


def repository_path(path: Path, root: Path) -> str:
    """``path`` as diagnostics and summaries name it: relative to the repository ``root`` in
    POSIX form, or as it is when it lies outside."""
    # Lexical first: paths built from the repository root need no (slow) symlink resolution.
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class Severity(str, enum.Enum):
    """How bad a diagnostic is: errors block acceptance, warnings fail only under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """One problem found in the authored material, reported like a compiler error.

    ``code`` is stable across releases (tests and CI filters rely on it); ``message`` is the
    Chinese text a teacher reads, ``message_en`` the English text beside it, ``hint`` a Chinese
    sentence saying how to fix it.
    """

    code: str
    severity: Severity
    location: SourceLocation
    message: str
    message_en: str
    hint: str = ""

    @classmethod
    def error(cls, code: str, location: SourceLocation, message: str, message_en: str, hint: str = "") -> Diagnostic:
        return cls(code=code, severity=Severity.ERROR, location=location, message=message,
                   message_en=message_en, hint=hint)

    @classmethod
    def warning(cls, code: str, location: SourceLocation, message: str, message_en: str, hint: str = "") -> Diagnostic:
        return cls(code=code, severity=Severity.WARNING, location=location, message=message,
                   message_en=message_en, hint=hint)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.file, loc.line or 0, loc.column or 0, self.code)


# --------------------------------------------------------------------------------------------
# Courses as authored
# --------------------------------------------------------------------------------------------


class _Located:
    """Mixin: look up where a field (``"provider.phone"``, ``"instructors.0.bio"``) was written."""

    file: str
    locations: Mapping[str, SourceLocation]
    malformed: frozenset[str]

    def written_wrong(self, key: str) -> bool:
        """``key``, or a block around it, was written with a value of the wrong type (loading has
        reported that as E005, so rules say nothing more about it)."""
        probe = key
        while probe:
            if probe in self.malformed:
                return True
            probe = probe.rpartition(".")[0]
        return False

    def absent(self, key: str, value: object) -> bool:
        """``value`` (the field ``key``) was not written at all."""
        return value is None and not self.written_wrong(key)

    def where(self, key: str = "") -> SourceLocation:
        """The location of ``key``; the nearest enclosing key that was written, else the file."""
        probe = key
        while probe:
            if probe in self.locations:
                return self.locations[probe]
            probe = probe.rpartition(".")[0]
        return self.locations.get("", SourceLocation(file=self.file, line=1, column=1))


@dataclass(frozen=True, kw_only=True)
class Instructor:
    name: str | None
    bio: str | None


@dataclass(frozen=True, kw_only=True)
class Provider:
    """The institution that offers the course (附件3: 名称, 所处层级, 联系人, 联系电话)."""

    name: str | None = None
    level: str | None = None
    region: str | None = None
    contact: str | None = None
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class Rights:
    """The attestations the call requires; ``None`` means the author did not say."""

    public_good: bool | None = None
    no_copyright_dispute: bool | None = None
    share_to_national_platforms: bool | None = None

    @property
    def granted(self) -> bool:
        """All three attested true: the course may go to the national platforms and into 附件3."""
        return all(getattr(self, key) is True for key in RIGHTS_KEYS)


#: The three attestations in the order the call lists them (公益属性、无版权纠纷、同意开放共享): the
#: keys under ``rights:`` in course.yml, read, checked and carried into bundles in this order.
RIGHTS_KEYS: tuple[str, ...] = tuple(attestation.name for attestation in fields(Rights))


class PathProblem(str, enum.Enum):
    """Why an :class:`AuthoredFile` could not be resolved."""

    ABSOLUTE = "absolute"
    PARENT = "parent"
    OUTSIDE = "outside"
    MISSING = "missing"
    NOT_A_FILE = "not-a-file"


@dataclass(frozen=True, kw_only=True)
class AuthoredFile:
    """A file a course or lecture refers to (media, subtitles, picture), resolved safely.

    ``declared`` is the text the author wrote (or ``None`` when weike found the file by itself);
    ``path`` is the absolute resolved path, or ``None`` when it cannot be used, in which case
    ``problem`` says why (the rules report it). ``location`` points at the declaration.
    """

    declared: str | None
    path: Path | None
    location: SourceLocation
    problem: PathProblem | None = None


@dataclass(frozen=True, kw_only=True)
class MediaSource(AuthoredFile):
    """The source video or audio of a lecture."""


@dataclass(frozen=True, kw_only=True)
class Lecture(_Located):
    """One microlecture (微课): a folder ``NN-slug`` with ``lecture.md`` and its media."""

    course_slug: str
    slug: str
    number: int | None
    folder: Path
    file: str
    title: str | None = None
    knowledge_point: str | None = None
    form: str | None = None
    media: MediaSource | None = None
    subtitles: AuthoredFile | None = None
    image: AuthoredFile | None = None
    notes: str = ""
    notes_line: int = 1
    #: False when lecture.md could not be parsed: rules skip field checks to avoid noise.
    parsed: bool = True
    #: Media files found in the folder (relative names), for "which one did you mean" hints.
    media_candidates: tuple[str, ...] = ()
    locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False, repr=False)
    #: Fields written with a value of the wrong type (already reported as E005).
    malformed: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def key(self) -> str:
        """Stable id within a repository: ``course-slug/NN-lecture-slug``."""
        return f"{self.course_slug}/{self.slug}"


@dataclass(frozen=True, kw_only=True)
class Course(_Located):
    """A brand course (品牌课程): ``courses/<slug>/course.yml``, a cover and its lectures."""

    slug: str
    folder: Path
    file: str
    title: str | None = None
    summary: str | None = None
    theme: str | None = None
    cover: AuthoredFile | None = None
    created: _dt.date | None = None
    instructors: tuple[Instructor, ...] = ()
    provider: Provider = Provider()
    rights: Rights = Rights()
    tags: tuple[str, ...] = ()
    lectures: tuple[Lecture, ...] = ()
    #: Values of the course.yml keys plugins declared (:class:`Setting` with ``course=True``), by
    #: key; a key the file does not set is absent.
    plugin_settings: Mapping[str, object] = field(default_factory=dict)
    #: False when course.yml could not be parsed: rules skip field checks to avoid noise.
    parsed: bool = True
    locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False, repr=False)
    #: Fields written with a value of the wrong type (already reported as E005).
    malformed: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# Brand learning centres (附件4) and the province's facts (附件3, 附件5); loaded by weike.builder.repository.centre
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CentreContact:
    """申报学校联系方式: the contact person, phone and e-mail (the phone never reaches the site)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class Centre(_Located):
    """A brand learning centre (品牌社区学习中心): ``centres/<slug>/centre.yml`` and its photos."""

    slug: str
    folder: Path
    file: str
    #: 学校名称 (the full official name).
    name: str | None = None
    level: str | None = None
    region: str | None = None
    contact: CentreContact = CentreContact()
    foundation: str | None = None
    team: str | None = None
    activities: str | None = None
    sustainability: str | None = None
    highlights: str | None = None
    promotion: str | None = None
    #: Slugs of the brand courses the centre runs (linked both ways on the site).
    courses: tuple[str, ...] = ()
    photos: tuple[AuthoredFile, ...] = ()
    #: Its texts may appear on the public site (some are drafts for the province only).
    publish: bool = True
    #: False when centre.yml could not be parsed: rules skip field checks to avoid noise.
    parsed: bool = True
    locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False, repr=False)
    malformed: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def text(self, key: str) -> str | None:
        """One of the free-text rows of 附件4 (:data:`weike.builder.repository.centre.CENTRE_TEXT_KEYS`) by key."""
        return getattr(self, key)


@dataclass(frozen=True, kw_only=True)
class ProvinceDepartment:
    """省级教育主管部门: who the ministry calls about the submission (附件3 and 附件4 headers)."""

    name: str | None = None
    contact: str | None = None
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProvinceStatistics:
    """附件5's one row, as weike.yml writes it."""

    centre_name: str | None = None
    #: Each figure written, by key (:data:`weike.builder.repository.centre.STATISTIC_KEYS`), as YAML reads it:
    #: a number, or what else was written (text, a date; ``None`` for a list), which the province's
    #: rules refuse (E801) and which holds 附件5 back.
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Repository:
    """A folder with ``courses/``: what ``weike`` works on."""

    root: Path
    config: WeikeConfig
    courses: tuple[Course, ...]
    #: Problems found while reading files (syntax, types, sizes), before any rule ran.
    diagnostics: tuple[Diagnostic, ...] = ()
    #: Brand learning centres from ``centres/`` (附件4), in folder order.
    centres: tuple[Centre, ...] = ()

    def course(self, slug: str) -> Course:
        for course in self.courses:
            if course.slug == slug:
                return course
        raise KeyError(slug)


@dataclass(frozen=True, kw_only=True)
class WeikeConfig:
    """Settings from the optional ``weike.yml`` at the repository root (defaults = SPEC.md).

    The fields are what the core itself reads; every other key is a plugin's (``weike_settings``)
    and arrives in ``plugin_settings``.
    """

    #: Dask scheduler address (``tcp://host:port``) for distributed transcoding; None = local.
    scheduler: str | None = None
    #: Parallel media jobs; None = chosen from the CPU count.
    jobs: int | None = None
    #: The province education department's contact and phone (附件3 and 附件4 headers).
    department: ProvinceDepartment | None = None
    #: The 附件5 statistics row; None when weike.yml has none (no 附件5 is written).
    statistics: ProvinceStatistics | None = None
    #: A published course that now fails leaves every output (``--drop-stale``), instead of
    #: staying at its last good version.
    drop_stale: bool = False
    #: Values of the weike.yml keys plugins declared (:class:`Setting`), by key; a key the file
    #: does not set is absent.
    plugin_settings: Mapping[str, object] = field(default_factory=dict)
    locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# Media facts (filled by the media stage)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MediaInfo:
    """What probing a media file found, reduced to the facts the delivery profile cares about."""

    path: Path
    container: str | None = None
    duration: float | None = None
    size: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    #: Size as displayed, after the rotation flag and sample aspect ratio are applied.
    display_width: int | None = None
    display_height: int | None = None
    rotation: int = 0
    sample_aspect_ratio: str | None = None
    pixel_format: str | None = None
    frame_rate: float | None = None
    constant_frame_rate: bool | None = None
    interlaced: bool | None = None
    profile: str | None = None
    level: int | None = None
    video_streams: int = 0
    audio_streams: int = 0
    attached_pictures: int = 0
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    video_bitrate: int | None = None
    audio_bitrate: int | None = None
    fast_start: bool | None = None
    # Facts that need more than the container headers: filled when the packets were read or the
    # audio was decoded, ``None`` otherwise.
    #: Longest distance between two key frames, in seconds (GOP length).
    keyframe_interval: float | None = None
    #: Integrated loudness (EBU R128, LUFS) and true peak (dBTP) of the audio track.
    loudness: float | None = None
    true_peak: float | None = None
    video_duration: float | None = None
    audio_duration: float | None = None

    @property
    def is_audio_only(self) -> bool:
        return self.video_streams == 0 and self.audio_streams > 0


@dataclass(frozen=True, kw_only=True)
class DeliveredMedia:
    """A lecture's delivered file in ``dist/media``: what the site and the bundles use."""

    course_slug: str
    lecture_slug: str
    path: Path
    duration: float
    size: int
    sha256: str
    source_sha256: str
    profile: str
    #: Still frame for the HTML5 ``poster`` attribute and bundle thumbnails.
    poster: Path | None = None
    #: WebVTT converted from the lecture's ``.srt`` subtitles.
    subtitles: Path | None = None
    #: The same subtitles as SubRip, as the platforms' upload forms ask for: the lecture's ``.srt``
    #: read and normalised (UTF-8, shifted past an opening card), beside ``subtitles``.
    subtitles_srt: Path | None = None
    #: The lecture's source file was pure audio (delivered as video with a still picture).
    from_audio: bool = False
    info: MediaInfo | None = None
    #: The other renditions the media stage made of this file because a plugin asked for them
    #: (``weike_media_renditions``), by name (``saver``: the 省流量 one), each described as the
    #: lecture's video in that rendition. Not part of its identity: a bundle made from the
    #: delivered file does not change when the site asks for one more rendition.
    renditions: Mapping[str, DeliveredMedia] = field(default_factory=lambda: MappingProxyType({}), repr=False,
                                                     compare=False)
    #: One SHA-256 of this value's compared fields and of the identities (size, mtime_ns, inode) of
    #: its files, given by the media stage that handed it on; "" when it gave none. A later stage
    #: remembering what it made from a lecture's delivery may compare this instead of the value and
    #: its files (a catalogue's values cost more to format than to compare by this). Never copied:
    #: a value made from this one (``dataclasses.replace``) has none until its maker gives it one.
    digest: str = field(default="", init=False, repr=False, compare=False)
