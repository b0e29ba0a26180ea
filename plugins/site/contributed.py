"""Pages that plugins add to the catalogue (``weike_site_pages``): asked for, checked, made safe.

A plugin offers :class:`SitePage` values: a path, a title and a Markdown body. The site gives each
the treatment lecture notes get, since a plugin's page may quote what anyone typed into a course:
the body goes through the notes' allow-list (:func:`weike.plugins.notes.render_notes`), so no
script, event attribute, ``javascript:`` link, style or picture reaches a reader (W412 names
what was removed), and the title is escaped wherever Material prints it.

A page never displaces what weike generates or what the repository wrote: a path outside the
site, or one already taken (a generated section, a hand-written page in ``site/``, another
plugin's page) is E410 and only that page is left out. A plugin that raises, or returns anything
but pages, is E411: its pages are left out, the rest of the site is built. Both name the plugin
and point at its hook implementation.
"""

from __future__ import annotations

import inspect
import logging
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from weike.builder.contracts.errors import MissingTool
from weike.builder.contracts.model import Diagnostic, SourceLocation, repository_path
from weike.builder.running.isolation import exception_summary

if TYPE_CHECKING:
    from collections.abc import Callable

    from weike.plugins.site.pages import GeneratedPage

#: A page path that leaves the site or is taken by another page (docs/rules.md).
PAGE_PATH_CODE = "E410"
#: A plugin's ``weike_site_pages`` raised, or offered something that cannot be a page.
PAGE_PLUGIN_CODE = "E411"
#: Unsafe markup removed from a plugin's page.
PAGE_MARKUP_CODE = "W412"
#: One path segment: what a URL, a zip and a USB stick's file system all keep as written
#: (lower case, so ``County`` and ``county`` never become one folder on a FAT stick).
_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*")

#: The repository's folder of hand-written pages (``weike.plugins.site.engine.SITE_SOURCES_DIR``).
SITE_SOURCES = "site"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SitePage:
    """A page a plugin adds to the catalogue website (``weike_site_pages``).

    ``path`` is relative to the site: ``"county/portal"`` is published at ``county/portal/``.
    ``title`` is the page's heading, browser title and navigation label (plain text: it is
    escaped). ``markdown`` is the body under the heading; it is sanitised like lecture notes.
    ``in_nav`` lists the page in the site's navigation (after the generated sections, before the
    repository's hand-written pages); without it the page is reached by links only.
    """

    path: str
    title: str
    markdown: str
    in_nav: bool = True

    def __post_init__(self) -> None:
        # Wrong types fail where the plugin builds the page, so the plugin's own line is blamed.
        for name in ("path", "title", "markdown"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"SitePage.{name} must be a str, not {type(getattr(self, name)).__name__}")
        if not self.title.strip():
            raise ValueError(f"SitePage {self.path!r} has an empty title")
        if not isinstance(self.in_nav, bool):
            raise TypeError(f"SitePage.in_nav must be a bool, not {type(self.in_nav).__name__}")


#: What an asset's path may be, below ``assets/`` (or its folder): lower-case words with ``-``, ``_`` and ``.``.
_ASSET_PATH = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*\.[a-z0-9]+")
ASSET_LOADS = ("script", "style", None)
#: Top-level names of the site a plugin's folder can never be: weike's generated sections and
#: files, MkDocs' and Material's own folders, and ``site`` (the repository's hand-written pages).
GENERATED_FOLDERS = frozenset({"assets", "courses", "centres", "themes", "levels", "media", "search", "site",
                               "stylesheets", "javascripts", "index", "catalogue", "sitemap", "feed", "404"})


def script_text(json_text: str) -> str:
    r"""JSON text made safe to publish inside a script (a ``SiteAsset`` script, the search files).

    JSON allows U+2028 and U+2029 raw in strings; the JavaScript of older phone browsers reads them
    as line ends (a syntax error: the whole script lost). ``</`` is escaped so that no value (a
    course title) can close a ``<script>`` element. Both occur only inside strings, where
    ``\u2028`` and ``<\/`` mean the same characters.
    """
    return json_text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("</", "<\\/")


@dataclass(frozen=True, kw_only=True)
class SiteAsset:
    """A file a plugin adds to the catalogue website (``weike_site_assets``).

    ``path`` is relative to ``assets/`` (``"records/records.js"``); ``data`` the file's bytes;
    ``load`` is ``"script"`` (every page loads it, after weike's own script), ``"style"`` (every
    page links it) or ``None`` (published only).

    ``folder`` instead publishes the file in a top-level folder of the site that the plugin owns
    (``folder="admin", path="index.html"`` is ``admin/index.html``): a tool of its own served
    beside the catalogue, which no page loads (``load`` must be ``None``). Such a folder is for a
    web server: the offline edition (``dist/offline``) leaves it out. One plugin owns a folder; it
    can never be a generated section (:data:`GENERATED_FOLDERS`), a folder or page of ``site/``
    nor a plugin page's folder.
    """

    path: str
    data: bytes
    load: str | None = None
    folder: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not _ASSET_PATH.fullmatch(self.path) or (
                self.folder is None and self.path.startswith("weike/")):
            raise ValueError(f"SiteAsset path {self.path!r} must be like 'name/file.js' below assets/ "
                             "(lower-case letters, digits, '-', '_'; not weike/)")
        if not isinstance(self.data, bytes):
            raise TypeError(f"SiteAsset.data must be bytes, not {type(self.data).__name__}")
        if self.load not in ASSET_LOADS:
            raise ValueError(f"SiteAsset.load must be 'script', 'style' or None, not {self.load!r}")
        if self.folder is not None:
            if not isinstance(self.folder, str) or not _SEGMENT.fullmatch(self.folder):
                raise ValueError(f"SiteAsset.folder {self.folder!r} must be one lower-case name "
                                 "(letters, digits, '-', '_'), like 'admin'")
            if self.folder in GENERATED_FOLDERS:
                raise ValueError(f"SiteAsset.folder {self.folder!r} is weike's own (one of "
                                 f"{', '.join(sorted(GENERATED_FOLDERS))})")
            if self.load is not None:
                raise ValueError("a SiteAsset in a folder of its own is never loaded by the pages: load must be None")

    @property
    def site_path(self) -> str:
        """Where the file is published, relative to the site."""
        return f"{self.folder or 'assets'}/{self.path}"


def collect_site_assets(plugin_manager, *, root: Path, page_paths: Sequence[str] = (),
                        **arguments) -> tuple[tuple[SiteAsset, ...], list[Diagnostic]]:
    """Every plugin's assets (``weike_site_assets``), in registration order; E411 for a plugin that
    raised, returned something else, took a path another plugin has, or a folder that is not its
    own to take (another plugin's, a hand-written one in ``site/``, or a folder of ``page_paths``,
    the plugins' pages)."""
    hook = getattr(plugin_manager.hook, "weike_site_assets", None)
    if hook is None:
        return (), []
    assets: dict[str, SiteAsset] = {}
    owners: dict[str, str] = {}  # a plugin's own folder -> that plugin
    page_folders = {path.strip("/").split("/")[0] for path in page_paths}
    diagnostics: list[Diagnostic] = []
    for impl in hook.get_hookimpls():
        location = _hook_location(impl.function, root)
        try:
            offered = list(impl.function(**{name: arguments[name] for name in impl.argnames}) or ())
        except MissingTool:
            raise
        except Exception as exc:  # noqa: BLE001 - one plugin's assets never stop the site
            summary = exception_summary(exc)
            diagnostics.append(_plugin_failed(impl.plugin_name, location, summary, summary))
            continue
        wrong = next((asset for asset in offered if not isinstance(asset, SiteAsset) or asset.site_path in assets), None)
        if wrong is not None:
            what = f"{type(wrong).__name__} {getattr(wrong, 'path', wrong)!r}"[:200]
            diagnostics.append(_plugin_failed(impl.plugin_name, location, f"提供了无效或重名的网站文件：{what}",
                                              f"it offered an invalid or taken asset: {what}"))
            continue
        folders = sorted({asset.folder for asset in offered if asset.folder is not None})
        taken = next((folder for folder in folders if owners.get(folder, impl.plugin_name) != impl.plugin_name
                      or folder in page_folders or (root / SITE_SOURCES / folder).exists()
                      or (root / SITE_SOURCES / f"{folder}.md").exists()), None)
        if taken is not None:
            diagnostics.append(_plugin_failed(
                impl.plugin_name, location, f"网站文件夹 {taken}/ 已被占用（另一个插件、site/ 中手写的网页或插件的页面）",
                f"the site folder {taken}/ is taken (by another plugin, a hand-written page in site/ or a plugin's page)"))
            continue
        owners.update((folder, impl.plugin_name) for folder in folders)
        assets.update((asset.site_path, asset) for asset in offered)
    return tuple(assets.values()), diagnostics


def online_only_folders(assets: Sequence[SiteAsset]) -> frozenset[str]:
    """The plugins' own top-level folders: served by a web server, left out of the offline edition."""
    return frozenset(asset.folder for asset in assets if asset.folder is not None)


@dataclass(frozen=True, kw_only=True)
class OfferedPage:
    """A :class:`SitePage` with the plugin that offered it and where that plugin's hook is."""

    page: SitePage
    plugin: str
    location: SourceLocation


# --------------------------------------------------------------------------------------------
# Asking the plugins
# --------------------------------------------------------------------------------------------


def _hook_location(function, root: Path) -> SourceLocation:
    """The ``def`` of a hook implementation, relative to the repository when it lives there."""
    try:
        file = inspect.getsourcefile(function)
        _, line = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return SourceLocation(file=getattr(function, "__module__", None) or "?")
    return SourceLocation(file=repository_path(Path(file), root) if file else "?", line=line or None)


def _plugin_failed(plugin: str, location: SourceLocation, detail: str, detail_en: str) -> Diagnostic:
    return Diagnostic.error(
        PAGE_PLUGIN_CODE, location,
        f"插件 {plugin} 没能提供网站页面（{detail}），它的页面没有生成，网站其余部分照常",
        f"plugin {plugin} failed in weike_site_pages ({detail_en}); its pages are left out, the rest of the site "
        "is built",
        hint="多半是插件的缺陷：用 weike -v 重新运行（日志中有详细位置），把输出报告给插件的维护者。")


def collect_site_pages(plugin_manager, *, root: Path,
                       **arguments) -> tuple[tuple[OfferedPage, ...], list[Diagnostic]]:
    """Every plugin's pages (``weike_site_pages`` called with ``arguments``), in registration order.

    Each implementation is called on its own, so one plugin's exception (E411) costs only its pages.
    """
    hook = getattr(plugin_manager.hook, "weike_site_pages", None)
    if hook is None:
        return (), []
    offered: list[OfferedPage] = []
    diagnostics: list[Diagnostic] = []
    # get_hookimpls is in registration order (built-ins, installed, then the repository's own),
    # which is also the order their pages join the navigation.
    for impl in hook.get_hookimpls():
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue  # a wrapper wraps a call; each implementation is called on its own here
        location = _hook_location(impl.function, root)
        try:
            pages = list(impl.function(**{name: arguments[name] for name in impl.argnames}) or ())
        except MissingTool:
            raise  # the machine's fault, not the plugin's: the command line names the fix
        except Exception as exc:  # noqa: BLE001 - one plugin's pages never stop the site
            logger.debug("%s failed in weike_site_pages:\n%s", impl.plugin_name,
                         "".join(traceback.format_exception(exc)))
            summary = exception_summary(exc)
            diagnostics.append(_plugin_failed(impl.plugin_name, location, summary, summary))
            continue
        wrong = next((page for page in pages if not isinstance(page, SitePage)), None)
        if wrong is not None:
            what = f"{type(wrong).__name__} {wrong!r}"[:200]
            diagnostics.append(_plugin_failed(impl.plugin_name, location, f"返回了不是 SitePage 的值：{what}",
                                              f"it returned {what}, not a SitePage"))
            continue
        offered.extend(OfferedPage(page=page, plugin=impl.plugin_name, location=location) for page in pages)
    return tuple(offered), diagnostics


# --------------------------------------------------------------------------------------------
# Placing the pages in the site
# --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class PlacedPages:
    """The offered pages that made it: docs-relative ``.md`` path -> page, and navigation entries."""

    pages: dict[str, GeneratedPage] = field(default_factory=dict)
    #: (escaped title, docs-relative path) of each page listed in the navigation, in offer order.
    nav: list[tuple[str, str]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def path_problem(path: str) -> tuple[str, str] | None:
    """Why ``path`` cannot name a page inside the site (Chinese, English), or None."""
    if path.startswith("/") or re.match(r"[A-Za-z]:", path) or "\\" in path:
        return "不能是绝对路径", "must be relative to the site, not absolute"
    segments = path.removesuffix("/").split("/")
    if any(segment in ("..", ".") for segment in segments):
        return "不能含 .. 或 .，页面必须在网站之内", "must not contain '..' or '.': the page must stay inside the site"
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        return ("只能用小写英文字母、数字、- 和 _，用 / 分隔",
                "may use lower-case letters, digits, '-' and '_' between slashes only")
    if segments[-1] == "index":
        return "不能以 index 结尾（那是文件夹自己的页面）", "must not end in 'index' (that is the folder's own page)"
    return None


def place_pages(offered: Sequence[OfferedPage], *, taken: Mapping[str, str], reserved: Callable[[str], bool],
                page_url: Callable[[str], str]) -> PlacedPages:
    """Check, sanitise and render ``offered`` against the site's other pages.

    ``taken`` maps the site URL (``about/``) of every page already in the site to who made it;
    ``reserved(rel)`` says whether a docs-relative path belongs to a generated section;
    ``page_url(rel)`` is the URL MkDocs gives a docs-relative ``.md`` path.
    """
    # Here, not at module level: the package imports SitePage when plugins are discovered, and
    # the renderers bring Markdown and the sanitiser.
    from weike.plugins.notes import NotesTooDeep, render_notes
    from weike.plugins.site.pages import breadcrumbs, e, page

    placed = PlacedPages()
    owners = dict(taken)
    for offer in offered:
        site_page = offer.page
        problem = path_problem(site_page.path)
        rel = f"{site_page.path.removesuffix('/')}.md"
        if problem is None:
            url = page_url(rel)
            owner = "weike" if reserved(rel) or reserved(rel.removesuffix(".md")) else owners.get(url)
            if owner is not None:
                problem = (f"与 {owner} 的页面重名", f"clashes with a page of {owner}")
        if problem is not None:
            placed.diagnostics.append(Diagnostic.error(
                PAGE_PATH_CODE, offer.location,
                f"插件 {offer.plugin} 的页面“{site_page.title}”的路径 {site_page.path!r} {problem[0]}，这个页面没有生成",
                f"plugin {offer.plugin}: page path {site_page.path!r} {problem[1]}; the page is left out",
                hint="换一个路径，例如 county/portal；courses、themes、levels、centres、media、search 等由 weike 生成，"
                     "site/ 中手写的页面也不能重名。"))
            continue
        try:
            body = render_notes(site_page.markdown, lecture_folder=None, course_folder=None)
        except NotesTooDeep as exc:
            placed.diagnostics.append(_plugin_failed(
                offer.plugin, offer.location, f"页面 {site_page.path} 嵌套太深（第 {exc.line} 行）",
                f"page {site_page.path} nests too deep (line {exc.line} of its Markdown)"))
            continue
        if body.removed:
            placed.diagnostics.append(Diagnostic.warning(
                PAGE_MARKUP_CODE, offer.location,
                f"插件 {offer.plugin} 的页面 {site_page.path} 中的不安全内容已被删除：{'、'.join(body.removed)}",
                f"plugin {offer.plugin}: unsafe markup removed from page {site_page.path}: {', '.join(body.removed)}",
                hint="页面里不能用脚本、事件属性（onclick 等）、javascript: 链接、样式或图片；"
                     "引用课程文字时这些会被删掉，页面照常生成。"))
        owners[url] = f"plugin {offer.plugin}"
        depth = rel.count("/") + 1
        title = e(site_page.title)
        html = [breadcrumbs(depth, []), f"<h1>{title}</h1>"]
        if body.html:
            html.append(f'<div class="weike-notes">\n{body.html}\n</div>')
        # Material prints the title and description unescaped.
        placed.pages[rel] = page({"title": title, "description": title, "hide": ["toc"]}, html)
        if site_page.in_nav:
            placed.nav.append((title, rel))
    return placed
