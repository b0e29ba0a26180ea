"""The site's stamp (``.weike-site.json`` in the site folder): the hash of everything a build depends
on (:func:`input_hash`), so an unchanged site is kept, and the warnings of that build, repeated when
it is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from weike.builder import __version__

from weike.builder.contracts.diagnostics import diagnostic_dict, diagnostic_from_dict
from weike.builder.contracts.model import DeliveredMedia, Diagnostic
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.plugins.site import centres as centre_pages
from weike.plugins.site import manifest
from weike.plugins.site.contributed import OfferedPage, SiteAsset
from weike.plugins.site.engine import SiteSettings
from weike.plugins.site.sources import Collected, site_sources

STAMP_FILE = ".weike-site.json"


def input_hash(settings: SiteSettings, collected: Collected, delivered: Mapping[str, DeliveredMedia],
               root: Path, *, preview: bool, centres: Sequence[centre_pages.SiteCentre] = (),
               plugin_pages: Sequence[OfferedPage] = (), withheld: int = 0,
               plugin_assets: Sequence[SiteAsset] = (), course_keys: Mapping[str, str]) -> str:
    """A hash of everything the built site depends on, cheap enough to compute on every build
    (``course_keys``: :func:`~weike.plugins.site.course_memo.course_keys` of the collected courses)."""
    fingerprint = Fingerprint(
        preview, withheld, settings.site_url, settings.config_file.read_bytes(),
        package_versions("mkdocs", "mkdocs-material", "jieba", "nh3", "qrcode", "markdown", "pillow"),
        # This plugin with its theme, the notes sanitiser whose output the pages embed, and what
        # makes the notes' pictures for phones.
        code_digest(__name__, "weike.plugins.notes", "weike.plugins.pictures"))
    for rel, path in site_sources(root):
        fingerprint.add(rel).add_file(path)
    # Each course by its key: everything its pages are made from (the course, its cover, media and
    # notes' pictures: weike.plugins.site.course_memo.course_key).
    for item in collected.courses:
        fingerprint.add(item.slug, course_keys[item.slug])
    for centre in centres:
        fingerprint.add(centre.centre, [(url, thumbnail.source_sha256) for url, thumbnail in centre.photos])
    # What the plugins returned, whole (path, title, body, in_nav, plugin, where its hook is):
    # their pages may come from anything they read, so their code alone would not say.
    fingerprint.add(tuple(plugin_pages))
    for asset in plugin_assets:
        fingerprint.add(asset.site_path, asset.load, asset.data)
    return fingerprint.hexdigest()


def read_stamp(site_dir: Path, inputs: str | None = None) -> tuple[str | None, tuple[Diagnostic, ...], dict | None]:
    """(input hash, the warnings of that build, the whole stamp) recorded in ``site_dir``, so a
    skipped build repeats the warnings and a rebuild reads the stamp once.

    The input hash is None (so the site is built again) when a file the build wrote is gone or
    no longer has the size and time it was written with: a deleted or defaced page is repaired by
    the next build. That is looked at (a stat per file) only when the hash is ``inputs``: otherwise
    the site is built again anyway, and the rebuild compares every file itself.
    """
    stamp = manifest.read_stamp_file(site_dir, STAMP_FILE)
    if stamp is None:
        return None, (), None
    try:
        diagnostics = tuple(diagnostic_from_dict(d) for d in stamp.get("diagnostics", []))
    except (ValueError, AttributeError, KeyError, TypeError):
        return None, (), None
    built_from = stamp.get("inputs")
    if built_from == inputs and not manifest.still_as_written(stamp, site_dir):
        return None, diagnostics, stamp
    return built_from, diagnostics, stamp


def site_stamp(inputs: str, diagnostics: Sequence[Diagnostic], courses: int, made: manifest.Manifest) -> dict:
    return {"inputs": inputs, "weike": __version__, "courses": courses,
            "diagnostics": [diagnostic_dict(d) for d in diagnostics], **made.as_json()}
