"""SubRip (.srt) subtitles read and normalised, handed on in both forms: WebVTT, the only format an
HTML5 ``<track>`` plays, and SubRip again (UTF-8, shifted past an opening card), which the
platforms' upload forms ask for.

Teachers' .srt files come from many tools: UTF-8 with or without BOM, UTF-16, and often GBK /
GB18030 from Chinese Windows tools; blank lines with spaces, a missing final newline, periods
instead of commas. All of those are accepted. Anything that is not subtitles raises
:class:`SubtitleError` with the line, so ``weike check`` can point at it.

Any other encoding is named, not guessed: GB18030 decodes almost any byte string, so a Big5 file
from Taiwan or Hong Kong (``打開聊天視窗``) used to become mojibake (``ゴ秨册ぱ跌怠``) without a
word. charset-normalizer tells the encodings apart; a file it does not find to be GB18030 (or
equally likely GB18030) is refused with the encoding it found. Files over
:data:`MAX_SUBTITLE_BYTES` are not read at all.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

#: A 15-minute lecture's subtitles are 20-50 KB; 2 MB leaves room and keeps a pasted video or a
#: huge generated file out of memory and out of every bundle.
MAX_SUBTITLE_BYTES = 2 * 1024 * 1024
#: charset-normalizer's names for the encodings read as GB18030 (its superset).
_GB_FAMILY = frozenset({"gb18030", "gbk", "gb2312", "hz"})

_TIMING_RE = re.compile(
    r"^\s*(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
)
#: Markup WebVTT cue text understands; anything else (e.g. SRT's <font color=...>) is dropped.
_KEPT_TAGS = {"i", "b", "u"}
_TAG_RE = re.compile(r"<\s*(/?)\s*([a-zA-Z]+)[^>]*>")


class SubtitleError(Exception):
    """The file is not readable SubRip; ``line`` is 1-based (or None for the whole file)."""

    def __init__(self, message: str, message_en: str, line: int | None = None) -> None:
        self.message = message
        self.message_en = message_en
        self.line = line
        super().__init__(message, message_en, line)

    def __str__(self) -> str:
        return self.message_en


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    #: 1-based line of the cue's timing line in the file (0 when not from a file).
    line: int = 0


def read_subtitle_file(path: Path) -> bytes:
    """The bytes of ``path``, refused (:class:`SubtitleError`) over :data:`MAX_SUBTITLE_BYTES`
    before anything is read."""
    size = path.stat().st_size
    if size > MAX_SUBTITLE_BYTES:
        raise SubtitleError(f"文件过大（{size:,} 字节，上限 {MAX_SUBTITLE_BYTES:,} 字节）",
                            f"file too large ({size:,} bytes, limit {MAX_SUBTITLE_BYTES:,})")
    with path.open("rb") as handle:
        data = handle.read(MAX_SUBTITLE_BYTES + 1)
    if len(data) > MAX_SUBTITLE_BYTES:  # grew while we looked
        raise SubtitleError("文件过大", "file too large")
    return data


def decode_subtitles(data: bytes) -> str:
    """Text of a subtitle file in UTF-8 (BOM or not), UTF-16 or GB18030; any other encoding is
    refused with its name."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if matches:
        best = matches[0]
        # Short GBK files are as likely Big5 or CP949 to the detector; mainland tools write GBK,
        # so GB18030 wins a tie. A file it finds less likely to be GB18030 than something else
        # is refused.
        for match in matches:
            if match.encoding in _GB_FAMILY and match.chaos <= best.chaos:
                return data.decode("gb18030")
            if match.encoding.startswith("utf_16") and match.chaos <= best.chaos:
                return data.decode(match.encoding)
        raise SubtitleError(f"字幕文件的文字编码是 {best.encoding}，不是 UTF-8、GB18030 或 UTF-16",
                            f"subtitle file is encoded in {best.encoding}, not UTF-8, GB18030 or UTF-16")
    raise SubtitleError("字幕文件的文字编码无法识别", "subtitle file is neither UTF-8, UTF-16 nor GB18030")


def _ms(hours: str | None, minutes: str, seconds: str, fraction: str) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))


def parse_srt(text: str) -> list[Cue]:
    """The cues of SubRip ``text``; raises :class:`SubtitleError` pointing at the bad line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        block_start = index
        # Optional cue number, then the timing line.
        if lines[index].strip().isdigit() and index + 1 < len(lines):
            index += 1
        match = _TIMING_RE.match(lines[index])
        if not match:
            raise SubtitleError(f"第 {index + 1} 行应为时间轴，例如 00:00:01,000 --> 00:00:03,500",
                                f"line {index + 1}: expected a timing line like 00:00:01,000 --> 00:00:03,500",
                                line=index + 1)
        start, end = _ms(*match.group(1, 2, 3, 4)), _ms(*match.group(5, 6, 7, 8))
        timing_line = index + 1
        if end <= start:
            raise SubtitleError(f"第 {index + 1} 行的结束时间不晚于开始时间", f"line {index + 1}: cue ends before it starts",
                                line=index + 1)
        index += 1
        text_lines = []
        while index < len(lines) and lines[index].strip():
            text_lines.append(lines[index].strip())
            index += 1
        if text_lines:
            cues.append(Cue(start_ms=start, end_ms=end, text="\n".join(text_lines), line=timing_line))
        elif block_start == index:  # pragma: no cover - loop guard
            index += 1
    if not cues:
        raise SubtitleError("字幕文件中没有字幕", "subtitle file holds no cues")
    return cues


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _kept_markup(text: str, escape=lambda text: text) -> str:
    """``text`` with only the ``<b>/<i>/<u>`` tags (bare, lowercase), the rest passed to ``escape``."""
    kept: list[str] = []
    position = 0
    for match in _TAG_RE.finditer(text):
        kept.append(escape(text[position:match.start()]))
        closing, name = match.group(1), match.group(2).lower()
        if name in _KEPT_TAGS:
            kept.append(f"<{closing}{name}>")
        position = match.end()
    kept.append(escape(text[position:]))
    return "".join(kept)


def _cue_text(text: str) -> str:
    return _kept_markup(text, _escape).replace("-->", "->")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cues_after(cues: list[Cue], duration: float) -> list[Cue]:
    """The cues that start after a video of ``duration`` seconds has ended: never shown."""
    return [cue for cue in cues if cue.start_ms >= duration * 1000]


def read_srt(data: bytes, *, shift_ms: int = 0) -> list[Cue]:
    """The cues of the SubRip file ``data``, ``shift_ms`` later (an opening card)."""
    cues = parse_srt(decode_subtitles(data))
    if shift_ms:
        cues = [dataclasses.replace(cue, start_ms=cue.start_ms + shift_ms, end_ms=cue.end_ms + shift_ms)
                for cue in cues]
    return cues


def srt_to_webvtt(data: bytes, *, shift_ms: int = 0) -> str:
    """A WebVTT document with the cues of the SubRip file ``data``, ``shift_ms`` later (an opening card)."""
    return webvtt(read_srt(data, shift_ms=shift_ms))


def subrip(cues: list[Cue]) -> str:
    """A SubRip document with ``cues``: numbered from 1, comma decimals, only ``<b>/<i>/<u>`` kept."""
    blocks = [f"{number}\n{_timestamp(cue.start_ms).replace('.', ',')} --> {_timestamp(cue.end_ms).replace('.', ',')}\n"
              f"{_kept_markup(cue.text)}" for number, cue in enumerate(cues, start=1)]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def webvtt(cues: list[Cue]) -> str:
    """A WebVTT document with ``cues``."""
    parts = ["WEBVTT", ""]
    for cue in cues:
        parts.append(f"{_timestamp(cue.start_ms)} --> {_timestamp(cue.end_ms)}")
        parts.append(_cue_text(cue.text))
        parts.append("")
    return "\n".join(parts)
