"""The site's inputs in memory: the courses it can publish (:func:`collect_courses`), every page and
file of the docs folder (:func:`generate_sources`: weike's pages, the hand-written ones of ``site/``,
the plugins' pages), and the work folder MkDocs reads (:func:`write_docs`, :func:`write_overrides`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weike.builder.contracts.context import Made
from weike.builder.contracts.model import THEMES, Course, DeliveredMedia, Diagnostic, PROVIDER_LEVELS, SourceLocation
from weike.builder.keeping import outputs
from weike.builder.running.isolation import CourseIsolation
from weike.plugins.notes import lecture_notes
from weike.plugins.site import centres as centre_pages
from weike.plugins.site.catalogue import (LEVEL_SLUGS, THEME_SLUGS, Catalogue, SiteCourse, catalogue_entry,
                                         site_lectures)
from weike.plugins.site.contributed import OfferedPage, place_pages
from weike.plugins.site.course_memo import (CourseMade, CourseMemo, RememberedPage, body_digest,
                                            content_digest, entries_key)
from weike.plugins.site.covers import CoverCache, CoverError, Thumbnail, WorkBeside
from weike.plugins.site.engine import DEFAULT_SITE_NAME, SITE_SOURCES_DIR, THEME_DIR
from weike.plugins.site.nav import HOME_FILE, page_url
from weike.plugins.site.pages import (GeneratedPage, course_page, home_page, lecture_page, lecture_pages_common,
                                      level_page, theme_page)
from weike.plugins.site.qr import MissingCodes, QrCodes, packed_codes
from weike.plugins.site.search import SearchCuts, course_entry_inputs, entries_from

#: Paths the generator owns; a file in site/ with one of these names is ignored (W407), a plugin's
#: page (weike_site_pages) there is left out (E410).
RESERVED = ("index.md", "courses", "centres", "themes", "levels", "media", "assets/weike", "catalogue.json",
            "sitemap.xml", "sitemap.xml.gz", "feed.xml", "search")
#: How the plugin manager names this plugin (E901 names it when a course's pages fail).
PLUGIN_NAME = "weike.plugins.site"


@dataclass(kw_only=True)
class Collected:
    courses: list[SiteCourse] = field(default_factory=list)
    thumbnails: dict[str, Thumbnail] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def publishable(courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia], *, preview: bool) -> list[Course]:
    """The courses with a cover and (unless ``preview``) every lecture's video delivered: those
    :func:`collect_courses` publishes unless their cover cannot be made into a thumbnail."""
    return [course for course in courses if course.cover is not None and course.cover.path is not None
            and (preview or all(lecture.key in delivered for lecture in course.lectures))]


def collect_courses(courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia], covers: CoverCache,
                    *, preview: bool, savers: Mapping[str, tuple[Path, int]] | None = None,
                    isolation: CourseIsolation | None = None, beside: WorkBeside | None = None) -> Collected:
    """The courses the site can publish, each with its cover thumbnail; the others as diagnostics.

    An exception while collecting one course leaves just that course out (E901, in ``isolation``).
    ``beside``: other work done while the covers are made (:func:`work_ahead_of_courses`).
    """
    isolation = isolation or CourseIsolation(stage="site", plugin=PLUGIN_NAME)
    found = Collected()

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

    # A cold build's covers are made side by side first; each course then finds its own made.
    covers.make_missing_thumbnails([course.cover.path for course in publishable(courses, delivered, preview=preview)],
                                   beside=beside)
    for course in sorted(courses, key=lambda c: c.slug):
        isolation.call(course, lambda: collect(course), what="收集课程 collecting the course")
    return found


def site_sources(root: Path) -> Iterator[tuple[str, Path]]:
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


@dataclass(kw_only=True)
class Sources:
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
    #: Each course's search entries, by course slug (:func:`~weike.plugins.site.search.course_entries`).
    search: dict[str, list[dict]] = field(default_factory=dict)
    #: Each course's part of ``catalogue.json``, by course slug.
    catalogue_entries: dict[str, str] = field(default_factory=dict)
    #: Docs-relative path -> :func:`~weike.plugins.site.course_memo.content_digest` of every page.
    digests: dict[str, str] = field(default_factory=dict)
    #: The memo the remembered courses' pages come from (:class:`~weike.plugins.site.course_memo.RememberedPage`).
    memo: CourseMemo | None = None
    #: Makes one course's pages again (a remembered course whose pages turned out gone).
    remake: Callable[[str, CoverCache], None] | None = None

    def search_entries(self) -> list[dict]:
        """The search entries of every published course, in the catalogue's title order."""
        return [entry for item in self.catalogue.by_title for entry in self.search.get(item.slug, ())]


def is_reserved(rel: str) -> bool:
    return any(rel == name or rel.startswith(name + "/") for name in RESERVED)


def generate_sources(catalogue: Catalogue, collected: Collected, root: Path, *, notes_text: bool,
                     qr_codes: QrCodes, pictures: CoverCache, centres: Sequence[centre_pages.SiteCentre] = (),
                     isolation: CourseIsolation | None = None, site_name: str = DEFAULT_SITE_NAME,
                     plugin_pages: Sequence[OfferedPage] = (), made: Made | None = None,
                     memo: CourseMemo | None = None, keys: Mapping[str, str] | None = None) -> Sources:
    """Every page and file of the docs folder, in memory.

    ``sources.catalogue`` is ``catalogue`` without the courses whose pages failed (E901).
    ``plugin_pages`` (``weike_site_pages``) come last: each may only take a path nothing else has.
    A course whose key (``keys``, by slug: :func:`~weike.plugins.site.course_memo.course_key`) is
    the one ``memo`` holds is not made again: its pages are :class:`RememberedPage` values. So are
    those of a course a worker process made and remembered (:func:`courses_side_by_side`).
    """
    import markdown
    import yaml

    isolation = isolation or CourseIsolation(stage="site", plugin=PLUGIN_NAME)
    sources = Sources()
    intro_html, home_title = "", None
    for rel, path in site_sources(root):
        if rel.startswith("overrides/"):
            continue
        if rel == HOME_FILE:
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
        if is_reserved(rel):
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
    sources.memo = memo
    keys = keys or {}
    by_slug = {item.slug: item for item in catalogue.courses}
    #: The cuts of the texts the courses' entries share (titles, themes, providers), for this build.
    cuts = SearchCuts()

    def make_course(item: SiteCourse, pictures: CoverCache) -> tuple[dict[str, GeneratedPage], CourseMade, bool]:
        """The course's pages and what else it makes; True when the memo now holds them."""
        made_now = _course_sources(item, catalogue, notes_text=notes_text, qr_codes=qr_codes,
                                   thumbnails=collected.thumbnails, pictures=pictures,
                                   centres=centres_of_course.get(item.slug, ()), made=made)
        # The entries (jieba's work) from the course's memo when what they are made from is unchanged.
        entry_inputs = course_entry_inputs(item, notes_text=made_now.notes_text if notes_text else None)
        search_key = entries_key(entry_inputs)
        search = memo.entries(item.slug, search_key) if memo is not None else None
        if search is None:
            search = entries_from(entry_inputs, cuts=cuts)
        # Each page's HTML encoded once, for its digest and for the memo's file.
        bodies = {rel: page.html.encode("utf-8") for rel, page in made_now.pages.items()}
        course_made = CourseMade(
            digests={rel: body_digest(rel, page.meta, bodies[rel]) for rel, page in made_now.pages.items()},
            files=made_now.files, diagnostics=made_now.diagnostics, search=search,
            catalogue=catalogue_entry(item), search_key=search_key)
        remembered = memo is not None and item.slug in keys and memo.put(item.slug, keys[item.slug],
                                                                          made_now.pages, course_made, bodies=bodies)
        return made_now.pages, course_made, remembered

    #: The memo of each course that has one for its key, read once, before the loop.
    recalled: dict[str, CourseMade | None] = {}
    #: Courses made whole before the loop (a cold build's), by slug: those this process made, with
    #: their pages; those a worker process made and remembered, as :meth:`CourseMade.as_dict`.
    made_here: dict[str, tuple[dict[str, GeneratedPage], CourseMade]] = {}
    made_apart: dict[str, dict] = {}
    this_process = os.getpid()

    def make_remembered(item: SiteCourse) -> dict | None:
        """Make ``item`` whole and remember it, in whichever process runs this: a worker sends back
        what the build needs of the course but its pages, which the memo's files now hold (the
        build reads them where they are rendered). None: the loop makes the course (again)."""
        try:
            pages, course_made, remembered = make_course(item, pictures)
        except Exception:  # noqa: BLE001 (the loop makes it again, for the course only, and reports it)
            return None
        if os.getpid() == this_process:
            made_here[item.slug] = (pages, course_made)
            return None
        return course_made.as_dict() if remembered else None

    def recall(item: SiteCourse) -> CourseMade | None:
        return memo.get(item.slug, keys[item.slug]) if memo is not None and item.slug in keys else None

    def remembered_pages(item: SiteCourse, remembered: CourseMade) -> dict[str, RememberedPage]:
        course_url = catalogue.absolute(item.url)
        if course_url:
            qr_codes.keep(course_url)  # its page shows the code: the record keeps it
        return {rel: RememberedPage(memo, item.slug, rel) for rel in remembered.digests}

    def course_sources(item: SiteCourse) -> tuple[dict[str, GeneratedPage | RememberedPage], CourseMade]:
        if item.slug in made_here:
            return made_here.pop(item.slug)
        if item.slug in made_apart:
            course_made = CourseMade.from_dict(made_apart.pop(item.slug))
            memo.put_elsewhere(item.slug, keys[item.slug], course_made)
            return remembered_pages(item, course_made), course_made
        remembered = recalled.pop(item.slug) if item.slug in recalled else recall(item)
        if remembered is None:
            return make_course(item, pictures)[:2]
        return remembered_pages(item, remembered), remembered

    def add(item: SiteCourse, pages: Mapping, course_made: CourseMade) -> None:
        sources.pages.update(pages)
        sources.digests.update(course_made.digests)
        # The cover thumbnail comes from this build's collection (the cache may have moved it).
        sources.files[item.cover_url] = collected.thumbnails[item.slug].path
        sources.files.update(course_made.files)
        sources.search[item.slug] = course_made.search
        sources.catalogue_entries[item.slug] = course_made.catalogue
        sources.diagnostics.extend(course_made.diagnostics)

    def remake(slug: str, pictures: CoverCache) -> None:
        # The same key, so the same pages: only their bodies were missing.
        pages, course_made, _ = make_course(by_slug[slug], pictures)
        sources.pages.update(pages)
        sources.digests.update(course_made.digests)

    sources.remake = remake
    # The courses the memo does not hold are made whole side by side (a cold build), each
    # remembered by the process that made it (a memo that fails to read here is read again in the
    # loop, where its failure is the course's own).
    to_make = []
    for item in catalogue.courses:
        try:
            recalled[item.slug] = recall(item)
        except Exception:  # noqa: BLE001 (reported for its course only, by the loop below)
            continue
        if recalled[item.slug] is None and memo is not None and item.slug in keys:
            to_make.append(item)
    # Their QR codes are all made first, even too few to share (a code a worker made would be its
    # own), by another process while this one loads jieba's dictionary (and makes the rest).
    urls = [catalogue.absolute(item.url) for item in catalogue.courses]
    made_apart.update(courses_side_by_side(to_make, make_remembered, codes=(qr_codes, urls)))
    # A build with few courses to make: their codes made side by side when many (each course's page
    # then finds its own), else each by its course.
    qr_codes.make_missing(urls)
    published = []
    for item in catalogue.courses:
        made_course = isolation.call(item.course, lambda: course_sources(item), what="生成网页 generating its pages")
        if made_course is None:
            continue
        published.append(item)
        add(item, *made_course)
    catalogue = dataclasses.replace(catalogue, courses=tuple(published))
    sources.catalogue = catalogue
    kept = {item.slug for item in published}
    centres = [dataclasses.replace(centre, courses=tuple(c for c in centre.courses if c.slug in kept))
               for centre in centres]

    sources.pages[HOME_FILE] = home_page(catalogue, intro_html=intro_html, title=home_title,
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
    placed = place_pages(plugin_pages, taken=taken, reserved=is_reserved, page_url=page_url)
    sources.pages.update(placed.pages)
    sources.plugin_nav = placed.nav
    sources.diagnostics.extend(placed.diagnostics)
    for rel, page in sources.pages.items():
        if rel not in sources.digests:
            sources.digests[rel] = content_digest(rel, page)
    return sources


#: Fewer courses to make than this per process are not worth a fork.
COURSES_PER_PROCESS = 24
#: QR codes made in about the CPU time jieba's dictionary takes to load (0.17-0.23 s, at 0.07 ms
#: a code; measured): the process making codes aside takes that many more than this one, which
#: loads the dictionary first, so the two finish together (up to 2,500 courses, all aside).
DICTIONARY_WORTH_CODES = 2_500


#: jieba's dictionary takes about as much CPU to load as this many covers' thumbnails to make
#: (0.2 s against 2-3 ms a cover; measured at 300 courses).
DICTIONARY_WORTH_COVERS = 100
#: QR codes made in about a cover's thumbnail's CPU (0.1 ms a code).
CODES_A_COVER = 25


def work_ahead_of_courses(candidates: Sequence[Course], *, qr_codes: QrCodes, site_url: str | None) -> WorkBeside | None:
    """What a cold build that will make all its courses (none remembered) does while it makes
    their covers' thumbnails (:meth:`~weike.plugins.site.covers.CoverCache.make_missing_thumbnails`),
    where :func:`courses_side_by_side` will share them among processes: this process loads jieba's
    dictionary (which the courses' workers share) while another makes the covers and then the
    QR codes of ``candidates``' pages (recorded in ``qr_codes``), each process its share of the
    covers, so both cores are busy from the stage's start to the courses made. None for a build
    with too few courses to share (the courses then make what they need themselves).

    A failure loading the dictionary here is left to :func:`courses_side_by_side`'s own load,
    which raises it where it did before; a code not made here is made by its course."""
    from weike.plugins.site.words import whole_dictionary
    from weike.plugins.site.workers import render_processes

    if render_processes(len(candidates), per_process=COURSES_PER_PROCESS) <= 1:
        return None
    catalogue = Catalogue(courses=(), site_url=site_url)
    missing = qr_codes.missing([catalogue.absolute(SiteCourse(course=course, lectures=()).url)
                                for course in candidates])
    chunks = [missing[start:start + CODES_A_COVER] for start in range(0, len(missing), CODES_A_COVER)]

    def load_dictionary() -> None:
        try:
            whole_dictionary()
        except Exception:  # noqa: BLE001 (loaded again before the courses are made, and raised there)
            pass

    def record(made: list) -> None:
        for urls, codes in zip(chunks, made, strict=True):
            qr_codes.record(urls, codes)

    return WorkBeside(items=chunks, work=packed_codes, done=record, meanwhile=load_dictionary,
                      meanwhile_covers=DICTIONARY_WORTH_COVERS)


def courses_side_by_side(items: Sequence[SiteCourse], make: Callable[[SiteCourse], dict | None], *,
                         codes: tuple[QrCodes, Sequence[str]] | None = None) -> dict[str, dict]:
    """``make(item)`` of each of ``items`` (a course made whole and remembered), shared among
    worker processes when there are enough of them (a cold build), by slug where it gave a value;
    nothing otherwise (each course's own making in the loop makes it). jieba's dictionary is
    loaded here first, so the workers share it instead of each loading it; the QR codes of
    ``codes`` (the record and the courses' URLs), which the workers read, are made meanwhile by
    another process and, for those beyond what it makes while the dictionary loads
    (:data:`DICTIONARY_WORTH_CODES`), half by this one after the load; all before the workers are
    forked."""
    from weike.plugins.site.words import whole_dictionary
    from weike.plugins.site.workers import render_processes, share_work

    processes = render_processes(len(items), per_process=COURSES_PER_PROCESS)
    if processes <= 1:
        return {}
    beside: MissingCodes | None = None
    if codes is not None:
        qr_codes, urls = codes
        cut = min(len(urls), (len(urls) + DICTIONARY_WORTH_CODES + 1) // 2)
        beside = qr_codes.make_missing_aside(urls[:cut])
    try:
        whole_dictionary()
        if codes is not None:
            qr_codes.make_missing(urls[cut:], here=True)
            beside.wait()
    finally:
        if beside is not None:
            beside.stop()
    made = share_work(list(items), make, processes=processes)
    return {item.slug: answer for item, answer in zip(items, made, strict=True) if answer is not None}


def _course_sources(item: SiteCourse, catalogue: Catalogue, *, notes_text: bool, qr_codes: QrCodes,
                    thumbnails: Mapping[str, Thumbnail], pictures: CoverCache,
                    centres: Sequence[centre_pages.SiteCentre] = (), made: Made | None = None) -> Sources:
    """The pages and files of one course (its course page, its lecture pages, their pictures: each
    at a size for phones, under the name the notes give it)."""
    sources = Sources()
    course_url = catalogue.absolute(item.url)
    sources.pages[f"courses/{item.slug}/index.md"] = course_page(
        item, qr_svg=qr_codes.svg(course_url) if course_url else None,
        course_url=course_url, centres=centre_pages.centre_links(centres))
    common = lecture_pages_common(item)
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
        sources.pages[f"courses/{item.slug}/{lecture.lecture.slug}.md"] = lecture_page(item, index, notes, common=common)
    return sources



def write_docs(sources: Sources, docs_dir: Path) -> None:
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
    for rel, path in site_sources(root):
        if rel.startswith("overrides/"):
            target = overrides_dir / rel.removeprefix("overrides/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
