"""The ``weike.yml`` / ``course.yml`` keys the media plugin reads (declared with ``weike_settings``)."""

from __future__ import annotations

from weike.builder.model import Setting, WeikeConfig
from weike.builder.reading import FieldReader
from weike.plugins.media.titlecards import read_title_cards

#: The delivery profile weike.yml does not name: the call's delivery spec (SPEC.md).
DEFAULT_PROFILE_NAME = "default"


SETTINGS = (
    Setting(name="profile", read=FieldReader.text,
            help="the delivery profile every lecture is delivered to (a plugin may offer others); default 'default'"),
    Setting(name="title_cards", course=True, read=read_title_cards,
            help="opening and closing title cards (片头/片尾) added to every delivered lecture"),
)


def profile_name(config: WeikeConfig) -> str:
    """The delivery profile ``weike.yml`` picks, else the call's."""
    return str(config.plugin_settings.get("profile") or DEFAULT_PROFILE_NAME)
