"""Title cards: short card segments joined to the content without re-encoding it.

The content is delivered (and cached) exactly as without cards, under a key that knows nothing
of the card text. Each card is encoded alone, with the content's own encoder settings, into a
few seconds of H.264; the concat demuxer then copies card, content and card pictures into one
video track (whole 25 fps frames each: one CFR stream). Joining by copy needs the same H.264
parameter sets in every part: they are compared before the join. The sound cannot be joined
by copy: AAC comes in frames of 1024 samples (21.3 ms) with encoder priming at the start of
each part, so copied parts drift off the picture by up to a frame per join and leave a gap
that makes the picture VFR (measured: 24.98 fps). The sound is therefore encoded once more as
silence + the content's delivered sound + silence, sample-exact: seconds for a whole lecture,
against minutes for its picture. A title edit costs two short card encodes, a copy of the
picture and that sound encode -- never the picture's re-encode.

The cards' settings, text and pictures come from titlecards.py; this module draws a lecture's
cards into the cache (:func:`plan_cards`) and joins them to its delivered content
(:func:`join_cards`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_python

from weike.builder.contracts.model import Course, Lecture, WeikeConfig
from weike.builder.keeping.memo import sha256_file
from weike.builder.keeping.store import ContentStore, cache_key
from weike.builder.keeping.outputs import write_atomic
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.encoding import (
    _CONTAINER_OPTIONS,
    DeliveryFailed,
    SourceLength,
    _audio_options,
    _encoder_options,
    _filter_threads,
    _fit_video,
    _timeout_for,
)
from weike.plugins.media.probe import ProbeError, info_to_dict, probe_media
from weike.plugins.media.profile import DeliveryProfile, conforms, failed_rules, verify_media
from weike.plugins.media.titlecards import (
    FADE_SECONDS,
    CardLine,
    CardTextDoesNotFit,
    TitleCardSettings,
    card_png,
    card_text,
    closing_lines,
    effective_settings,
    opening_lines,
)
from weike.plugins.pictures import open_picture

#: Card pictures by hash, beside the store (cache/cards/<sha256>.png).
CARD_FOLDER = "cards"

#: Bumped whenever the card segment or the join changes what they produce: part of every card key.
CARD_RECIPE_VERSION = 1


def title_card_settings(config: WeikeConfig, course: Course) -> TitleCardSettings:
    """The title cards of ``course``: its course.yml keys over weike.yml's over the defaults."""
    return effective_settings(config.plugin_settings.get("title_cards"), course.plugin_settings.get("title_cards"))


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


def _card_picture(lines: list[CardLine], cover: Path | None, profile: DeliveryProfile,
                  folder: Path) -> tuple[Path, str]:
    """The card drawn at the profile's size, kept by its hash under ``folder``: ``(path, sha256)``."""
    try:
        data = card_png(lines, cover=cover, size=(profile.width, profile.height))
    except CardTextDoesNotFit as exc:
        # `weike check` refuses such text first (E225): this is only the net behind it.
        raise DeliveryFailed("片头片尾上的文字放不下", f"the title card text does not fit ({exc})") from exc
    return _card_picture_bytes(data, folder)


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
                       "opening_text": [card_text(line.text) for line in opening_lines(course, lecture)]
                       if opening else [],
                       "closing_text": [card_text(line.text) for line in closing_lines(course)] if closing else []}})


def card_segment_command(picture: Path, output: Path, seconds: float, profile: DeliveryProfile, *,
                         still: bool, threads: int, chroma_location: str | None = None) -> list[str]:
    """ffmpeg arguments: ``seconds`` of the card (picture only) with a short fade, encoded as the content is.

    ``chroma_location``: the content's, which x264 writes into the parameter sets (a JPEG cover
    gives "center", a video "left"): the card must say the same to be joined by copy.
    """
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
