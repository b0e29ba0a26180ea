"""Title cards (片头/片尾): their settings, their text and their picture.

The settings come from ``title_cards:`` in ``weike.yml``, each key overridable by the same block
in a ``course.yml``. Off by default: deliveries (and their cache keys) of a repository that does
not ask for cards do not change.

The picture is drawn with Pillow in Noto Sans SC from the ``pylopdf-fonts-zh-cn`` package
installed with weike -- never a system font (it differs per machine: a card would look different,
or show boxes, on the CI runner) and never a download. The media stage encodes the picture into a
short segment and joins it to the lecture's content (cards.py).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import io
import math
import re
import struct
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml
from typing import TYPE_CHECKING

from weike.builder.contracts.model import Course, Lecture
from weike.builder.contracts.settings import Boolean, Fields, Number, Setting
from weike.plugins.pictures import open_picture

if TYPE_CHECKING:  # Pillow is imported when a card is drawn, not by every command that reads the settings
    from PIL import Image, ImageFont

#: Microlecture specs: an opening card of at most 5 s (basic education) or 10 s (精品课).
MAX_OPENING_SECONDS = 10.0
MAX_CLOSING_SECONDS = 10.0
#: Cards are whole frames of the 25 fps delivery.
CARD_FRAME_RATE = 25
#: The fade in and out of each card.
FADE_SECONDS = 0.3
CARD_WIDTH, CARD_HEIGHT = 1280, 720
#: The title-safe area (EBU R 95: 90 % of the width and of the height): 5 % of the frame on every
#: side is left empty, for televisions that crop the picture's edge.
SAFE_MARGIN = 0.05
#: How far a card's type may shrink (all lines together, in steps of 5 %) before it wraps no
#: more and the text is refused: 60 % keeps the smallest line at 26 px on a 720-line frame.
MIN_CARD_SCALE = 0.6
#: The mark: 26 px at 720 lines, at most half the safe area's width, two rows, shrinking to 70 %.
MARK_POINTS = 26
MARK_MAX_WIDTH = 0.5
MIN_MARK_SCALE = 0.7
#: The closing card's statement: these are public-good (公益) resources.
PUBLIC_GOOD_STATEMENT = "本课程为公益性社区教育资源，欢迎免费学习与分享"
#: Background when the course has no usable cover: a calm dark blue with white type reads
#: well on phones and old televisions alike.
THEME_COLOUR = (22, 58, 104)
FONT_PACKAGE = "pylopdf-fonts-zh-cn"
#: SHA-256 of NotoSansSC-Regular.otf as the Noto project publishes it (the package's README).
FONT_SHA256 = "faa6c9df652116dde789d351359f3d7e5d2285a2b2a1f04a2d7244df706d5ea9"


def _whole_frames(reader, node: yaml.Node, path: str, seconds: float) -> float | None:
    """``seconds`` rounded to whole 25 fps frames; a length that rounds to nothing is E222."""
    # Half a frame rounds up (round() would take 2.5 s to 2.48 s: half to even).
    rounded = math.floor(float(seconds) * CARD_FRAME_RATE + 0.5) / CARD_FRAME_RATE
    if rounded <= 0:
        reader.report("E222", node, f"“{path}”的 {seconds:g} 秒不到一帧，不可用",
                      f"'{path}' {seconds:g} s is shorter than one frame", hint=_SECONDS_HINT)
        return None
    return rounded


_SECONDS_HINT = "微课规范要求片头不超过 5 秒（基础教育）或 10 秒（精品课），片头片尾不能占用学习时间。"


def _seconds(limit: float) -> Number:
    return Number(exclusive_minimum=0, maximum=limit, code="E222", hint=_SECONDS_HINT, unit="秒")


#: ``title_cards:`` in weike.yml, and in a course.yml over it (key by key). Lengths are seconds,
#: rounded to whole 25 fps frames; more than 10 s, zero or less is E222.
TITLE_CARDS = Setting(
    name="title_cards", course=True,
    description="片头片尾和机构标识（可选，course.yml 中逐项覆盖 weike.yml 的同名设置；见 docs/title-cards.md）",
    description_en="opening and closing title cards (片头/片尾) and the provider's mark, per course over weike.yml",
    type=Fields(fields=(
        Setting(name="opening", type=Boolean(), default=False, description="加片头", description_en="add an opening card"),
        Setting(name="closing", type=Boolean(), default=False, description="加片尾", description_en="add a closing card"),
        Setting(name="opening_seconds", type=_seconds(MAX_OPENING_SECONDS), default=4.0, check=_whole_frames,
                description="片头秒数", description_en="the opening card's length in seconds"),
        Setting(name="closing_seconds", type=_seconds(MAX_CLOSING_SECONDS), default=3.0, check=_whole_frames,
                description="片尾秒数", description_en="the closing card's length in seconds"),
        Setting(name="mark", type=Boolean(), default=False, description="正片右下角显示开课机构名称",
                description_en="the provider's name in a corner during the lecture"),
    )))
_DEFAULTS = TITLE_CARDS.type.defaults()


@dataclass(frozen=True, kw_only=True)
class TitleCardSettings:
    """The effective settings for one course (weike.yml, then the course's own block)."""

    opening: bool = _DEFAULTS["opening"]
    closing: bool = _DEFAULTS["closing"]
    opening_seconds: float = _DEFAULTS["opening_seconds"]
    closing_seconds: float = _DEFAULTS["closing_seconds"]
    #: The provider's mark (institution name) in a corner during the lecture.
    mark: bool = _DEFAULTS["mark"]

    @property
    def enabled(self) -> bool:
        return self.opening or self.closing

    @property
    def added_seconds(self) -> float:
        """How much the cards add to the delivered file."""
        return (self.opening_seconds if self.opening else 0.0) + (self.closing_seconds if self.closing else 0.0)

    @property
    def shift_seconds(self) -> float:
        """How far the content (and its subtitles) moves: the opening card's length."""
        return self.opening_seconds if self.opening else 0.0


def effective_settings(config_block, course_block) -> TitleCardSettings:
    """weike.yml's block with the course's keys laid over it (both mappings of the keys given)."""
    return TitleCardSettings(**{**dict(config_block or {}), **dict(course_block or {})})


# --------------------------------------------------------------------------------------------
# What the cards say
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CardLine:
    """One fact on a card: its text (as authored), its design size in points at 720 lines, how many
    rows it may wrap to, and the field it comes from (``("lecture"|"course", key)``, for check's
    file:line) -- None for weike's own words (the 公益 statement, the year)."""

    text: str
    points: int
    rows: int = 2
    field: tuple[str, str] | None = None


def opening_lines(course: Course, lecture: Lecture) -> list[CardLine]:
    """The opening card, top to bottom (empty facts are left out)."""
    number = f"第 {lecture.number} 讲　" if lecture.number is not None else ""
    teachers = "、".join(person.name for person in course.instructors if person.name)
    lines = [CardLine(text=course.title or "", points=60, field=("course", "title")),
             CardLine(text=f"{number}{lecture.title or ''}".strip(), points=72, field=("lecture", "title")),
             CardLine(text=f"主讲：{teachers}" if teachers else "", points=44, field=("course", "instructors")),
             CardLine(text=course.provider.name or "", points=44, field=("course", "provider.name"))]
    return [line for line in lines if card_text(line.text)]


def closing_lines(course: Course) -> list[CardLine]:
    """The closing card: institution, the public-good statement, the year the course was made."""
    year = f"{course.created.year} 年" if course.created is not None else ""
    lines = [CardLine(text=course.provider.name or "", points=60, field=("course", "provider.name")),
             CardLine(text=PUBLIC_GOOD_STATEMENT, points=44, rows=1),
             CardLine(text=year, points=44, rows=1)]
    return [line for line in lines if card_text(line.text)]


def mark_line(course: Course) -> CardLine | None:
    """The provider's mark, or None when the course names no provider."""
    line = CardLine(text=course.provider.name or "", points=MARK_POINTS, field=("course", "provider.name"))
    return line if card_text(line.text) else None


# --------------------------------------------------------------------------------------------
# The font: which characters it can draw
# --------------------------------------------------------------------------------------------


class CardFontMissing(Exception):
    """The font package is not installed (``pip install weike`` installs it)."""


def font_path() -> Path:
    """Noto Sans SC from the installed font package."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError as exc:
        raise CardFontMissing(f"{FONT_PACKAGE} is not installed: pip install {FONT_PACKAGE}") from exc
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    if not path.is_file():
        raise CardFontMissing(f"{FONT_PACKAGE} is installed without its font file {path}")
    return path


def font_report() -> tuple[bool, str]:
    """``(usable, detail)`` for ``weike doctor``: where the font is, its package, licence and hash."""
    try:
        path = font_path()
    except CardFontMissing as exc:
        return False, str(exc)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    version = metadata.version(FONT_PACKAGE)
    same = "as Noto publishes it" if digest == FONT_SHA256 else f"sha256 {digest[:12]}… differs from Noto's"
    return True, f"Noto Sans SC ({same}, SIL OFL 1.1) from {FONT_PACKAGE} {version}: {path}"


@functools.cache
def _font_ranges(path: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The code points the font maps to a glyph, as sorted ``(starts, ends)`` of ranges: read from
    its cmap table (format 12, else format 4). Pillow cannot say; a character outside the cmap is
    drawn as the empty box of glyph 0."""
    data = path.read_bytes()
    tables = {data[12 + 16 * i:16 + 16 * i]: struct.unpack_from(">I", data, 12 + 16 * i + 8)[0]
              for i in range(struct.unpack_from(">H", data, 4)[0])}
    cmap = tables[b"cmap"]
    subtables = {}
    for i in range(struct.unpack_from(">H", data, cmap + 2)[0]):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        subtables[(platform, encoding, struct.unpack_from(">H", data, cmap + offset)[0])] = cmap + offset
    ranges: list[tuple[int, int]] = []
    full = next((subtables[key] for key in ((3, 10, 12), (0, 4, 12), (0, 6, 12)) if key in subtables), None)
    if full is not None:
        for group in range(struct.unpack_from(">I", data, full + 12)[0]):
            start, end, glyph = struct.unpack_from(">III", data, full + 16 + 12 * group)
            ranges.append((start, end) if glyph else (start + 1, end))
    else:
        basic = next(subtables[key] for key in ((3, 1, 4), (0, 3, 4)) if key in subtables)
        segments = struct.unpack_from(">H", data, basic + 6)[0] // 2
        ends = struct.unpack_from(f">{segments}H", data, basic + 14)
        starts = struct.unpack_from(f">{segments}H", data, basic + 16 + 2 * segments)
        deltas = struct.unpack_from(f">{segments}h", data, basic + 16 + 4 * segments)
        offsets_at = basic + 16 + 6 * segments
        offsets = struct.unpack_from(f">{segments}H", data, offsets_at)
        for index, (start, end) in enumerate(zip(starts, ends)):
            for code in range(start, end + 1):
                if offsets[index] == 0:
                    glyph = (code + deltas[index]) & 0xFFFF
                else:
                    at = offsets_at + 2 * index + offsets[index] + 2 * (code - start)
                    glyph = struct.unpack_from(">H", data, at)[0]
                    glyph = (glyph + deltas[index]) & 0xFFFF if glyph else 0
                if glyph and code != 0xFFFF:
                    ranges.append((code, code))
    ranges.sort()
    return tuple(start for start, _ in ranges), tuple(end for _, end in ranges)


def font_draws(char: str) -> bool:
    """The card font has a glyph for ``char``."""
    starts, ends = _font_ranges(font_path())
    index = bisect.bisect_right(starts, ord(char)) - 1
    return index >= 0 and ord(char) <= ends[index]


def card_text(text: str) -> str:
    """What a card draws of ``text``: composed (NFC), every run of spaces, tabs and line breaks one
    space, without controls and invisible format characters (a bidi override must not reverse a
    card) and without characters the font cannot draw (they would be empty boxes)."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char == "\u3000":  # the ideographic space of "第 N 讲　" is type, not a gap to collapse
            kept.append(char)
        elif category in ("Zs", "Zl", "Zp") or char in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85":
            kept.append(" ")
        elif category not in ("Cc", "Cf", "Cs", "Co", "Cn") and font_draws(char):
            kept.append(char)
    return re.sub(" {2,}", " ", "".join(kept)).strip(" ")


def undrawable_characters(text: str) -> list[str]:
    """The characters of ``text`` (composed) the card leaves out because the font has no glyph for
    them (emoji, CJK Extension B, Hebrew, Arabic...), each once, in order; not the invisible ones."""
    found: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp") or char in found:
            continue
        if not font_draws(char):
            found.append(char)
    return found


# --------------------------------------------------------------------------------------------
# The layout: shrink to fit the safe area, then wrap, then refuse
# --------------------------------------------------------------------------------------------


class CardTextDoesNotFit(ValueError):
    """A card line needs more rows than it may take even at the smallest size (``line``), or the
    lines together are taller than the safe area (``line`` None)."""

    def __init__(self, line: CardLine | None, *, rows: int = 0) -> None:
        self.line = line
        self.rows = rows
        super().__init__(f"card text does not fit: {line.text[:40] if line else 'all lines'!r}")


@dataclass(frozen=True, kw_only=True)
class PlacedRow:
    """One row of text on the card: what, in which pixel size, the box it is drawn in."""

    text: str
    size: int
    box: tuple[int, int, int, int]
    line: int


def safe_area(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the title-safe area: nothing is drawn outside it."""
    width, height = size
    return (round(width * SAFE_MARGIN), round(height * SAFE_MARGIN),
            width - round(width * SAFE_MARGIN), height - round(height * SAFE_MARGIN))


@functools.cache
def _font(path: Path, pixels: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    # The basic layout: the same picture with or without libraqm, and no bidi reordering at all.
    return ImageFont.truetype(str(path), pixels, layout_engine=ImageFont.Layout.BASIC)


def _wrapped(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``text`` cut into rows no wider than ``width``: Chinese breaks between any two characters,
    a Latin word at the space before it when the row has one."""
    rows, current = [], ""
    for char in text:
        if current and font.getlength(current + char) > width:
            cut = current.rfind(" ")
            word = current[cut + 1:] if cut > 0 else ""
            # A short Latin word moves whole to the next row; a long one (or Chinese) is cut.
            if char != " " and word and word.isascii() and word.isalnum() and font.getlength(word) < width / 3:
                rows.append(current[:cut])
                current = current[cut + 1:] + char
            else:
                rows.append(current.rstrip())
                current = char.lstrip()
        else:
            current += char
    return [row for row in [*rows, current.strip()] if row]


def card_layout(lines: list[CardLine], size: tuple[int, int] = (CARD_WIDTH, CARD_HEIGHT)) -> list[PlacedRow]:
    """Where each row of ``lines`` goes: the largest scale (1.0 down to :data:`MIN_CARD_SCALE`) at
    which every line wraps into its rows within the safe area's width and all of them fit its
    height, centred in it. Raises :class:`CardTextDoesNotFit` when none does."""
    left, top, right, bottom = safe_area(size)
    scale = size[1] / CARD_HEIGHT
    path = font_path()
    texts = [card_text(line.text) for line in lines]
    failed: tuple[CardLine | None, int] = (None, 0)
    step = 0
    while (factor := 1.0 - step * 0.05) >= MIN_CARD_SCALE - 1e-9:
        step += 1
        blocks = []
        for line, text in zip(lines, texts):
            font = _font(path, max(8, round(line.points * scale * factor)))
            rows = _wrapped(text, font, right - left)
            if len(rows) > line.rows:
                failed = (line, len(rows))
                break
            blocks.append((font, rows))
        else:
            gap = round(28 * scale * factor)
            height = sum(round(font.size * 1.3) * len(rows) for font, rows in blocks) + gap * (len(blocks) - 1)
            if height > bottom - top:
                failed = (None, 0)
                continue
            placed, y = [], top + (bottom - top - height) // 2
            for number, (font, rows) in enumerate(blocks):
                for row in rows:
                    row_width = math.ceil(font.getlength(row))
                    x = left + (right - left - row_width) // 2
                    placed.append(PlacedRow(text=row, size=font.size, box=(x, y, x + row_width, y + round(font.size * 1.3)),
                                            line=number))
                    y += round(font.size * 1.3)
                y += gap
            return placed
    raise CardTextDoesNotFit(failed[0], rows=failed[1])


# --------------------------------------------------------------------------------------------
# The picture
# --------------------------------------------------------------------------------------------


def _background(cover: Path | None, size: tuple[int, int]) -> Image.Image:
    """The course cover, filling the frame and darkened so that white type stays legible; else the colour."""
    from PIL import Image, ImageOps

    if cover is not None:
        try:
            with open_picture(cover) as picture:
                filled = ImageOps.fit(ImageOps.exif_transpose(picture).convert("RGB"), size, Image.Resampling.LANCZOS)
            return Image.blend(filled, Image.new("RGB", size, (0, 0, 0)), 0.75)
        except (OSError, ValueError):
            pass  # an unreadable cover is the course rules' business; the card still gets made
    return Image.new("RGB", size, THEME_COLOUR)


def render_card(lines: list[CardLine], *, cover: Path | None,
                size: tuple[int, int] = (CARD_WIDTH, CARD_HEIGHT)) -> Image.Image:
    """The card: ``lines`` centred in the safe area in large white type, on the cover or the theme
    colour (raises :class:`CardTextDoesNotFit`, which ``weike check`` reports first as E225)."""
    from PIL import ImageDraw

    image = _background(cover, size)
    draw = ImageDraw.Draw(image)
    path = font_path()
    for row in card_layout(lines, size):
        left, top, right, bottom = row.box
        # Anchored at the row's left and its vertical middle: the glyphs stay inside the row's box.
        draw.text((left, (top + bottom) / 2), row.text, font=_font(path, row.size), fill=(255, 255, 255),
                  anchor="lm")
    return image


def card_png(lines: list[CardLine], *, cover: Path | None, size: tuple[int, int]) -> bytes:
    """The card as PNG bytes (what is hashed into the cache key and encoded)."""
    buffer = io.BytesIO()
    render_card(lines, cover=cover, size=size).save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def mark_offset(height: int) -> int:
    """How far from the frame's right and bottom edges the media stage lays the mark picture."""
    return max(4, height // 24)


def mark_layout(line: CardLine, size: tuple[int, int]) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The mark's font and rows: at most :data:`MARK_MAX_WIDTH` of the safe area wide, two rows,
    shrunk down to :data:`MIN_MARK_SCALE` before it is refused (:class:`CardTextDoesNotFit`)."""
    left, _, right, _ = safe_area(size)
    scale = size[1] / CARD_HEIGHT
    text = card_text(line.text)
    factor, rows = 1.0, []
    while factor >= MIN_MARK_SCALE - 1e-9:
        font = _font(font_path(), max(8, round(line.points * scale * factor)))
        rows = _wrapped(text, font, int((right - left) * MARK_MAX_WIDTH))
        if len(rows) <= line.rows:
            return font, rows
        factor -= 0.05
    raise CardTextDoesNotFit(line, rows=len(rows))


def mark_png(line: CardLine, *, size: tuple[int, int]) -> bytes:
    """The provider's mark for a frame of ``size``: its text in small white type with a soft
    shadow, right-aligned, on a transparent picture whose padding puts the text inside the safe
    area once the media stage lays it in the bottom-right corner (at :func:`mark_offset`)."""
    from PIL import Image, ImageDraw

    font, rows = mark_layout(line, size)
    left, top, right, bottom = safe_area(size)
    offset = mark_offset(size[1])
    pad = max(2, round(6 * size[1] / CARD_HEIGHT))
    pad_right = max(pad, size[0] - right - offset)
    pad_bottom = max(pad, size[1] - bottom - offset)
    row_height = round(font.size * 1.3)
    width = max(math.ceil(font.getlength(row)) for row in rows)
    # One pixel more each way for the shadow, inside the safe area too.
    image = Image.new("RGBA", (pad + width + 1 + pad_right, pad + row_height * len(rows) + 1 + pad_bottom),
                      (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for number, row in enumerate(rows):
        origin = (pad + width, pad + row_height * number + row_height / 2)
        # A shadow first: the mark stays legible on a white wall as on a dark coat.
        draw.text((origin[0] + 1, origin[1] + 1), row, font=font, fill=(0, 0, 0, 150), anchor="rm")
        draw.text(origin, row, font=font, fill=(255, 255, 255, 200), anchor="rm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()
