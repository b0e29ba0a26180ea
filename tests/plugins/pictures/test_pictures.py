"""Authored pictures are opened with a pixel cap checked on the header, before any decoding."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

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
