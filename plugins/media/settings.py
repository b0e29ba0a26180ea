"""The ``weike.yml`` / ``course.yml`` keys the media plugin reads (declared with ``weike_settings``)."""

from __future__ import annotations

from weike.builder.contracts.model import WeikeConfig
from weike.builder.contracts.settings import Setting, Text
from weike.plugins.media.titlecards import TITLE_CARDS

#: The delivery profile weike.yml does not name: the call's delivery spec (SPEC.md).
DEFAULT_PROFILE_NAME = "default"


PROFILE = Setting(
    name="profile", type=Text(), default=DEFAULT_PROFILE_NAME,
    description="每个微课交付时用的视频规格（插件可以提供别的规格）",
    description_en="the delivery profile every lecture is delivered to (a plugin may offer others)")

SETTINGS = (PROFILE, TITLE_CARDS)


def profile_name(config: WeikeConfig) -> str:
    """The delivery profile ``weike.yml`` picks, else the call's."""
    return str(PROFILE.value_in(config.plugin_settings))
