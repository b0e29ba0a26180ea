"""Opening authored pictures (covers, lecture images) with a pixel cap checked before decoding.

A PNG of 25 KB can declare 10000×10000 pixels: decoding it for a thumbnail or a still frame
costs over 600 MB, and Pillow's own guard only warns (printing a raw ``DecompressionBombWarning``)
up to 179 million pixels. Every picture weike takes from a course is opened here instead: the
header's size is compared with :data:`MAX_PICTURE_PIXELS` before a single pixel is decoded, and
a larger picture raises :class:`PictureTooLarge`, which the rules report at the cover's or the
image's line.
"""

from __future__ import annotations

import colorsys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported when a picture is opened, not by every command registering a plugin
    from PIL import Image

#: 50 Mi pixels: a 50-megapixel phone photo (8160×6144) still opens; covers need 1280×720.
#: Well below Pillow's warning threshold (89 million pixels); decoding the largest picture
#: allowed as RGB takes about 150 MB.
MAX_PICTURE_PIXELS = 50 * 1024 * 1024


class PictureTooLarge(ValueError):
    """The picture declares more pixels than :data:`MAX_PICTURE_PIXELS` (size ``None`` when Pillow
    itself refused it before saying how large it is)."""

    def __init__(self, path: Path, size: tuple[int, int] | None) -> None:
        self.path = path
        self.size = size
        shown = f"{size[0]}x{size[1]}" if size else "too many"
        super().__init__(f"{path.name}: {shown} pixels, limit {MAX_PICTURE_PIXELS:,}")

    @property
    def described(self) -> str:
        """``10000×10000 像素`` (or ``像素过多``) for a Chinese message."""
        return f"{self.size[0]}×{self.size[1]} 像素" if self.size else "像素过多"


@contextmanager
def open_picture(path: Path) -> Iterator[Image.Image]:
    """``Image.open(path)``, refused with :class:`PictureTooLarge` when the header declares more
    than :data:`MAX_PICTURE_PIXELS` pixels; other errors are Pillow's (``UnidentifiedImageError``,
    ``OSError``)."""
    from PIL import Image

    try:
        # Pillow warns above 89 million pixels, before the cap below refuses the picture anyway:
        # its warning would only be printed raw. (Pictures the check stage let through are under
        # the cap, so the threaded later stages never get here with one Pillow warns about.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise PictureTooLarge(path, None) from exc
    with image:
        width, height = image.size
        if width * height > MAX_PICTURE_PIXELS:
            raise PictureTooLarge(path, (width, height))
        yield image


#: EXIF orientations (5-8) that turn the stored picture by 90°: width and height swap on screen.
_QUARTER_TURN_ORIENTATIONS = {5, 6, 7, 8}


def upright_size(image: Image.Image) -> tuple[int, int]:
    """The size as the picture is shown (a phone's portrait photo is often stored landscape with
    an EXIF orientation tag that turns it), without decoding pixels."""
    width, height = image.size
    try:
        orientation = image.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError):  # a damaged EXIF block: show it as stored
        orientation = None
    return (height, width) if orientation in _QUARTER_TURN_ORIENTATIONS else (width, height)


#: The blurred fill is made this many times smaller than the card, then scaled up to it: a blur
#: this wide (a 40th of the card) leaves nothing a quarter-size copy cannot hold (a mean difference
#: of 0.3/255 from blurring at full size), at a fifth of the CPU.
_FILL_REDUCTION = 4


def draft_for_fitting(image: Image.Image, size: tuple[int, int]) -> None:
    """Let a JPEG ``image`` (opened, not decoded yet) decode at 1/2, 1/4 or 1/8 scale, as long as
    it stays at least the size :func:`fitted_with_fill` shows it at inside ``size`` (its EXIF
    orientation counted): shrink-on-load, as libvips and other thumbnailers do. libjpeg scales
    in the DCT domain, which averages each block as an area filter does (no aliasing), and the
    LANCZOS resize after it takes it the rest of the way (less than a factor of two). Other
    formats are decoded whole."""
    if image.format != "JPEG":
        return
    width, height = upright_size(image)
    scale = min(size[0] / width, size[1] / height)
    wanted = (max(1, round(width * scale)), max(1, round(height * scale)))
    if (width, height) != image.size:  # stored turned: draft() counts in stored pixels
        wanted = (wanted[1], wanted[0])
    image.draft("RGB", wanted)


def fitted_with_fill(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` shown whole inside ``size``, the space around it filled with a blurred, dimmed
    copy of itself (as the media stage fits videos): a portrait phone photo on a 16:9 card keeps
    the school's name at its top instead of being cropped to its middle.

    Made for small pictures (the catalogue's cards): a picture far larger than ``size`` is first
    shrunk by whole factors (``reducing_gap``), as :func:`draft_for_fitting` lets a JPEG be decoded.
    """
    from PIL import Image, ImageFilter, ImageOps

    if image.mode != "RGB":  # (an RGB picture is not copied: nothing here changes it)
        image = image.convert("RGB")
    width, height = size
    scale = min(width / image.width, height / image.height)
    shown = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    picture = image.resize(shown, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if shown == size:  # the picture covers it all (a 16:9 cover): no fill to blur
        return picture
    # The fill from the picture as shown: blurred this much, it holds nothing the source had more of.
    small = (max(1, width // _FILL_REDUCTION), max(1, height // _FILL_REDUCTION))
    background = ImageOps.fit(picture, small, Image.Resampling.BILINEAR)
    background = background.filter(ImageFilter.GaussianBlur(max(4, width // 40) * small[0] / width))
    background = Image.eval(background, lambda value: int(value * 0.6))
    background = background.resize(size, Image.Resampling.BILINEAR)
    background.paste(picture, ((width - shown[0]) // 2, (height - shown[1]) // 2))
    return background


def upright_jpeg(path: Path, *, max_width: int, quality: int = 85) -> bytes:
    """``path`` as a JPEG the way it is meant to be seen: EXIF orientation applied, then the tags
    stripped (a phone photo's EXIF also carries where it was taken), at most ``max_width`` wide.
    Raises like :func:`open_picture`."""
    import io

    from PIL import Image, ImageOps

    with open_picture(path) as image:
        image.draft("RGB", (max_width, max_width))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    if upright.width > max_width:
        height = max(1, round(upright.height * max_width / upright.width))
        upright = upright.resize((max_width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    upright.save(buffer, "JPEG", quality=quality, optimize=True)  # no exif= : nothing of it is kept
    return buffer.getvalue()


#: Longest side of a picture published beside the notes. A phone 400 points wide at 3 device
#: pixels per point shows 1200 px; 1600 leaves room to zoom into a screenshot. A 50-megapixel
#: photo drawn at full size made Chromium use about 2.9 GB.
PHONE_PICTURE_SIDE = 1600
#: The format each notes picture is published in, by its name (the notes link it by that name).
PUBLISHED_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}
#: What makes the published copies (a site, a package records it among its inputs).
PHONE_PICTURE_RECIPE = f"side {PHONE_PICTURE_SIDE}, JPEG/WebP quality 85, PNG optimised, no metadata"


def picture_pixels(image: Image.Image) -> int:
    """Pixels decoded to show ``image`` whole: every frame of an animation counts."""
    return getattr(image, "n_frames", 1) * image.width * image.height


def picture_for_phones(path: Path) -> bytes:
    """``path`` as published in lecture notes: at most :data:`PHONE_PICTURE_SIDE` pixels on its
    longest side, turned upright by its EXIF orientation, without metadata (a phone photo's EXIF
    says where it was taken), in the format its name ends in, every frame of an animation kept.

    The same file gives the same bytes every time. Raises like :func:`open_picture`, and
    :class:`PictureTooLarge` when an animation's frames together are over the cap.
    """
    import io

    from PIL import ImageOps, ImageSequence

    kind = PUBLISHED_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path.name}: not a picture name ({', '.join(PUBLISHED_FORMATS)})")
    with open_picture(path) as image:
        if picture_pixels(image) > MAX_PICTURE_PIXELS:
            raise PictureTooLarge(path, image.size)
        frames = getattr(image, "n_frames", 1)
        if frames == 1:
            if image.format == "JPEG":  # decode at a reduced scale when the picture is far larger
                image.draft("RGB", (PHONE_PICTURE_SIDE, PHONE_PICTURE_SIDE))
            shown = [_for_phones(ImageOps.exif_transpose(image), kind)]
            durations = []
        else:
            shown, durations = [], []
            for frame in ImageSequence.Iterator(image):
                shown.append(_for_phones(frame.copy(), kind))
                durations.append(frame.info.get("duration", 100))
        loop = image.info.get("loop", 0)
    options: dict = {"JPEG": {"quality": 85, "optimize": True, "progressive": True},
                     "PNG": {"optimize": True}, "WEBP": {"quality": 85, "method": 4},
                     "GIF": {"optimize": False}}[kind]
    if len(shown) > 1:
        options.update(save_all=True, append_images=shown[1:], duration=durations, loop=loop)
    buffer = io.BytesIO()
    shown[0].save(buffer, kind, **options)
    return buffer.getvalue()


def _for_phones(image: Image.Image, kind: str) -> Image.Image:
    """One frame in a mode ``kind`` can store, scaled to fit :data:`PHONE_PICTURE_SIDE`, metadata dropped."""
    from PIL import Image

    if kind == "JPEG":
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        elif image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info or "A" in image.mode else "RGB")
    longest = max(image.size)
    if longest > PHONE_PICTURE_SIDE:
        scale = PHONE_PICTURE_SIDE / longest
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    else:
        image = image.copy()
    image.info = {}  # no EXIF, XMP, comments or text chunks travel with the copy
    return image


def write_placeholder_cover(path: Path, seed: str) -> None:
    """A plain 1280×720 gradient JPEG so a new course is complete until the real cover arrives."""
    from PIL import Image, ImageDraw

    hue = sum(seed.encode()) % 360
    image = Image.new("RGB", (1280, 720))
    draw = ImageDraw.Draw(image)
    for y in range(720):
        shade = int(60 + 120 * y / 720)
        draw.line([(0, y), (1280, y)], fill=_hsv(hue, 0.45, shade / 255))
    draw.rectangle([80, 260, 1200, 460], outline=(255, 255, 255), width=6)
    # The comment marks the picture as the placeholder: `weike check` warns (W116) until replaced.
    image.save(path, "JPEG", quality=85, comment=PLACEHOLDER_COVER_COMMENT)


#: JPEG comment of :func:`write_placeholder_cover`'s picture; a real photo never carries it.
PLACEHOLDER_COVER_COMMENT = b"weike placeholder cover"


def is_placeholder_cover(image) -> bool:
    """True for a picture (opened with Pillow) written by :func:`write_placeholder_cover`."""
    return image.info.get("comment") == PLACEHOLDER_COVER_COMMENT


def _hsv(hue: int, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue / 360, saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)
