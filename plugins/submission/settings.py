"""The ``weike.yml`` keys the province's submission reads (declared with ``weike_settings``)."""

from __future__ import annotations

from weike.builder.model import Setting, WeikeConfig
from weike.builder.reading import FieldReader


def _read_text(reader: FieldReader, node, path: str) -> str | None:
    return reader.text(node, path)


def _read_text_list(reader: FieldReader, node, path: str) -> tuple[str, ...]:
    return reader.text_list(node, path)


SETTINGS = (
    Setting(name="province", read=_read_text,
            help="the province (or organisation) named on the reports when weike.yml has no department name"),
    Setting(name="recommendation_order", read=_read_text_list,
            help="course and centre folders in the province's recommendation order (附件3); others follow by title"),
)


def province(config: WeikeConfig) -> str | None:
    return config.plugin_settings.get("province")


def recommendation_order(config: WeikeConfig) -> tuple[str, ...]:
    return tuple(config.plugin_settings.get("recommendation_order") or ())
