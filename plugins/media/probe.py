"""Probing a media file into :class:`~weike.builder.contracts.model.MediaInfo`: the facts delivery rules need.

Three depths, cheapest first:

* headers (``probe_media(path)``): ffprobe's format and streams plus a walk over the MP4 boxes
  (fast start, truncation). Milliseconds; what ``weike check`` runs on every lecture.
* packets (``packets=True``): every video packet's timestamp and key flag, read without decoding,
  for the frame-rate mode (constant or variable) and the longest GOP.
* loudness (``loudness=True``): decodes the audio through the EBU R128 meter.

A file that is empty, unreadable, cut short or not audio/video raises :class:`ProbeError`, whose
``kind`` tells the teacher which of these it is.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import statistics
from fractions import Fraction
from pathlib import Path

from weike.plugins.media import runner as ffmpeg
from weike.builder.contracts.model import MediaInfo

#: Bumped when probing changes what it reports, so memoised probes of older weike are not reused.
PROBE_VERSION = 1

#: What the header probe asks ffprobe for: exactly the fields :func:`probe_media` reads (a full
#: ``-show_format -show_streams`` prints some 80 per file). tests/plugins/test_media_probe.py holds
#: the two answers equal on every kind of source the tests make.
HEADER_ENTRIES = ":".join((
    "format=format_name,duration",
    "format_tags=major_brand",
    "stream=index,codec_type,codec_name,profile,level,width,height,sample_aspect_ratio,pix_fmt,field_order,"
    "avg_frame_rate,r_frame_rate,time_base,bit_rate,duration,sample_rate,channels",
    "stream_disposition=attached_pic",
    "stream_tags=rotate",
    "stream_side_data=rotation",
))

#: ffprobe formats that are still pictures, not media (a photo renamed to .mp4).
_IMAGE_FORMATS = re.compile(r"^(image2|.*_pipe|gif|webp|apng|bmp|tiff?)$")


class ProbeProblem(str, enum.Enum):
    EMPTY = "empty"
    UNREADABLE = "unreadable"
    TRUNCATED = "truncated"
    NOT_MEDIA = "not-media"


class ProbeError(Exception):
    """The file cannot be used as a lecture's media; ``kind`` says why, ``detail`` is ffprobe's word."""

    def __init__(self, kind: ProbeProblem | str, detail: str = "") -> None:
        self.kind = ProbeProblem(kind)
        self.detail = detail
        super().__init__(kind, detail)

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value


# --------------------------------------------------------------------------------------------
# MP4 / QuickTime box walk
# --------------------------------------------------------------------------------------------


def mp4_top_level_boxes(path: Path) -> tuple[list[str], bool]:
    """``(box types in file order, truncated)`` for an ISO-BMFF (MP4/MOV) file.

    Reads 16 bytes per top-level box. ``truncated`` is true when a box claims more bytes than the
    file has: a copy or upload that stopped early, even when ffprobe still reads the headers.
    """
    boxes: list[str] = []
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box_size = int.from_bytes(header[0:4], "big")
            box_type = header[4:8].decode("latin-1")
            if box_size == 1:
                if len(header) < 16:
                    return boxes, True
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # "extends to the end of the file"
                box_size = size - offset
            if box_size < 8:
                return boxes, True  # garbage where a box header should be
            boxes.append(box_type)
            if offset + box_size > size:
                return boxes, True
            offset += box_size
    return boxes, False


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


def finite_number(value) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _integer(value) -> int | None:
    number = finite_number(value)
    return int(number) if number is not None else None


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "N/A"):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return float(value) if value > 0 else None


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or ():
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    # The old tag counts clockwise, the display matrix counter-clockwise.
    return (-int(rotate)) % 360 if rotate and rotate.lstrip("-").isdigit() else 0


def _container(fmt: dict) -> str | None:
    names = (fmt.get("format_name") or "").split(",")
    if "mp4" in names:
        brand = ((fmt.get("tags") or {}).get("major_brand") or "").strip()
        return "mov" if brand == "qt" else "mp4"
    return names[0] or None


def probe_media(path: Path, *, packets: bool = False, loudness: bool = False,
                timeout: float | None = 120) -> MediaInfo:
    """Probe ``path``; raises :class:`ProbeError` when it is not usable media."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProbeError(ProbeProblem.UNREADABLE, exc.strerror or str(exc)) from exc
    if size == 0:
        raise ProbeError(ProbeProblem.EMPTY)
    try:
        data = ffmpeg.probe_headers(path, entries=HEADER_ENTRIES, timeout=timeout)
    except ffmpeg.FfmpegError as exc:
        raise ProbeError(ProbeProblem.UNREADABLE, exc.last_line) from exc
    info = media_info(path, data, size=size)
    if packets and info.video_streams:
        video = _video_streams(data.get("streams") or [])[0]
        info = dataclasses.replace(info, **_packet_facts(path, video_index=video["index"],
                                                         time_base=video.get("time_base"), timeout=timeout))
    if loudness and info.audio_streams:
        measured = measure_loudness(path, timeout=timeout)
        info = dataclasses.replace(info, loudness=measured[0], true_peak=measured[1])
    return info


def _video_streams(streams: list[dict]) -> list[dict]:
    """The video streams that are moving pictures (not a cover attached to the file)."""
    return [s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]


def media_info(path: Path, data: dict, *, size: int) -> MediaInfo:
    """The :class:`MediaInfo` of ffprobe's JSON ``data`` about ``path`` (``size`` bytes); raises ProbeError."""
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    format_name = fmt.get("format_name") or ""

    fast_start = None
    if "mp4" in format_name.split(",") or "mov" in format_name.split(","):
        boxes, truncated = mp4_top_level_boxes(path)
        if truncated:
            raise ProbeError(ProbeProblem.TRUNCATED, "file ends inside a box (incomplete copy or upload)")
        if "moov" in boxes and "mdat" in boxes:
            fast_start = boxes.index("moov") < boxes.index("mdat")

    videos = _video_streams(streams)
    pictures = [s for s in streams if s.get("codec_type") == "video" and s not in videos]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    duration = finite_number(fmt.get("duration"))
    if _IMAGE_FORMATS.match(format_name.split(",")[0]) or (not videos and not audios):
        raise ProbeError(ProbeProblem.NOT_MEDIA, format_name or "no audio or video stream")
    if not duration or duration <= 0:
        raise ProbeError(ProbeProblem.NOT_MEDIA, "no duration")

    values: dict = dict(
        path=path, container=_container(fmt), duration=duration, size=size,
        video_streams=len(videos), audio_streams=len(audios), attached_pictures=len(pictures),
        fast_start=fast_start,
    )
    if videos:
        video = videos[0]
        width, height = _integer(video.get("width")), _integer(video.get("height"))
        sar = video.get("sample_aspect_ratio")
        rotation = _rotation(video)
        display_w, display_h = width, height
        if width and height and sar and sar not in ("0:1", "1:1", "N/A"):
            num, _, den = sar.partition(":")
            try:
                ratio = Fraction(int(num), int(den))
                display_w = int(round(width * ratio / 2)) * 2 if ratio > 0 else width
            except (ValueError, ZeroDivisionError):
                pass
        if rotation in (90, 270):
            display_w, display_h = display_h, display_w
        field_order = video.get("field_order")
        values.update(
            video_codec=video.get("codec_name"), width=width, height=height,
            display_width=display_w, display_height=display_h, rotation=rotation,
            sample_aspect_ratio=sar if sar not in (None, "N/A", "0:1") else None,
            pixel_format=video.get("pix_fmt"),
            frame_rate=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
            interlaced=None if field_order in (None, "unknown") else field_order != "progressive",
            profile=video.get("profile"), level=_integer(video.get("level")),
            video_bitrate=_integer(video.get("bit_rate")), video_duration=finite_number(video.get("duration")),
        )
    if audios:
        audio = audios[0]
        values.update(
            audio_codec=audio.get("codec_name"), audio_sample_rate=_integer(audio.get("sample_rate")),
            audio_channels=_integer(audio.get("channels")), audio_bitrate=_integer(audio.get("bit_rate")),
            audio_duration=finite_number(audio.get("duration")),
        )
    return MediaInfo(**values)


# --------------------------------------------------------------------------------------------
# Packets: frame-rate mode and GOP without decoding
# --------------------------------------------------------------------------------------------


def _packet_facts(path: Path, *, video_index: int, time_base: str | None, timeout: float | None) -> dict:
    try:
        completed = ffmpeg.run(
            ["-v", "error", "-select_streams", str(video_index), "-show_entries", "packet=pts,duration,size,flags",
             "-of", "json", str(path)],
            tool="ffprobe", timeout=timeout, capture_stdout=True,
        )
    except ffmpeg.FfmpegError as exc:
        raise ProbeError(ProbeProblem.UNREADABLE, exc.last_line) from exc
    listed = json.loads(completed.stdout.decode("utf-8", "replace") or "{}").get("packets") or []
    try:
        tick = Fraction(time_base) if time_base else None
    except (ValueError, ZeroDivisionError):
        tick = None
    rows = [(int(p["pts"]), int(p.get("duration") or 0), int(p.get("size") or 0), "K" in (p.get("flags") or ""))
            for p in listed if str(p.get("pts", "")).lstrip("-").isdigit()]
    if len(rows) < 2 or not tick:
        return {}
    rows.sort()
    pts = [row[0] for row in rows]
    steps = [b - a for a, b in zip(pts, pts[1:])]
    typical = statistics.median(steps)
    # One tick of jitter is rounding (a 1/1000 time base cannot hold 1/30 s exactly).
    allowed = max(1, typical * 0.002)
    constant = typical > 0 and all(abs(step - typical) <= allowed for step in steps)
    end = pts[-1] + (rows[-1][1] or typical)
    keys = [row[0] for row in rows if row[3]]
    if keys:
        marks = [*keys, end]
        longest = max(b - a for a, b in zip(marks, marks[1:]))
        if keys[0] > pts[0]:
            longest = max(longest, keys[0] - pts[0])
    else:
        longest = end - pts[0]
    seconds = float((end - pts[0]) * tick)
    facts = dict(
        constant_frame_rate=constant,
        keyframe_interval=round(float(longest * tick), 4),
    )
    if typical > 0:
        facts["frame_rate"] = round(1 / float(typical * tick), 4) if constant else round(len(rows) / seconds, 4)
    total_bytes = sum(row[2] for row in rows)
    if seconds > 0 and total_bytes:
        facts["video_bitrate"] = int(total_bytes * 8 / seconds)
    return facts


# --------------------------------------------------------------------------------------------
# Loudness: EBU R128 meter
# --------------------------------------------------------------------------------------------

_LOUDNESS_RE = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf)\s*LUFS", re.S)
_PEAK_RE = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf)\s*dBFS", re.S)


def measure_loudness(path: Path, *, timeout: float | None = 600) -> tuple[float, float]:
    """``(integrated LUFS, true peak dBTP)`` of the first audio track (silence: -70, -inf -> -99)."""
    try:
        completed = ffmpeg.run(
            ["-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
             "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
            timeout=timeout,
        )
    except ffmpeg.FfmpegError as exc:
        raise ProbeError(ProbeProblem.UNREADABLE, exc.last_line) from exc
    summary = completed.stderr[completed.stderr.rfind("Summary:"):]
    loud, peak = _LOUDNESS_RE.search(summary), _PEAK_RE.search(summary)
    if not loud or not peak:
        raise ProbeError(ProbeProblem.UNREADABLE, "the loudness meter gave no result")

    def value(text: str) -> float:
        return -99.0 if text == "-inf" else float(text)

    return value(loud.group(1)), value(peak.group(1))


# --------------------------------------------------------------------------------------------
# Decoded length: how much sound the file really holds
# --------------------------------------------------------------------------------------------

_SAMPLES_RE = re.compile(r"Overall.*?Number of samples:\s*(\d+)", re.S)


def decoded_audio_seconds(path: Path, *, timeout: float | None = 600) -> float:
    """Seconds of sound the first audio track decodes to: its decoded samples over the sample rate.

    Headers can only estimate (a VBR MP3 without an index, a WAV whose data was cut); the
    decoder's sample count is what a listener hears. Resampled to one fixed rate first, so a
    track whose rate changes midway is still counted in the same unit.
    """
    rate = 48000
    try:
        completed = ffmpeg.run(
            ["-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
             "-af", f"aresample={rate},astats=measure_perchannel=none:measure_overall=Number_of_samples",
             "-f", "null", "-"],
            timeout=timeout,
        )
    except ffmpeg.FfmpegError as exc:
        raise ProbeError(ProbeProblem.UNREADABLE, exc.last_line) from exc
    counted = _SAMPLES_RE.findall(completed.stderr)
    if not counted:
        raise ProbeError(ProbeProblem.UNREADABLE, "the audio decoded to no samples")
    return int(counted[-1]) / rate


# --------------------------------------------------------------------------------------------
# (De)serialising, for memo files and manifests
# --------------------------------------------------------------------------------------------


def info_to_dict(info: MediaInfo) -> dict:
    data = dataclasses.asdict(info)
    data["path"] = str(info.path)
    return data


#: The fields a stored probe may set (read once: the manifest turns thousands of records into MediaInfo).
_INFO_FIELDS = frozenset(field.name for field in dataclasses.fields(MediaInfo))


def info_from_dict(data: dict, *, path: Path | None = None) -> MediaInfo:
    """The MediaInfo of a stored probe ``data`` (keys it does not know are left out); ``path`` in
    place of the one ``data`` names."""
    values = {key: value for key, value in data.items() if key in _INFO_FIELDS}
    values["path"] = Path(values["path"]) if path is None else path
    return MediaInfo(**values)
