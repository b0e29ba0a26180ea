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

import hashlib
import io
import math
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml
from PIL import Image, ImageDraw, ImageFont, ImageOps

from weike.builder.model import Course, Lecture
from weike.plugins.pictures import open_picture

#: The keys of a ``title_cards:`` block.
TITLE_CARD_KEYS = ("opening", "closing", "opening_seconds", "closing_seconds", "mark")
#: Microlecture specs: an opening card of at most 5 s (basic education) or 10 s (精品课).
MAX_OPENING_SECONDS = 10.0
MAX_CLOSING_SECONDS = 10.0
#: Cards are whole frames of the 25 fps delivery.
CARD_FRAME_RATE = 25
#: The fade in and out of each card.
FADE_SECONDS = 0.3
#: Bumped whenever the picture's design (layout, sizes, colours, statement) changes: part of
#: every card cache key.
CARD_DESIGN_VERSION = 1
CARD_WIDTH, CARD_HEIGHT = 1280, 720
#: The closing card's statement: these are public-good (公益) resources.
PUBLIC_GOOD_STATEMENT = "本课程为公益性社区教育资源，欢迎免费学习与分享"
#: Background when the course has no usable cover: a calm dark blue with white type reads
#: well on phones and old televisions alike.
THEME_COLOUR = (22, 58, 104)
FONT_PACKAGE = "pylopdf-fonts-zh-cn"
#: SHA-256 of NotoSansSC-Regular.otf as the Noto project publishes it (the package's README).
FONT_SHA256 = "faa6c9df652116dde789d351359f3d7e5d2285a2b2a1f04a2d7244df706d5ea9"


@dataclass(frozen=True, kw_only=True)
class TitleCardSettings:
    """The effective settings for one course (weike.yml, then the course's own block)."""

    opening: bool = False
    closing: bool = False
    opening_seconds: float = 4.0
    closing_seconds: float = 3.0
    #: The provider's mark (institution name) in a corner during the lecture.
    mark: bool = False

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


def read_title_cards(reader, node: yaml.Node | None, path: str = "title_cards") -> dict:
    """The keys written in a ``title_cards:`` block (a ``weike.builder.loading.FieldReader`` reports bad values).

    Lengths are seconds, rounded to whole 25 fps frames; more than 10 s, zero or less is E222.
    """
    fields = reader.mapping(node, path, TITLE_CARD_KEYS)
    values: dict = {}
    for key in ("opening", "closing", "mark"):
        flag = reader.boolean(fields.get(key), f"{path}.{key}")
        if flag is not None:
            values[key] = flag
    for key, limit in (("opening_seconds", MAX_OPENING_SECONDS), ("closing_seconds", MAX_CLOSING_SECONDS)):
        value_node = fields.get(key)
        if value_node is None:
            continue
        value = reader.scalar(value_node) if isinstance(value_node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            reader.wrong_type(value_node, f"{path}.{key}", f"“{path}.{key}”应为秒数，例如 4",
                              f"'{path}.{key}' must be a number of seconds such as 4")
            continue
        try:
            # Half a frame rounds up (round() would take 2.5 s to 2.48 s: half to even).
            seconds = math.floor(float(value) * CARD_FRAME_RATE + 0.5) / CARD_FRAME_RATE
        except (OverflowError, ValueError):  # beyond any float, infinite or not a number (.nan)
            seconds = math.nan
        if not 0 < seconds <= limit:
            which = "片头" if key == "opening_seconds" else "片尾"
            # A number of 400 digits is named by its size, not printed whole.
            shown = value if len(str(value)) <= 12 else f"{str(value)[:8]}…（{len(str(value))} 位）"
            reader.report("E222", value_node, f"{which}时长 {shown} 秒不可用：应大于 0、不超过 {limit:g} 秒",
                          f"'{path}.{key}' {shown} s is refused: it must be above 0 and at most {limit:g} s",
                          hint="微课规范要求片头不超过 5 秒（基础教育）或 10 秒（精品课），片头片尾不能占用学习时间。")
            continue
        values[key] = seconds
    return values


# --------------------------------------------------------------------------------------------
# What the cards say
# --------------------------------------------------------------------------------------------


def opening_lines(course: Course, lecture: Lecture) -> list[tuple[str, int]]:
    """``(text, pixel size)`` of the opening card, top to bottom (empty facts are left out)."""
    number = f"第 {lecture.number} 讲　" if lecture.number is not None else ""
    teachers = "、".join(person.name for person in course.instructors if person.name)
    lines = [(course.title or "", 60), (f"{number}{lecture.title or ''}".strip(), 72),
             (f"主讲：{teachers}" if teachers else "", 44), (course.provider.name or "", 44)]
    return [line for line in lines if line[0]]


def closing_lines(course: Course) -> list[tuple[str, int]]:
    """The closing card: institution, the public-good statement, the year the course was made."""
    year = f"{course.created.year} 年" if course.created is not None else ""
    lines = [(course.provider.name or "", 60), (PUBLIC_GOOD_STATEMENT, 44), (year, 44)]
    return [line for line in lines if line[0]]


# --------------------------------------------------------------------------------------------
# The picture
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


def _background(cover: Path | None, size: tuple[int, int]) -> Image.Image:
    """The course cover, filling the frame and darkened so that white type stays legible; else the colour."""
    if cover is not None:
        try:
            with open_picture(cover) as picture:
                filled = ImageOps.fit(ImageOps.exif_transpose(picture).convert("RGB"), size, Image.Resampling.LANCZOS)
            return Image.blend(filled, Image.new("RGB", size, (0, 0, 0)), 0.75)
        except (OSError, ValueError):
            pass  # an unreadable cover is the course rules' business; the card still gets made
    return Image.new("RGB", size, THEME_COLOUR)


def _wrapped(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``text`` cut into lines no wider than ``width`` (Chinese breaks between any two characters)."""
    lines, current = [], ""
    for char in text:
        if current and draw.textlength(current + char, font=font) > width:
            lines.append(current)
            current = char
        else:
            current += char
    return [*lines, current] if current else lines


def render_card(lines: list[tuple[str, int]], *, cover: Path | None,
                size: tuple[int, int] = (CARD_WIDTH, CARD_HEIGHT)) -> Image.Image:
    """The card: ``lines`` centred, large white type, on the cover or the theme colour."""
    width, height = size
    scale = height / CARD_HEIGHT  # a smaller test profile gets the same design, smaller
    image = _background(cover, size)
    draw = ImageDraw.Draw(image)
    path = str(font_path())
    blocks = []
    for text, points in lines:
        font = ImageFont.truetype(path, max(8, int(points * scale)))
        blocks.append((font, _wrapped(draw, text, font, int(width * 0.86))))
    gap = int(28 * scale)
    heights = [sum(int(font.size * 1.3) for _ in rows) for font, rows in blocks]
    top = (height - sum(heights) - gap * (len(blocks) - 1)) / 2
    for (font, rows), block_height in zip(blocks, heights):
        for row in rows:
            draw.text((width / 2, top + font.size * 0.65), row, font=font, fill=(255, 255, 255), anchor="mm")
            top += int(font.size * 1.3)
        top += gap
    return image


def card_png(lines: list[tuple[str, int]], *, cover: Path | None, size: tuple[int, int]) -> bytes:
    """The card as PNG bytes (what is hashed into the cache key and encoded)."""
    buffer = io.BytesIO()
    render_card(lines, cover=cover, size=size).save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def mark_png(text: str, *, size: tuple[int, int]) -> bytes:
    """The provider's mark for a frame of ``size``: ``text`` in small white type with a soft shadow,
    on a transparent picture just big enough for it (overlaid in the bottom-right corner)."""
    scale = size[1] / CARD_HEIGHT
    font = ImageFont.truetype(str(font_path()), max(8, int(26 * scale)))
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, int(6 * scale))
    image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    origin = (pad - left, pad - top)
    # A shadow first: the mark stays legible on a white wall as on a dark coat.
    draw.text((origin[0] + 1, origin[1] + 1), text, font=font, fill=(0, 0, 0, 150))
    draw.text(origin, text, font=font, fill=(255, 255, 255, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()
