"""The site's navigation and page addresses: the sidebar (:func:`navigation`) and the directory URL
MkDocs gives each page (:func:`page_url`).
"""

from __future__ import annotations

from collections.abc import Sequence

from weike.builder.contracts.model import THEMES, PROVIDER_LEVELS
from weike.plugins.site import centres as centre_pages
from weike.plugins.site.catalogue import LEVEL_SLUGS, THEME_SLUGS, Catalogue

HOME_FILE = "index.md"


def page_url(rel: str) -> str:
    """The directory URL MkDocs gives the page ``rel`` (``about.md`` -> ``about/``)."""
    stem = rel.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def navigation(catalogue: Catalogue, handwritten: Sequence[str], raw_nav,
               centres: Sequence[centre_pages.SiteCentre] = (), plugin_pages: Sequence[tuple[str, str]] = ()) -> list:
    """The sidebar: home, themes, levels, centres, the plugins' pages ((escaped title, path)), hand-written pages.

    Every page shows the sidebar, so whatever it says is part of every page's inputs: it names the
    themes and levels that have courses, not how many (their own pages say that). A course added
    to or removed from a theme that stays then renders its own pages and the catalogue's, not
    all 13,000 pages of a national catalogue again.
    """
    # (One pass over the courses: ``catalogue.in_theme`` sorts them all for each theme and level.)
    in_themes = {item.course.theme for item in catalogue.courses}
    at_levels = {item.course.provider.level for item in catalogue.courses}
    themes = [{theme: f"themes/{THEME_SLUGS[theme]}.md"} for theme in THEMES if theme in in_themes]
    levels = [{level: f"levels/{LEVEL_SLUGS[level]}.md"} for level in PROVIDER_LEVELS if level in at_levels]
    nav: list = [{"首页": HOME_FILE}]
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



def nav_paths(nav) -> set[str]:
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
