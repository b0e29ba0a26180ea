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
6. add what MkDocs does not make: the search index entries and shards, ``catalogue.json``, sitemap,
   feed (in a build that shares its pages among processes, while the workers render them);
7. publish: a first build swaps the folder into place with ``os.replace``; a rebuild moves in only
   the files whose bytes differ, one ``os.replace`` each, and deletes those no longer made
   (:mod:`weike.plugins.site.manifest`); the delivered media are hard-linked (copied across file
   systems). A killed build never leaves a half-written file, and the next build repairs the rest.
"""

from __future__ import annotations

import functools
import gc
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from weike.builder import __version__

from weike.builder.contracts.context import Made
from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic
from weike.builder.keeping import outputs
from weike.builder.repository.centre import Centre
from weike.builder.running.isolation import CourseIsolation
from weike.plugins.site import centres as centre_pages
from weike.plugins.site import manifest
from weike.plugins.site.catalogue import Catalogue, catalogue_json, feed_xml, sitemap_xml
from weike.plugins.site.contributed import OfferedPage, SiteAsset
from weike.plugins.site.course_memo import MEMO_FOLDER, CourseMemo, KeptCourses, course_keys
from weike.plugins.site.covers import CoverCache
from weike.plugins.site.engine import (SITE_SOURCES_DIR, THEME_DIR, SiteBuildFailed, load_settings, mkdocs_overrides,
                                      plugin_entries, run_mkdocs)
from weike.plugins.site.generated import GeneratedPages
from weike.plugins.site.incremental import (engine_digest, file_digest, page_digest, page_digests, page_file,
                                            renders_incrementally, static_digest)
from weike.plugins.site.nav import HOME_FILE, nav_paths, navigation, page_url
from weike.plugins.site.placement import (ASIDE_FOLDER, make_build_folder, media_placed_aside, place_media,
                                          place_media_aside, placing_aside, remove_leftovers, swap_into_place)
from weike.plugins.site.qr import QR_CODES_FILE, QrCodes
from weike.plugins.site.search import (CUTS_FILE, RememberedCuts, cuts_allowed, lent_to_material_search,
                                       merged_search_index)
from weike.plugins.site.search_shards import (PARTS_FILE, READER_SCRIPT, RememberedParts, SearchShards,
                                              write_search_shards)
from weike.plugins.site.sources import (PLUGIN_NAME, collect_courses, generate_sources, publishable,
                                       work_ahead_of_courses, write_docs, write_overrides)
from weike.plugins.site.stamp import STAMP_FILE, input_hash, read_stamp, site_stamp
from weike.plugins.site.workers import render_processes

__all__ = ["SiteBuildFailed", "WebsiteResult", "build_website"]

#: The error page the theme renders (every page's frame around a "not found" message).
ERROR_PAGE = "404.html"
#: Files weike writes or rewrites in the built folder after the engine's render: never kept as
#: the engine's static files (the search reader gets the index's manifest; the theme's own
#: sitemap template, listed as a static file, gives way to weike's sitemap).
AFTER_RENDER = frozenset({READER_SCRIPT, "catalogue.json", "sitemap.xml", "sitemap.xml.gz", "feed.xml"})


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
    #: False when the sharded search index was kept as published, not computed (its index unchanged).
    search_computed: bool = True
    #: Han runs of the pages Material's search indexes that jieba cut in this build (the others
    #: were remembered: :class:`~weike.plugins.site.search.RememberedCuts`); None when not remembered.
    cut_by_jieba: int | None = None
    #: The files published (``media/`` aside) with their records, ``[size, mtime_ns, sha256]``, as
    #: the site's stamp holds them; None when the site was kept (nothing was published).
    files: Mapping[str, list] | None = None
    #: The input hash the site's stamp records (:func:`~weike.plugins.site.stamp.input_hash`; ""
    #: when a course's pages failed), so the offline edition need not read the stamp back.
    inputs: str | None = None
    #: Every file of the site's ``media`` folder: site-relative path -> (size, mtime_ns, inode), as
    #: placing them found or made them.
    media: Mapping[str, tuple[int, int, int]] | None = None



#: weike's theme overrides as shipped: the theme's custom folder of a repository without ``site/overrides``.
SHIPPED_OVERRIDES = THEME_DIR / "overrides"


#: Making the search index's shards and the catalogue files while the pages render costs about as
#: much, per entry, as rendering this many pages (the build's own share is that much smaller).
#: Measured at 1,000 courses (13,000 entries), since workers no longer wait to hand back their
#: results: with 0.3 the build's own process ended its share 0.4 s after the worker; with 0.55,
#: within 0.1 s of it. Since most pages are filled straight from the site model (a fifth less CPU a
#: page), 0.55 left the build's process 0.07-0.27 s behind the worker at 300 courses; with 1.0, 0.03 s.
INDEX_WORK_PER_ENTRY = 1.0
#: A page's input digest, taken then too in a cold build (2-3 µs), as a share of a page rendered.
DIGEST_WORK_PER_PAGE = 0.01


def write_catalogue_files(folder: Path, written: manifest.WrittenFiles, catalogue: Catalogue, sources,
                          site_name: str) -> None:
    """``catalogue.json``, ``sitemap.xml`` and ``feed.xml`` into the folder being built (MkDocs' own
    sitemap gone)."""
    written.put("catalogue.json", catalogue_json(catalogue, generator=f"weike {__version__}",
                                                 entries=sources.catalogue_entries))
    extra_urls = [page_url(rel) for rel in [*sources.pages, *sources.handwritten]
                  if not rel.startswith("courses/") and rel != HOME_FILE]
    for name, data in (("sitemap.xml", sitemap_xml(catalogue, sorted(extra_urls))),
                       ("feed.xml", feed_xml(catalogue, site_name=site_name))):
        if data is None:
            (folder / name).unlink(missing_ok=True)
        else:
            written.put(name, data)
    # MkDocs' own compressed sitemap would disagree with ours (and has no use without site_url).
    (folder / "sitemap.xml.gz").unlink(missing_ok=True)


def write_plugin_file(target: Path, data: bytes) -> None:
    """A plugin's file in the build's work folder, written only when its bytes differ: an unchanged
    file keeps its identity, so the site keeps its copy (a course's records file when another
    course is edited). One that is not there yet (a cold build's thousand) is written in place,
    without a temporary file to rename (a third of the time): a file torn by a killed build or a
    power cut, like one written without fsync, differs from the bytes and is written again, whole,
    by the next build; the build that wrote it hands it to MkDocs only once written."""
    try:
        try:
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        outputs.write_atomic(target, data, sync=False)
        return
    with open(handle, "wb") as file:
        file.write(data)


#: A cold build writes its plugins' files from a forked process beside its serial work from twice
#: this many (:func:`~weike.plugins.site.workers.render_processes`): new files are system calls,
#: inodes allocated, 0.1-0.6 ms each as the disk goes (0.03-0.2 s for 300); a fork of the build's
#: process, 0.01-0.02 s.
PLUGIN_FILES_ASIDE = 100


def write_work_files(plugin_files: Sequence[tuple[Path, bytes]], qr_codes: QrCodes) -> None:
    """What a build writes to its work and cache folders that nothing reads before the render: the
    plugins' files (``(target, data)``, which the render copies) and the QR codes' record (for the
    next build)."""
    for target, data in plugin_files:
        write_plugin_file(target, data)
    qr_codes.save()


def write_work_files_aside(plugin_files: Sequence[tuple[Path, bytes]], qr_codes: QrCodes):
    """:func:`write_work_files` started in a forked process (a
    :class:`~weike.plugins.site.workers.WorkAside`: its ``results`` waits for it, and writes them
    here, raising what that raises, when the process failed: writing a file again is safe)."""
    from weike.plugins.site.workers import WorkAside

    return WorkAside([None], lambda _: write_work_files(plugin_files, qr_codes))


class SearchWhileRendering:
    """The merged search index, its shards and the ``others`` (catalogue.json, sitemap, feed) of
    the folder being built: made while the pages render when the engine calls it (``once_indexed``
    of :func:`~weike.plugins.site.engine.run_mkdocs`, with the bytes Material's search will write),
    else, or when Material then writes other bytes, by :meth:`after_render`. What fails while the
    pages render is raised after the render, where it was raised before the two overlapped."""

    def __init__(self, folder: Path, entries: list[dict], *, previous: manifest.Manifest | None,
                 published_dir: Path, written: manifest.WrittenFiles, parts: RememberedParts,
                 others) -> None:
        self.folder, self.entries, self.previous = folder, entries, previous
        self.published_dir, self.written, self.parts, self.others = published_dir, written, parts, others
        #: Material's index it was made from, the merged index and its shards, once made.
        self._made: tuple[bytes, bytes, SearchShards] | None = None
        self._others_made = False
        self._failure: Exception | None = None

    def __call__(self, material: bytes) -> None:
        try:
            self.others()
            self._others_made = True
            merged = merged_search_index(material, self.entries)
            self._made = material, merged, self._shards(merged, self.parts)
        except Exception as exc:  # (raised after the render)
            self._failure = exc

    def _shards(self, merged: bytes, parts: RememberedParts) -> SearchShards:
        shards = write_search_shards(self.folder, previous=self.previous, published_dir=self.published_dir,
                                     parts=parts, written=self.written, index=merged)
        if shards.computed:
            parts.save()
        return shards

    def after_render(self, parts: RememberedParts) -> tuple[int, SearchShards]:
        """Write the merged index over Material's; returns its size and the shards (``parts``: for
        shards made again)."""
        if self._failure is not None:
            raise self._failure
        path = self.folder / "search" / "search_index.json"
        material = path.read_bytes()
        if self._made is not None and self._made[0] == material:
            _, merged, shards = self._made
        else:
            if self._made is not None:  # (made from an index Material did not write: never kept)
                for rel in set(self._made[2].files) - set(self._made[2].kept):
                    (self.folder / rel).unlink(missing_ok=True)
            merged = merged_search_index(material, self.entries)
            shards = self._shards(merged, parts)
        path.write_bytes(merged)
        if not self._others_made:
            self.others()
        return len(merged), shards


def makes_every_course(site_dir: Path, work_dir: Path, *, force: bool, kept: KeptCourses | None) -> bool:
    """Whether a build makes every course's pages anew: a cold one (no stamp of an earlier build
    in ``site_dir``, or ``force``) whose course memo holds no course (or is not read: ``force``)."""
    if force:
        return True
    if (site_dir / STAMP_FILE).is_file() or (kept is not None and kept.made):
        return False
    try:
        with os.scandir(work_dir / MEMO_FOLDER) as entries:
            return next(entries, None) is None
    except OSError:  # (no memo yet)
        return True


def _collector_paused_when_cold(function):
    """``function`` (:func:`build_website`) with the cyclic garbage collector paused when it makes
    the site whole (no stamp of an earlier build in ``site_dir``, or ``force``).

    A cold build's process holds millions of objects that live until the site is made (the pages,
    their search entries, MkDocs' files and pages, the navigation), and makes more as it goes: each
    full collection walks them all and frees next to nothing (at 1,000 courses, four walks of
    0.15-0.18 s each, in the serial stretches too, freeing 0, 0, 48 and 30,000 objects). Reference
    counting frees all else as ever; the few cycles left wait for the next collection after the
    build. A worker forked meanwhile does not collect either (it exits when its share is done). A
    rebuild keeps the collector as it is: the build freezes what it keeps between stages
    (``weike.builder.running.pipeline.stage_handed_on``), so its collections walk only what is new."""
    @functools.wraps(function)
    def building(*, site_dir: Path, force: bool = False, **kwargs) -> WebsiteResult:
        cold = force or not (site_dir / STAMP_FILE).is_file()
        if not cold or not gc.isenabled():
            return function(site_dir=site_dir, force=force, **kwargs)
        gc.disable()
        try:
            return function(site_dir=site_dir, force=force, **kwargs)
        finally:
            gc.enable()
    return building


@_collector_paused_when_cold
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
    kept: KeptCourses | None = None,
    check_keys: Mapping[str, str] | None = None,
) -> WebsiteResult:
    """Build (or keep, when nothing changed) the catalogue site of ``courses`` in ``site_dir``.

    ``preview`` (``weike serve``) publishes lectures whose video is not delivered yet with a
    placeholder instead of leaving their course out. ``centres`` (brand learning centres) get a
    section of their own unless ``publish_centres`` is false (weike.yml). ``savers`` (lecture key ->
    (file, size)) are the 省流量 renditions the lecture pages offer (made by :mod:`weike.plugins.media.saver`).
    ``plugin_pages`` are the pages plugins offered (:func:`~weike.plugins.site.contributed.collect_site_pages`),
    ``plugin_assets`` their scripts and files (:func:`~weike.plugins.site.contributed.collect_site_assets`).
    ``withheld`` counts the courses left out for their errors (a preview's home page says so). ``kept``
    is what a long-running caller (``weike serve``) keeps between its builds
    (:class:`~weike.plugins.site.course_memo.KeptCourses`). ``check_keys`` are the check's keys of
    the courses (``BuildContext.course_keys``): a course with one is not hashed again. Raises :class:`SiteBuildFailed` when
    MkDocs cannot build at all (bad ``mkdocs.yml`` or theme override).
    """
    started = time.monotonic()
    root = root.resolve()
    settings = load_settings(root, site_url)
    # One course's data never stops the site: what fails for it (E901) leaves just that course out.
    isolation = CourseIsolation(stage="site", plugin=PLUGIN_NAME)
    # A cold build that will make every course makes their QR codes and loads jieba's dictionary
    # while it makes their covers, both cores busy (none of it is read before the courses are made).
    qr_codes = beside = None
    if makes_every_course(site_dir, work_dir, force=force, kept=kept):
        qr_codes = QrCodes(cache_dir / QR_CODES_FILE)
        beside = work_ahead_of_courses(publishable(courses, delivered, preview=preview), qr_codes=qr_codes,
                                       site_url=settings.site_url)
    with CoverCache(cache_dir) as covers:
        collected = collect_courses(courses, delivered, covers, preview=preview, savers=savers,
                                    isolation=isolation, beside=beside)
        catalogue = Catalogue(courses=tuple(collected.courses), site_url=settings.site_url, withheld=withheld)
        # Centre photos become small JPEGs like course covers, from the same cache.
        site_centres = centre_pages.published_centres(centres, catalogue, covers, allowed=publish_centres)
    collected.diagnostics.extend(isolation.diagnostics)
    published = tuple(c.slug for c in catalogue.courses)

    keys = course_keys(catalogue, collected.thumbnails, delivered, centres=site_centres,
                       notes_text=settings.search_notes, kept=kept, check_keys=check_keys)
    inputs = input_hash(settings, collected, delivered, root, preview=preview, centres=site_centres,
                        plugin_pages=plugin_pages, withheld=withheld, plugin_assets=plugin_assets,
                        course_keys=keys)
    built_from, earlier, stamp = read_stamp(site_dir, inputs) if site_dir.is_dir() else (None, (), None)
    if not force and built_from == inputs:
        placed: dict[str, tuple[int, int, int]] = {}
        place_media(catalogue, site_dir, placed)
        return WebsiteResult(site_dir=site_dir, rebuilt=False, site_url=settings.site_url, published=published,
                             inputs=built_from, media=placed, diagnostics=tuple(collected.diagnostics) + earlier, seconds=time.monotonic() - started)

    qr_codes = qr_codes or QrCodes(cache_dir / QR_CODES_FILE)
    page_isolation = CourseIsolation(stage="site", plugin=PLUGIN_NAME)
    # What each course's pages are, remembered between builds: only courses whose key changed are made again.
    memo = CourseMemo(work_dir / MEMO_FOLDER, read=not force, kept=kept)
    with CoverCache(cache_dir) as pictures:
        sources = generate_sources(catalogue, collected, root, notes_text=settings.search_notes, qr_codes=qr_codes,
                                   pictures=pictures, centres=site_centres, isolation=page_isolation,
                                   site_name=settings.site_name, plugin_pages=plugin_pages, made=made,
                                   memo=memo, keys=keys)
    sources.diagnostics.extend(page_isolation.diagnostics)
    catalogue = sources.catalogue
    published = tuple(c.slug for c in catalogue.courses)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(site_dir)
    # What the site folder holds from the previous build, file by file (none when forced: all made anew).
    present = manifest.present_files(site_dir, stamp_file=STAMP_FILE, skip=("media",)) if site_dir.is_dir() else {}
    previous = None if force else manifest.read_manifest(stamp, present)
    tmp_dir = make_build_folder(site_dir)
    # What the build writes from bytes in memory is recorded as written, never read back to be hashed.
    written = manifest.WrittenFiles(tmp_dir)
    placed = {}
    placing = None  # the media being linked by another process (a cold build's)
    writing = None  # the plugins' files and the QR record being written by another process (a cold build's)
    try:
        # A cold build links its media into the new folder from another process, started here:
        # system calls only, beside this process's serial work up to the render (the other core
        # is idle then), moved into place after it.
        if previous is None and placing_aside(catalogue):
            placing = place_media_aside(catalogue, tmp_dir)
        # The plugins' files beside the docs (never in them), handed to MkDocs as generated files,
        # and the QR codes' record. A cold build's (a thousand new files: system calls) are written
        # by a forked process while this one goes on, waited for once the render is set up.
        plugin_files = [(work_dir / "plugin-files" / asset.site_path, asset.data) for asset in plugin_assets]
        if previous is None and render_processes(len(plugin_files), per_process=PLUGIN_FILES_ASIDE) > 1:
            writing = write_work_files_aside(plugin_files, qr_codes)
        else:
            write_work_files(plugin_files, qr_codes)
        for asset, (target, _) in zip(plugin_assets, plugin_files, strict=True):
            sources.files[asset.site_path] = target
        memo.keep_only(published)
        docs_dir, overrides_dir = work_dir / "docs", work_dir / "overrides"
        write_docs(sources, docs_dir)
        if (root / SITE_SOURCES_DIR / "overrides").exists():
            write_overrides(root, overrides_dir)  # weike's, the repository's on top
        else:
            # weike's overrides alone, where weike ships them: the same path in every repository, so
            # Jinja's compiled templates (named by path) serve every repository's first build too.
            shutil.rmtree(overrides_dir, ignore_errors=True)
            overrides_dir = SHIPPED_OVERRIDES
        nav = navigation(catalogue, sources.handwritten, settings.raw.get("nav"), centres=site_centres,
                         plugin_pages=sources.plugin_nav)
        overrides = mkdocs_overrides(settings, docs_dir=docs_dir, site_dir=tmp_dir, overrides_dir=overrides_dir,
                                     nav=nav, plugin_assets=plugin_assets)
        # Each page's inputs: its own body and metadata, and the frame every page shares. A page
        # whose inputs are those it was last made from, still in the site as written, is kept;
        # those in the navigation stay MkDocs pages (the others' sidebars need them) but are
        # written with an empty template, which MkDocs skips.
        engine = engine_digest(settings, overrides, overrides_dir,
                               {rel: sources.site_files[rel] for rel in sources.handwritten})
        # (A cold build keeps no page: its pages' digests, for the stamp alone, are taken while the
        # workers render, with catalogue.json, the sitemap and the feed.)
        made_from = page_digests(engine, sources.pages, sources.digests) if previous is not None else {}
        pages_made_from: dict[str, str] = {}
        if writing is None:  # (plugins' files written aside are a cold build's: none kept)
            made_from.update({rel: file_digest(rel, path) for rel, path in sources.files.items()})
        made_from[ERROR_PAGE] = page_digest(engine, ERROR_PAGE, "")  # the frame alone
        kept_pages: frozenset[str] = frozenset()
        kept_nav: frozenset[str] = frozenset()
        kept_files: frozenset[str] = frozenset()
        kept_templates: frozenset[str] = frozenset()
        if previous is not None and renders_incrementally(settings):
            # (A site/404.html of the repository's is copied first and overwritten by the theme's.)
            if ERROR_PAGE not in sources.site_files and previous.unchanged(ERROR_PAGE, made_from[ERROR_PAGE]):
                kept_templates = frozenset({ERROR_PAGE})
            in_nav = nav_paths(nav)
            unchanged = {rel for rel in sources.pages if previous.unchanged(page_file(rel), made_from[page_file(rel)])}
            kept_pages = frozenset(unchanged - in_nav)
            kept_nav = frozenset(unchanged & in_nav)
            kept_files = frozenset(rel for rel in sources.files if previous.unchanged(rel, made_from[rel]))

        def remake_course(slug: str) -> None:
            # A remembered course's pages are read from its memo by the process that renders them;
            # one whose memo is gone by then is made again (the same key: the same pages).
            with CoverCache(cache_dir) as pictures:
                sources.remake(slug, pictures)

        # The theme's static files (Material's bundles, weike's assets) and those of site/: made
        # from their bytes and the frame's inputs (an mkdocs.yml change may exclude one); not
        # those weike writes after the render.
        keeps_static = previous is not None and renders_incrementally(settings)
        generated = GeneratedPages(
            sources.pages, sources.files, kept_pages=kept_pages, kept_files=kept_files,
            kept_nav_pages=kept_nav, kept_templates=kept_templates,
            static_digest=lambda rel, source: static_digest(engine, rel, Path(source)),
            static_kept=lambda rel, digest: keeps_static and rel not in AFTER_RENDER
                                                  and previous.unchanged(rel, digest),
            remake_course=remake_course)
        # Many pages to render (a cold build) are shared among processes; plugins other than
        # search may gather state page by page, so they keep the serial build.
        rendering = len(sources.pages) - len(kept_pages) - len(kept_nav)
        processes = render_processes(rendering) if renders_incrementally(settings) else 1
        # Material's search cuts the pages it indexes with jieba: runs cut by an earlier build are
        # remembered, so an edit to no indexed text never loads jieba's dictionary.
        cuts = (RememberedCuts(work_dir / CUTS_FILE, read=not force)
                if cuts_allowed(plugin_entries(settings.raw.get("plugins"))) else None)
        # What the render does not make: the merged search index and its shards (what the browser
        # loads, a query's worth at a time), catalogue.json, the sitemap and the feed. In a build
        # that shares its pages, this process makes them while the workers render, as soon as
        # Material's search holds its every entry (`once_indexed`); checked against the index
        # Material then writes, and made again after the render when it differs.
        entries = sources.search_entries()

        def others() -> None:
            write_catalogue_files(tmp_dir, written, catalogue, sources, settings.site_name)
            if previous is None:
                pages_made_from.update(page_digests(engine, sources.pages, sources.digests))

        search = SearchWhileRendering(
            tmp_dir, entries, previous=previous, published_dir=site_dir, written=written,
            parts=RememberedParts(work_dir / PARTS_FILE, read=not force, side_by_side=processes <= 1),
            others=others)
        with lent_to_material_search(cuts):
            warnings = run_mkdocs(settings, overrides, root, generated, processes=processes, written=written,
                                  written_after=AFTER_RENDER, once_indexed=search,
                                  # (a rebuild's shards are mostly kept, or made from remembered parts)
                                  once_indexed_weight=INDEX_WORK_PER_ENTRY * len(entries)
                                  + DIGEST_WORK_PER_PAGE * len(sources.pages) if previous is None else 0,
                                  # (the render copies the plugins' files written aside)
                                  before_render=writing.results if writing is not None else None)
        if writing is not None:  # (written: the stamp records their identities)
            made_from.update({rel: file_digest(rel, path) for rel, path in sources.files.items()})
        if cuts is not None:
            cuts.save()
        made_from.update(generated.static_made_from)

        # Kept whole, not computed, when the index is the one the published shards were made
        # from; else only the files whose bytes differ are written (one course's edit changes a
        # few); the entries' store forms and keys of an earlier build are remembered (one
        # course's edit makes its own entries' again).
        index_bytes, shards = search.after_render(RememberedParts(work_dir / PARTS_FILE, read=not force))
        made_from.update(dict.fromkeys(shards.files, shards.made_from))
        # A course whose pages failed (E901) is tried again by the next build, never replayed.
        stamp_inputs = "" if page_isolation.failed else inputs
        if previous is None:  # made whole: swapped into place at once
            made_from = {**pages_made_from, **made_from}  # (the pages' first, as a rebuild takes them)
            # (The same files, by inode, once swapped into place; the folder's records skip media/,
            # and the media are moved in while a forked process walks its part of the folder.)
            def media_in_place() -> None:
                nonlocal placing
                if placing is not None:
                    placed.update(media_placed_aside(placing, catalogue, tmp_dir))
                    placing = None
                else:
                    place_media(catalogue, tmp_dir, placed)

            made = manifest.Manifest(written=manifest.record_all(tmp_dir, stamp_file=STAMP_FILE,
                                                                 skip=("media", ASIDE_FOLDER),
                                                                 written=written.handed_over() if
                                                                 renders_incrementally(settings) else None,
                                                                 meanwhile=media_in_place))
            made.made_from = {rel: digest for rel, digest in made_from.items() if rel in made.written}
            manifest.write_stamp(tmp_dir, STAMP_FILE, site_stamp(stamp_inputs, sources.diagnostics,
                                                                 len(published), made))
            swap_into_place(tmp_dir, site_dir)
        else:  # only what differs is moved in; unchanged files are not touched
            made = manifest.publish(tmp_dir, site_dir, previous=previous, present=present,
                                    kept=[page_file(rel) for rel in kept_pages | kept_nav] + list(kept_files)
                                    + list(kept_templates) + list(shards.kept) + generated.kept_static,
                                    made_from=made_from)
            place_media(catalogue, site_dir, placed)
            manifest.write_stamp(site_dir, STAMP_FILE, site_stamp(stamp_inputs, sources.diagnostics,
                                                                  len(published), made))
            shutil.rmtree(tmp_dir, ignore_errors=True)
    except BaseException:
        if placing is not None:
            placing.stop()
        if writing is not None:
            writing.stop()
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    sources.remake = None  # (a closure holding the sources: a cycle the collector would have to find)
    return WebsiteResult(site_dir=site_dir, rebuilt=True, site_url=settings.site_url, published=published,
                         pages=len(sources.pages), rendered=len(sources.pages) - len(kept_pages) - len(kept_nav),
                         search_index_bytes=index_bytes, search_computed=shards.computed,
                         cut_by_jieba=cuts.cut_by_jieba if cuts is not None else None,
                         diagnostics=tuple(collected.diagnostics + sources.diagnostics),
                         warnings=tuple(warnings), seconds=time.monotonic() - started, files=made.written,
                         inputs=stamp_inputs, media=placed)
