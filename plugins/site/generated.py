"""A MkDocs plugin that hands weike's generated pages to MkDocs as ready HTML.

weike's pages are HTML already (:mod:`weike.plugins.site.pages`). Written out as Markdown files they
would be read from disk, their front matter parsed as YAML and their HTML re-parsed by
Python-Markdown's raw-HTML pass, 13,000 times for 1,000 courses. Instead this plugin adds them to
MkDocs' file list as in-memory files, gives each page its metadata directly and its body after
the (now empty) Markdown conversion. Hand-written pages from ``site/`` are untouched.

It also memoises Material's navigation sidebar for pages outside the navigation (every course
and lecture page): those render it identically for a given depth, and rendering it was about a
fifth of MkDocs' time at catalogue scale. ``main.html`` uses ``weike_nav_cache`` for that.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from weike.plugins.site.pages import GeneratedPage


class NavigationCache(dict):
    """Rendered sidebars by base URL, filled from the template (``set`` returns '' for Jinja)."""

    def set(self, key: str, html: str) -> str:
        self[key] = html
        return ""


class GeneratedPages(BasePlugin):
    """Serves ``pages`` (docs-relative ``.md`` path -> :class:`GeneratedPage`) and static ``files``."""

    def __init__(self, pages: Mapping[str, GeneratedPage], files: Mapping[str, Path]) -> None:
        super().__init__()
        self.pages = pages
        self.files = files
        self.navigation_cache = NavigationCache()

    def on_files(self, files: Files, *, config) -> Files:
        for uri in self.pages:
            files.append(File.generated(config, uri, content=""))
        for uri, path in self.files.items():
            files.append(File.generated(config, uri, abs_src_path=str(path)))
        return files

    def on_env(self, env, *, config, files):
        env.globals["weike_nav_cache"] = self.navigation_cache
        return env

    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        generated = self.pages.get(page.file.src_uri)
        if generated is None:
            return markdown
        page.meta = dict(generated.meta)
        return ""

    def on_page_content(self, html: str, *, page, config, files) -> str:
        generated = self.pages.get(page.file.src_uri)
        return html if generated is None else generated.html
