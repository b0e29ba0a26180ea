"""The header probe asks ffprobe for only the fields the rules read, and reads the same facts."""

from __future__ import annotations

import pytest

from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.probe import HEADER_ENTRIES, media_info, probe_media
from tests.plugins.media_sources import RECIPES, make_source

pytestmark = pytest.mark.slow

#: Every source the media tests make, less the two long ones (the same headers as the short mp3s).
SOURCES = sorted({*RECIPES, "rotated.mp4", "cover-art.mp3"} - {"too-long.mp3", "long.mp3"})


@pytest.mark.parametrize("name", SOURCES)
def test_the_few_fields_asked_for_make_the_same_facts_as_the_full_description(media, name):
    source = make_source(media, name)
    everything = ffmpeg.probe_json(source)  # -show_format -show_streams: every field ffprobe has
    asked = ffmpeg.probe_headers(source, entries=HEADER_ENTRIES)
    size = source.stat().st_size
    assert media_info(source, asked, size=size) == media_info(source, everything, size=size)
    assert probe_media(source) == media_info(source, everything, size=size)
    # Fewer fields really are asked for (the point of asking): the answer is a fraction of the whole.
    assert len(str(asked)) < len(str(everything)) / 2


def test_the_facts_that_need_a_named_field_are_read(media):
    """Rotation (side data), cover art (disposition) and the QuickTime brand come through the short query."""
    rotated = probe_media(make_source(media, "rotated.mp4"))
    assert (rotated.rotation, rotated.display_width, rotated.display_height) == (90, 90, 160)
    assert probe_media(make_source(media, "cover-art.mp3")).attached_pictures == 1
    assert probe_media(make_source(media, "prores.mov")).container == "mov"
    interlaced = probe_media(make_source(media, "interlaced.mp4"))
    assert interlaced.interlaced and interlaced.sample_aspect_ratio == "12:11"
