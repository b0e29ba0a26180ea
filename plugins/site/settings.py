"""The ``weike.yml`` keys the catalogue site reads (declared with ``weike_settings``)."""

from __future__ import annotations

from weike.builder.model import Setting, WeikeConfig
from weike.builder.reading import FieldReader


SETTINGS = (
    Setting(name="site_url", read=FieldReader.text,
            help="the site's public address, for QR codes, the sitemap and the feed (mkdocs.yml's site_url also works)"),
    Setting(name="publish_centres", read=FieldReader.boolean,
            help="whether the brand learning centres appear on the site (each centre.yml may say publish: false)"),
)


def site_url(config: WeikeConfig) -> str | None:
    return config.plugin_settings.get("site_url")


def publish_centres(config: WeikeConfig) -> bool:
    return bool(config.plugin_settings.get("publish_centres", True))
