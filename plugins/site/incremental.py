"""What each page is made from: a page whose inputs (its own body, and the frame every page shares)
are those it was last made from is kept from the previous build instead of rendered again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.builder.keeping.memo import sha256_file
from weike.plugins.site.engine import SiteSettings, plugin_entries, plugin_name
from weike.plugins.site.nav import page_url

#: Repository MkDocs plugins that leave each page a function of its own inputs (others, or
#: ``hooks``, may read anything: every page is then rendered on every build).
_PAGE_LOCAL_PLUGINS = frozenset({"search", "material/search"})


def renders_incrementally(settings: SiteSettings) -> bool:
    """Whether a page that did not change may be kept from the previous build."""
    plugins = {plugin_name(entry) for entry in plugin_entries(settings.raw.get("plugins"))}
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
        code_digest("weike.plugins.site.generated"), code_digest("weike.plugins.site.frames"))
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


def page_digest(engine: str, rel: str, content: str) -> str:
    """What the page ``rel`` is made from: the frame (``engine``) and its own ``content``
    (:func:`~weike.plugins.site.course_memo.content_digest`)."""
    return Fingerprint(engine, rel, content).hexdigest()


def page_digests(engine: str, pages: Iterable[str], contents: Mapping[str, str]) -> dict[str, str]:
    """:func:`page_digest` of every page ``rel`` of ``pages`` (its content in ``contents``), keyed
    by :func:`page_file`: what all share (the version, the frame) hashed once and copied for each
    page, so a cold build's 13,000 digests cost a third of as many fingerprints; the same bytes
    hashed."""
    shared = Fingerprint(engine)
    return {page_file(rel): shared.copy().add(rel, contents[rel]).hexdigest() for rel in pages}


def file_digest(rel: str, source: Path) -> str:
    return Fingerprint("site-file", rel).add_file(source).hexdigest()


def static_digest(engine: str, rel: str, source: Path) -> str:
    """What a static file of the theme or of ``site/`` is made from: its bytes (the theme's folder
    is written again on every build, so its files' times say nothing) and the frame's inputs."""
    return Fingerprint(engine, "static", rel, sha256_file(source)).hexdigest()
