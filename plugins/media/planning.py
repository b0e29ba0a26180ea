"""Planning a lecture's delivery: hash and probe its source, choose how to deliver it, name the result.

A plan holds the :class:`~weike.plugins.media.encoding.DeliveryJob` for the content, keyed by
what it is made from (source and still picture hashes, profile, recipe, encoder), and the
:class:`~weike.plugins.media.cards.CardJob` that joins the title cards to it. The stage runs the
plans; ``weike cache`` plans too, to know which cache entries are still needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.model import repository_path, Course, Lecture, MediaInfo
from weike.builder.keeping.memo import FileMemo
from weike.builder.keeping.store import cache_key
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.cards import CARD_FOLDER, CardJob, _card_picture_bytes, plan_cards
from weike.plugins.media.checks import probe_memoised
from weike.plugins.media.encoding import RECIPE_VERSION, DeliveryFailed, DeliveryJob
from weike.plugins.media.profile import DeliveryProfile, checks_by_rule, verify_media
from weike.plugins.media.titlecards import CardTextDoesNotFit, TitleCardSettings, mark_line, mark_png

#: The rules about the picture itself (meaningless for a file that has none).
PICTURE_RULES = ("video_codec", "h264_profile", "display_size", "rotation", "square_pixels",
                 "progressive", "frame_rate", "constant_frame_rate", "keyframe_interval", "pixel_format",
                 "video_bitrate")
#: Rules about the video stream: a source passing all of them keeps its video bitstream.
_VIDEO_RULES = ("video_streams", *PICTURE_RULES)


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
                 store_root: Path, cards: TitleCardSettings | None = None,
                 probed: MediaInfo | None = None) -> LecturePlan:
    """Hash and probe the source, choose how to deliver it; raises ProbeError / DeliveryFailed.

    ``probed``: the source's header probe as the check made it (else probed here, or remembered).

    With ``cards`` enabled, the cards are drawn now (their pictures are part of the card key).
    """
    if lecture.media is None or lecture.media.path is None:
        raise DeliveryFailed("没有可用的媒体文件", "the lecture has no usable media file")
    source = lecture.media.path
    # The header probe is usually remembered from `weike check`; most phone videos fail a header
    # rule (size, codec, rotation...) and go straight to transcoding without reading packets.
    info = probed if probed is not None else probe_memoised(memo, source)
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
    if cards is not None and cards.mark and (line := mark_line(course)) is not None:
        # The mark is the institution's name only: a lecture title edit leaves this key alone.
        try:
            picture = mark_png(line, size=(profile.width, profile.height))
        except CardTextDoesNotFit as exc:  # `weike check` refuses it first (E225): the net behind it
            raise DeliveryFailed("机构标识上的文字放不下", f"the provider's mark does not fit ({exc})") from exc
        mark, key_extras["mark"] = _card_picture_bytes(picture, store_root.parent / CARD_FOLDER)
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
