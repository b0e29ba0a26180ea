"""The catalogue's 品牌社区学习中心 section: a list page, a page per centre, and the links between
centres and their courses.

A centre's page shows what the province recommends it for (the six texts of 附件4), its photos
(as small cached JPEGs, like course covers), its level and region, the institution itself as the
contact, and its courses. It never shows the contact person, phone or e-mail: those are for the
officers' forms. A centre with ``publish: false`` (or every centre, with ``publish_centres:
false`` in weike.yml) is left off the site entirely: its texts may be drafts for the province only.

Every value an author wrote is HTML-escaped here (:func:`weike.plugins.site.pages.e`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from weike.builder.repository.centre import Centre
from weike.plugins.province import CENTRE_TEXTS
from weike.plugins.site.catalogue import Catalogue, SiteCourse
from weike.plugins.site.covers import CoverCache, CoverError, Thumbnail
from weike.plugins.site.pages import GeneratedPage, breadcrumbs, course_cards, e, page

SECTION_TITLE = "品牌社区学习中心"
SECTION_FOLDER = "centres"
INDEX_PAGE = f"{SECTION_FOLDER}/index.md"


@dataclass(frozen=True, kw_only=True)
class SiteCentre:
    """A centre as the site shows it: its page URL, photo thumbnails and published courses."""

    centre: Centre
    #: Site-relative URL of its page (``centres/<slug>/``).
    url: str
    #: (site-relative file, thumbnail) of each photo, in the author's order.
    photos: tuple[tuple[str, Thumbnail], ...] = ()
    courses: tuple[SiteCourse, ...] = ()

    @property
    def slug(self) -> str:
        return self.centre.slug

    @property
    def title(self) -> str:
        return self.centre.name or self.centre.slug


def published_centres(centres: Sequence[Centre], catalogue: Catalogue, covers: CoverCache, *,
                      allowed: bool = True) -> list[SiteCentre]:
    """The centres the site may show (``publish`` true, and ``allowed`` by weike.yml), by name,
    each with its photo thumbnails and the courses of it that the catalogue publishes."""
    if not allowed:
        return []
    by_slug = {item.slug: item for item in catalogue.courses}
    shown = []
    for centre in sorted((c for c in centres if c.publish), key=lambda c: (c.name or "", c.slug)):
        photos = []
        for number, photo in enumerate(centre.photos, start=1):
            if photo.path is None:
                continue
            try:
                thumbnail = covers.thumbnail(photo.path)
            except CoverError:
                continue  # the check stage reported it (E708)
            photos.append((f"{SECTION_FOLDER}/{centre.slug}/photo-{number:02d}.jpg", thumbnail))
        courses = tuple(by_slug[slug] for slug in dict.fromkeys(centre.courses) if slug in by_slug)
        shown.append(SiteCentre(centre=centre, url=f"{SECTION_FOLDER}/{centre.slug}/", photos=tuple(photos),
                                courses=courses))
    return shown


def centres_of_courses(centres: Sequence[SiteCentre]) -> dict[str, list[SiteCentre]]:
    """Course slug -> the published centres that run it (for the link on the course page)."""
    found: dict[str, list[SiteCentre]] = {}
    for item in centres:
        for course in item.courses:
            found.setdefault(course.slug, []).append(item)
    return found


def _centre_list(centres: Sequence[SiteCentre], depth: int) -> str:
    up = "../" * depth
    items = []
    for item in centres:
        facts = " · ".join(x for x in (item.centre.level, item.centre.region, f"{len(item.courses)} 门课程") if x)
        items.append(f'<li><a class="weike-tile" href="{up}{item.url}">{e(item.title)}'
                     f'<span class="weike-tile__count">{e(facts)}</span></a></li>')
    return '<ul class="weike-tiles weike-centres">\n' + "\n".join(items) + "\n</ul>"


def home_section(centres: Sequence[SiteCentre]) -> str:
    """The home page's 品牌社区学习中心 block (empty when no centre is published)."""
    if not centres:
        return ""
    return (f'<h2 id="centres">{SECTION_TITLE}</h2>\n'
            f'<p><a href="{SECTION_FOLDER}/">全部 {len(centres)} 个{SECTION_TITLE}</a></p>\n'
            + _centre_list(centres, 0))


def index_page(centres: Sequence[SiteCentre]) -> GeneratedPage:
    body = [breadcrumbs(1, []), f"<h1>{SECTION_TITLE}</h1>",
            f"<p>{len(centres)} 个品牌社区学习中心典型案例：它们的做法和经验，以及它们开设的课程。</p>",
            _centre_list(centres, 1)]
    return page({"title": SECTION_TITLE, "search": {"exclude": True}, "hide": ["toc"]}, body)


def _paragraphs(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return "\n".join(f"<p>{e(line)}</p>" for line in lines)


def centre_page(item: SiteCentre) -> GeneratedPage:
    centre = item.centre
    body = [
        breadcrumbs(2, [(f"{SECTION_FOLDER}/", SECTION_TITLE)]),
        f"<h1>{e(item.title)}</h1>",
        '<dl class="weike-facts">',
        f"<dt>所处层级</dt><dd>{e(centre.level or '')}</dd>",
        f"<dt>所在地区</dt><dd>{e(centre.region or '')}</dd>",
        # The institution is the contact; the person, phone and e-mail stay on the officers' forms.
        f"<dt>联系单位</dt><dd>{e(item.title)}</dd>",
        f"<dt>开设课程</dt><dd>{len(item.courses)} 门</dd>",
        "</dl>",
    ]
    if item.photos:
        body.append('<div class="weike-photos">')
        for number, (url, thumbnail) in enumerate(item.photos, start=1):
            body.append(f'<img class="weike-cover" src="photo-{number:02d}.jpg" alt="{e(item.title)}照片 {number}" '
                        f'loading="lazy" decoding="async" width="{thumbnail.width}" height="{thumbnail.height}">')
        body.append("</div>")
    for key, label, _ in CENTRE_TEXTS:
        if centre.text(key):
            body.append(f'<h2 id="{key}">{e(label)}</h2>\n{_paragraphs(centre.text(key))}')
    body.append('<h2 id="courses">开设的品牌课程</h2>')
    body.append(course_cards(list(item.courses), 2))
    description = centre.promotion or item.title
    return page({"title": e(item.title), "description": e(description), "search": {"exclude": True}}, body)


def centre_links(centres: Sequence[SiteCentre]) -> tuple[tuple[str, str], ...]:
    """(site-relative URL, name) of each centre, for a course page's facts."""
    return tuple((item.url, item.title) for item in centres)


def generate(centres: Sequence[SiteCentre]) -> tuple[dict[str, GeneratedPage], dict[str, object]]:
    """(pages by docs path, photo files by site path) of the whole section."""
    pages: dict[str, GeneratedPage] = {}
    files: dict[str, object] = {}
    if not centres:
        return pages, files
    pages[INDEX_PAGE] = index_page(centres)
    for item in centres:
        pages[f"{SECTION_FOLDER}/{item.slug}/index.md"] = centre_page(item)
        for url, thumbnail in item.photos:
            files[url] = thumbnail.path
    return pages, files


def navigation_entry(centres: Sequence[SiteCentre]) -> Mapping[str, str] | None:
    return {f"{SECTION_TITLE}（{len(centres)}）": INDEX_PAGE} if centres else None
