"""The ``weike.yml`` keys the catalogue site reads (declared with ``weike_settings``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from weike.builder.model import Setting, WeikeConfig
from weike.builder.reading import FieldReader


def read_site_url(reader: FieldReader, node, path: str = "site_url") -> str | None:
    """``site_url`` as written when it is an http(s) address with a host; anything else is E413 at
    its line and not used (MkDocs would refuse it when the site is built: E401, no site at all)."""
    value = reader.text(node, path)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:  # an unclosed "[" of an IPv6 address, a port that is no number
        usable = False
    if usable:
        return value
    shown = value if len(value) <= 60 else value[:57] + "…"
    reader.report("E413", node, f"网站地址 site_url“{shown}”不是以 http:// 或 https:// 开头的完整网址",
                  f"site_url '{shown}' is not a web address starting with http:// or https://",
                  hint="写成网站对外的完整地址，例如 https://weike.example.gov.cn/county/；还没有就删掉这一行。")
    return None


SETTINGS = (
    Setting(name="site_url", read=read_site_url,
            help="the site's public address, for QR codes, the sitemap and the feed (mkdocs.yml's site_url also works)"),
    Setting(name="publish_centres", read=FieldReader.boolean,
            help="whether the brand learning centres appear on the site (each centre.yml may say publish: false)"),
)


def site_url(config: WeikeConfig) -> str | None:
    return config.plugin_settings.get("site_url")


def publish_centres(config: WeikeConfig) -> bool:
    return bool(config.plugin_settings.get("publish_centres", True))
