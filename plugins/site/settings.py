"""The keys the catalogue site reads (declared with ``weike_settings``): two in ``weike.yml``, and
the ones under ``extra: weike:`` in the site's ``mkdocs.yml``, read here with their lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from weike.builder.contracts.model import Diagnostic, SourceLocation, WeikeConfig
from weike.builder.contracts.settings import MKDOCS_YML, Boolean, Fields, ListOf, Setting, Text, read_settings
from weike.builder.repository.reading import FieldReader

def _web_address(reader: FieldReader, node, path: str, value: str) -> str | None:
    """``site_url`` as written when it is an http(s) address with a host; anything else is E413 at
    its line and not used (MkDocs would refuse it when the site is built: E401, no site at all)."""
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


SITE_URL = Setting(
    name="site_url", type=Text(), check=_web_address,
    description="网站的公开地址，用于二维码、站点地图和订阅（也可以写在 mkdocs.yml 的 site_url）",
    description_en="the site's public address, for QR codes, the sitemap and the feed (mkdocs.yml's site_url also works)")
PUBLISH_CENTRES = Setting(
    name="publish_centres", type=Boolean(), default=True,
    description="品牌社区学习中心是否上网站（每个 centre.yml 也可以写 publish: false）",
    description_en="whether the brand learning centres appear on the site (each centre.yml may say publish: false)")

SETTINGS = (SITE_URL, PUBLISH_CENTRES)


def mkdocs_setting_warning(message: str, message_en: str, hint: str = "") -> Diagnostic:
    """W408: a value under ``extra.weike`` in ``mkdocs.yml`` is not what it should be; its default is used."""
    return Diagnostic.warning("W408", SourceLocation(file="mkdocs.yml"), message, message_en, hint=hint)


def site_url(config: WeikeConfig) -> str | None:
    return SITE_URL.value_in(config.plugin_settings)


def publish_centres(config: WeikeConfig) -> bool:
    return bool(PUBLISH_CENTRES.value_in(config.plugin_settings))


# --------------------------------------------------------------------------------------------
# extra.weike in mkdocs.yml: never blocks the site, a wrong value warns (W408) and the default holds
# --------------------------------------------------------------------------------------------

SEARCH_NOTES = Setting(
    name="search_notes", file=MKDOCS_YML, type=Boolean(), default=False,
    description="讲义也放进站内搜索（课程多时搜索索引会大很多）",
    description_en="put lecture notes into the search index too (a much larger download at scale)")
DATA_SAVER = Setting(
    name="data_saver", file=MKDOCS_YML, type=Boolean(), default=False,
    description="微课网页上同时提供省流量视频", description_en="offer the data-saver rendition on lecture pages")
OFFLINE = Setting(
    name="offline", file=MKDOCS_YML,
    description="离线版（dist/offline，拷到U盘用）", description_en="the offline edition (dist/offline, for a USB stick)",
    type=Fields(fields=(
        Setting(name="enabled", type=Boolean(), default=True,
                description="生成离线版", description_en="make the offline edition"),
        Setting(name="courses", type=ListOf(item=Text()),
                description="放进离线版的课程文件夹名（不写就是网站上的全部课程）",
                description_en="the course folders it carries (default: every course on the site)"),
        Setting(name="name", type=Text(),
                description="压缩包的文件名（不写就是“网站名称-离线版”）",
                description_en="the zip's file name (default: the site's name and 离线版)"),
        Setting(name="data_saver", type=Boolean(), default=False,
                description="离线版带省流量视频而不是原视频", description_en="carry the data-saver videos instead"),
    )))
SITE_EXTRA = (SEARCH_NOTES, DATA_SAVER, OFFLINE)
#: Where they are written in mkdocs.yml.
EXTRA_PATH = "extra.weike"

SETTINGS = (*SETTINGS, *SITE_EXTRA)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if isinstance(name, yaml.ScalarNode) and name.value == key),
                None)


def read_weike_extra(text: str, *, file: str = "mkdocs.yml") -> tuple[Mapping[str, object], tuple[Diagnostic, ...]]:
    """The ``extra.weike`` values of a ``mkdocs.yml`` (``text``), read by :data:`SITE_EXTRA`: each
    problem is a W408 warning at its line, and the key keeps its default."""
    try:
        # Composed, not constructed: mkdocs' own tags (!ENV, !relative, !!python/name) stay unrun.
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}, ()  # loading the site's settings reports the file itself (E401)
    weike = _child(_child(root, "extra"), "weike")
    reader = FieldReader(file=file, warn_as="W408")
    fields = reader.mapping(weike, EXTRA_PATH, tuple(setting.name for setting in SITE_EXTRA))
    return read_settings(reader, fields, SITE_EXTRA, prefix=EXTRA_PATH), tuple(reader.diagnostics)


def data_saver_setting(settings) -> bool:
    """``extra.weike.data_saver`` in ``mkdocs.yml``: offer the 省流量 rendition on lecture pages."""
    return bool(DATA_SAVER.value_in(settings.weike))


def wants_data_saver(root: Path) -> bool:
    """Whether the repository's ``mkdocs.yml`` offers the 省流量 rendition on lecture pages
    (``extra.weike.data_saver``) or has the offline edition carry it (``offline.data_saver``).

    Asked before the media stage (``weike_media_renditions``), which makes it; a file that cannot be
    read asks for nothing (the site stage reports it, E401; its wrong values, W408)."""
    try:
        text = (root / MKDOCS_YML).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    weike, _ = read_weike_extra(text)
    offline = {**OFFLINE.type.defaults(), **(weike.get(OFFLINE.name) or {})}
    return bool(DATA_SAVER.value_in(weike)) or bool(offline["enabled"] and offline["data_saver"])
