"""The ``weike.yml`` keys the catalogue site reads (declared with ``weike_settings``), and the one
warning for a bad value under ``extra.weike`` in ``mkdocs.yml`` (W408)."""

from __future__ import annotations

from weike.builder.model import Diagnostic, Setting, SourceLocation, WeikeConfig
from weike.builder.reading import FieldReader


SETTINGS = (
    Setting(name="site_url", read=FieldReader.text,
            help="the site's public address, for QR codes, the sitemap and the feed (mkdocs.yml's site_url also works)"),
    Setting(name="publish_centres", read=FieldReader.boolean,
            help="whether the brand learning centres appear on the site (each centre.yml may say publish: false)"),
)


def mkdocs_setting_warning(message: str, message_en: str, hint: str = "") -> Diagnostic:
    """W408: a value under ``extra.weike`` in ``mkdocs.yml`` is not what it should be; its default is used."""
    return Diagnostic.warning("W408", SourceLocation(file="mkdocs.yml"), message, message_en, hint=hint)


def site_url(config: WeikeConfig) -> str | None:
    return config.plugin_settings.get("site_url")


def publish_centres(config: WeikeConfig) -> bool:
    return bool(config.plugin_settings.get("publish_centres", True))
