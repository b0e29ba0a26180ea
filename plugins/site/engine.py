"""The MkDocs run: ``mkdocs.yml`` (the repository's, or weike's default) read into :class:`SiteSettings`,
the keys weike sets on top of it, and MkDocs itself, its warnings captured and its failures made
diagnostics (E401 configuration, E402 theme template, E403 build).
"""

from __future__ import annotations

import copy
import io
import logging
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from weike.builder.contracts.model import Diagnostic, SourceLocation
from weike.builder.keeping import outputs
from weike.plugins.site import workers
from weike.plugins.site.manifest import WrittenFiles
from weike.plugins.site.frames import ENCODING_ERRORS, PageFrames, model_key
from weike.plugins.site.contributed import SiteAsset
from weike.plugins.site.generated import (GeneratedPages, SiteAddress, _page_dest, compile_templates_once, page_address,
                                          search_excluded, set_up_page)
from weike.plugins.site.settings import SEARCH_NOTES, read_weike_extra

THEME_DIR = Path(__file__).resolve().parent / "theme"
DEFAULT_CONFIG = THEME_DIR / "mkdocs.yml"
SITE_SOURCES_DIR = "site"
CONFIG_FILE = "mkdocs.yml"
DEFAULT_SITE_NAME = "社区教育微课"
#: Whether a build that shares its pages among processes fills weike's pages into frames rendered
#: once per shape (:mod:`weike.plugins.site.frames`) instead of rendering each through Jinja.
FRAMES = True
#: Where a build that shares its pages says how many were filled into frames (INFO).
FRAMES_LOG = "weike.site.frames"
#: How a page was rendered, as a render reports it: by Jinja, filled into a frame as a page set up
#: by MkDocs, filled into a frame straight from the site model (:meth:`PageFrames.fill_from_model`).
BY_JINJA, FILLED, FILLED_FROM_MODEL = 0, 1, 2

class SiteBuildFailed(Exception):
    """MkDocs could not build the site; ``diagnostic`` says where the problem is."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message_en)
        self.diagnostic = diagnostic


# --------------------------------------------------------------------------------------------
# Settings: mkdocs.yml (the repository's, or weike's default)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SiteSettings:
    config_file: Path
    #: The file's values (tags resolved), for the keys weike merges with its own.
    raw: Mapping
    site_url: str | None
    #: ``extra.weike``, read by its declarations (:data:`weike.plugins.site.settings.SITE_EXTRA`).
    weike: Mapping = field(default_factory=dict)
    #: What is wrong in ``extra.weike`` (W408 at its line; the defaults were used).
    problems: tuple[Diagnostic, ...] = ()

    @property
    def search_notes(self) -> bool:
        """``extra.weike.search_notes``: put lecture notes into the search index."""
        return bool(SEARCH_NOTES.value_in(self.weike))

    @property
    def site_name(self) -> str:
        return str(self.raw.get("site_name") or DEFAULT_SITE_NAME)


def load_settings(root: Path, site_url: str | None) -> SiteSettings:
    """Read ``mkdocs.yml`` at ``root`` (or weike's default); raises :class:`SiteBuildFailed`."""
    import yaml
    from mkdocs.exceptions import ConfigurationError
    from mkdocs.utils.yaml import yaml_load

    path = root / CONFIG_FILE
    source = path if path.is_file() else DEFAULT_CONFIG
    try:
        with source.open("rb") as handle:
            raw = yaml_load(handle) or {}
    except (OSError, yaml.YAMLError, ValueError, ConfigurationError) as exc:
        cause = exc.__context__ if isinstance(exc, ConfigurationError) and exc.__context__ else exc
        mark = getattr(cause, "problem_mark", None)
        problem = getattr(cause, "problem", None) or type(cause).__name__
        raise SiteBuildFailed(Diagnostic.error(
            "E401", SourceLocation(file=CONFIG_FILE, line=mark.line + 1 if mark else None,
                                   column=mark.column + 1 if mark else None),
            f"mkdocs.yml 无法读取（YAML：{problem}）", f"mkdocs.yml cannot be read: {problem}",
            hint="检查缩进和冒号；也可以删掉 mkdocs.yml，使用 weike 的默认网站设置。")) from exc
    if not isinstance(raw, dict):
        raise SiteBuildFailed(Diagnostic.error("E401", SourceLocation(file=CONFIG_FILE, line=1),
                                     "mkdocs.yml 的内容应当是“键: 值”的设置", "mkdocs.yml must be a mapping"))
    weike, problems = read_weike_extra(source.read_text(encoding="utf-8-sig"), file=CONFIG_FILE)
    url = site_url or raw.get("site_url") or None
    if url and not str(url).endswith("/"):
        url = f"{url}/"
    return SiteSettings(config_file=source, raw=raw, site_url=url, weike=weike, problems=problems)


def plugin_entries(raw_plugins) -> list:
    if raw_plugins is None:
        return ["search"]
    if isinstance(raw_plugins, dict):
        return [{name: options} for name, options in raw_plugins.items()]
    return list(raw_plugins)


def plugin_name(entry) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


#: weike's scripts, on every page (each is a no-op where its elements are absent). The search
#: script is not among them: partials/search.html loads it async, without waiting for Material's bundle.
WEIKE_SCRIPTS = ("assets/weike/weike.js", "assets/weike/progress.js", "assets/weike/read-aloud.js")


def mkdocs_overrides(settings: SiteSettings, *, docs_dir: Path, site_dir: Path, overrides_dir: Path,
                     nav: list, plugin_assets: Sequence[SiteAsset] = ()) -> dict:
    """The keys weike sets on top of ``mkdocs.yml`` (everything else is the file's own)."""
    raw = settings.raw
    theme = raw.get("theme") or {}
    theme = {"name": theme} if isinstance(theme, str) else copy.deepcopy(dict(theme))
    theme["name"] = "material"  # the pages use Material's layout and search
    theme.setdefault("language", "zh")
    # Google Fonts are slow or blocked in China: the system fonts are used (no outside request).
    theme["font"] = False
    theme["custom_dir"] = str(overrides_dir)
    plugins = plugin_entries(raw.get("plugins"))
    if not any(plugin_name(entry) in ("search", "material/search") for entry in plugins):
        plugins.insert(0, "search")
    extra = copy.deepcopy(dict(raw.get("extra") or {}))
    extra.setdefault("generator", False)  # no "Made with Material" link to an outside host
    validation = copy.deepcopy(dict(raw.get("validation") or {}))
    # Course and lecture pages are deliberately not in the navigation.
    validation.setdefault("omitted_files", "ignore")
    return {
        "docs_dir": str(docs_dir),
        "site_dir": str(site_dir),
        "site_url": settings.site_url or "",
        "site_name": settings.site_name,
        # Without a copyright line Material's footer is an empty black strip under every page.
        "copyright": raw.get("copyright") or f"{settings.site_name} · 公益课程，欢迎学习和分享",
        "use_directory_urls": True,
        "theme": theme,
        "plugins": plugins,
        "nav": nav,
        "extra": extra,
        "extra_css": ["assets/weike/weike.css", *(a.site_path for a in plugin_assets if a.load == "style"),
                      *(raw.get("extra_css") or [])],
        "extra_javascript": [*WEIKE_SCRIPTS, *(a.site_path for a in plugin_assets if a.load == "script"),
                             *(raw.get("extra_javascript") or [])],
        "validation": validation,
    }



# --------------------------------------------------------------------------------------------
# MkDocs
# --------------------------------------------------------------------------------------------


class _CollectWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _captured_mkdocs_log() -> Iterator[_CollectWarnings]:
    """MkDocs' warnings become part of the stage's outcome instead of stray console lines."""
    logger = logging.getLogger("mkdocs")
    handler = _CollectWarnings()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def run_mkdocs(settings: SiteSettings, overrides: dict, root: Path, generated: GeneratedPages, *,
               processes: int = 1, written: WrittenFiles | None = None,
               written_after: Collection[str] = (), once_indexed: Callable[[bytes], None] | None = None,
               once_indexed_weight: float = 0.0, before_render: Callable[[], None] | None = None) -> list[str]:
    """Build with MkDocs; returns its warnings, raises :class:`SiteBuildFailed` on failure.

    ``processes`` > 1 shares the generated pages among that many processes
    (:mod:`weike.plugins.site.workers`); only for a configuration whose plugins keep each page a
    function of its own inputs (:func:`weike.plugins.site.incremental.renders_incrementally`).
    ``written`` (of the folder built into) receives the record of every page written, whichever
    process wrote it (:class:`~weike.plugins.site.manifest.WrittenFiles`), and of the static files
    but those in ``written_after`` (which the caller writes again after the render).

    ``once_indexed`` is the caller's work on Material's search index, done in this process while
    the workers render (:func:`_build_sharing_pages`), as many pages' worth as
    ``once_indexed_weight``; given the bytes Material's search will write, it may write below
    ``search/`` and the files of ``written_after`` (no page or static file copied with the pages
    is there); not called in a build rendered by one process.

    ``before_render`` is called once the site is set up (configuration, files, navigation, the
    pages the build renders read), before any static file is copied or page rendered: the
    caller's wait for what it writes aside meanwhile (a cold build's plugins' files).
    """
    import jinja2
    from mkdocs import exceptions
    from mkdocs.config import load_config

    from weike.plugins.site.search import _jieba

    _jieba()  # quiet jieba before Material's search plugin uses it
    failures = (exceptions.MkDocsException, exceptions.Abort, OSError, ValueError, KeyError)
    with _captured_mkdocs_log() as captured:

        def failed(code: str, what: str, what_en: str, exc: BaseException) -> SiteBuildFailed:
            from weike.builder.keeping.disk import disk_fault

            # A full disk is no fault of mkdocs.yml: say what happened, not "delete mkdocs.yml".
            # MkDocs writes into a temp folder beside the site: name the site itself.
            building = Path(overrides["site_dir"])
            site_dir = building.with_name(outputs.temp_target(building.name) or building.name)
            if (fault := disk_fault(exc, root=root, writing=site_dir)) is not None:
                return SiteBuildFailed(fault)
            detail = "; ".join(captured.lines[-3:]) or f"{type(exc).__name__}: {exc}"
            return SiteBuildFailed(Diagnostic.error(
                code, SourceLocation(file=CONFIG_FILE), f"网站{what}失败：{detail}", f"site {what_en} failed: {detail}",
                hint="检查 mkdocs.yml 和 site/ 中最近的修改；删掉 mkdocs.yml 可恢复默认设置。"))

        try:
            with settings.config_file.open("rb") as handle:
                # Relative paths in the repository's mkdocs.yml (hooks, INHERIT) mean the repository root.
                config = load_config(config_file=io.BytesIO(handle.read()),
                                     config_file_path=str(root / CONFIG_FILE), **overrides)
        except failures as exc:
            raise failed("E401", "配置", "configuration", exc) from exc
        config.plugins["weike/generated"] = generated
        compile_templates_once(config.theme)
        try:
            _build_sharing_pages(config, processes=processes, generated=generated, written=written,
                                 written_after=written_after, once_indexed=once_indexed,
                                 once_indexed_weight=once_indexed_weight, before_render=before_render)
        except jinja2.TemplateError as exc:
            raise SiteBuildFailed(_template_error(exc, root, Path(overrides["theme"]["custom_dir"]))) from exc
        except failures as exc:
            raise failed("E403", "构建", "build", exc) from exc
        finally:
            _let_go(config.plugins, generated)
    return captured.lines


def _let_go(plugins, plugin) -> None:
    """Take ``plugin`` out of MkDocs' plugin collection (its name and its event methods) once the
    build is over. MkDocs' ``plugins`` option object is part of its configuration class and keeps the
    last collection it made for the life of the process: a plugin left in it would keep everything it
    holds (the build's pages, its courses through the course-remaking call) alive until the
    interpreter tears it down, about a second at the end of every `weike build` of 1,000 courses,
    and held in memory between `weike serve`'s rebuilds."""
    for name in [name for name, value in plugins.items() if value is plugin]:
        dict.__delitem__(plugins, name)
    for methods in plugins.events.values():
        methods[:] = [method for method in methods if getattr(method, "__self__", None) is not plugin]
    for method in [method for method in plugins._event_origins if getattr(method, "__self__", None) is plugin]:
        del plugins._event_origins[method]


def _build_sharing_pages(config, *, processes: int, generated: GeneratedPages,
                         written: WrittenFiles | None = None, written_after: Collection[str] = (),
                         once_indexed: Callable[[bytes], None] | None = None,
                         once_indexed_weight: float = 0.0, before_render: Callable[[], None] | None = None) -> None:
    """:func:`mkdocs.commands.build.build` (MkDocs 1.6, no serve, not dirty) step for step, but its
    page loop shared among ``processes`` processes (:func:`weike.plugins.site.workers.share_work`);
    a worker may render the pages ``generated`` renders anywhere (:meth:`GeneratedPages.renders_anywhere`).
    With one process, every page is rendered here through Jinja, as ``mkdocs build`` renders it.

    Every page is read, the navigation made and the theme's assets copied first, as MkDocs does,
    but for the pages a worker may render that the navigation does not name (weike's course and
    lecture pages, when :func:`_pages_set_up_where_rendered` allows it): each of those gets its
    ``Page``, its plugin events up to ``page_content`` and its body (a remembered page's read from
    its memo) in the process that renders it. The pages are rendered, each on its own, in any
    process; one whose memo turned out gone is rendered here once its course is made again; then
    the search index (the pages it indexes are never shared: Material's search plugin gathers them
    in this process), as MkDocs does. The theme's static files are listed by
    :func:`add_theme_files`, not MkDocs' own listing. Every page but a draft is written by
    ``written`` (its record handed back by the process that wrote it), a draft by MkDocs.

    In a build that shares its pages, this process renders the pages only it may render first
    (those Material's search indexes among them): then the search index holds every entry it will
    write, and ``once_indexed`` is given its bytes (:func:`_search_index_now`) while the workers
    render; this process's share of the others is smaller by ``once_indexed_weight`` pages.
    """
    from mkdocs import utils
    from mkdocs.commands.build import _build_extra_template, _build_page, _build_theme_template, _populate_page
    from mkdocs.exceptions import Abort, BuildError
    from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
    from mkdocs.structure.nav import get_navigation
    from mkdocs.structure.pages import Page

    log = logging.getLogger("mkdocs.commands.build")
    warning_counter = utils.CountHandler()
    warning_counter.setLevel(logging.WARNING)
    if config.strict:
        logging.getLogger("mkdocs").addHandler(warning_counter)
    inclusion = InclusionLevel.is_included
    try:
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
        utils.clean_directory(config.site_dir)
        if written is None or written.folder != os.path.abspath(config.site_dir):
            written = WrittenFiles(Path(config.site_dir))  # (a plugin moved the site: nothing handed over)

        # First gather all data from all files and pages, so that every page sees the same.
        files = get_files(config)
        env = config.theme.get_env()
        add_theme_files(files, config)
        files = config.plugins.on_files(files, config=config)
        set_exclusions(files, config)
        # A build that shares its pages runs no plugin but Material's search and weike's own, which
        # change no file after on_files: its documentation pages are listed once (MkDocs lists them
        # four times, each a pass over every file).
        pages = files.documentation_pages(inclusion=inclusion) if processes > 1 else None
        later = _pages_set_up_where_rendered(files, config, generated) if processes > 1 else set()
        nav = get_navigation(_NavigationFiles(files, later, pages) if later else files, config)
        later = {file for file in later if file.page is None}  # (the navigation's own are set up here)
        nav = config.plugins.on_nav(nav, config=config, files=files)
        for file in pages if pages is not None else files.documentation_pages(inclusion=inclusion):
            if file in later:
                continue
            if file.page is None and file.inclusion.is_not_in_nav():
                Page(None, file, config)
            assert file.page is not None
            if not generated.load(file.src_uri):
                generated.remake(file.src_uri)
                generated.load(file.src_uri)
            _populate_page(file.page, config, files, False)
        env = config.plugins.on_env(env, config=config, files=files)
        if before_render is not None:  # (nothing is copied yet)
            before_render()

        # Then write: lower precedence first, so that files of higher precedence overwrite them.
        copies = copy_static_files(files, config, written, inclusion=inclusion, written_after=written_after,
                                   later=processes > 1)
        for template in config.theme.static_templates:
            _build_theme_template(template, env, files, config, nav)
        for template in config.extra_templates:
            _build_extra_template(template, files, config, nav)
        doc_files = pages if pages is not None else files.documentation_pages(inclusion=inclusion)

        frames = PageFrames(nav) if FRAMES and processes > 1 else None
        contexts = PageContexts() if frames is not None else None
        build_date = utils.get_build_date()  # (a worker's pages carry the build's date, as their Page made here would)
        address = SiteAddress(config.get("site_url", None))
        populates_alone = generated.populates_alone(config)  # (weike's own pages, no event of another's)
        # weike's own renderer: a page set up where it is rendered, populated by weike alone, of a
        # model shape one of its pages was filled into a frame of, is filled straight from the site
        # model (frames.model_key), while no other plugin or hook handles page_context or post_page
        # (the events _build_framed_page leaves out for a filled page).
        from_model = (frames is not None and populates_alone and not config.plugins.events["post_page"]
                      and _only_search_handles_page_context(config))
        context_folders = contexts.first_folders(config) if from_model else frozenset()

        def fill_from_model(file) -> tuple[list | None, tuple | None]:
            """The record of ``file``'s page filled straight from the site model, or None; and its
            model shape, when its page, set up by MkDocs, would teach its frame."""
            model_page = generated.populated_alone(file)
            if model_page is None or file.src_uri in generated.kept_nav_pages:
                return None, None
            dest_uri, url = page_address(file)
            urls = address.urls(url)
            if urls is None:
                return None, None
            model = model_key(url, file.name == "index", model_page.meta, model_page.html, context_folders)
            if model is None:
                return None, None
            data = frames.fill_from_model(model, model_page.meta, model_page.html, url, *urls)
            return (None if data is None else written.write(dest_uri, data)), model

        def render(file) -> tuple[int, list | None] | None:
            if file.inclusion.is_excluded():  # a draft: MkDocs' own, its marker added
                _build_page(file.page, config, doc_files, nav, env, False, excluded=True)
                return BY_JINJA, None
            model = None
            if file in later:
                if not generated.load(file.src_uri):
                    return None  # its memo is gone: rendered by the build once its course is made again
                if from_model:
                    record, model = fill_from_model(file)
                    if record is not None:
                        return FILLED_FROM_MODEL, record
                page = set_up_page(file, config, build_date=build_date, address=address)
                if not (populates_alone and generated.populate(page, config, files)):
                    _populate_page(page, config, files, False)
                    model = None
                if workers.in_worker() and generated.searched(file.src_uri):
                    raise _IndexedBySearch(file.src_uri)  # (the build renders the worker's share itself)
            shared = generated.renders_anywhere(file.src_uri)
            if not shared:
                return _build_framed_page(file.page, config, doc_files, nav, env, None, written)
            return _build_framed_page(file.page, config, doc_files, nav, env, frames, written, contexts, model=model)

        def render_or_copy(file) -> tuple[int, list | None] | None:
            if file in copying:
                return BY_JINJA, copy_recorded(file.abs_src_path, file.dest_uri, written)
            return render(file)

        # The static files left to copy are spread among the pages, so each process copies its part.
        copying = set(copies)
        items = spread(doc_files, copies)
        search = _material_search(config) if once_indexed is not None and processes > 1 else None

        def indexed() -> None:
            try:
                index = _search_index_now(search)
            except (AttributeError, TypeError):
                return  # (another Material's plugin: the caller makes its work after the render)
            once_indexed(index)

        rendered = workers.share_work(
            items, render_or_copy, processes=processes,
            shared=lambda file: file in later or file in copying or generated.renders_anywhere(file.src_uri),
            meanwhile=indexed if search is not None else None, meanwhile_weight=once_indexed_weight)
        for number, file in enumerate(items):
            if rendered[number] is None:  # a remembered page whose memo was gone where it was to be rendered
                generated.remake(file.src_uri)
                rendered[number] = render(file)
        framed = from_model_count = 0
        for file, (filled, record) in zip(items, rendered, strict=True):
            framed += filled != BY_JINJA
            from_model_count += filled == FILLED_FROM_MODEL
            if record is not None:
                written.add(_destination(file), record)
        if processes > 1:  # (a serial build renders every page by Jinja: no count)
            logging.getLogger(FRAMES_LOG).info("%d of %d pages filled into frames, %d straight from the site model",
                                               framed, len(doc_files), from_model_count)

        # A page set up where it was rendered has no Page here: one a page links to with an anchor
        # gets one as weike's pages are set up (no anchors: GeneratedPages' _body_only), so the
        # link is checked as MkDocs checks it.
        log_level = config.validation.links.anchors
        for file in doc_files:
            if file.page is None:
                continue
            for target in file.page.links_to_anchors or ():
                if target.page is None and target in later:
                    Page(None, target, config).present_anchor_ids = set()
        for file in doc_files:
            if file.page is not None:
                file.page.validate_anchor_links(files=files, log_level=log_level)
        config.plugins.on_post_build(config=config)
        if counts := warning_counter.get_counts():
            msg = ", ".join(f"{v} {k.lower()}s" for k, v in counts)
            raise Abort(f"Aborted with {msg} in strict mode!")
        _unlink_pages(files)
    except Exception as e:
        config.plugins.on_build_error(error=e)
        if isinstance(e, BuildError):
            log.error(str(e))
            raise Abort("Aborted with a BuildError!")
        raise
    finally:
        logging.getLogger("mkdocs").removeHandler(warning_counter)


def _destination(file) -> str:
    """``file.dest_uri``, a page's computed as weike computes its own pages' (``_page_dest``, held
    equal to MkDocs' by tests/plugins/site/test_site_engine.py: a tenth of its time, not kept on
    the file, as no other part asks): the build's process gathers the records of the pages a worker
    wrote, whose destination it has not computed (13,000 at catalogue scale, after the render, one
    core busy)."""
    dest_uri = file.__dict__.get("dest_uri")
    if dest_uri is not None:
        return dest_uri
    return _page_dest(file.src_uri, file.use_directory_urls) if file.is_documentation_page() else file.dest_uri


def _unlink_pages(files) -> None:
    """Undo the cycles each page of a finished build is in, so that reference counting frees the
    pages, their files and all they hold as soon as the build lets go of them: MkDocs' ``File.page``
    and ``Page.file`` point at each other, and a page weike sets up holds its own ``render`` bound
    to itself (``GeneratedPages``). Left to the cyclic collector, 13,000 pages and what they reach
    were a walk of about a quarter second after a cold build of 1,000 courses."""
    for file in files:
        page = file.page
        if page is not None:
            page.__dict__.pop("render", None)
            file.page = None


def _material_search(config):
    """Material's search plugin of ``config`` when its index can be known before the build's end
    (enabled, no index of an earlier build to merge with: MkDocs' dirty reload); else None."""
    try:
        from material.plugins.search.plugin import SearchPlugin
    except ImportError:
        return None
    found = [plugin for plugin in config.plugins.values() if isinstance(plugin, SearchPlugin)]
    if len(found) != 1 or not found[0].config.enabled or found[0].search_index_prev is not None:
        return None
    return found[0]


def _search_index_now(search) -> bytes:
    """The bytes Material's ``search`` plugin writes in ``on_post_build`` (Material 9.5-9.8), from
    the entries it holds now: the caller checks them against the file written."""
    return search.search_index.generate_search_index(None).encode("utf-8")


def copy_static_files(files, config, written: WrittenFiles, *, inclusion, written_after: Collection[str] = (),
                      later: bool = False) -> list:
    """:meth:`Files.copy_static_files <mkdocs.structure.files.Files.copy_static_files>` (MkDocs 1.6,
    not dirty): a plain file from a source file (the theme's assets, ``site/``'s files, weike's
    cover thumbnails and notes' pictures) is written by ``written`` from its bytes
    (:func:`copy_recorded`: its folder made once, not MkDocs' ``makedirs`` and ``isdir`` for every
    file, and its record taken from those bytes, not read back by
    :func:`~weike.plugins.site.manifest.record_all`), unless a theme or extra template writes its
    path afterwards (those writers do not record what they write) or the caller does
    (``written_after``); any other file is copied by MkDocs, here.

    With ``later``, the files :func:`copy_recorded` copies are returned instead, to be copied with
    the pages, in any process; but those named like a page (``.html``), which a page of the same
    path must overwrite, as in MkDocs' order, are copied here, and so are those below ``search/``,
    where the search index is made while the pages render (``once_indexed``)."""
    from mkdocs.structure.files import File

    templated = {*config.theme.static_templates, *config.extra_templates, *written_after}
    copies = []
    for file in files:
        if file.is_documentation_page() or not inclusion(file.inclusion):
            continue
        if type(file) is File and file._content is None and file.abs_src_path is not None \
                and file.dest_uri not in templated:
            if later and not file.dest_uri.endswith((".html", ".htm")) and not file.dest_uri.startswith("search/"):
                copies.append(file)
            else:
                written.add(file.dest_uri, copy_recorded(file.abs_src_path, file.dest_uri, written))
        else:
            file.copy_file(False)
    return copies


def copy_recorded(source: str, rel: str, written: WrittenFiles) -> list:
    """Copy the file ``source`` to ``rel`` of ``written``'s folder; returns its record, taken from its
    bytes (for :meth:`~weike.plugins.site.manifest.WrittenFiles.add`, in the process that gathers them)."""
    with open(source, "rb") as handle:
        data = handle.read()
    return written.write(rel, data)


def spread(pages: Sequence, others: Sequence) -> list:
    """``pages`` in their order with ``others`` in theirs spread evenly among them (so any contiguous
    share of the list holds its part of each)."""
    if not others:
        return list(pages)
    merged, taken = [], 0
    for number, page in enumerate(pages):
        merged.append(page)
        due = (number + 1) * len(others) // len(pages)
        merged.extend(others[taken:due])
        taken = due
    merged.extend(others[taken:])
    return merged


class _IndexedBySearch(Exception):
    """A page a worker was to render turned out one Material's search indexes: never so for a
    course's page; the worker fails, and the build renders its share itself."""


def _pages_set_up_where_rendered(files, config, generated: GeneratedPages) -> set:
    """The files of the pages a worker may render whose ``Page`` and plugin events may wait for the
    process that renders them: none when anything before the page loop could read them (MkDocs'
    own navigation of every page, when ``mkdocs.yml``'s is missing; its list of the pages the
    navigation omits, when that is logged) or a template may (:func:`_templates_read_every_page`)."""
    if config["nav"] is None or logging.getLogger("mkdocs.structure.nav").isEnabledFor(
            config.validation.nav.omitted_files) or _templates_read_every_page(config):
        return set()
    src_uris = files.src_uris
    later = set()
    for uri in generated.pages:
        file = src_uris.get(uri)
        if (file is not None and file.is_documentation_page() and file.inclusion.is_included()
                and generated.renders_anywhere(uri)):
            later.add(file)
    return later


def _templates_read_every_page(config) -> bool:
    """Whether a template of the theme's custom folder (weike's overrides and the repository's)
    names ``pages``, MkDocs' list of every page, whose ``Page`` objects a worker does not all have.
    Material's and MkDocs' own templates never do (tests/plugins/site/test_site_engine.py)."""
    folder = config.theme.custom_dir
    if not folder:
        return False
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            path = os.path.join(dirpath, filename)
            if filename.endswith((".html", ".htm", ".xml", ".j2", ".jinja")) and not _shipped_override(path, folder) \
                    and reads_every_page(path):
                return True
    return False


def _shipped_override(path: str, folder: str) -> bool:
    """Whether the template ``path`` of the custom folder ``folder`` is one of weike's overrides as
    weike ships it, byte for byte: none reads every page (tests/plugins/site/test_site_engine.py),
    so it need not be parsed again on every build."""
    shipped = THEME_DIR / "overrides" / os.path.relpath(path, folder)
    try:
        with open(path, "rb") as handle, open(shipped, "rb") as original:
            return handle.read() == original.read()
    except OSError:
        return False


def reads_every_page(template: str) -> bool:
    """Whether the template file ``template`` reads a variable named ``pages`` anywhere (one it
    cannot be parsed counts: the render reports it)."""
    import jinja2
    from jinja2 import nodes

    try:
        with open(template, encoding="utf-8") as handle:
            parsed = jinja2.Environment().parse(handle.read())
    except (OSError, UnicodeDecodeError, jinja2.TemplateError):
        return True
    return any(name.name == "pages" and name.ctx == "load" for name in parsed.find_all(nodes.Name))


class _NavigationFiles:
    """``files`` as :func:`mkdocs.structure.nav.get_navigation` sees them: the pages in ``later``
    are no documentation pages there, so it makes no ``Page`` of them (a page the navigation names
    is found by its path and gets one) and lists none of them as omitted from the navigation."""

    def __init__(self, files, later: set, pages: list | None = None) -> None:
        self._files, self._later, self._pages = files, later, pages

    def get_file_from_path(self, path: str):
        return self._files.get_file_from_path(path)

    def documentation_pages(self, **inclusion):
        # (``pages``: the documentation pages included, listed already)
        pages = self._pages if self._pages is not None and not inclusion else self._files.documentation_pages(**inclusion)
        return [file for file in pages if file not in self._later]


def theme_file_filter(config) -> Callable[[str], bool]:
    """The filter of :meth:`mkdocs.structure.files.Files.add_files_from_theme` (MkDocs 1.6) as string
    tests: ``fnmatch`` of 15 patterns on each of Material's 14,500 files was most of its cost."""
    import fnmatch

    from mkdocs import utils

    suffixes = (".py", ".pyc", ".html", *utils.markdown_extensions)
    templates = tuple(config.theme.static_templates)

    def wanted(name: str) -> bool:
        lower = name.lower()
        # '.*' and '*/.*' ('*' matches '/' too): no part of the path starts with a dot.
        if lower.startswith(".") or "/." in lower or lower.endswith(suffixes) or "readme" in lower:
            return False
        if lower == "mkdocs_theme.yml" or lower.startswith("locales/"):
            return False
        return not any(fnmatch.fnmatch(lower, pattern) for pattern in templates)

    return wanted


def theme_templates(dirs: Sequence[str]) -> list[str]:
    """What :meth:`jinja2.FileSystemLoader.list_templates` lists for ``dirs``, without the folders
    whose name starts with a dot (no file below one passes :func:`theme_file_filter`): Material's
    ``.icons`` are 14,300 of its 14,500 files."""
    found: set[str] = set()
    for searchpath in dirs:
        for dirpath, dirnames, filenames in os.walk(searchpath):
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            prefix = dirpath[len(searchpath):].strip(os.path.sep).replace(os.path.sep, "/")
            for filename in filenames:
                found.add(f"{prefix}/{filename}" if prefix else filename)
    return sorted(found)


def add_theme_files(files, config) -> None:
    """:meth:`~mkdocs.structure.files.Files.add_files_from_theme` (MkDocs 1.6): the theme's static
    files (its assets) join ``files``, those of ``docs_dir`` taking precedence, each from the
    first theme folder that holds it."""
    from mkdocs.structure.files import File

    wanted = theme_file_filter(config)
    dirs = config.theme.dirs
    for path in theme_templates(dirs):
        if wanted(path) and files.get_file_from_path(path) is None:
            for folder in dirs:
                if os.path.isfile(os.path.join(folder, path)):
                    files.append(File(path, folder, config.site_dir, config.use_directory_urls))
                    break


def _build_framed_page(page, config, doc_files, nav, env, frames: PageFrames | None,
                       written: WrittenFiles, contexts: PageContexts | None = None,
                       model: tuple | None = None) -> tuple[int, list | None]:
    """:func:`mkdocs.commands.build._build_page` (not dirty, not a draft), its template rendered
    by ``frames`` where given and the page's shape allows (:mod:`weike.plugins.site.frames`), else
    by Jinja, its context made by ``contexts`` where given, and written by ``written``; returns
    how it was rendered (:data:`FILLED` into a frame, or :data:`BY_JINJA`) and the record of the
    file written (None when the page rendered nothing). ``model``: the page's model shape
    (:func:`~weike.plugins.site.frames.model_key`), given for a page set up as that says."""
    from mkdocs.commands.build import get_context
    from mkdocs.exceptions import BuildError

    log = logging.getLogger("mkdocs.commands.build")
    config._current_page = page
    try:
        page.active = True
        context = contexts.get(nav, doc_files, config, page) if contexts is not None else \
            get_context(nav, doc_files, config, page)
        name = page.meta.get("template", "main.html")
        template = contexts.template(env, name) if contexts is not None else env.get_template(name)
        if frames is None or not (contexts.page_context_idle(config, page) if contexts is not None
                                  else page_context_idle(config, page)):
            context = config.plugins.on_page_context(context, page=page, config=config, nav=nav)
        if frames is not None and not config.plugins.events["post_page"]:
            # No plugin changes the page once rendered: the frame's bytes, filled, are the file's.
            data = frames.render_encoded(page, context, template, name, model=model)
            if data is not None:
                return FILLED, written.write(page.file.dest_uri, data)
        output = frames.render(page, context, template, name) if frames is not None else None
        framed = FILLED if output is not None else BY_JINJA
        if output is None:
            output = template.render(context)
        output = config.plugins.on_post_page(output, page=page, config=config)
        if not output.strip():
            log.info(f"Page skipped: '{page.file.src_uri}'. Generated empty output.")
            return framed, None
        return framed, written.write(page.file.dest_uri, output.encode("utf-8", errors=ENCODING_ERRORS))
    except Exception as e:
        message = f"Error building page '{page.file.src_uri}':"
        if not isinstance(e, BuildError):
            message += f" {e}"
        log.error(message)
        raise
    finally:
        page.active = False
        config._current_page = None


class PageContexts:
    """:func:`mkdocs.commands.build.get_context` (MkDocs 1.6) of the pages of a build, the parts
    made relative to the page (``base_url``, the stylesheets and scripts) made once per depth:
    for a page whose URL is plain folders (``a/b/c/``), ``get_relative_url`` of a path depends only
    on how many folders deep the page is, unless the path's first folder is the page's own (then
    the page's context is MkDocs' own, made for it alone)."""

    def __init__(self) -> None:
        import mkdocs
        from mkdocs import utils
        from mkdocs.commands.build import get_context

        self._made: dict[int, tuple[str, list, list]] = {}
        self._firsts: frozenset | None = None
        self._search_only: bool | None = None
        self._templates: dict[tuple[int, str], tuple] = {}
        self._version, self._build_datetime, self._get_context = mkdocs.__version__, utils.get_build_datetime, get_context

    def first_folders(self, config) -> frozenset:
        """The first folder of every stylesheet and script path made relative to a page (a page
        in one of them has a context of its own)."""
        if self._firsts is None:
            self._firsts = self._first_folders(config)
        return self._firsts

    def _first_folders(self, config) -> frozenset:
        """The first folder of every stylesheet and script path made relative to a page."""
        from mkdocs import utils

        firsts = set()
        for path in (*map(str, config.extra_javascript), *config.extra_css):
            path, level = utils._get_norm_url(path)
            if level != -1:
                parts = utils._norm_parts(path)
                firsts.add(parts[0] if parts else None)
        return frozenset(firsts)

    def template(self, env, name: str):
        """``env.get_template(name)``, kept here once loaded while ``env`` does not reload templates
        (weike's sites: ``GeneratedPages.on_env``), rather than asked of its cache for every page."""
        if env.auto_reload:
            return env.get_template(name)
        loaded = self._templates.get((id(env), name))
        if loaded is None or loaded[0] is not env:
            loaded = self._templates[(id(env), name)] = (env, env.get_template(name))
        return loaded[1]

    def page_context_idle(self, config, page) -> bool:
        """:func:`page_context_idle`, the event's handlers looked at once (they are the build's)."""
        if self._search_only is None:
            self._search_only = _only_search_handles_page_context(config)
        return self._search_only and _idle_for_search(page)

    def get(self, nav, doc_files, config, page):
        """The context MkDocs gives ``page``, ``doc_files`` being the build's documentation pages."""
        get_context = self._get_context
        url = page.url
        folders = url[:-1].split("/") if url.endswith("/") else None
        if self._firsts is None:
            self._firsts = self._first_folders(config)
        if not folders or "" in folders or "." in folders or ".." in folders or folders[0] in self._firsts:
            return get_context(nav, doc_files, config, page)
        made = self._made.get(len(folders))
        if made is None:
            context = get_context(nav, doc_files, config, page)
            self._made[len(folders)] = (context["base_url"], list(context["extra_css"]),
                                        list(context["extra_javascript"]))
            return context
        base_url, extra_css, extra_javascript = made
        # (MkDocs' TemplateContext is a TypedDict: a dict, its keys in this order)
        return {"nav": nav, "pages": doc_files, "base_url": base_url, "extra_css": list(extra_css),
                "extra_javascript": list(extra_javascript), "mkdocs_version": self._version,
                "build_date_utc": self._build_datetime(), "config": config, "page": page}


def page_context_idle(config, page) -> bool:
    """Whether MkDocs' ``page_context`` event would leave ``page`` and its context as they are: its
    only handler is Material's search (9.5-9.8), which indexes no page whose ``search.exclude`` is
    set (every course and lecture page) and takes ``data-search-*`` attributes out of the body,
    here none. Any other plugin or hook handling the event makes it run."""
    return _only_search_handles_page_context(config) and _idle_for_search(page)


def _only_search_handles_page_context(config) -> bool:
    from material.plugins.search.plugin import SearchPlugin

    handlers = config.plugins.events["page_context"]
    return all(getattr(handler, "__func__", None) is SearchPlugin.on_page_context for handler in handlers)


def _idle_for_search(page) -> bool:
    """Whether Material's search leaves ``page`` as it is in its ``page_context`` handler."""
    content = page.content
    return search_excluded(page) and isinstance(content, str) and "data-search-" not in content


def _template_error(exc: Exception, root: Path, overrides_dir: Path) -> Diagnostic:
    filename = getattr(exc, "filename", None) or getattr(exc, "name", None) or ""
    line = getattr(exc, "lineno", None)
    rel = Path(filename).name
    try:
        rel = Path(filename).resolve().relative_to(overrides_dir.resolve()).as_posix()
    except (ValueError, OSError):
        pass
    file = f"{SITE_SOURCES_DIR}/overrides/{rel}" if (root / SITE_SOURCES_DIR / "overrides" / rel).is_file() else CONFIG_FILE
    return Diagnostic.error("E402", SourceLocation(file=file, line=line), f"网站模板出错：{exc}",
                  f"theme template error: {type(exc).__name__}: {exc}",
                  hint="检查 site/overrides/ 中模板的 {% %} 和 {{ }} 是否成对。")
