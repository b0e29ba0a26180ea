"""Write ``dist/offline``: the built catalogue rewritten to work from ``file://``, and its zip.

The build, top to bottom:

1. read the settings (``extra.weike.offline`` in ``mkdocs.yml``);
2. if ``dist/offline`` was made from the same site and settings, stop there;
3. make what changed into a temporary folder beside ``dist/offline``: pages rewritten
   (:func:`offline_page`), every other file hard-linked;
4. write ``使用说明.txt``;
5. publish it as the site does: a first edition swapped into place, a rebuild file by file.

``weike offline`` packs the folder as ``<name>.zip`` (deterministic, stored) on request.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
import posixpath
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from weike.builder.contracts.model import Diagnostic
from weike.builder.keeping import outputs
from weike.builder.keeping.archive import ArchiveMember, safe_name_component, source_date, write_zip
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, tree_entries
from weike.builder.keeping.memo import sha256_file
from weike.plugins.site import manifest
from weike.plugins.site.contributed import script_text
from weike.plugins.site.placement import make_build_folder, placed_media, remove_leftovers, swap_into_place
from weike.plugins.site.settings import OFFLINE, mkdocs_setting_warning
from weike.plugins.site.stamp import STAMP_FILE as SITE_STAMP_FILE
from weike.plugins.site.workers import render_processes, share_work

#: The settings' place: ``extra.weike.offline`` in ``mkdocs.yml``.
SETTINGS_KEY = "offline"
CONFIG_FILE = "mkdocs.yml"
STAMP_FILE = ".weike-offline.json"
GUIDE_FILE = "使用说明.txt"
#: Files of the source site the offline edition leaves out: the site stage's stamp, what only a
#: web server or a search engine uses (an error page, the sitemap, the feed), and Material's
#: search index, which no page loads (weike's search reads its shards, ``search/p/``, ``search/d/``).
LEFT_OUT = frozenset({SITE_STAMP_FILE, "404.html", "sitemap.xml", "sitemap.xml.gz", "feed.xml",
                      "search/search_index.json"})


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


_DEFAULTS = OFFLINE.type.defaults()


@dataclass(frozen=True, kw_only=True)
class OfflineSettings:
    """``extra.weike.offline`` in ``mkdocs.yml``; every key is optional."""

    #: False: no offline edition (an old ``dist/offline`` is removed).
    enabled: bool = _DEFAULTS["enabled"]
    #: Course folder names to put on the stick; None = every course on the site.
    courses: tuple[str, ...] | None = None
    #: The zip's file name without ``.zip`` (and its top folder).
    name: str = "社区教育微课-离线版"
    #: Carry the 省流量 (data-saver) video of each lecture instead of the full one, where there is one.
    data_saver: bool = _DEFAULTS["data_saver"]
    diagnostics: tuple[Diagnostic, ...] = ()


def _warning(message_zh: str, message_en: str) -> Diagnostic:
    return mkdocs_setting_warning(message_zh, message_en,
                                  hint="见 README“把课程拷到U盘”：extra.weike.offline 下可写 enabled、courses、name、data_saver。")


def offline_settings(weike: Mapping, *, site_name: str) -> OfflineSettings:
    """The offline settings in ``weike`` (``extra.weike`` of ``mkdocs.yml``, read by its declarations:
    a wrong value was reported there, W408 at its line, and the default holds)."""
    given = weike.get(SETTINGS_KEY) or {}
    values = {key: value for key, value in given.items() if key in ("enabled", "data_saver", "courses")}
    name = given.get("name") or f"{site_name}-离线版"
    return OfflineSettings(**values, name=safe_name_component(name))


# --------------------------------------------------------------------------------------------
# Pages: links to files, subtitles inside the page
# --------------------------------------------------------------------------------------------

_URL_ATTRIBUTE = re.compile(r'(\s(?:href|src)=)"([^"]*)"')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_TRACK = re.compile(r"<track\b[^>]*>")
_TRACK_SRC = re.compile(r'\ssrc="([^"]*)"')
_MATERIAL_CONFIG = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.S)
#: Material features that fetch pages or the sitemap with XHR, which a browser refuses from file://
#: (Material's offline plugin documents them as unsupported): the pages then load as plain links.
_FETCHING_FEATURES = ("navigation.instant",)


def _site_path(url: str, page_dir: str) -> str | None:
    """The site-relative path a relative ``url`` on a page in ``page_dir`` points to; None outside the site."""
    path = unquote(url.partition("#")[0].partition("?")[0])
    target = posixpath.normpath(posixpath.join(page_dir, path)) if path else page_dir or "."
    if target == ".":
        return ""
    if target == ".." or target.startswith("../"):
        return None
    return target


def _link_target(url: str, page_dir: str) -> str | None:
    """The site-relative path a link on a page in ``page_dir`` names; None for a link with a
    scheme, an absolute path, a bare fragment or query, or one outside the site."""
    if not url or url.startswith(("#", "/", "?")) or _SCHEME.match(url):
        return None
    return _site_path(url, page_dir)


def offline_url(url: str, page_dir: str, folders: frozenset[str]) -> str:
    """``url`` from a page in ``page_dir``, with ``index.html`` added when it names a page folder.

    ``folders`` holds every site-relative folder with an ``index.html`` ("" for the root). Links
    with a scheme, absolute paths and bare fragments are left alone.
    """
    return _naming_page(url, _link_target(url, page_dir), folders)


def _naming_page(url: str, target: str | None, folders: frozenset[str]) -> str:
    """:func:`offline_url` of ``url``, whose site-relative ``target`` (:func:`_link_target`) is known."""
    if target is None or target not in folders:
        return url
    path, hash_mark, fragment = url.partition("#")
    path, question_mark, query = path.partition("?")
    if not path.endswith("/"):
        path += "/"
    return f"{path}index.html{question_mark}{query}{hash_mark}{fragment}"


def _data_url(path: Path, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


#: Where :func:`offline_page` cuts a page into parts (each before the first of these after the
#: previous cut): between them lie the parts of Material's frame that every page as deep holds
#: byte for byte (the head's links, the navigation, the footer), rewritten once (:class:`FrameParts`).
#: Any cut gives the same page (a cut inside a link is not made); these make the parts repeat.
FRAME_CUTS = ('<meta name="description"', '<link rel="canonical"', '<link rel="icon"', "<title>",
              '<link rel="stylesheet"', '<link rel="preload"', "</head>",
              '<div class="md-header__topic" data-md-component="header-topic"',
              '<label class="md-header__button md-icon" for="__search"', '<div class="md-sidebar',
              "<article", "</article>")
#: The text before a cut that could open a link running across it: ``\shref="`` or ``\ssrc="``,
#: its closing quote after the cut.
_OPENS_LINK = re.compile(r'\s(?:href|src)="\Z')


class FrameParts:
    """The rewrites of parts of pages (:data:`FRAME_CUTS`) that hold no link relative to the
    page's own folder, by the page's depth and the part's text, for the pages of one build.

    A part is remembered the second time it is met: a page's own parts (its title, its body) are
    met once and never held."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._rewrites: dict[tuple[int, str], tuple[str, frozenset[str]]] = {}
        self._configurations: dict[str, str] = {}

    def get(self, depth: int, part: str) -> tuple[str, frozenset[str]] | None:
        return self._rewrites.get((depth, part))

    def configuration(self, script: str, rewrite) -> str:
        """Material's configuration ``script`` as ``rewrite()`` gives it, asked once per script."""
        found = self._configurations.get(script)
        if found is None:
            found = self._configurations[script] = rewrite()
        return found

    def met(self, depth: int, part: str, rewritten: str, targets: frozenset[str]) -> None:
        key = hash((depth, part))
        if key in self._seen:
            self._rewrites[(depth, part)] = (rewritten, targets)
        else:
            self._seen.add(key)


def _inside_link(html: str, start: int, at: int) -> bool:
    """A link's value could run across ``at`` (its opening quote the last quote after ``start``)."""
    quote = html.rfind('"', start, at)
    return quote >= 0 and _OPENS_LINK.search(html, max(start, quote - 6), quote + 1) is not None


def page_parts(html: str) -> list[str]:
    """``html`` cut before each of :data:`FRAME_CUTS` in turn (one missing is passed over), never
    where a link's value could run across the cut: the parts joined are ``html``."""
    parts: list[str] = []
    start = 0
    for cut in FRAME_CUTS:
        at = html.find(cut, start)
        while at >= 0 and _inside_link(html, start, at):
            at = html.find(cut, at + 1)
        if at < 0:
            continue
        parts.append(html[start:at])
        start = at
    parts.append(html[start:])
    return parts


def offline_page(html: str, *, page_rel: str, source_site: Path, folders: frozenset[str],
                 subtitles: list[str] | None = None, targets: set[str] | None = None,
                 rooted: dict | None = None, frame: FrameParts | None = None) -> str:
    """The page at ``page_rel`` (``courses/x/y/index.html``) rewritten to work from ``file://``;
    the site-relative paths of the subtitle files it carries inline are added to ``subtitles``,
    those its links name (each looked up in ``folders``) to ``targets``.

    ``rooted`` (kept by the caller from page to page, for the same ``folders``) remembers the
    links that climb to the site's root (``../../assets/…`` on a page two folders deep): they name
    the same file from every page as deep, and the frame of every page holds dozens of them.
    ``frame`` (kept likewise) remembers the rewrite of whole parts of the frame
    (:class:`FrameParts`): most of a page's bytes are not scanned for links again.
    """
    page_dir = posixpath.dirname(page_rel)
    depth = page_dir.count("/") + 1 if page_dir else 0
    up = "../" * depth
    # ("../.." is the root too, as Material's logo names it, with a fragment or a query or not.)
    root_itself = (up[:-1] + "#", up[:-1] + "?") if depth else None
    named: set[str] = set()
    own_folder = False  # a link of the part rewritten names a path from the page's own folder

    def inline_subtitles(match: re.Match) -> str:
        tag = match.group(0)
        src = _TRACK_SRC.search(tag)
        target = _site_path(src.group(1), page_dir) if src else None
        if target is None or not (source_site / target).is_file():
            return tag
        if subtitles is not None:
            subtitles.append(target)
        return tag.replace(src.group(0), f' src="{_data_url(source_site / target, "text/vtt")}"', 1)

    def rewrite(match: re.Match) -> str:
        nonlocal own_folder
        url = match.group(2)
        if url.startswith(up) or root_itself and (url == up[:-1] or url.startswith(root_itself)):
            # Past "../" as many times as the page is deep, a link no longer depends on the page's
            # folder: its target and its rewrite are those of every page as deep.
            found = rooted.get((depth, url)) if rooted is not None else None
            if found is None:
                target = _link_target(url, page_dir)
                found = (target, _naming_page(url, target, folders))
                if rooted is not None:
                    rooted[(depth, url)] = found
            target, rewritten = found
        else:
            target = _link_target(url, page_dir)
            rewritten = _naming_page(url, target, folders)
            if target is not None:
                own_folder = True
        if target is not None:
            named.add(target)
        return f'{match.group(1)}"{rewritten}"'

    def without_fetching_features(match: re.Match) -> str:
        if frame is not None:  # (the same configuration on every page as deep: decoded once)
            return frame.configuration(match.group(0), lambda: _without_fetching_features(match))
        return _without_fetching_features(match)

    def _without_fetching_features(match: re.Match) -> str:
        try:
            config = json.loads(match.group(2))
        except ValueError:
            return match.group(0)
        features = config.get("features") or []
        config["features"] = [f for f in features if not str(f).startswith(_FETCHING_FEATURES)]
        # "</" never appears inside the script: escaped as JSON allows.
        text = script_text(json.dumps(config, ensure_ascii=True))
        return match.group(1) + text + match.group(3)

    if frame is None:
        html = _URL_ATTRIBUTE.sub(rewrite, html)
    else:
        rewritten_parts = []
        for part in page_parts(html):
            known = frame.get(depth, part)
            if known is None:
                named_before, named, own_folder = named, set(), False
                rewritten = _URL_ATTRIBUTE.sub(rewrite, part)
                if not own_folder:
                    frame.met(depth, part, rewritten, frozenset(named))
                named = named_before | named
            else:
                rewritten, part_named = known
                named |= part_named
            rewritten_parts.append(rewritten)
        html = "".join(rewritten_parts)
    if targets is not None:
        targets |= named
    html = _TRACK.sub(inline_subtitles, html)
    return _MATERIAL_CONFIG.sub(without_fetching_features, html, count=1)


# --------------------------------------------------------------------------------------------
# 使用说明.txt
# --------------------------------------------------------------------------------------------


def guide_text(*, site_name: str, courses: int, lectures: int, zip_name: str, data_saver: bool) -> bytes:
    """The Chinese how-to at the edition's root: UTF-8 with a BOM and CRLF, so old Windows Notepad shows it."""
    saver = "本离线版的视频是“省流量”版本（画面较小，文件小）。\n" if data_saver else ""
    text = f"""{site_name}（离线版）使用说明

这里有 {courses} 门课程、{lectures} 个微课。不用上网，也不用安装软件，用电脑或手机自带的浏览器就能看。
{saver}
一、怎么打开
  电脑（Windows、Linux）：打开这个文件夹，双击“index.html”，浏览器就会打开课程首页。
  如果双击后出来的是一堆文字，请在“index.html”上点右键，选“打开方式”，再选一个浏览器。
  安卓手机、平板：用 OTG 转接头接上U盘（或先把整个文件夹拷进手机），在“文件管理”里点“index.html”，
    选“用浏览器打开”（Chrome、Edge 或手机自带的浏览器）。
  苹果手机（iPhone）、iPad：不能直接看U盘里的课程。苹果的“文件”App 只能预览一页，视频放不了，
    也点不进别的课。请用第四节的教学站Wi-Fi看，或者在电脑上看。

二、怎么看课
  点课程图片进入课程，点“第几讲”观看微课。视频可以拖动进度条；有字幕的微课会显示字幕。
  页面上方的放大镜可以搜索课程和微课（可以输入中文）。
  每页上方“字号”处的 A+ 把字放大，A− 把字缩小。

三、拷贝时请注意
  请拷贝整个文件夹，不要只拷“index.html”，也不要改文件夹里的文件名。
  如果文件夹里有“{zip_name}”，它是同样内容的压缩包，方便整个传给别人（解压后打开其中的
    “index.html”）；U盘空间不够时可以不拷它。

四、在教学站用Wi-Fi给大家看（要先请县里的工作人员设置）
  让大家用自己的手机看，不用每人拷一份：这要在教学站的一台电脑上开启“Wi-Fi分享”，
  由县（区）社区教育学院负责课程的工作人员来设置，U盘里的东西做不到，你也不用自己装什么。
  请把这份说明给他们看：设置方法在课程软件 weike 的说明文档（README）中
  “在教学站用Wi-Fi播放”一节。
  设置好以后，那台电脑的屏幕上会显示一个网址和一个二维码：
    1. 学员的手机连上教学站的Wi-Fi（安卓手机、苹果手机都可以）；
    2. 用手机相机（或浏览器、微信里的“扫一扫”）扫屏幕上的二维码，
       或者在手机浏览器里输入屏幕上的网址，就能看课。
  还没有设置时，可以按第一节在电脑上打开课程，接上电视或投影仪给大家一起看。
"""
    return "\ufeff".encode("utf-8") + text.replace("\n", "\r\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# The whole edition
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OfflineResult:
    """What building the offline edition did."""

    folder: Path
    zip_path: Path
    #: The zip's size; None when there is none (packed on request: ``weike offline``).
    zip_bytes: int | None
    #: False when the source site and the settings had not changed.
    rebuilt: bool
    courses: int = 0
    lectures: int = 0


def _site_listing(site: Path, left_out_folders: frozenset[str] = frozenset(),
                  recorded: Mapping[str, list] | None = None, media: Mapping[str, tuple] | None = None):
    """``(files, folders)`` of the site in one walk: every file as (site-relative POSIX path, path,
    its identity: (size, mtime_ns, inode) or None), sorted, without :data:`LEFT_OUT`, source maps
    and the top-level ``left_out_folders``; and every folder with an ``index.html`` ("" for the root).

    ``recorded``: the site's files as the site stage just published them (its stamp's records,
    ``[size, mtime_ns, sha256]``, the ``media`` folder aside): those are listed from the record,
    identified by it, and only ``media`` is walked; with ``media`` too (the files placing the
    site's media found there, :attr:`~weike.plugins.site.website.WebsiteResult.media`), nothing is."""
    files: list[tuple[str, str, tuple | None]] = []
    folders: set[str] = set()
    stack = [("", str(site), False)]
    if recorded is not None:
        stack = [("media/", str(site / "media"), "media" in left_out_folders)]
        base = os.fspath(site)  # (joined as strings: a Path per file was most of the listing's time)
        for rel, record in recorded.items():
            top, _, name = rel.rpartition("/")
            if name == "index.html":
                folders.add(top)
            if rel in LEFT_OUT or rel.endswith(".map") or rel.partition("/")[0] in left_out_folders and "/" in rel:
                continue
            files.append((rel, os.path.join(base, rel), tuple(record)))
        if media is not None:
            stack = []
            if "media" not in left_out_folders:
                files.extend((rel, os.path.join(base, rel), tuple(identity)) for rel, identity in media.items()
                             if rel not in LEFT_OUT and not rel.endswith(".map"))
    while stack:
        prefix, folder, left_out = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir():
                if not entry.is_symlink():  # as os.walk: a linked folder is not entered
                    stack.append((rel + "/", entry.path, left_out or (prefix == "" and entry.name in left_out_folders)))
                continue
            if entry.name == "index.html":
                folders.add(prefix[:-1])
            # Source maps serve only developers' tools: a megabyte less on every stick.
            if left_out or rel in LEFT_OUT or rel.endswith(".map"):
                continue
            try:
                stat = entry.stat()
                identity = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            except OSError:
                identity = None
            files.append((rel, entry.path, identity))
    files.sort()
    return files, frozenset(folders)


def _site_files(site: Path, left_out_folders: frozenset[str] = frozenset()):
    """Every file of the site as (site-relative POSIX path, path), sorted, without :data:`LEFT_OUT`
    and the top-level ``left_out_folders``."""
    return [(rel, Path(path)) for rel, path, _ in _site_listing(site, left_out_folders)[0]]


def edition_inputs(source_site: Path, settings: OfflineSettings, data_saver: bool,
                   left_out_folders: frozenset[str] = frozenset(), site_inputs: str | None = None) -> str:
    """A hash of everything the edition is made from: the source site's own input hash (read from
    its stamp unless the site stage handed it over as ``site_inputs``) and the settings."""
    if site_inputs is None:
        try:
            site_inputs = json.loads((source_site / SITE_STAMP_FILE).read_text(encoding="utf-8")).get("inputs")
        except (OSError, ValueError, AttributeError):
            site_inputs = None
    fingerprint = Fingerprint(site_inputs, settings.name, data_saver, sorted(left_out_folders), code_digest(__name__))
    if site_inputs is None:  # an unstamped site: its files themselves
        for rel, path in _site_files(source_site, left_out_folders):
            fingerprint.add(rel).add_file(path)
    return fingerprint.hexdigest()


def _read_stamp(folder: Path) -> dict:
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
        return stamp if isinstance(stamp, dict) else {}
    except (OSError, ValueError):
        return {}


def remove_edition(offline_dir: Path) -> None:
    shutil.rmtree(offline_dir, ignore_errors=True)


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _mixed(groups: Sequence[Sequence]) -> list:
    """The items of ``groups`` in one list, each group spread evenly over it: a contiguous share of
    the list (:func:`~weike.plugins.site.workers.share_work`'s) holds the same part of every group."""
    keyed = sorted(((number + 0.5) / len(group), which, number)
                   for which, group in enumerate(groups) for number in range(len(group)))
    return [groups[which][number] for _, which, number in keyed]


def _read_page(site: str, rel: str) -> str:
    """The page ``rel`` of the site at ``site`` as text, its line ends as ``Path.read_text`` gives them."""
    with open(os.path.join(site, rel), "rb") as handle:
        text = handle.read().decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _manifest_record(known: list) -> list:
    """The stamp's record (``[size, mtime_ns, sha256]``) of a file known as
    :meth:`~weike.plugins.site.manifest.WrittenFiles.write` returns it."""
    return [known[0], known[1], known[3]]


def _linked_record(root: str, rel: str, identity) -> list:
    """What is known of the file ``rel`` of ``root`` linked to the site's file of ``identity``
    (as :meth:`~weike.plugins.site.manifest.WrittenFiles.write` returns it): the site's record of its bytes when it is the file recorded
    (same size and time), else hashed."""
    path = os.path.join(root, rel)
    stat = os.stat(path)
    if (identity is not None and len(identity) == 3 and isinstance(identity[2], str)
            and (stat.st_size, stat.st_mtime_ns) == (identity[0], identity[1])):
        return [stat.st_size, stat.st_mtime_ns, stat.st_ino, identity[2][:manifest.DIGEST_CHARS]]
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, sha256_file(Path(path))[:manifest.DIGEST_CHARS]]


def build_offline_edition(*, source_site: Path, offline_dir: Path, settings: OfflineSettings,
                          site_name: str, courses: int, lectures: int, data_saver: bool = False,
                          force: bool = False, left_out_folders: frozenset[str] = frozenset(),
                          site_files: Mapping[str, list] | None = None,
                          site_inputs: str | None = None,
                          site_media: Mapping[str, tuple] | None = None) -> OfflineResult:
    """Write the offline edition of the built site ``source_site`` into ``offline_dir``.

    ``data_saver``: the source site was built from the 省流量 renditions (the guide says so).

    Only what changed is made again: each file of the edition records what it was made from (the
    source file's size, time and inode, which the site keeps for every file it did not rewrite;
    for a page also the subtitles it carries, and whether the paths its links name are page
    folders: a course added or removed remakes only the pages linking to its folders), and unchanged
    files are neither rewritten nor re-linked (:mod:`weike.plugins.site.manifest`). The zip is not
    made here: re-packing gigabytes of video for each edit is what made a rebuild slow; a zip that
    no longer matches the folder is removed, and ``weike offline`` packs it (:func:`pack_offline_zip`).
    ``left_out_folders``: top-level folders of the site that need a web server (a plugin's own,
    such as the hosted editor's ``admin/``), not copied. ``site_files``: the files the site stage
    published with their records (:attr:`~weike.plugins.site.website.WebsiteResult.files`), so
    only the site's ``media`` is walked; ``site_inputs``: the input hash the site's stamp records
    (:attr:`~weike.plugins.site.website.WebsiteResult.inputs`), so the stamp is not read back;
    ``site_media``: the files of the site's ``media`` with their identities, as placing them found
    them (:attr:`~weike.plugins.site.website.WebsiteResult.media`), so the site is not walked at all.

    The edition's ``media`` (every video, poster and subtitle track: most of its files) are not in
    its stamp: each is the site's file itself, hard-linked, which the folder's listing tells by
    inode without a stat (:func:`_place_media`); a file deleted or replaced there is linked again.
    """
    zip_name = f"{settings.name}.zip"
    inputs = edition_inputs(source_site, settings, data_saver, left_out_folders, site_inputs=site_inputs)
    stamp = manifest.read_stamp_file(offline_dir, STAMP_FILE) or {}
    zip_path = offline_dir / zip_name
    if not force and stamp.get("inputs") == inputs and manifest.still_as_written(stamp, offline_dir):
        # (Its media are not in the stamp: each must still be the site's file.)
        if site_media is None:
            site_media = _media_of(_site_listing(source_site / "media", frozenset())[0], prefix="")
        media = {} if "media" in left_out_folders else site_media
        if _place_media(media, source_site, offline_dir, check_only=True) == 0:
            return OfflineResult(folder=offline_dir, zip_path=zip_path, zip_bytes=_size(zip_path),
                                 rebuilt=False, courses=courses, lectures=lectures)

    listing, folders = _site_listing(source_site, left_out_folders, site_files,
                                     site_media if site_files is not None else None)
    if site_files is None:
        # Walked (the site was kept): a file still as the site's stamp records it is identified
        # by that record, as when the site stage hands its records over, so no page is remade
        # for having been listed the other way.
        site_record = manifest.stamp_manifest(manifest.read_stamp_file(source_site, SITE_STAMP_FILE))
        known = site_record.written if site_record is not None else {}
        listing = [(rel, path, tuple(known[rel]) if rel in known and identity is not None
                    and [identity[0], identity[1]] == known[rel][:2] else identity)
                   for rel, path, identity in listing]
    code = code_digest(__name__)
    offline_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(offline_dir)
    present = (manifest.present_files(offline_dir, stamp_file=STAMP_FILE, skip=("media",))
               if offline_dir.is_dir() else {})
    previous = None if force else manifest.read_manifest(stamp, present)
    carried = stamp.get("subtitles") if isinstance(stamp.get("subtitles"), dict) else {}
    # A page's rewrite depends on the site's page folders only through the folders its links
    # name: a folder that came or went since the last edition remakes the pages that link to it.
    links = _Links.recorded(stamp, folders)
    site_files = frozenset(rel for rel, _, _ in listing)
    media = _media_of(listing)
    # A subtitle track a page carries inline is identified by its listing (no stat of its own).
    identities = {rel: identity for rel, _, identity in listing}
    tmp = make_build_folder(offline_dir)
    try:
        made_from: dict[str, str] = {}
        kept: list[str] = []
        subtitles: dict[str, list[str] | None] = {}

        def unchanged(rel: str, digest: str) -> bool:
            made_from[rel] = digest
            if previous is not None and previous.unchanged(rel, digest):
                kept.append(rel)
                return True
            return False

        # What each file is made from, as plain text hashed once (a file's own identity is its
        # record: tens of thousands of them on every edit).
        def page_digest(rel: str, identity, inline: list[str]) -> str:
            made = repr(("page", rel, identity, code,
                         [(vtt, identities[vtt] if vtt in identities else _identity(source_site / vtt))
                          for vtt in inline]))
            return hashlib.sha256(made.encode("utf-8")).hexdigest()

        def file_digest(identity) -> str:
            # A file the site's record identifies: its bytes' SHA-256 as recorded (a hard link to
            # the same bytes is the same file, whatever its time); a walked one (media): hashed.
            if identity is not None and len(identity) == 3 and isinstance(identity[2], str):
                return identity[2]
            return hashlib.sha256(repr(("file", identity)).encode("utf-8")).hexdigest()

        rooted: dict = {}  # (each worker fills its own copy)
        frame = FrameParts()  # (likewise)
        # Each file's record taken from the bytes written, each folder made once (in each process).
        writer = manifest.WrittenFiles(tmp)
        site_base, tmp_base = os.fspath(source_site), os.fspath(tmp)
        put = writer.write

        def make_page(rel: str) -> tuple[list[str], list[str], list]:
            """The page rewritten into the edition; returns the subtitles it carries inline, what
            its links name and the record of the file written."""
            inline: list[str] = []
            targets: set[str] = set()
            page = offline_page(_read_page(site_base, rel), page_rel=rel, source_site=source_site,
                                folders=folders, subtitles=inline, targets=targets, rooted=rooted,
                                frame=frame)
            record = put(rel, page.encode("utf-8"))
            # A file named by a link is left as it is whatever folders come or go (a folder where
            # a file was remakes every page: _Links.recorded).
            return inline, sorted(targets - site_files), record

        to_make: list[tuple[str, object]] = []
        linked: list[tuple[str, str, object]] = []
        for rel, path, identity in listing:
            if rel in media:
                continue  # placed apart: _place_media
            if rel.endswith(".html"):
                before = [vtt for vtt in carried.get(rel, []) if isinstance(vtt, str)]
                if links.still_right(rel) and unchanged(rel, page_digest(rel, identity, before)):
                    subtitles[rel] = before
                    links.keep(rel)
                    continue
                to_make.append((rel, identity))
                subtitles[rel] = None  # its place in the stamp, in the site's order
            elif not unchanged(rel, file_digest(identity)):
                linked.append((rel, path, identity))
        cold = previous is None

        def make(item: tuple) -> list | None:
            """Make one page, file or media file of the edition (the page's or file's record
            returned: :func:`make_page`, :func:`_linked_record`)."""
            kind, rel = item[0], item[1]
            if kind == "page":
                return make_page(rel)
            # A hard link: the media are not stored twice.
            source = item[2] if kind == "file" else os.path.join(site_base, rel)
            outputs.link_file(source, writer.room_for(rel))  # (a copy on another file system)
            # (A file linked by a rebuild is known too: publishing it reads back none of the
            # hundreds of search files an added course renumbers.)
            return _linked_record(tmp_base, rel, item[3]) if kind == "file" else None

        # Shared among processes: every page, file and media file of a cold edition (each share
        # holds the same part of each), the pages and files that changed otherwise.
        placed = [("media", rel) for rel in media] if cold else []
        items = _mixed([[("page", rel) for rel, _ in to_make], [("file", *file) for file in linked], placed])
        made_items = share_work(items, make, processes=render_processes(len(to_make)))
        # What is known of the files written, from the bytes written (neither a folder made whole
        # nor the files a rebuild publishes are read back).
        known: dict[str, list] = {}
        made_pages: dict[str, tuple] = {}
        for item, result in zip(items, made_items, strict=True):
            if item[0] == "page":
                made_pages[item[1]] = result
            elif result is not None:
                known[item[1]] = result
        for rel, identity in to_make:
            inline, targets, known[rel] = made_pages[rel]
            made_from[rel] = page_digest(rel, identity, inline)
            subtitles[rel] = inline or None
            links.made(rel, targets)
        subtitles = {rel: vtts for rel, vtts in subtitles.items() if vtts is not None}
        known[GUIDE_FILE] = put(GUIDE_FILE, guide_text(site_name=site_name, courses=courses, lectures=lectures,
                                                         zip_name=zip_name, data_saver=data_saver))

        def edition_stamp(made: manifest.Manifest) -> dict:
            return {"inputs": inputs, "name": settings.name, "subtitles": subtitles, **links.as_json(),
                    **made.as_json()}

        if previous is None:  # made whole: swapped into place at once
            made = manifest.Manifest(written={rel: _manifest_record(known[rel]) for rel in sorted(known)})
            made.made_from = {rel: digest for rel, digest in made_from.items() if rel in made.written}
            manifest.write_stamp(tmp, STAMP_FILE, edition_stamp(made))
            swap_into_place(tmp, offline_dir)
        else:  # the zip of the previous edition is left out of `present`'s keeps: removed
            made = manifest.publish(tmp, offline_dir, previous=previous, present=present, kept=kept,
                                    made_from=made_from, known=known)
            _place_media(media, source_site, offline_dir)
            manifest.write_stamp(offline_dir, STAMP_FILE, edition_stamp(made))
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return OfflineResult(folder=offline_dir, zip_path=zip_path, zip_bytes=None, rebuilt=True,
                         courses=courses, lectures=lectures)


def _media_of(listing, prefix: str = "media/") -> dict[str, tuple | None]:
    """The files of the site's ``media`` in ``listing`` (:func:`_site_listing` of the site, or with
    ``prefix`` "" of its ``media`` folder), by site-relative path: their identities."""
    if not prefix:
        return {f"media/{rel}": identity for rel, _, identity in listing}
    return {rel: identity for rel, _, identity in listing if rel.startswith(prefix)}


def _place_media(media: Mapping[str, tuple | None], source_site: Path, folder: Path, *,
                 check_only: bool = False) -> int:
    """Hard-link each of the site's ``media`` (site-relative path -> (size, mtime_ns, inode)) into
    ``folder`` where it is missing or another file, and delete the others of ``folder/media``;
    returns how many files were (``check_only``: would be) linked or deleted.

    What ``folder`` holds is judged by inode from its listing (no stat per file): a file that is
    the site's own inode is its bytes. A copy (across file systems) goes through
    :func:`~weike.builder.keeping.outputs.link_file`, which keeps one with the source's size and time."""
    present = placed_media(Path(folder) / "media")
    # An inode names a file on one device only: across two, each file is compared by link_file.
    try:
        same_device = os.stat(folder).st_dev == os.stat(source_site).st_dev
    except OSError:
        same_device = False
    changed = 0
    # What is not the site's goes first (a file inside a folder put where a video goes among them).
    emptied: set[Path] = set()
    for rel in present.keys() - media.keys():
        if check_only:
            return 1
        (folder / rel).unlink(missing_ok=True)
        emptied.add((folder / rel).parent)
        changed += 1
    for parent in sorted(emptied, key=lambda path: len(path.parts), reverse=True):
        # (a deleted course's folder goes with its files, as from a cold edition)
        while parent != folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    # Into a folder with no media yet (a cold edition) nothing is in the way: each folder is made once.
    fresh = not present and not os.path.lexists(Path(folder) / "media")
    placing = manifest.WrittenFiles(folder)
    for rel, identity in media.items():
        if same_device and identity is not None and present.get(rel) == identity[2]:
            continue
        if check_only:
            return 1
        if fresh:
            target = placing.room_for(rel)
        else:
            target = folder / rel
            manifest.make_room(target, folder)  # (a folder put where the file goes, or in its way)
        changed += outputs.link_file(source_site / rel, target)
    return changed


class _Links:
    """What each page's links name (site-relative paths other than the site's files), recorded in
    the edition's stamp with the site's page folders, so a rebuild knows which kept pages a folder
    that came or went reaches.

    The stamp holds ``folders`` (sorted), ``targets`` (every path some link names, once),
    ``common`` (indices of those every page names: the navigation's) and ``links`` (page -> indices
    of the others it names). A stamp without them (or damaged) is no record: every page is made
    again; so is every page when a folder came or went that the navigation names, or where the
    previous edition had a file (a link to a file is not recorded)."""

    def __init__(self, folders: frozenset[str], changed: frozenset[str] | None,
                 recorded: Mapping[str, frozenset[str]]) -> None:
        self.folders = folders
        #: Folders that came or went since the recorded edition; None: not known (all changed).
        self.changed = changed
        self._recorded = recorded
        self._links: dict[str, frozenset[str]] = {}

    @classmethod
    def recorded(cls, stamp: Mapping, folders: frozenset[str]) -> _Links:
        try:
            before, targets, common, links = stamp["folders"], stamp["targets"], stamp["common"], stamp["links"]
            if not (isinstance(before, list) and isinstance(targets, list) and isinstance(links, dict)
                    and all(isinstance(target, str) for target in targets)):
                raise TypeError("not a record")
            changed = folders.symmetric_difference(before)
            shared = frozenset(targets[i] for i in common)
            if not changed.isdisjoint(shared) or not changed.isdisjoint(stamp["files"]):
                return cls(folders, None, {})
            recorded = {rel: shared.union(targets[i] for i in named) for rel, named in links.items()}
        except (KeyError, TypeError, IndexError):
            return cls(folders, None, {})
        return cls(folders, frozenset(changed), recorded)

    def still_right(self, rel: str) -> bool:
        """The page ``rel`` as last made names no folder that came or went since."""
        if self.changed is None or rel not in self._recorded:
            return False
        return not self.changed or self.changed.isdisjoint(self._recorded[rel])

    def keep(self, rel: str) -> None:
        self._links[rel] = self._recorded[rel]

    def made(self, rel: str, targets: list[str]) -> None:
        self._links[rel] = frozenset(targets)

    def as_json(self) -> dict:
        common = frozenset.intersection(*self._links.values()) if self._links else frozenset()
        numbers = {target: number for number, target in enumerate(sorted(common))}
        links = {rel: [numbers.setdefault(target, len(numbers)) for target in sorted(named - common)]
                 for rel, named in self._links.items()}
        return {"folders": sorted(self.folders), "targets": list(numbers), "common": list(range(len(common))),
                "links": links}


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def edition_source_date(root: Path) -> _dt.datetime:
    """The date the offline zip's entries carry (:func:`~weike.builder.keeping.archive.source_date`):
    ``SOURCE_DATE_EPOCH``, else the newest time of what the catalogue is made from: weike.yml,
    mkdocs.yml, and the folders ``courses/`` and ``centres/`` with every file below them (never the
    edition's own files, which carry the time of the build that wrote them)."""
    newest = 0
    for folder in (Path(root) / "courses", Path(root) / "centres"):
        try:
            newest = max(newest, os.stat(folder).st_mtime_ns)
        except OSError:
            continue
        for entry in tree_entries(os.fspath(folder)):
            if len(entry) == 3 and isinstance(entry[1], int):  # a file: (name, size, mtime_ns)
                newest = max(newest, entry[2])
    return source_date([Path(root) / "weike.yml", Path(root) / "mkdocs.yml"], newest=newest // 1_000_000_000)


def pack_offline_zip(offline_dir: Path, settings: OfflineSettings, *, made: _dt.datetime | None = None) -> Path:
    """Pack the built edition ``offline_dir`` as ``<name>.zip`` beside its files (deterministic, stored:
    the same folder and ``made``, its entries' date, give the same bytes). Raises
    :class:`FileNotFoundError` without an edition."""
    stamp = manifest.read_stamp_file(offline_dir, STAMP_FILE)
    if stamp is None:
        raise FileNotFoundError(offline_dir / STAMP_FILE)
    zip_name = f"{settings.name}.zip"
    members = [ArchiveMember.from_file(f"{settings.name}/{rel}", offline_dir / rel)
               for rel in sorted(manifest.present_files(offline_dir, stamp_file=STAMP_FILE))
               if rel != zip_name and not rel.endswith(".zip")]
    return write_zip(offline_dir / zip_name, members, made=made)


def offline_summary(result: OfflineResult, shown: str) -> str:
    if result.zip_bytes is None:
        packed = "压缩包：运行 weike offline 打包 (zip: run weike offline)"
    else:
        size = result.zip_bytes / 1_000_000
        packed = f"压缩包 {result.zip_path.name} {size:.1f} MB (zip {size:.1f} MB)"
    if not result.rebuilt:
        return f"offline: 没有变化，沿用 {shown}，{packed} (unchanged)"
    return f"offline: 离线版 {result.courses} 门课程 -> {shown}/index.html，{packed}"


def chosen_courses(settings: OfflineSettings, published: Sequence[str]) -> tuple[tuple[str, ...], tuple[Diagnostic, ...]]:
    """The published courses the edition carries, and a warning (W408) for each named one that is not published."""
    if settings.courses is None:
        return tuple(published), ()
    missing = [slug for slug in settings.courses if slug not in published]
    diagnostics = tuple(_warning(f"离线版要放入的课程“{slug}”不存在或没有发布到网站，已跳过",
                                 f"offline course {slug!r} does not exist or is not on the site; skipped")
                        for slug in missing)
    return tuple(slug for slug in published if slug in settings.courses), diagnostics


# --------------------------------------------------------------------------------------------
# `weike offline`: the zip, on request
# --------------------------------------------------------------------------------------------


def add_offline_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "offline", help="把离线版打成一个压缩包，方便传给别人 (pack the offline edition as one zip)",
        description="Pack dist/offline (made by weike build) as dist/offline/<name>.zip: deterministic and "
                    "stored, the same folder gives the same bytes. weike build keeps the folder up to date "
                    "file by file and removes a zip that no longer matches it; run this when a zip is wanted.")
    parser.add_argument("path", nargs="?", default=".", help="repository (folder with courses/)")
    parser.set_defaults(func=cmd_offline)


def cmd_offline(project, args) -> int:
    from weike.builder.contracts.context import BuildPaths
    from weike.builder.contracts.errors import UsageError
    from weike.plugins.site.engine import SiteBuildFailed, load_settings

    paths = BuildPaths.for_root(project.root)
    try:
        site = load_settings(project.root, None)
    except SiteBuildFailed as exc:
        raise UsageError(f"{exc.diagnostic.message} ({exc.diagnostic.message_en})") from exc
    settings = offline_settings(site.weike, site_name=site.site_name)
    offline_dir = paths.dist / "offline"
    if not settings.enabled or manifest.read_stamp_file(offline_dir, STAMP_FILE) is None:
        raise UsageError(f"还没有离线版：先运行 weike build（{paths.shown(offline_dir)}） "
                         f"(no offline edition yet: run weike build first)")
    zip_path = pack_offline_zip(offline_dir, settings, made=edition_source_date(project.root))
    size = zip_path.stat().st_size / 1_000_000
    print(f"offline: 压缩包 {paths.shown(zip_path)} {size:.1f} MB (zip written)")
    return 0
