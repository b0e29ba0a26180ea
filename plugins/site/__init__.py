"""The public catalogue website (built-in plugin): ``weike build`` writes ``dist/site``, ``weike serve`` previews it.

Modules: :mod:`~plugins.site.catalogue` (what the site says about each course: URLs, durations,
学时, ``catalogue.json``, sitemap, feed), :mod:`~plugins.site.pages` (the Markdown pages),
:mod:`~plugins.site.search` (the Chinese
search index), :mod:`~plugins.site.covers` (card thumbnails), :mod:`~plugins.site.website` (the
MkDocs build, input hash and atomic publication) and :mod:`~plugins.site.serve` (live preview).
Lecture notes are sanitised by :mod:`builder.notes`, which the SCORM packages use too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from builder.centre import Centre
from builder.context import BuildContext, StageOutcome
from builder.hookspecs import hookimpl
from builder.model import Course, DeliveredMedia


def site_work_dirs(context: BuildContext):
    """(work folder for the generated docs, cache folder for thumbnails)."""
    return context.paths.cache / "site" / "build", context.paths.cache / "site"


@hookimpl
def weike_site_stage(context: BuildContext, courses: Sequence[Course],
                     delivered: Mapping[str, DeliveredMedia], centres: Sequence[Centre]) -> StageOutcome:
    from plugins.site.website import SiteBuildFailed, build_website

    work_dir, cache_dir = site_work_dirs(context)
    task = context.progress.task(f"网站 {len(courses)} 门课程 (site, {len(courses)} courses)")
    try:
        result = build_website(root=context.paths.root, site_url=context.config.site_url, courses=courses,
                               delivered=delivered, site_dir=context.paths.site, work_dir=work_dir,
                               cache_dir=cache_dir, centres=centres,
                               publish_centres=context.config.publish_centres)
    except SiteBuildFailed as exc:
        task.done("failed", failed=True)
        return StageOutcome(diagnostics=(exc.diagnostic,), summary=("site: 网站未能构建 (not built)",))
    if result.rebuilt:
        line = (f"site: {len(result.published)} 门课程，{result.pages} 个网页 -> {context.paths.site} "
                f"({result.seconds:.1f} s)")
    else:
        line = f"site: 输入没有变化，沿用已有网站 (inputs unchanged, kept {context.paths.site})"
    task.done(line.removeprefix("site: "))
    summary = [line]
    if not result.site_url:
        summary.append("site: weike.yml 未设置 site_url，没有生成二维码、站点地图和订阅源 "
                       "(set site_url for QR codes, sitemap and feed)")
    summary.extend(f"site: MkDocs: {warning}" for warning in result.warnings)
    return StageOutcome(diagnostics=result.diagnostics, outputs=(context.paths.site,), summary=tuple(summary))


@hookimpl
def weike_cli_commands(subparsers) -> None:
    from plugins.site.serve import add_serve_command

    add_serve_command(subparsers)


# --------------------------------------------------------------------------------------------
# Operations (issue 6): `weike doctor` and `weike cache`
# --------------------------------------------------------------------------------------------


@hookimpl
def weike_doctor_checks() -> list:
    import importlib.metadata

    from builder.doctor import CheckStatus, DoctorCheck

    versions = {name: importlib.metadata.version(name) for name in ("mkdocs", "mkdocs-material")}
    return [
        DoctorCheck(section="site", name="MkDocs", status=CheckStatus.OK,
                    detail=f"mkdocs {versions['mkdocs']}, mkdocs-material {versions['mkdocs-material']}"),
        # Checked rather than assumed: the site draws no text with a font; the title cards bring
        # their own (plugins/media.py reports it as "title card font").
        DoctorCheck(section="site", name="fonts", status=CheckStatus.INFO,
                    detail="不需要安装字体：网站不指定字体（theme.font: false），由读者手机的自带字体显示；视频的片头片尾"
                           "用 weike 自带的字体 (nothing to install: the site names no font, readers' own fonts show it; "
                           "the title cards use the font installed with weike)"),
    ]


@hookimpl
def weike_cache_parts(context: BuildContext, repository) -> list:
    from builder.cache import MemoPart, RecordPart, ScratchPart
    from plugins.site.covers import COVERS_FOLDER, COVERS_MEMO_FILE, CoversPart
    from plugins.site.website import QR_CODES_FILE

    work_dir, cache_dir = site_work_dirs(context)
    covers = [course.cover.path for course in repository.courses if course.cover and course.cover.path]
    covers += [photo.path for centre in repository.centres for photo in centre.photos if photo.path]
    return [
        CoversPart(cache_dir / COVERS_FOLDER, covers, name="site-covers", title="封面缩略图 (cover thumbnails)"),
        MemoPart(cache_dir / COVERS_MEMO_FILE, name="site-covers-memo", title="封面图片的哈希 (hashes of covers)"),
        RecordPart(name="site-qr-codes", title="课程二维码 (course QR codes)", path=cache_dir / QR_CODES_FILE),
        ScratchPart(name="site-work", title="网站构建的工作目录 (site build work folder)", path=work_dir),
        ScratchPart(name="site-preview", title="weike serve 的预览 (weike serve preview)", path=cache_dir / "preview",
                    note="weike serve 运行时不要清理 (do not prune while weike serve runs)"),
    ]
