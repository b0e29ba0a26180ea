"""The site's two output stages: ``site``, the plugins' pages and assets gathered and the catalogue
website built (:func:`~weike.plugins.site.website.build_website`), and ``offline``, its offline
edition after it (:func:`offline_stage`), made from what the site stage handed on (:class:`BuiltWebsite`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weike.builder.contracts.context import BuildContext, Made, StageOutcome
from weike.builder.contracts.model import Course, DeliveredMedia
from weike.builder.repository.centre import Centre
from weike.plugins.site.settings import data_saver_setting, publish_centres, site_url

if TYPE_CHECKING:
    from weike.plugins.site.offline.edition import OfflineSettings
    from weike.plugins.site.website import WebsiteResult

#: The kind (and key) under which the site stage hands the website it built to the offline stage
#: (:class:`~weike.builder.contracts.context.Made`).
WEBSITE_MADE = "site-website"
WEBSITE_KEY = "site"


@dataclass(frozen=True, kw_only=True)
class BuiltWebsite:
    """The website the site stage built, handed on to the offline stage (``Made``): the edition
    rewrites this very site, so it is made from what the site was made from, never read again.

    ``courses``, ``delivered`` and ``centres`` are the site stage's arguments; ``plugin_pages`` and
    ``plugin_assets`` what the plugins gave it (``weike_site_pages`` and ``weike_site_assets`` are
    asked once per build); ``offline`` and ``site_name`` read from ``mkdocs.yml`` with the site's
    settings; ``savers`` the 省流量 renditions by lecture key (the site offers them, or not)."""

    result: WebsiteResult
    courses: Sequence[Course]
    delivered: Mapping[str, DeliveredMedia]
    centres: Sequence[Centre]
    offline: OfflineSettings
    savers: Mapping[str, tuple[Path, int]]
    site_name: str
    plugin_pages: Sequence
    plugin_assets: Sequence


def site_work_dirs(context: BuildContext):
    """(work folder for the generated docs, cache folder for thumbnails)."""
    return context.paths.cache / "site" / "build", context.paths.cache / "site"


def site_stage(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
                     centres: Sequence[Centre], made: Made) -> StageOutcome:
    from weike.builder.keeping.disk import disk_fault
    from weike.builder.keeping.outputs import remove_temps
    from weike.plugins.site.offline.edition import offline_settings
    from weike.plugins.site.website import SiteBuildFailed, build_website, load_settings

    work_dir, cache_dir = site_work_dirs(context)
    plugin_pages, page_diagnostics = site_pages(context, courses, delivered, centres)
    plugin_assets, asset_diagnostics = site_assets(context, courses, delivered,
                                                   page_paths=[offer.page.path for offer in plugin_pages])
    page_diagnostics = [*page_diagnostics, *asset_diagnostics]
    task = context.progress.task(f"网站 {len(courses)} 门课程 (site, {len(courses)} courses)")
    kept = (f"site: 网站未能构建，{context.paths.shown(context.paths.site)} 保持上次的版本 "
            f"(not built: the previous site stays)",)
    try:
        remove_temps(cache_dir)  # a QR-code record whose write was killed half-way
        settings = load_settings(context.paths.root, site_url(context.config))
        offline = offline_settings(settings.weike, site_name=settings.site_name)
        offered = data_saver_setting(settings)
        saver_diagnostics = list(settings.problems)  # extra.weike's, each at its line
        savers = data_savers(courses, delivered)
        result = build_website(root=context.paths.root, site_url=site_url(context.config), courses=courses,
                               delivered=delivered, site_dir=context.paths.site, work_dir=work_dir,
                               cache_dir=cache_dir, centres=centres, force=context.force,
                               publish_centres=publish_centres(context.config), savers=savers if offered else None,
                               plugin_pages=plugin_pages, plugin_assets=plugin_assets, made=made,
                               check_keys=context.course_keys)
    except SiteBuildFailed as exc:
        task.done("failed", failed=True)
        return StageOutcome(diagnostics=(exc.diagnostic, *page_diagnostics), summary=kept)
    except OSError as exc:
        if (fault := disk_fault(exc, root=context.paths.root, writing=context.paths.site)) is None:
            raise
        task.done("failed", failed=True)
        return StageOutcome(diagnostics=(fault, *page_diagnostics), summary=kept)
    if result.rebuilt:
        line = (f"site: {len(result.published)} 门课程，{result.pages} 个网页（本次渲染 {result.rendered} 个）"
                f"-> {context.paths.site} ({result.rendered} rendered, {result.seconds:.1f} s)")
    else:
        line = f"site: 输入没有变化，沿用已有网站 (inputs unchanged, kept {context.paths.site})"
    task.done(line.removeprefix("site: "))
    summary = [line]
    if not result.site_url:
        summary.append("site: weike.yml 未设置 site_url，没有生成二维码、站点地图和订阅源 "
                       "(set site_url for QR codes, sitemap and feed)")
    if savers:
        total = sum(size for _, size in savers.values())
        summary.append(f"site: 省流量视频 {len(savers)} 个，共 {total / 1_000_000:.1f} MB (data-saver renditions)")
    summary.extend(f"site: MkDocs: {warning}" for warning in result.warnings)
    if made is not None:
        made.add(WEBSITE_MADE, WEBSITE_KEY, BuiltWebsite(
            result=result, courses=courses, delivered=delivered, centres=centres, offline=offline, savers=savers,
            site_name=settings.site_name, plugin_pages=plugin_pages, plugin_assets=plugin_assets))
    return StageOutcome(diagnostics=(*page_diagnostics, *result.diagnostics, *saver_diagnostics),
                        outputs=(context.paths.site,), summary=tuple(summary))


def offline_stage(*, context: BuildContext, made: Made | None, **_stage_arguments) -> StageOutcome:
    """The ``offline`` output stage: ``dist/offline`` from the website the site stage built in this
    build (:class:`BuiltWebsite`, in ``made``), with the courses, media and centres that site was
    made from (the stage's own arguments, which the pipeline gives every stage, are not used: an
    edition of other courses than its site's would not be that site's rewrite).

    Where the site stage did not hand a website on (it failed: a bad ``mkdocs.yml``, a full disk;
    or another plugin built the site), the edition is left as it is, as the site is: the previous
    one stays and no diagnostic is added (the site stage reported why)."""
    built = made.get(WEBSITE_MADE, WEBSITE_KEY) if made is not None else None
    if not isinstance(built, BuiltWebsite):
        return StageOutcome(summary=(
            f"offline: 网站没有构建，{context.paths.shown(context.paths.dist / 'offline')} 保持上次的版本 "
            f"(the site was not built: the previous offline edition stays)",))
    return build_offline(context, built.courses, built.delivered, built.result.published, offline=built.offline,
                         savers=built.savers, site_name=built.site_name, centres=built.centres,
                         plugin_pages=built.plugin_pages, plugin_assets=built.plugin_assets, made=made,
                         site_files=built.result.files, site_inputs=built.result.inputs,
                         site_media=built.result.media)


def site_pages(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
               centres: Sequence[Centre]) -> tuple[tuple, list]:
    """The pages every plugin adds (``weike_site_pages``), and E411 for each plugin that failed to."""
    from weike.plugins.site.contributed import collect_site_pages

    return collect_site_pages(context.plugin_manager, root=context.paths.root, context=context, courses=courses,
                              delivered=delivered, centres=centres)


def site_assets(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia], *,
                page_paths: Sequence[str] = ()) -> tuple[tuple, list]:
    """The scripts and files every plugin adds (``weike_site_assets``), and E411 for each that failed to
    (``page_paths``: the plugins' pages, whose folders no plugin may take for its files)."""
    from weike.plugins.site.contributed import collect_site_assets

    return collect_site_assets(context.plugin_manager, root=context.paths.root, page_paths=page_paths,
                               context=context, courses=courses, delivered=delivered)


def data_savers(courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia]) -> dict[str, tuple[Path, int]]:
    """Lecture key -> (file, size) of the 省流量 rendition the media stage made of each lecture of ``courses``."""
    from weike.plugins.media import DATA_SAVER

    found = {}
    for course in courses:
        for lecture in course.lectures:
            media = delivered.get(lecture.key)
            if media is not None and (saver := media.renditions.get(DATA_SAVER.name)) is not None:
                found[lecture.key] = (saver.path, saver.size)
    return found


def build_offline(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
                  published: Sequence[str], *, offline, savers: Mapping, site_name: str,
                  centres: Sequence[Centre] = (), plugin_pages: Sequence = (),
                  plugin_assets: Sequence = (), made: Made | None = None,
                  site_files: Mapping[str, list] | None = None, site_inputs: str | None = None,
                  site_media: Mapping[str, tuple] | None = None) -> StageOutcome:
    """``dist/offline``: the catalogue (or the courses ``extra.weike.offline.courses`` names) for a USB stick.

    With ``extra.weike.offline.data_saver`` its pages place each lecture's 省流量 rendition (made by
    the media stage, ``DeliveredMedia.renditions``) as its video: the edition carries only those (a
    fraction of the size). ``site_files``, ``site_inputs`` and ``site_media``: what the site build
    published, the input hash its stamp records and the media it placed (``WebsiteResult.files``,
    ``WebsiteResult.inputs``, ``WebsiteResult.media``).
    """
    from weike.plugins.media import DATA_SAVER

    from weike.plugins.site.contributed import online_only_folders
    from weike.plugins.site.offline.edition import (
        build_offline_edition,
        chosen_courses,
        offline_summary,
        remove_edition,
    )
    from weike.plugins.site.website import SiteBuildFailed, build_website

    offline_dir = context.paths.dist / "offline"
    # A plugin's own folder (admin/: the hosted editor) needs a web server: never on the stick.
    online_only = online_only_folders(plugin_assets)
    plugin_assets = [asset for asset in plugin_assets if asset.folder is None]
    if not offline.enabled:
        remove_edition(offline_dir)
        return StageOutcome(diagnostics=offline.diagnostics)
    chosen, missing = chosen_courses(offline, published)
    source = context.paths.site
    _, cache_dir = site_work_dirs(context)
    data_saver = offline.data_saver and bool(savers)
    if data_saver:  # the lecture's video in the rendition the media stage made, where it made one
        delivered = {key: media.renditions.get(DATA_SAVER.name, media) for key, media in delivered.items()}
    if data_saver or set(chosen) != set(published):
        # Its own pages: the home page counts and lists only these courses, the videos are the small ones.
        source = cache_dir / "offline-source"
        try:
            own = build_website(root=context.paths.root, site_url=site_url(context.config),
                          courses=[course for course in courses if course.slug in chosen], delivered=delivered,
                          site_dir=source, work_dir=cache_dir / "offline-work", cache_dir=cache_dir,
                          centres=centres, publish_centres=publish_centres(context.config),
                          plugin_pages=plugin_pages, plugin_assets=plugin_assets, made=made,
                          check_keys=context.course_keys)
            site_files, site_inputs, site_media = own.files, own.inputs, own.media
        except SiteBuildFailed as exc:
            return StageOutcome(diagnostics=(exc.diagnostic,), summary=("offline: 离线版未能构建 (not built)",))
    lectures = sum(len(course.lectures) for course in courses if course.slug in chosen)
    task = context.progress.task(f"离线版 {len(chosen)} 门课程 (offline edition, {len(chosen)} courses)")
    result = build_offline_edition(source_site=source, offline_dir=offline_dir, settings=offline,
                                   site_name=site_name, courses=len(chosen), lectures=lectures,
                                   data_saver=data_saver, left_out_folders=online_only, site_files=site_files,
                                   site_inputs=site_inputs, site_media=site_media)
    line = offline_summary(result, context.paths.shown(offline_dir))
    task.done(line.removeprefix("offline: "))
    return StageOutcome(diagnostics=offline.diagnostics + missing, outputs=(offline_dir,), summary=(line,))
