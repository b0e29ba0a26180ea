"""A MkDocs plugin that hands weike's generated pages to MkDocs as ready HTML.

weike's pages are HTML already (:mod:`weike.plugins.site.pages`). Written out as Markdown files they
would be read from disk, their front matter parsed as YAML and their HTML re-parsed by
Python-Markdown's raw-HTML pass, 13,000 times for 1,000 courses. Instead this plugin adds them to
MkDocs' file list as in-memory files, gives each page its metadata directly and its body after
the (now empty) Markdown conversion. Hand-written pages from ``site/`` are untouched.

It also memoises Material's navigation sidebar for pages outside the navigation (every course
and lecture page): those render it identically for a given depth, and rendering it was about a
fifth of MkDocs' time at catalogue scale. ``main.html`` uses ``weike_nav_cache`` for that, and for
the configuration script of those pages (the same for a given depth); ``partials/search.html`` for
the search dialog (the same on every page). Together about a fifth of what is left per page.

A rebuild renders only what changed: the pages and files named in ``kept_pages`` / ``kept_files``
are already in the published site as this build would make them
(:func:`weike.plugins.site.website.build_website` decides from each page's input digest). They still
join MkDocs' file list, so a hand-written page's link to them resolves as in a full build, but as
:class:`KeptFile`: neither read, rendered nor copied. The pages of the navigation must stay MkDocs
pages (the navigation is made of them); those in ``kept_nav_pages`` get :data:`KEPT_TEMPLATE`, whose
empty output MkDocs does not write.

A page an earlier build made (a :class:`~weike.plugins.site.course_memo.RememberedPage`) is read from
its course's memo only by the process that renders it (:meth:`GeneratedPages.load`); one whose memo
is gone by then is rendered by the build itself once its course is made again (:meth:`GeneratedPages.remake`).
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

import jinja2
from mkdocs.exceptions import BuildError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.toc import get_toc

from weike.builder.keeping.outputs import private_folder
from weike.plugins.site.course_memo import MemoMissing, RememberedPage
from weike.plugins.site.pages import GeneratedPage


#: The template of a navigation page the site already holds (theme/overrides: renders nothing).
KEPT_TEMPLATE = "weike-kept.html"


class NavigationCache(dict):
    """Rendered parts of the frame (sidebars by base URL, ...), filled from the templates
    (``set`` returns '' for Jinja)."""

    def set(self, key: str, html: str) -> str:
        self[key] = html
        return ""


class CompiledTemplates(jinja2.BytecodeCache):
    """The theme's templates as compiled, kept in memory for the life of the process and, between
    processes, in a folder of the system's temp folder that only this user may use
    (:func:`private_template_folder`): MkDocs makes a new Jinja environment for every build, and
    compiling Material's templates again was a large part of a one-page rebuild (``weike build``
    after an edit, ``weike serve`` after a save). Jinja checks each entry against its template's
    source, so an edited override is compiled again; the files are named by what else the compiled
    code depends on (Python, Jinja, MkDocs, Material, Babel, this module), so no other set of them
    is ever read. A damaged file is compiled again. Never in the repository's cache (``.weike/``),
    which may be shared: compiled code is run, so it is read only from where only its user writes."""

    def __init__(self, folder: Path | None = None) -> None:
        self._code: dict[str, bytes] = {}
        self._folder = folder
        self._disk: jinja2.FileSystemBytecodeCache | None | bool = False  # False: not looked for yet

    def _on_disk(self) -> jinja2.FileSystemBytecodeCache | None:
        if self._disk is False:
            folder = self._folder or private_template_folder()
            if folder is None:
                self._disk = None
            else:
                compiled_with = _compiled_with()
                remove_unused_compilations(folder, compiled_with)
                self._disk = jinja2.FileSystemBytecodeCache(str(folder), pattern=f"%s-{compiled_with}.cache")
        return self._disk

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)
            return
        disk = self._on_disk()
        if disk is not None:
            try:
                disk.load_bytecode(bucket)
            except OSError:
                bucket.reset()
            if bucket.code is not None:
                self._code[bucket.key] = bucket.bytecode_to_string()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()
        disk = self._on_disk()
        if disk is not None:
            try:
                disk.dump_bytecode(bucket)  # (Jinja writes a temporary file and renames it)
            except OSError:
                pass


#: Compiled templates of another set (another weike, Jinja, MkDocs or Material) not written for this
#: long are removed when a build first opens the folder: each upgrade leaves a set of ~40 behind.
UNUSED_COMPILATIONS_SECONDS = 30 * 24 * 3600
#: The folder is swept for them at most this often (the time of :data:`SWEPT_FILE` says when it
#: was): a sweep stats every file of every set, thousands where weike's code changes often.
SWEEP_SECONDS = 24 * 3600
#: The file in the folder whose modification time is when it was last swept.
SWEPT_FILE = "swept"
_COMPILED_NAME = re.compile(r"[0-9a-f]+-([0-9a-f]{24})\.cache")


def remove_unused_compilations(folder: Path, current: str) -> int:
    """Remove the compiled templates in ``folder`` made for another set than ``current`` (its
    :func:`_compiled_with`) and untouched for :data:`UNUSED_COMPILATIONS_SECONDS`, unless the
    folder was swept less than :data:`SWEEP_SECONDS` ago; returns how many. Another install used
    now and then keeps its set (files that old are compiled again, a second's work); anything not
    named as weike names its files is left alone."""
    now = time.time()
    swept = os.path.join(folder, SWEPT_FILE)
    try:
        if 0 <= now - os.stat(swept).st_mtime < SWEEP_SECONDS:
            return 0
    except OSError:
        pass
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        found = _COMPILED_NAME.fullmatch(entry.name)
        if found is None or found.group(1) == current:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > UNUSED_COMPILATIONS_SECONDS:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    try:
        with open(swept, "wb"):
            pass
        os.utime(swept, (now, now))
    except OSError:
        pass
    return removed


def _compiled_with() -> str:
    """What a compiled template depends on besides its source: its environment's makers."""
    from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions

    return Fingerprint("compiled-templates", sys.version, package_versions("jinja2", "mkdocs", "mkdocs-material",
                                                                           "babel"),
                       code_digest(__name__)).hexdigest()[:24]


def private_template_folder() -> Path | None:
    """:func:`~weike.builder.keeping.outputs.private_folder` of the compiled templates."""
    return private_folder("templates")


#: One per process, shared by every build of it.
COMPILED_TEMPLATES = CompiledTemplates()


def compile_templates_once(theme) -> None:
    """Every Jinja environment ``theme`` (an MkDocs theme) makes uses :data:`COMPILED_TEMPLATES`:
    the build's (see :meth:`GeneratedPages.on_env`) and those Material's search plugin makes for
    its translations, three on every build."""
    make_environment = theme.get_env

    def get_env() -> jinja2.Environment:
        environment = make_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment

    theme.get_env = get_env


class KeptFile(File):
    """A page or file the site already holds as this build would write it: known to MkDocs (links
    to it resolve), but no page to render and nothing to copy.

    Made without :class:`~mkdocs.structure.files.File`'s constructor (a ``PurePath`` per file, most
    of the cost of 13,000 kept pages): ``src_uri`` is already '/'-separated, and ``dest_uri`` is
    where the page it stands for is written (``x.md`` -> ``x/index.html``), not its own name, so a
    hand-written page's link to it resolves to the page, as in a full build."""

    def __init__(self, src_uri: str, *, dest_dir: str, use_directory_urls: bool, page: bool,
                 generated_by: str | None = None, src_dir: str | None = None) -> None:
        self.src_uri = src_uri
        self.src_dir = src_dir
        self.dest_dir = dest_dir
        self.use_directory_urls = use_directory_urls
        self.generated_by = generated_by
        self.dest_uri = _page_dest(src_uri, use_directory_urls) if page else src_uri

    def is_documentation_page(self) -> bool:
        return False

    def is_static_page(self) -> bool:
        return False

    def copy_file(self, dirty: bool = False) -> None:
        return None


def generated_file(src_uri: str, *, dest_dir: str, use_directory_urls: bool, generated_by: str,
                   content: str | None = None, abs_src_path: str | None = None) -> File:
    """:meth:`File.generated <mkdocs.structure.files.File.generated>` (MkDocs 1.6) of a path weike
    made, without the constructor's ``PurePath`` (``src_uri`` is already '/'-separated): the same
    attributes, a tenth of the time, 13,000 times at catalogue scale."""
    file = File.__new__(File)
    file.src_uri = src_uri
    file.src_dir = None
    file.dest_dir = dest_dir
    file.use_directory_urls = use_directory_urls
    file.inclusion = InclusionLevel.UNDEFINED
    file.generated_by = generated_by
    file.abs_src_path = abs_src_path
    file._content = content
    return file


def _page_dest(src_uri: str, use_directory_urls: bool) -> str:
    """:meth:`mkdocs.structure.files.File._get_dest_path` of a Markdown page (MkDocs 1.6)."""
    if use_directory_urls and src_uri.endswith(".md") and "//" not in src_uri:
        # (A stem of more than dots, not index or README: what splitext and join make of it, at
        # a fifth of their time; 13,000 pages at catalogue scale.)
        head = src_uri[:-3]
        stem = head[head.rfind("/") + 1:]
        if stem.strip(".") and stem not in ("index", "README"):
            return head + "/index.html"
    parent, filename = posixpath.split(src_uri)
    stem = posixpath.splitext(filename)[0]
    stem = "index" if stem == "README" else stem
    if not use_directory_urls or stem == "index":
        return posixpath.join(parent, stem + ".html")
    return posixpath.join(parent, stem, "index.html")


def _page_url(dest_uri: str, use_directory_urls: bool) -> str:
    """:meth:`mkdocs.structure.files.File._get_url` of a page written at ``dest_uri`` (MkDocs 1.6)."""
    dirname, filename = posixpath.split(dest_uri)
    url = (dirname or ".") + "/" if use_directory_urls and filename == "index.html" else dest_uri
    return url if _UNQUOTED.fullmatch(url) else quote(url)


#: What ``urllib.parse.quote`` leaves as it is (its always-safe characters and '/').
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/-]*")


#: The segments of a page's URL whose joining to the site's address :func:`set_up_page` does
#: without ``urljoin`` (weike's slugs: no dot segment, query, fragment or character to quote).
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")


class SiteAddress:
    """Where a page's canonical and absolute URLs begin, for one ``site_url``: what
    :meth:`mkdocs.structure.pages.Page._set_canonical_url` makes of a plain URL (only folders of
    :data:`_PLAIN_SEGMENT`) is these with the URL appended, so ``urljoin`` and ``urlsplit`` (most
    of a ``Page``'s making) run once, not for each of 13,000 pages."""

    def __init__(self, site_url: str | None) -> None:
        from urllib.parse import urljoin, urlsplit

        self.site_url = site_url
        if site_url:
            base = site_url if site_url.endswith("/") else site_url + "/"
            # (the base's own dot segments, query and fragment are resolved as urljoin resolves them)
            self.canonical = urljoin(base, "x")[:-1]
            self.absolute = urlsplit(self.canonical + "x").path[:-1]

    def set(self, page, url: str) -> bool:
        """Give ``page`` its canonical and absolute URLs as MkDocs would; False when ``url`` is not plain."""
        urls = self.urls(url)
        if urls is None:
            return False
        page.canonical_url, page.abs_url = urls
        return True

    def urls(self, url: str) -> tuple[str | None, str | None] | None:
        """The canonical and absolute URLs MkDocs gives a page at ``url``; None when it is not plain."""
        if not self.site_url:
            return None, None
        if not url.endswith("/") or not all(_PLAIN_SEGMENT.fullmatch(part) for part in url[:-1].split("/")):
            return None
        return self.canonical + url, self.absolute + url


def page_address(file) -> tuple[str, str]:
    """The destination and URL of a generated page's ``file``, computed from its path as
    :class:`~mkdocs.structure.files.File` computes them, and kept on it as MkDocs keeps them."""
    known = file.__dict__
    dest_uri = known.get("dest_uri")
    if dest_uri is None:
        dest_uri = file.dest_uri = _page_dest(file.src_uri, file.use_directory_urls)
    url = known.get("url")
    if url is None:
        url = file.url = _page_url(dest_uri, file.use_directory_urls)
    return dest_uri, url


def set_up_page(file, config, *, build_date: str, address: SiteAddress):
    """``Page(None, file, config)`` (MkDocs 1.6) of one of weike's generated pages, with its build
    date given: the same attributes, without a ``urljoin`` per page (:class:`SiteAddress`) or a
    date asked of the system. Its file's destination and URL are computed from its path as
    :class:`~mkdocs.structure.files.File` computes them. tests/plugins/site/test_site_engine.py
    holds the two pages equal."""
    from mkdocs.structure.pages import Page

    page_address(file)
    # (MkDocs' Config is a UserDict with no __missing__: its get is its dict's, without a KeyError
    # raised and caught for each setting it lacks)
    settings = getattr(config, "data", config)
    site_url = settings.get("site_url", None)
    if address.site_url != site_url:
        address = SiteAddress(site_url)
    page = Page.__new__(Page)
    file.page = page
    page.file = file
    page.children = None
    page.previous_page = None
    page.next_page = None
    page.active = False
    page.update_date = build_date
    if not address.set(page, page.url):
        page._set_canonical_url(site_url)
    page._set_edit_url(settings.get("repo_url", None), settings.get("edit_uri"), settings.get("edit_uri_template"))
    page.markdown = None
    page._title_from_render = None
    page.content = None
    page.toc = []
    page.meta = {}
    return page


def search_excluded(page) -> bool:
    """Whether ``page`` (a :class:`GeneratedPage` or an MkDocs ``Page``: its ``meta``) is left out
    of Material's search (``search: {exclude: true}``)."""
    return bool((page.meta.get("search") or {}).get("exclude"))


def _body_only(page, config, files) -> None:
    """``Page.render`` for a generated page: its body comes whole from weike, so Python-Markdown is
    not set up for an empty source (a millisecond a page, 13,000 times at catalogue scale)."""
    page.content = ""
    page.toc = get_toc([])
    page.present_anchor_ids = set()


class GeneratedPages(BasePlugin):
    """Serves ``pages`` (docs-relative ``.md`` path -> :class:`GeneratedPage`) and static ``files``;
    those in ``kept_pages`` / ``kept_files`` are not rendered or copied (the site has them)."""

    def __init__(self, pages: dict[str, GeneratedPage | RememberedPage], files: Mapping[str, Path], *,
                 kept_pages: frozenset[str] = frozenset(), kept_files: frozenset[str] = frozenset(),
                 kept_nav_pages: frozenset[str] = frozenset(), kept_templates: frozenset[str] = frozenset(),
                 static_digest: Callable[[str, str], str] | None = None,
                 static_kept: Callable[[str, str], bool] = lambda rel, digest: False,
                 remake_course: Callable[[str], None] | None = None) -> None:
        super().__init__()
        #: Makes the course of the given slug again, its pages put into ``pages`` (a remembered
        #: course whose memo turned out gone when its pages were to be rendered).
        self.remake_course = remake_course
        #: What a static file of the theme or of site/ is made from (its site path, its source),
        #: and whether the site holds it as made from that (then it is not copied).
        self.static_digest = static_digest
        self.static_kept = static_kept
        #: Filled by ``on_files``: each such file's digest, and those kept.
        self.static_made_from: dict[str, str] = {}
        self.kept_static: list[str] = []
        self.kept_templates = kept_templates
        self.pages = pages
        self.files = files
        self.kept_pages = kept_pages
        self.kept_nav_pages = kept_nav_pages
        self.kept_files = kept_files
        self.navigation_cache = NavigationCache()

    def renders_anywhere(self, src_uri: str) -> bool:
        """Whether the page ``src_uri`` may be rendered in any process: one of weike's pages, which
        Material's search does not index (so no state of the build gathers anything from its
        rendering). A remembered page is a course's page, search-excluded by construction
        (``course_page``, ``lecture_page``: tests/plugins/site hold it so), so its memo is not read
        to decide; :meth:`searched` asks again once it is read."""
        generated = self.pages.get(src_uri)
        return isinstance(generated, RememberedPage) or (generated is not None and search_excluded(generated))

    def searched(self, src_uri: str) -> bool:
        """Whether Material's search indexes the page ``src_uri`` as loaded (:meth:`load`)."""
        generated = self.pages.get(src_uri)
        return not isinstance(generated, GeneratedPage) or not search_excluded(generated)

    def load(self, src_uri: str) -> bool:
        """Make the page ``src_uri`` ready to be set up in this process: a remembered page's metadata and
        body read from its course's memo. False when the memo cannot give them (gone or damaged
        since the build found it): :meth:`remake` its course, then load it again."""
        page = self.pages.get(src_uri)
        if isinstance(page, RememberedPage):
            try:
                self.pages[src_uri] = GeneratedPage(meta=page.meta, html=page.html)
            except (MemoMissing, KeyError):
                return False
        return True

    def remake(self, src_uri: str) -> None:
        """Make the course of the remembered page ``src_uri`` again (its pages replace those remembered)."""
        page = self.pages.get(src_uri)
        if isinstance(page, RememberedPage) and self.remake_course is not None:
            self.remake_course(page.slug)
        if isinstance(self.pages.get(src_uri), RememberedPage):
            raise BuildError(f"The page '{src_uri}' could not be made: its course's remembered pages are gone")

    def populates_alone(self, config) -> bool:
        """Whether this plugin's handlers are the only ones of the events that make a page's body
        (``pre_page``, ``page_read_source``, ``page_markdown``, ``page_content``) and MkDocs logs
        no event run (debug): then :meth:`populate` does what MkDocs' ``_populate_page`` does."""
        events = config.plugins.events
        return (events["pre_page"] == [self.on_pre_page] and not events["page_read_source"]
                and events["page_markdown"] == [self.on_page_markdown]
                and events["page_content"] == [self.on_page_content]
                and not logging.getLogger("mkdocs.plugins").isEnabledFor(logging.DEBUG))

    def populated_alone(self, file) -> GeneratedPage | None:
        """The loaded page of ``file`` when :meth:`populate` populates it (its metadata and body
        are then the page's), else None."""
        generated = self.pages.get(file.src_uri)
        if type(generated) is not GeneratedPage or getattr(file, "_content", None) != "":
            return None
        return generated

    def populate(self, page, config, files) -> bool:
        """:func:`mkdocs.commands.build._populate_page` (MkDocs 1.6, not dirty) of one of this
        plugin's loaded pages, without running its events one by one, when :meth:`populates_alone`
        says they are this plugin's only: the page ends as they leave it (its empty source read,
        its metadata and body weike's). False (nothing done) for any other page: populate it so."""
        generated = self.populated_alone(page.file)
        if generated is None:
            return False
        page.render = _body_only.__get__(page)  # (on_pre_page)
        page.meta = dict(generated.meta)  # (read_source's empty metadata, then on_page_markdown's)
        if page.file.src_uri in self.kept_nav_pages:
            page.meta["template"] = KEPT_TEMPLATE
        page.markdown = ""
        _body_only(page, config, files)
        page.content = generated.html  # (on_page_content)
        return True

    def on_files(self, files: Files, *, config) -> Files:
        # The theme's static files and those of site/: kept where the site holds them as made.
        if self.static_digest is not None:
            for file in list(files):
                if file.is_documentation_page() or file.abs_src_path is None:
                    continue
                digest = self.static_digest(file.dest_uri, file.abs_src_path)
                self.static_made_from[file.dest_uri] = digest
                if self.static_kept(file.dest_uri, digest):
                    files.remove(file)
                    files.append(KeptFile(file.src_uri, dest_dir=config.site_dir, page=False, src_dir=file.src_dir,
                                          use_directory_urls=config.use_directory_urls))
                    self.kept_static.append(file.dest_uri)
        plugin = config.plugins._current_plugin or "<unknown>"
        site_dir, directory_urls = config.site_dir, config.use_directory_urls
        for uri in self.pages:
            if uri in self.kept_pages:
                files.append(KeptFile(uri, dest_dir=site_dir, use_directory_urls=directory_urls, page=True,
                                      generated_by=plugin))
            else:
                files.append(generated_file(uri, dest_dir=site_dir, use_directory_urls=directory_urls,
                                            generated_by=plugin, content=""))
        for uri, path in self.files.items():
            if uri in self.kept_files:
                files.append(KeptFile(uri, dest_dir=site_dir, use_directory_urls=directory_urls, page=False,
                                      generated_by=plugin))
            else:
                files.append(generated_file(uri, dest_dir=site_dir, use_directory_urls=directory_urls,
                                            generated_by=plugin, abs_src_path=str(path)))
        return files

    def on_pre_page(self, page, *, config, files):
        if page.file.src_uri in self.pages:
            page.render = _body_only.__get__(page)
        return page

    def on_config(self, config):
        # MkDocs' sitemap is replaced by weike's; a theme page the site holds as this build would
        # write it (404.html, whose frame is every page's) is not rendered again.
        config.theme.static_templates -= {"sitemap.xml", *self.kept_templates}
        return config

    def on_env(self, env, *, config, files):
        env.bytecode_cache = COMPILED_TEMPLATES
        env.globals["weike_nav_cache"] = self.navigation_cache
        env.auto_reload = False
        return env

    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        generated = self.pages.get(page.file.src_uri)
        if generated is None:
            return markdown
        page.meta = dict(generated.meta)
        if page.file.src_uri in self.kept_nav_pages:
            page.meta["template"] = KEPT_TEMPLATE
        return ""

    def on_page_content(self, html: str, *, page, config, files) -> str:
        generated = self.pages.get(page.file.src_uri)
        return html if generated is None else generated.html
