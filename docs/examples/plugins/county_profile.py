"""示范县终身学习网的交付规格 (the county portal's delivery profile): weike's default, stricter.

The portal streams to village screens over slow links and plays at broadcast loudness, so it
asks for at most 1.2 Mbit/s of video and -23 LUFS. Everything else (MP4, H.264 1280x720 25 fps,
AAC 48 kHz) is the default's, which the media stage knows how to make. Chosen in ``weike.yml``::

    profile: county-portal
"""

import dataclasses

from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.media import DEFAULT_PROFILE

COUNTY_PROFILE = dataclasses.replace(
    DEFAULT_PROFILE,
    name="county-portal",
    description="示范县终身学习网: the default with <= 1.2 Mbit/s video and -23 LUFS",
    max_video_bitrate=1_200_000,
    # The default's ~2 s of slack around the cap: peaks stay near what a village link carries.
    encoder_buffer=2_400_000,
    loudness=-23.0,
)


@hookimpl
def weike_media_profiles():
    return [COUNTY_PROFILE]
