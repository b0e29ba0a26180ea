"""The ``weike.yml`` keys the province's submission reads (declared with ``weike_settings``)."""

from __future__ import annotations

from weike.builder.model import Setting, WeikeConfig
from weike.builder.reading import FieldReader


SETTINGS = (
    Setting(name="province", read=FieldReader.text,
            help="the province (or organisation) named on the reports when weike.yml has no department name"),
    Setting(name="recommendation_order", read=FieldReader.text_list,
            help="course and centre folders in the province's recommendation order (附件3); others follow by title"),
)


def province(config: WeikeConfig) -> str | None:
    return config.plugin_settings.get("province")


def recommendation_order(config: WeikeConfig) -> tuple[str, ...]:
    return tuple(config.plugin_settings.get("recommendation_order") or ())
