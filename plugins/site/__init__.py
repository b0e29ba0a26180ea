"""The public catalogue website (built-in plugin): ``weike build`` writes ``dist/site``, ``weike serve`` previews it.

This module is the plugin's face: its hook implementations, each handing the work to the module
named beside it, and the names other plugins use.

Hooks: ``weike_site_stage`` in :mod:`~weike.plugins.site.stage` (and the ``offline`` output stage after
it, :func:`~weike.plugins.site.stage.offline_stage`), ``weike_cache_parts`` in
:mod:`~weike.plugins.site.cache`, ``weike_doctor_checks`` in :mod:`~weike.plugins.site.doctor`,
``weike_settings`` in :mod:`~weike.plugins.site.settings`, ``weike_add_hookspecs`` in
:mod:`~weike.plugins.site.hookspecs`.

Modules: :mod:`~weike.plugins.site.stage` (the two stages: plugins' pages, 省流量 and the site; then
the offline edition), :mod:`~weike.plugins.site.catalogue` (what the site says about each course: URLs, durations,
学时, ``catalogue.json``, sitemap, feed), :mod:`~weike.plugins.site.pages` (the Markdown pages),
:mod:`~weike.plugins.site.search` (the Chinese
search index), :mod:`~weike.plugins.site.covers` (card thumbnails), :mod:`~weike.plugins.site.website` (the
build, in order: :mod:`~weike.plugins.site.sources` the pages in memory, :mod:`~weike.plugins.site.nav`
the navigation, :mod:`~weike.plugins.site.qr` QR codes, :mod:`~weike.plugins.site.stamp` the input hash,
:mod:`~weike.plugins.site.incremental` which pages to render again, :mod:`~weike.plugins.site.engine`
the MkDocs run, :mod:`~weike.plugins.site.placement` media and the atomic swap), :mod:`~weike.plugins.site.serve` (live preview),
:mod:`~weike.plugins.site.share` (``weike share``: the built site on a station's Wi-Fi),
:mod:`~weike.plugins.site.contributed` (the pages other plugins add: ``weike_site_pages`` in
:mod:`~weike.plugins.site.hookspecs`, :class:`SitePage`),
:mod:`~weike.plugins.site.offline` (``dist/offline``, the catalogue opened from a USB stick). The
省流量 (data-saver) renditions are made by the media stage when the site asks (``weike_media_renditions``).
Lecture notes are sanitised by :mod:`weike.plugins.notes`, which the SCORM packages use too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from weike.builder.contracts.context import BuildContext, Made, OutputStage, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.public import lazy_names
from weike.builder.contracts.model import Course, DeliveredMedia, Setting
from weike.builder.keeping.fingerprint import package_versions
from weike.builder.repository.centre import Centre
from weike.plugins.site.settings import SETTINGS, site_url

__all__ = ["MINUTES_PER_STUDY_HOUR", "ShareRoute", "SiteAsset", "SitePage", "script_text", "site_lectures",
           "site_url", "study_hours"]

#: The public names other plugins use, by the module that defines them: imported when first asked
#: for, so that registering this plugin (every weike command does) imports neither the catalogue
#: nor ``weike share``'s server (``http.server``, ``ssl``).
_PUBLIC = {
    "MINUTES_PER_STUDY_HOUR": "catalogue", "site_lectures": "catalogue", "study_hours": "catalogue",
    "SiteAsset": "contributed", "SitePage": "contributed", "script_text": "contributed",
    "ShareRoute": "share",
}

__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)


@hookimpl
def weike_site_stage(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
                     centres: Sequence[Centre], made: Made) -> StageOutcome:
    from weike.plugins.site.stage import site_stage

    return site_stage(context, courses, delivered, centres, made)


@hookimpl
def weike_add_hookspecs(plugin_manager) -> None:
    """``weike_site_pages``: the pages other plugins add to the catalogue."""
    from weike.plugins.site import hookspecs

    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def weike_cli_commands(subparsers) -> None:
    from weike.plugins.site.offline.edition import add_offline_command
    from weike.plugins.site.serve import add_serve_command
    from weike.plugins.site.share import add_share_command

    add_serve_command(subparsers)
    add_share_command(subparsers)
    add_offline_command(subparsers)


# --------------------------------------------------------------------------------------------
# Operations: `weike doctor` and `weike cache`
# --------------------------------------------------------------------------------------------


@hookimpl
def weike_doctor_checks() -> list:
    from weike.plugins.site.doctor import doctor_checks

    return doctor_checks()


@hookimpl
def weike_cache_parts(context: BuildContext, repository) -> list:
    from weike.plugins.site.cache import cache_parts

    return cache_parts(context, repository)


@hookimpl
def weike_settings() -> tuple[Setting, ...]:
    return SETTINGS


@hookimpl
def weike_build_inputs(root: Path, config) -> list[Path | str]:
    """The hand-written part of the site, its MkDocs configuration, and the libraries that render it."""
    versions = package_versions("mkdocs", "mkdocs-material", "markdown", "nh3", "jieba", "qrcode", "pillow")
    return [root / "site", root / "mkdocs.yml", *(f"{name} {version}" for name, version in versions)]


def _offline_stage(**arguments) -> StageOutcome:
    from weike.plugins.site.stage import offline_stage

    return offline_stage(**arguments)


@hookimpl
def weike_output_stages() -> list[OutputStage]:
    """The catalogue website, then its offline edition (a second rendering of every page, for
    ``file://``: its own stage, so each is timed and asked for on its own): every course of the
    repository."""
    return [OutputStage(name="site", title="网站 site", hook="weike_site_stage", needs=("media",),
                        whole_repository=True),
            OutputStage(name="offline", title="离线版 offline", make=_offline_stage, needs=("site",),
                        whole_repository=True)]


@hookimpl
def weike_media_renditions(context: BuildContext) -> list:
    """The 省流量 rendition, when ``mkdocs.yml`` offers it on the pages or the offline edition carries it."""
    from weike.plugins.media import DATA_SAVER
    from weike.plugins.site.settings import wants_data_saver

    return [DATA_SAVER] if wants_data_saver(context.paths.root) else []
