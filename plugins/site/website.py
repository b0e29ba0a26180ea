"""Build the catalogue website: pages -> MkDocs + Material -> a self-contained static folder.

The build, top to bottom:

1. collect the published courses (cover thumbnails from the cache) and hash every input;
2. if ``site_dir`` was built from the same inputs, stop there (only re-place the media);
3. generate the pages (in memory, the plugins' ``weike_site_pages`` after weike's own) and a work
   folder with ``site/`` and the theme overrides merged;
4. digest each page's inputs (its body, and the frame all pages share: settings, navigation, theme);
   pages whose digest and file are as the site's stamp records are kept, not rendered;
5. run MkDocs programmatically into a temporary folder next to ``site_dir``, the generated pages
   handed over by :class:`~weike.plugins.site.generated.GeneratedPages`;
6. add what MkDocs does not make: the search index entries, ``catalogue.json``, sitemap, feed;
7. publish: a first build swaps the folder into place with ``os.replace``; a rebuild moves in only
   the files whose bytes differ, one ``os.replace`` each, and deletes those no longer made
   (:mod:`weike.plugins.site.manifest`); the delivered media are hard-linked (copied across file
   systems). A killed build never leaves a half-written file, and the next build repairs the rest.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from weike.builder import __version__

from weike.builder.contracts.context import Made
from weike.builder.contracts.model import THEMES, Course, DeliveredMedia, Diagnostic, PROVIDER_LEVELS, SourceLocation
from weike.builder.keeping import outputs
from weike.builder.repository.centre import Centre
from weike.plugins.site.catalogue import (
    LEVEL_SLUGS,
    THEME_SLUGS,
    Catalogue,
    SiteCourse,
    catalogue_json,
    feed_xml,
    site_lectures,
    sitemap_xml,
)
from weike.plugins.site.covers import CoverCache, CoverError, Thumbnail
from weike.builder.contracts.diagnostics import diagnostic_dict, diagnostic_from_dict
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.builder.running.isolation import CourseIsolation
from weike.plugins.notes import lecture_notes, note_pictures
from weike.plugins.site import centres as centre_pages
from weike.plugins.site import manifest
from weike.plugins.site.contributed import OfferedPage, SiteAsset, place_pages
from weike.plugins.site.generated import GeneratedPages
from weike.plugins.site.pages import (
    GeneratedPage,
    course_page,
    home_page,
    lecture_page,
    level_page,
    theme_page,
)
from weike.plugins.site.search import merge_search_index, search_entries
from weike.plugins.site.search_shards import write_search_shards
from weike.plugins.site.settings import SEARCH_NOTES, read_weike_extra

THEME_DIR = Path(__file__).resolve().parent / "theme"
DEFAULT_CONFIG = THEME_DIR / "mkdocs.yml"
SITE_SOURCES_DIR = "site"
CONFIG_FILE = "mkdocs.yml"
STAMP_FILE = ".weike-site.json"
#: Paths the generator owns; a file in site/ with one of these names is ignored (W407), a plugin's
#: page (weike_site_pages) there is left out (E410).
RESERVED = ("index.md", "courses", "centres", "themes", "levels", "media", "assets/weike", "catalogue.json",
            "sitemap.xml", "sitemap.xml.gz", "feed.xml", "search")
DEFAULT_SITE_NAME = "社区教育微课"
_HOME_FILE = "index.md"
#: How the plugin manager names this plugin (E901 names it when a course's pages fail).
_PLUGIN_NAME = "weike.plugins.site"

@dataclass(frozen=True, kw_only=True)
class WebsiteResult:
    """What a site build did."""

    site_dir: Path
    #: False when the inputs had not changed and MkDocs was skipped.
    rebuilt: bool
    #: The public address used (weike.yml, else mkdocs.yml), or None.
    site_url: str | None = None
    published: tuple[str, ...] = ()
    pages: int = 0
    #: How many of the pages were rendered (the others were kept: their inputs had not changed).
    rendered: int = 0
    search_index_bytes: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()
    #: MkDocs warnings, one line each.
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0


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


def _plugin_entries(raw_plugins) -> list:
    if raw_plugins is None:
        return ["search"]
    if isinstance(raw_plugins, dict):
        return [{name: options} for name, options in raw_plugins.items()]
    return list(raw_plugins)


def _plugin_name(entry) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


#: weike's scripts, on every page (each is a no-op where its elements are absent).
WEIKE_SCRIPTS = ("assets/weike/weike.js", "assets/weike/progress.js", "assets/weike/read-aloud.js",
                 "assets/weike/search.js")


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
    plugins = _plugin_entries(raw.get("plugins"))
    if not any(_plugin_name(entry) in ("search", "material/search") for entry in plugins):
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
# The site's inputs
# --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class _Collected:
    courses: list[SiteCourse] = field(default_factory=list)
    thumbnails: dict[str, Thumbnail] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def collect_courses(courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia], covers: CoverCache,
                    *, preview: bool, savers: Mapping[str, tuple[Path, int]] | None = None,
                    isolation: CourseIsolation | None = None) -> _Collected:
    """The courses the site can publish, each with its cover thumbnail; the others as diagnostics.

    An exception while collecting one course leaves just that course out (E901, in ``isolation``).
    """
    isolation = isolation or CourseIsolation(stage="site", plugin=_PLUGIN_NAME)
    found = _Collected()

    def collect(course: Course) -> None:
        missing = [lecture for lecture in course.lectures if lecture.key not in delivered]
        if missing and not preview:
            for lecture in missing:
                found.diagnostics.append(Diagnostic.error(
                    "E405", lecture.where(), f"微课“{lecture.title or lecture.slug}”没有交付的视频，课程不能发布到网站",
                    f"lecture {lecture.key} has no delivered video; the course is left off the site",
                    hint="先运行 weike build（媒体阶段）生成视频。"))
            return
        if course.cover is None or course.cover.path is None:
            found.diagnostics.append(Diagnostic.error("E404", course.where("cover"), "课程没有可用的首页图片，不能发布到网站",
                                            f"course {course.slug} has no usable cover; left off the site"))
            return
        try:
            thumbnail = covers.thumbnail(course.cover.path)
        except CoverError as exc:
            found.diagnostics.append(Diagnostic.error(
                "E404", course.where("cover"), f"首页图片无法缩小成网站卡片图片（{exc}）",
                f"cover of {course.slug} cannot be made into a thumbnail: {exc}",
                hint="用画图软件把图片另存为 JPG 或 PNG 后再试。"))
            return
        item = SiteCourse(course=course, lectures=site_lectures(course, delivered, savers),
                          cover_size=(thumbnail.width, thumbnail.height))
        found.thumbnails[course.slug] = thumbnail
        found.courses.append(item)

    for course in sorted(courses, key=lambda c: c.slug):
        isolation.call(course, lambda: collect(course), what="收集课程 collecting the course")
    return found


def _site_sources(root: Path) -> Iterator[tuple[str, Path]]:
    """Regular files below ``site/`` (not following links out of it), as (relative path, file)."""
    base = root / SITE_SOURCES_DIR
    if not base.is_dir():
        return
    for folder, dirs, files in os.walk(base):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(base).as_posix(), path


def input_hash(settings: SiteSettings, collected: _Collected, delivered: Mapping[str, DeliveredMedia],
               root: Path, *, preview: bool, centres: Sequence[centre_pages.SiteCentre] = (),
               plugin_pages: Sequence[OfferedPage] = (), withheld: int = 0,
               plugin_assets: Sequence[SiteAsset] = ()) -> str:
    """A hash of everything the built site depends on, cheap enough to compute on every build."""
    fingerprint = Fingerprint(
        preview, withheld, settings.site_url, settings.config_file.read_bytes(),
        package_versions("mkdocs", "mkdocs-material", "jieba", "nh3", "qrcode", "markdown", "pillow"),
        # This plugin with its theme, the notes sanitiser whose output the pages embed, and what
        # makes the notes' pictures for phones.
        code_digest(__name__, "weike.plugins.notes", "weike.plugins.pictures"))
    for rel, path in _site_sources(root):
        fingerprint.add(rel).add_file(path)
    for item in collected.courses:
        fingerprint.add(item.course, collected.thumbnails[item.slug].source_sha256, item.cover_size)
        for lecture in item.lectures:
            fingerprint.add(delivered.get(lecture.lecture.key), lecture.saver_file, lecture.saver_size)
            for picture in note_pictures(lecture.lecture.folder):
                fingerprint.add_file(picture)
    for centre in centres:
        fingerprint.add(centre.centre, [(url, thumbnail.source_sha256) for url, thumbnail in centre.photos])
    # What the plugins returned, whole (path, title, body, in_nav, plugin, where its hook is):
    # their pages may come from anything they read, so their code alone would not say.
    fingerprint.add(tuple(plugin_pages))
    for asset in plugin_assets:
        fingerprint.add(asset.site_path, asset.load, asset.data)
    return fingerprint.hexdigest()


def read_stamp(site_dir: Path) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """(input hash, the warnings of that build) recorded in ``site_dir``, so a skipped build repeats them.

    The input hash is None (so the site is built again) when a file the build wrote is gone or
    no longer has the size and time it was written with: a deleted or defaced page is repaired by
    the next build.
    """
    stamp = manifest.read_stamp_file(site_dir, STAMP_FILE)
    if stamp is None:
        return None, ()
    try:
        diagnostics = tuple(diagnostic_from_dict(d) for d in stamp.get("diagnostics", []))
    except (ValueError, AttributeError, KeyError, TypeError):
        return None, ()
    if not manifest.still_as_written(stamp, site_dir):
        return None, diagnostics
    return stamp.get("inputs"), diagnostics


def site_stamp(inputs: str, diagnostics: Sequence[Diagnostic], courses: int, made: manifest.Manifest) -> dict:
    return {"inputs": inputs, "weike": __version__, "courses": courses,
            "diagnostics": [diagnostic_dict(d) for d in diagnostics], **made.as_json()}


# --------------------------------------------------------------------------------------------
# What each page is made from
# --------------------------------------------------------------------------------------------


#: Repository MkDocs plugins that leave each page a function of its own inputs (others, or
#: ``hooks``, may read anything: every page is then rendered on every build).
_PAGE_LOCAL_PLUGINS = frozenset({"search", "material/search"})


def renders_incrementally(settings: SiteSettings) -> bool:
    """Whether a page that did not change may be kept from the previous build."""
    plugins = {_plugin_name(entry) for entry in _plugin_entries(settings.raw.get("plugins"))}
    return plugins <= _PAGE_LOCAL_PLUGINS and not settings.raw.get("hooks")


def engine_digest(settings: SiteSettings, overrides: Mapping, overrides_dir: Path,
                  handwritten: Mapping[str, Path]) -> str:
    """What every page's frame is made from: the settings MkDocs is given (navigation included: every
    page shows it), ``mkdocs.yml``, the theme and its overrides, the code that hands the pages over,
    and the hand-written pages (the navigation shows their titles, read from the pages themselves)."""
    fingerprint = Fingerprint(
        "site-engine", {key: value for key, value in overrides.items() if key != "site_dir"},
        settings.config_file.read_bytes(),
        package_versions("mkdocs", "mkdocs-material", "markdown", "pymdown-extensions", "jinja2"),
        code_digest("weike.plugins.site.generated"))
    for folder, dirs, files in sorted(os.walk(overrides_dir)):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            fingerprint.add(path.relative_to(overrides_dir).as_posix(), path.read_bytes())
    for rel, path in sorted(handwritten.items()):
        fingerprint.add(rel, path.read_bytes())
    return fingerprint.hexdigest()


def page_file(rel: str) -> str:
    """The file MkDocs writes for the page ``rel`` (``courses/x/y.md`` -> ``courses/x/y/index.html``)."""
    return page_url(rel) + "index.html"


def page_digest(engine: str, rel: str, page: GeneratedPage) -> str:
    return Fingerprint(engine, rel, sorted(page.meta.items()), page.html).hexdigest()


def file_digest(rel: str, source: Path) -> str:
    return Fingerprint("site-file", rel).add_file(source).hexdigest()


def _nav_paths(nav) -> set[str]:
    """Every docs path the navigation names (those pages are rendered on every build: the others'
    sidebars need them as MkDocs pages)."""
    found: set[str] = set()
    items = list(nav) if isinstance(nav, list) else [nav]
    while items:
        item = items.pop()
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            items.extend(item.values())
        elif isinstance(item, list):
            items.extend(item)
    return found


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


#: The QR code cache, in the site's cache folder.
QR_CODES_FILE = "qr-codes.json"


def qr_svg(url: str) -> str:
    """An inline SVG QR code for ``url`` (generated here: no QR web service is asked)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    # A fixed mask pattern: choosing the "best" of eight took 90 % of the time (7 s per 1,000
    # courses) and any mask scans; error correction M survives a creased, printed poster.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=2)
    code.add_data(url)
    code.make(fit=True)
    svg = code.make_image(image_factory=SvgPathImage).to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]  # drop the XML declaration: the SVG sits inside HTML
    return svg.replace("<svg ", '<svg role="img" aria-label="本课程二维码 QR code of this course" ', 1)


class QrCodes:
    """QR codes by URL, kept between builds in the cache.

    A code takes qrcode some milliseconds; every course page is regenerated whenever anything in
    the catalogue changes, so at 2,000 courses regenerating them all cost seconds per edit. The
    file keeps only the URLs of the last build, so it never grows beyond the catalogue.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._known: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._known = {}
        self._used: dict[str, str] = {}

    def svg(self, url: str) -> str:
        code = self._known.get(url)
        if code is None:
            code = qr_svg(url)
        self._used[url] = code
        return code

    def save(self) -> None:
        if self._used != self._known:
            outputs.write_atomic(self.path, json.dumps(self._used, ensure_ascii=False, sort_keys=True).encode("utf-8"))


@dataclass(kw_only=True)
class _Sources:
    #: Generated pages by docs-relative path (``courses/x/index.md``).
    pages: dict[str, GeneratedPage] = field(default_factory=dict)
    #: Generated static files (thumbnails, notes pictures) by docs-relative path.
    files: dict[str, Path] = field(default_factory=dict)
    #: Hand-written files from site/ by docs-relative path: copied into the docs folder.
    site_files: dict[str, Path] = field(default_factory=dict)
    notes_text: dict[str, str] = field(default_factory=dict)
    handwritten: list[str] = field(default_factory=list)
    #: (escaped title, docs-relative path) of the plugins' pages that join the navigation.
    plugin_nav: list[tuple[str, str]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The catalogue the pages were generated for (without courses whose pages failed).
    catalogue: Catalogue | None = None


def _is_reserved(rel: str) -> bool:
    return any(rel == name or rel.startswith(name + "/") for name in RESERVED)


def generate_sources(catalogue: Catalogue, collected: _Collected, root: Path, *, notes_text: bool,
                     qr_codes: QrCodes, pictures: CoverCache, centres: Sequence[centre_pages.SiteCentre] = (),
                     isolation: CourseIsolation | None = None, site_name: str = DEFAULT_SITE_NAME,
                     plugin_pages: Sequence[OfferedPage] = (), made: Made | None = None) -> _Sources:
    """Every page and file of the docs folder, in memory.

    ``sources.catalogue`` is ``catalogue`` without the courses whose pages failed (E901).
    ``plugin_pages`` (``weike_site_pages``) come last: each may only take a path nothing else has.
    """
    import markdown
    import yaml

    isolation = isolation or CourseIsolation(stage="site", plugin=_PLUGIN_NAME)
    sources = _Sources()
    intro_html, home_title = "", None
    for rel, path in _site_sources(root):
        if rel.startswith("overrides/"):
            continue
        if rel == _HOME_FILE:
            from weike.builder.repository.loading import split_front_matter

            from weike.builder.repository.yamlfile import YamlFileError

            text = path.read_text(encoding="utf-8", errors="replace")
            body = text
            try:
                split = split_front_matter(text)
                if split:
                    front, body = yaml.safe_load(split[0]) or {}, split[1]
                    home_title = front.get("title") if isinstance(front, dict) else None
            except (YamlFileError, yaml.YAMLError):
                body = text
            intro_html = markdown.markdown(body, extensions=["tables", "attr_list"])
            continue
        if _is_reserved(rel):
            sources.diagnostics.append(Diagnostic.warning(
                "W407", SourceLocation(file=f"{SITE_SOURCES_DIR}/{rel}"),
                f"site/{rel} 与自动生成的网页同名，已忽略", f"site/{rel} clashes with a generated page; ignored",
                hint="换一个文件名或文件夹名（courses、themes、levels、media 等由 weike 生成）。"))
            continue
        sources.site_files[rel] = path
        if rel.endswith(".md"):
            sources.handwritten.append(rel)

    # Each course's pages first, each on its own: a course that fails here (E901) is left out of
    # the catalogue-wide pages below as well, so no page links to it.
    centres_of_course = centre_pages.centres_of_courses(centres)
    published = []
    for item in catalogue.courses:
        course_sources = isolation.call(
            item.course, lambda: _course_sources(item, catalogue, notes_text=notes_text, qr_codes=qr_codes,
                                                 thumbnails=collected.thumbnails, pictures=pictures,
                                                 centres=centres_of_course.get(item.slug, ()), made=made),
            what="生成网页 generating its pages")
        if course_sources is None:
            continue
        published.append(item)
        sources.pages.update(course_sources.pages)
        sources.files.update(course_sources.files)
        sources.notes_text.update(course_sources.notes_text)
        sources.diagnostics.extend(course_sources.diagnostics)
    catalogue = dataclasses.replace(catalogue, courses=tuple(published))
    sources.catalogue = catalogue
    kept = {item.slug for item in published}
    centres = [dataclasses.replace(centre, courses=tuple(c for c in centre.courses if c.slug in kept))
               for centre in centres]

    sources.pages[_HOME_FILE] = home_page(catalogue, intro_html=intro_html, title=home_title,
                                          centres_html=centre_pages.home_section(centres), site_name=site_name)
    section_pages, section_files = centre_pages.generate(centres)
    sources.pages.update(section_pages)
    sources.files.update(section_files)
    for theme in THEMES:
        if catalogue.in_theme(theme):
            sources.pages[f"themes/{THEME_SLUGS[theme]}.md"] = theme_page(catalogue, theme)
    for level in PROVIDER_LEVELS:
        if catalogue.at_level(level):
            sources.pages[f"levels/{LEVEL_SLUGS[level]}.md"] = level_page(catalogue, level)

    taken = {page_url(rel): "weike" for rel in sources.pages}
    taken.update({page_url(rel): f"{SITE_SOURCES_DIR}/{rel}" for rel in sources.handwritten})
    # A hand-written index.html is a page as well (MkDocs copies it where the plugin's would go).
    taken.update({rel.removesuffix("index.html"): f"{SITE_SOURCES_DIR}/{rel}" for rel in sources.site_files
                  if rel == "index.html" or rel.endswith("/index.html")})
    placed = place_pages(plugin_pages, taken=taken, reserved=_is_reserved, page_url=page_url)
    sources.pages.update(placed.pages)
    sources.plugin_nav = placed.nav
    sources.diagnostics.extend(placed.diagnostics)
    return sources


def _course_sources(item: SiteCourse, catalogue: Catalogue, *, notes_text: bool, qr_codes: QrCodes,
                    thumbnails: Mapping[str, Thumbnail], pictures: CoverCache,
                    centres: Sequence[centre_pages.SiteCentre] = (), made: Made | None = None) -> _Sources:
    """The pages and files of one course (its course page, its lecture pages, their pictures: each
    at a size for phones, under the name the notes give it)."""
    sources = _Sources()
    course_url = catalogue.absolute(item.url)
    sources.files[item.cover_url] = thumbnails[item.slug].path
    sources.pages[f"courses/{item.slug}/index.md"] = course_page(
        item, qr_svg=qr_codes.svg(course_url) if course_url else None,
        course_url=course_url, centres=centre_pages.centre_links(centres))
    for index, lecture in enumerate(item.lectures):
        # As the check rendered them (made), unless it did not run (weike serve's preview).
        notes = lecture_notes(lecture.lecture, course_folder=item.course.folder, made=made, with_text=notes_text)
        if notes.removed:
            sources.diagnostics.append(Diagnostic.warning(
                "W406", SourceLocation(file=lecture.lecture.file, line=lecture.lecture.notes_line),
                f"讲义中不能发布的标记已被删除：{'、'.join(notes.removed)}",
                f"markup the notes may not publish was removed: {', '.join(notes.removed)}",
                hint="讲义里不能用脚本、事件属性（onclick 等）、javascript: 链接、样式、表单或外部图片；"
                     "图片请放在本微课文件夹中。"))
        for written, path in notes.images:
            sources.files[f"courses/{item.slug}/{lecture.lecture.slug}/{written}"] = pictures.note_picture(path)
        sources.notes_text[lecture.lecture.key] = notes.text
        sources.pages[f"courses/{item.slug}/{lecture.lecture.slug}.md"] = lecture_page(item, index, notes)
    return sources


def page_url(rel: str) -> str:
    """The directory URL MkDocs gives the page ``rel`` (``about.md`` -> ``about/``)."""
    stem = rel.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def navigation(catalogue: Catalogue, handwritten: Sequence[str], raw_nav,
               centres: Sequence[centre_pages.SiteCentre] = (), plugin_pages: Sequence[tuple[str, str]] = ()) -> list:
    """The sidebar: home, themes, levels, centres, the plugins' pages ((escaped title, path)), hand-written pages."""
    themes = [{f"{theme}（{len(catalogue.in_theme(theme))}）": f"themes/{THEME_SLUGS[theme]}.md"}
              for theme in THEMES if catalogue.in_theme(theme)]
    levels = [{f"{level}（{len(catalogue.at_level(level))}）": f"levels/{LEVEL_SLUGS[level]}.md"}
              for level in PROVIDER_LEVELS if catalogue.at_level(level)]
    nav: list = [{"首页": _HOME_FILE}]
    if themes:
        nav.append({"课程主题": themes})
    if levels:
        nav.append({"开课层级": levels})
    if (entry := centre_pages.navigation_entry(centres)) is not None:
        nav.append(entry)
    nav.extend({title: rel} for title, rel in plugin_pages)
    # A repository's own nav entries (for its hand-written pages) follow; without one, every
    # hand-written page is listed by file name.
    nav.extend(raw_nav if isinstance(raw_nav, list) else sorted(handwritten))
    return nav


def write_docs(sources: _Sources, docs_dir: Path) -> None:
    """The docs folder holds the hand-written files; generated pages stay in memory."""
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(parents=True)
    for rel, path in sources.site_files.items():
        outputs.link_file(path, docs_dir / rel)


def write_overrides(root: Path, overrides_dir: Path) -> None:
    """weike's theme overrides, then the repository's ``site/overrides`` on top."""
    if overrides_dir.exists():
        shutil.rmtree(overrides_dir)
    shutil.copytree(THEME_DIR / "overrides", overrides_dir)
    for rel, path in _site_sources(root):
        if rel.startswith("overrides/"):
            target = overrides_dir / rel.removeprefix("overrides/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


# --------------------------------------------------------------------------------------------
# Files: media placed by hard link, atomic publication
# --------------------------------------------------------------------------------------------


def media_files(catalogue: Catalogue) -> dict[str, Path]:
    """Site-relative path -> delivered file, for every video, poster and subtitle track."""
    files: dict[str, Path] = {}
    for item in catalogue.courses:
        for lecture in item.lectures:
            media = lecture.media
            if media is None:
                continue
            files[lecture.video_url] = media.path
            if lecture.poster_url and media.poster:
                files[lecture.poster_url] = media.poster
            if lecture.subtitles_url and media.subtitles:
                files[lecture.subtitles_url] = media.subtitles
            if lecture.saver_url and lecture.saver_file:
                files[lecture.saver_url] = lecture.saver_file
    return files


def place_media(catalogue: Catalogue, site_dir: Path) -> None:
    wanted = media_files(catalogue)
    for rel, source in wanted.items():
        outputs.link_file(source, site_dir / rel)
    media_dir = site_dir / "media"
    if media_dir.is_dir():  # files of courses no longer published go
        for folder, _, files in os.walk(media_dir):
            for name in files:
                path = Path(folder) / name
                if path.relative_to(site_dir).as_posix() not in wanted:
                    path.unlink()


def swap_into_place(tmp_dir: Path, site_dir: Path) -> None:
    """Swap the freshly built ``tmp_dir`` into ``site_dir`` (two renames; never a half site)."""
    old = site_dir.with_name(outputs.temp_name(f"{site_dir.name}.old"))
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(tmp_dir, site_dir)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(site_dir: Path) -> None:
    """Temporary folders of builds of ``site_dir`` that were killed (and those of weike versions
    that named them ``.<site>-tmp-…`` / ``.<site>-old-…``)."""
    mine = {site_dir.name, f"{site_dir.name}.old"}
    for path in site_dir.parent.glob(f"{outputs.TEMP_PREFIX}*"):
        if outputs.temp_target(path.name) in mine:
            shutil.rmtree(path, ignore_errors=True)
    for pattern in (f".{site_dir.name}-tmp-*", f".{site_dir.name}-old-*"):
        for path in site_dir.parent.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def make_build_folder(site_dir: Path) -> Path:
    """A new, empty temp folder beside ``site_dir`` to build into, with the usual folder mode
    (it becomes ``site_dir``: a private 0700 folder would make every page 403 for a web server
    running as another user)."""
    folder = site_dir.with_name(outputs.temp_name(site_dir.name))
    folder.mkdir(mode=outputs.folder_mode())
    folder.chmod(outputs.folder_mode())
    return folder


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


def run_mkdocs(settings: SiteSettings, overrides: dict, root: Path, generated: GeneratedPages) -> list[str]:
    """Build with MkDocs; returns its warnings, raises :class:`SiteBuildFailed` on failure."""
    import jinja2
    from mkdocs import exceptions
    from mkdocs.commands.build import build as mkdocs_build
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
        try:
            mkdocs_build(config)
        except jinja2.TemplateError as exc:
            raise SiteBuildFailed(_template_error(exc, root, Path(overrides["theme"]["custom_dir"]))) from exc
        except failures as exc:
            raise failed("E403", "构建", "build", exc) from exc
    return captured.lines


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


# --------------------------------------------------------------------------------------------
# The whole build
# --------------------------------------------------------------------------------------------


def build_website(
    *,
    root: Path,
    site_url: str | None,
    courses: Sequence[Course],
    delivered: Mapping[str, DeliveredMedia],
    site_dir: Path,
    work_dir: Path,
    cache_dir: Path,
    preview: bool = False,
    force: bool = False,
    centres: Sequence[Centre] = (),
    publish_centres: bool = True,
    savers: Mapping[str, tuple[Path, int]] | None = None,
    plugin_pages: Sequence[OfferedPage] = (),
    withheld: int = 0,
    plugin_assets: Sequence[SiteAsset] = (),
    made: Made | None = None,
) -> WebsiteResult:
    """Build (or keep, when nothing changed) the catalogue site of ``courses`` in ``site_dir``.

    ``preview`` (``weike serve``) publishes lectures whose video is not delivered yet with a
    placeholder instead of leaving their course out. ``centres`` (brand learning centres) get a
    section of their own unless ``publish_centres`` is false (weike.yml). ``savers`` (lecture key ->
    (file, size)) are the 省流量 renditions the lecture pages offer (:mod:`weike.plugins.site.saver`).
    ``plugin_pages`` are the pages plugins offered (:func:`~weike.plugins.site.contributed.collect_site_pages`),
    ``plugin_assets`` their scripts and files (:func:`~weike.plugins.site.contributed.collect_site_assets`).
    ``withheld`` counts the courses left out for their errors (a preview's home page says so). Raises :class:`SiteBuildFailed` when
    MkDocs cannot build at all (bad ``mkdocs.yml`` or theme override).
    """
    started = time.monotonic()
    root = root.resolve()
    settings = load_settings(root, site_url)
    # One course's data never stops the site: what fails for it (E901) leaves just that course out.
    isolation = CourseIsolation(stage="site", plugin=_PLUGIN_NAME)
    with CoverCache(cache_dir) as covers:
        collected = collect_courses(courses, delivered, covers, preview=preview, savers=savers,
                                    isolation=isolation)
        catalogue = Catalogue(courses=tuple(collected.courses), site_url=settings.site_url, withheld=withheld)
        # Centre photos become small JPEGs like course covers, from the same cache.
        site_centres = centre_pages.published_centres(centres, catalogue, covers, allowed=publish_centres)
    collected.diagnostics.extend(isolation.diagnostics)
    published = tuple(c.slug for c in catalogue.courses)

    inputs = input_hash(settings, collected, delivered, root, preview=preview, centres=site_centres,
                        plugin_pages=plugin_pages, withheld=withheld, plugin_assets=plugin_assets)
    built_from, earlier = read_stamp(site_dir) if site_dir.is_dir() else (None, ())
    if not force and built_from == inputs:
        place_media(catalogue, site_dir)
        return WebsiteResult(site_dir=site_dir, rebuilt=False, site_url=settings.site_url, published=published,
                             diagnostics=tuple(collected.diagnostics) + earlier, seconds=time.monotonic() - started)

    qr_codes = QrCodes(cache_dir / QR_CODES_FILE)
    page_isolation = CourseIsolation(stage="site", plugin=_PLUGIN_NAME)
    with CoverCache(cache_dir) as pictures:
        sources = generate_sources(catalogue, collected, root, notes_text=settings.search_notes, qr_codes=qr_codes,
                                   pictures=pictures, centres=site_centres, isolation=page_isolation,
                                   site_name=settings.site_name, plugin_pages=plugin_pages, made=made)
    sources.diagnostics.extend(page_isolation.diagnostics)
    catalogue = sources.catalogue
    published = tuple(c.slug for c in catalogue.courses)
    qr_codes.save()
    docs_dir, overrides_dir = work_dir / "docs", work_dir / "overrides"
    write_docs(sources, docs_dir)
    write_overrides(root, overrides_dir)
    for asset in plugin_assets:  # beside the docs (never in them), handed to MkDocs as generated files
        target = work_dir / "plugin-files" / asset.site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(asset.data)
        sources.files[asset.site_path] = target

    site_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(site_dir)
    # What the site folder holds from the previous build, file by file (none when forced: all made anew).
    present = manifest.present_files(site_dir, stamp_file=STAMP_FILE, skip=("media",)) if site_dir.is_dir() else {}
    previous = None if force else manifest.read_manifest(manifest.read_stamp_file(site_dir, STAMP_FILE), present)
    tmp_dir = make_build_folder(site_dir)
    try:
        nav = navigation(catalogue, sources.handwritten, settings.raw.get("nav"), centres=site_centres,
                         plugin_pages=sources.plugin_nav)
        overrides = mkdocs_overrides(settings, docs_dir=docs_dir, site_dir=tmp_dir, overrides_dir=overrides_dir,
                                     nav=nav, plugin_assets=plugin_assets)
        # Each page's inputs: its own body and metadata, and the frame every page shares. A page
        # whose inputs are those it was last made from, still in the site as written, is kept;
        # those in the navigation are always rendered (the sidebars of the others list them).
        engine = engine_digest(settings, overrides, overrides_dir,
                               {rel: sources.site_files[rel] for rel in sources.handwritten})
        made_from = {page_file(rel): page_digest(engine, rel, item) for rel, item in sources.pages.items()}
        made_from.update({rel: file_digest(rel, path) for rel, path in sources.files.items()})
        kept_pages: frozenset[str] = frozenset()
        kept_files: frozenset[str] = frozenset()
        if previous is not None and renders_incrementally(settings):
            in_nav = _nav_paths(nav)
            kept_pages = frozenset(rel for rel in sources.pages if rel not in in_nav
                                   and previous.unchanged(page_file(rel), made_from[page_file(rel)]))
            kept_files = frozenset(rel for rel in sources.files if previous.unchanged(rel, made_from[rel]))
        generated = GeneratedPages(sources.pages, sources.files, kept_pages=kept_pages, kept_files=kept_files)
        warnings = run_mkdocs(settings, overrides, root, generated)

        notes = sources.notes_text if settings.search_notes else None
        index_bytes = merge_search_index(tmp_dir, search_entries(catalogue, notes_text=notes))
        write_search_shards(tmp_dir)  # what the browser loads, a query's worth at a time
        (tmp_dir / "catalogue.json").write_bytes(catalogue_json(catalogue, generator=f"weike {__version__}"))
        extra_urls = [page_url(rel) for rel in [*sources.pages, *sources.handwritten]
                      if not rel.startswith("courses/") and rel != _HOME_FILE]
        for name, data in (("sitemap.xml", sitemap_xml(catalogue, sorted(extra_urls))),
                           ("feed.xml", feed_xml(catalogue, site_name=settings.site_name))):
            if data is None:
                (tmp_dir / name).unlink(missing_ok=True)
            else:
                (tmp_dir / name).write_bytes(data)
        # MkDocs' own compressed sitemap would disagree with ours (and has no use without site_url).
        (tmp_dir / "sitemap.xml.gz").unlink(missing_ok=True)
        # A course whose pages failed (E901) is tried again by the next build, never replayed.
        stamp_inputs = "" if page_isolation.failed else inputs
        if previous is None:  # made whole: swapped into place at once
            made = manifest.Manifest(written=manifest.record_all(tmp_dir, stamp_file=STAMP_FILE, skip=("media",)))
            made.made_from = {rel: digest for rel, digest in made_from.items() if rel in made.written}
            place_media(catalogue, tmp_dir)
            manifest.write_stamp(tmp_dir, STAMP_FILE, site_stamp(stamp_inputs, sources.diagnostics,
                                                                 len(published), made))
            swap_into_place(tmp_dir, site_dir)
        else:  # only what differs is moved in; unchanged files are not touched
            made = manifest.publish(tmp_dir, site_dir, previous=previous, present=present,
                                    kept=[page_file(rel) for rel in kept_pages] + list(kept_files),
                                    made_from=made_from)
            place_media(catalogue, site_dir)
            manifest.write_stamp(site_dir, STAMP_FILE, site_stamp(stamp_inputs, sources.diagnostics,
                                                                  len(published), made))
            shutil.rmtree(tmp_dir, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return WebsiteResult(site_dir=site_dir, rebuilt=True, site_url=settings.site_url, published=published,
                         pages=len(sources.pages), rendered=len(sources.pages) - len(kept_pages),
                         search_index_bytes=index_bytes,
                         diagnostics=tuple(collected.diagnostics + sources.diagnostics),
                         warnings=tuple(warnings), seconds=time.monotonic() - started)
