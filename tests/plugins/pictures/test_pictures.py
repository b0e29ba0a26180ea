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
    """fitted_with_fill as it was: the whole picture resized in one step, the fill cut from the
    source and blurred at the card's full size (the reference for its shortcuts)."""
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


def _detailed(size):
    """A picture with detail for the scaling to work on, blocks of colour for the fill to show,
    and a top unlike its bottom."""
    from PIL import ImageDraw

    image = Image.new("RGB", size, (30, 120, 200))
    draw = ImageDraw.Draw(image)
    for row in range(6):
        for column in range(6):
            box = (column * size[0] // 6, row * size[1] // 6, (column + 1) * size[0] // 6, (row + 1) * size[1] // 6)
            draw.rectangle(box, fill=(row * 45, column * 45, 255 - row * 20 - column * 20))
    for step in range(0, size[0], 37):
        draw.line((step, 0, size[0] - step, size[1]), fill=(step % 256, 40, 255 - step % 256), width=3)
    draw.rectangle((0, 0, size[0], size[1] // 5), fill=(250, 220, 40))
    return image


def mean_difference(a, b, box=None):
    """Mean absolute difference of two pictures' channels (0-255), over ``box`` when given."""
    from PIL import ImageChops, ImageStat

    if box is not None:
        a, b = a.crop(box), b.crop(box)
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


@pytest.mark.parametrize("picture_size", [(1280, 720), (640, 360), (1920, 1080), (1279, 720)])
def test_a_picture_that_covers_the_card_skips_the_fill_with_the_same_pixels(picture_size):
    from weike.plugins.pictures import fitted_with_fill

    image = _detailed(picture_size)
    fitted = fitted_with_fill(image, (640, 360))
    reference = _fitted_the_long_way(image, (640, 360))
    assert (fitted.mode, fitted.size) == (reference.mode, reference.size)
    assert fitted.tobytes() == reference.tobytes()


@pytest.mark.parametrize("picture_size", [(720, 1280), (1000, 750), (2400, 500), (3000, 3000), (30, 20), (40, 600)])
def test_the_fill_made_small_and_a_large_picture_shrunk_in_steps_look_as_the_long_way(picture_size):
    """The fill is blurred at a quarter of the card's size and a picture four times larger than
    shown is first shrunk by a whole factor: the card looks as it did (within a trace), its
    picture in the same place, the fill as dim and as blurred."""
    from weike.plugins.pictures import fitted_with_fill

    image = _detailed(picture_size)
    fitted = fitted_with_fill(image, (640, 360))
    reference = _fitted_the_long_way(image, (640, 360))
    assert (fitted.mode, fitted.size) == (reference.mode, reference.size)
    scale = min(640 / image.width, 360 / image.height)
    shown = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    left, top = (640 - shown[0]) // 2, (360 - shown[1]) // 2
    # (A 16th-size fill differs by up to 1.6; a picture misplaced or turned, by tens.)
    assert mean_difference(fitted, reference) < 0.75
    assert mean_difference(fitted, reference, (left, top, left + shown[0], top + shown[1])) < 0.75  # the picture
    if left >= 8:  # the fill beside it
        assert mean_difference(fitted, reference, (0, 0, left, 360)) < 0.75
    if top >= 8:  # the fill above it
        assert mean_difference(fitted, reference, (0, 0, 640, top)) < 0.75


def _jpeg(path, size, orientation=None):
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    _detailed(size).save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


@pytest.mark.parametrize(("stored", "orientation", "decoded"), [
    ((1080, 1920), None, (270, 480)),  # a portrait photo: shown 203x360, decoded at a quarter
    ((4000, 3000), None, (500, 375)),  # a phone photo: an eighth, still the 480x360 shown
    ((1280, 720), None, (640, 360)),  # exactly twice the card: decoded at half, the card itself
    ((1920, 1080), 6, (480, 270)),  # stored landscape, shown portrait (203x360): counted upright
    ((1920, 1080), 3, (960, 540)),  # turned half round: shown 640x360, a quarter would be too small
    ((200, 100), None, (200, 100)),  # smaller than the card
])
def test_a_jpeg_is_decoded_at_the_smallest_scale_still_the_size_shown(tmp_path, stored, orientation, decoded):
    from weike.plugins.pictures import draft_for_fitting

    with open_picture(_jpeg(tmp_path / "p.jpg", stored, orientation)) as image:
        draft_for_fitting(image, (640, 360))
        image.load()
        assert image.size == decoded


def test_a_picture_not_jpeg_is_decoded_whole(tmp_path):
    from weike.plugins.pictures import draft_for_fitting

    _detailed((1600, 1200)).save(tmp_path / "p.png")
    with open_picture(tmp_path / "p.png") as image:
        draft_for_fitting(image, (640, 360))
        image.load()
        assert image.size == (1600, 1200)
