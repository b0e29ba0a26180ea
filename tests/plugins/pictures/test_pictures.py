"""Authored pictures are opened with a pixel cap checked on the header, before any decoding."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from PIL import Image

from weike.plugins.pictures import MAX_PICTURE_PIXELS, PictureTooLarge, open_picture
from tests.conftest import bomb_png


def test_a_picture_over_the_cap_is_refused_with_its_size(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(10_000, 10_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would fail here
        with pytest.raises(PictureTooLarge) as refused, open_picture(path):
            pass
    assert refused.value.size == (10_000, 10_000) and refused.value.described == "10000×10000 像素"


def test_far_over_pillows_own_limit_is_refused_the_same_way(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(20_000, 20_000))  # 400 million pixels: Pillow raises by itself
    with pytest.raises(PictureTooLarge):
        with open_picture(path):
            pass


def test_pictures_up_to_the_cap_open(tmp_path):
    path = tmp_path / "fine.png"
    path.write_bytes(bomb_png(8160, 6144))  # a 50-megapixel phone photo
    assert 8160 * 6144 <= MAX_PICTURE_PIXELS
    with open_picture(path) as image:
        assert image.size == (8160, 6144)


def test_site_thumbnail_of_a_bomb_fails_cleanly_in_little_memory(tmp_path):
    """The site's cover thumbnail (which decodes) refuses the bomb instead of spending ~640 MB."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png())
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from weike.plugins.site.covers import CoverError, make_thumbnail\n"
            f"try:\n    make_thumbnail(Path({str(bomb)!r}), Path({str(tmp_path / 'cache')!r}), digest='ab' * 32)\n"
            "except CoverError as exc:\n    print('refused', exc)\n"
            # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent through
            # fork and exec, so in a long pytest run it reports pytest's own peak.
            "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refused") and "DecompressionBomb" not in done.stderr
    assert int(lines[-1]) < 300 * 1024  # KiB: far below the 640 MB a full decode takes


def _fitted_the_long_way(image, size):
    """fitted_with_fill as it always computes the blurred fill (the reference for its shortcut)."""
    from PIL import ImageFilter, ImageOps

    image = image.convert("RGB")
    width, height = size
    background = ImageOps.fit(image, size, Image.Resampling.BILINEAR)
    background = background.filter(ImageFilter.GaussianBlur(max(4, width // 40)))
    background = Image.eval(background, lambda value: int(value * 0.6))
    scale = min(width / image.width, height / image.height)
    shown = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    background.paste(image.resize(shown, Image.Resampling.LANCZOS), ((width - shown[0]) // 2, (height - shown[1]) // 2))
    return background


@pytest.mark.parametrize("picture_size", [(1280, 720), (640, 360), (1920, 1080), (1279, 720), (720, 1280), (1000, 750)])
def test_a_picture_that_covers_the_card_skips_the_fill_with_the_same_pixels(picture_size):
    from PIL import ImageDraw

    from weike.plugins.pictures import fitted_with_fill

    image = Image.new("RGB", picture_size, (30, 120, 200))
    draw = ImageDraw.Draw(image)
    for step in range(0, picture_size[0], 37):  # detail for the scaling to work on
        draw.line((step, 0, picture_size[0] - step, picture_size[1]), fill=(step % 256, 40, 255 - step % 256), width=3)
    fitted = fitted_with_fill(image, (640, 360))
    reference = _fitted_the_long_way(image, (640, 360))
    assert (fitted.mode, fitted.size) == (reference.mode, reference.size)
    assert fitted.tobytes() == reference.tobytes()
