"""The province: its forms (附件3, 附件4 per centre, 附件5), the rules of its brand learning centres
and of its facts in weike.yml, its settings, and the complete submission (四、材料申报) in one folder.

``dist/submission/`` holds everything the provincial officer prints, stamps, signs, scans to PDF
and uploads, plus ``上报清单.txt`` (what to do with each file, in Chinese), and one zip of it all
(``社区教育品牌项目申报材料.zip``). The same inputs give byte-identical files and zip: the
workbooks, the Word documents (zips inside) and the zip itself carry fixed timestamps.

Modules: :mod:`~weike.plugins.province.summary_table` (附件3 XLSX, the same bytes as
``dist/reports/社区教育品牌项目汇总表.xlsx``, and the ``recommendation_order`` check),
:mod:`~weike.plugins.province.recommendation_form` (附件4 DOCX),
:mod:`~weike.plugins.province.statistics_table` (附件5 XLSX), :mod:`~weike.plugins.province.document`
(deterministic DOCX bytes), :mod:`~weike.plugins.province.centres` (the rules of centres, E7xx,
and of ``department`` and ``statistics``, E8xx), :mod:`~weike.plugins.province.forms` (the forms'
own labels), :mod:`~weike.plugins.province.settings`. The national platforms' bundles are
:mod:`weike.plugins.national`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.context import BuildContext, Made, OutputStage, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Course, DeliveredMedia, Setting
from weike.builder.keeping.archive import ArchiveMember, safe_name_component, source_date, zip_bytes
from weike.builder.keeping.fingerprint import package_versions
from weike.builder.keeping.outputs import TEMP_PREFIX, write_atomic
from weike.builder.repository.centre import CENTRE_FILE, Centre
from weike.plugins.province.forms import CENTRE_TEXTS, STATISTIC_FIELDS, STATISTICS_NAME_LABEL, StatisticField
from weike.plugins.province.ledger import FormLedger, form_fingerprint, listed_values
from weike.plugins.province.settings import SETTINGS, province
from weike.plugins.spreadsheets import workbook_bytes

#: The province's public face for other packages: the forms' labels (the site shows a centre's
#: texts under 附件4's row names).
__all__ = ["CENTRE_TEXTS", "STATISTIC_FIELDS", "STATISTICS_NAME_LABEL", "StatisticField"]

SUBMISSION_DIR = "submission"
ZIP_NAME = "社区教育品牌项目申报材料.zip"
#: The folder every member of the zip sits in, so extracting it never scatters files.
ZIP_FOLDER = "社区教育品牌项目申报材料"
CHECKLIST_NAME = "上报清单.txt"
#: The ledger of what the forms and the zip of dist/submission were made from (ledger.py).
SUBMISSION_LEDGER = "submission"
SUMMARY_NAME = "附件3-社区教育品牌项目汇总表.xlsx"
STATISTICS_NAME = "附件5-社区教育机构统计表.xlsx"


def form_name(number: int, centre: Centre) -> str:
    """``附件4-01-<学校名称>.docx``: numbered in recommendation order, named so a person finds it."""
    return f"附件4-{number:02d}-{safe_name_component(centre.name or centre.slug, max_chars=40)}.docx"


@dataclass(frozen=True, kw_only=True)
class SubmissionFile:
    name: str
    data: bytes
    #: The date the form carries (None: the checklist, a text file with no date of its own).
    made: _dt.datetime | None = None


def checklist(files: Sequence[SubmissionFile], *, centres: Sequence[Centre], courses: int,
              statistics_written: bool, province: str | None) -> bytes:
    """上报清单.txt: what to print, stamp, sign and scan, file by file (UTF-8 with BOM, CRLF:
    Notepad on an office PC opens it as it is)."""
    forms = [f for f in files if f.name.startswith("附件4-")]
    lines = [
        f"{province or ''}社区教育品牌项目申报材料 上报清单",
        "",
        f"本文件夹由 weike 生成：{len(centres)} 个品牌社区学习中心典型案例、{courses} 门社区教育品牌课程。",
        "按下面的顺序逐项办理，办完一项在方括号里打钩。",
        "",
        f"[ ] 1. {SUMMARY_NAME}（附件3 社区教育品牌项目汇总表）",
        "       核对推荐顺序、所处层级、联系人和联系电话；打印（A4），",
        "       加盖省级教育行政部门公章，扫描成 PDF。",
    ]
    step = 2
    if forms:
        lines.append(f"[ ] {step}. 附件4 品牌社区学习中心典型案例推介表，每个学习中心一份（共 {len(forms)} 份）：")
        lines.extend(f"       - {form.name}" for form in forms)
        lines += [
            "       核对内容后打印（A4）；“申报意见”四栏由申报学校、县级、市级、省级教育行政部门",
            "       依次填写意见、签字、加盖公章并写明日期（“（盖章） 年 月 日”处）；全部办完后扫描成 PDF。",
        ]
        step += 1
    if statistics_written:
        lines += [f"[ ] {step}. {STATISTICS_NAME}（附件5 社区教育机构统计表）",
                  "       核对各项数字；打印（A4 横向），加盖省级教育行政部门公章，扫描成 PDF。"]
    else:
        lines += [f"[ ] {step}. 附件5 社区教育机构统计表：没有生成（weike.yml 中没有 statistics，或其中的数字有错误，",
                  "       见 weike check）。请补上 weike.yml 的 statistics 后重新构建，或手工填写后盖章扫描。"]
    step += 1
    lines += [
        f"[ ] {step}. 把以上 PDF 文件（均须加盖省级教育行政部门公章）按申报通知规定的网址和截止日期上传。",
        f"[ ] {step + 1}. 课程视频等上传包在 dist/bundles/ 中，按各平台的要求另行提交。",
        "",
        "注意：推介表中的联系电话、电子邮箱只用于申报，不会出现在课程网站上。",
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def submission_files(*, centres: Sequence[Centre], courses: Sequence[Course], context: BuildContext,
                     made: Made | None = None, ledger: FormLedger | None = None) -> tuple[list[SubmissionFile], bool]:
    """Every file of the submission folder, in the order the checklist names them, and whether
    附件5 is among them. (Courses whose rights are not cleared are left out of 附件3 exactly as in
    dist/reports, where :mod:`weike.plugins.province.summary_table` reports them as E501.)

    附件3 and whether 附件5 can be printed are taken from ``made``, as the report stage and the
    check made them; made here only when they did not run (a direct call). A form ``ledger``
    says was made from the same values is read back from its folder, not made again."""
    from weike.plugins.province.centres import STATISTICS_MADE, STATISTICS_READY, statistics_ready
    from weike.plugins.province.summary_table import REPORT_NAME, SUMMARY_MADE, SummaryTable, made_summary_table

    def form(name: str, fingerprint: str, make: Callable[[], bytes]) -> bytes:
        return make() if ledger is None else ledger.form(name, fingerprint, make)

    # python-docx and openpyxl are imported only when a form is made (a tenth of a second, when none is).
    def centre_form(centre: Centre, dated: _dt.datetime) -> bytes:
        from weike.plugins.province.recommendation_form import recommendation_form_bytes

        return recommendation_form_bytes(centre, config.department, made=dated)

    def statistics_form(statistics, dated: _dt.datetime) -> bytes:
        from weike.plugins.province.statistics_table import statistics_workbook

        return workbook_bytes(statistics_workbook(statistics), made=dated)

    config = context.config
    settings_file = context.paths.root / "weike.yml"
    table = made.get(SUMMARY_MADE, REPORT_NAME) if made is not None else None
    if not isinstance(table, SummaryTable):
        table, _ = made_summary_table(context, courses, centres)
    items = table.items
    files = [SubmissionFile(name=SUMMARY_NAME, data=table.data, made=table.made)]
    ordered_centres = [item for item in items if isinstance(item, Centre)]
    for number, centre in enumerate(ordered_centres, start=1):
        name, dated = form_name(number, centre), source_date([centre.folder / CENTRE_FILE, settings_file])
        data = form(name, form_fingerprint(name, listed_values(centre), config.department, dated),
                    lambda centre=centre, dated=dated: centre_form(centre, dated))
        files.append(SubmissionFile(name=name, data=data, made=dated))
    ready = made.get(STATISTICS_MADE, STATISTICS_READY) if made is not None else None
    statistics_written = ready if isinstance(ready, bool) else statistics_ready(config)
    if statistics_written:
        # Its figures are weike.yml's (and those plugins count): dated by weike.yml.
        statistics, dated = counted_statistics(context), source_date([settings_file])
        data = form(STATISTICS_NAME, form_fingerprint(STATISTICS_NAME, statistics, dated),
                    lambda: statistics_form(statistics, dated))
        files.append(SubmissionFile(name=STATISTICS_NAME, data=data, made=dated))
    files.append(SubmissionFile(name=CHECKLIST_NAME, data=checklist(
        files, centres=ordered_centres, courses=len(items) - len(ordered_centres),
        statistics_written=statistics_written, province=province(config))))
    return files, statistics_written


def counted_statistics(context: BuildContext):
    """weike.yml's 附件5 figures, with those plugins count (``weike_submission_statistics``) in their place."""
    import dataclasses

    statistics = context.config.statistics
    counted: dict = {}
    for found in context.plugin_manager.hook.weike_submission_statistics(context=context):
        counted.update(found or {})
    return dataclasses.replace(statistics, values={**statistics.values, **counted}) if counted else statistics


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Files of an earlier build that this one no longer writes (a removed centre's form)."""
    for path in folder.iterdir():
        if path.is_file() and (path.name not in keep or path.name.startswith(TEMP_PREFIX)):
            path.unlink()


@hookimpl(trylast=True)  # after summary_table's: the submission carries the 附件3 it made
def weike_report_stage(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
                       centres: Sequence[Centre], made: Made) -> StageOutcome:
    folder = context.paths.dist / SUBMISSION_DIR
    # Each form is made again only when what it is made from changed (ledger.py).
    ledger = FormLedger(folder, context.paths.cache, SUBMISSION_LEDGER, force=context.force)
    files, statistics_written = submission_files(centres=centres, courses=courses, context=context, made=made,
                                                 ledger=ledger)
    for item in files:
        write_atomic(folder / item.name, item.data)
    # Made in memory (a few forms), dated like its newest form, and packed again only when a member changed.
    archive = folder / ZIP_NAME
    members = [ArchiveMember.from_bytes(f"{ZIP_FOLDER}/{item.name}", item.data) for item in files]
    dated = max((item.made for item in files if item.made is not None), default=None)
    ledger.form(ZIP_NAME, form_fingerprint(ZIP_NAME, [(m.name, m.sha256) for m in members], dated),
                lambda: zip_bytes(members, made=dated))
    ledger.save()
    _remove_stale(folder, {item.name for item in files} | {ZIP_NAME})
    forms = sum(1 for item in files if item.name.startswith("附件4-"))
    statistics = "附件5" if statistics_written else "无附件5 (no statistics)"
    line = (f"申报材料：{context.paths.shown(folder)}/ 附件3、附件4 {forms} 份、{statistics}、{CHECKLIST_NAME}，"
            f"打包为 {ZIP_NAME} (submission: {forms} centre form(s), zip)")
    return StageOutcome(outputs=(*(folder / item.name for item in files), archive), summary=(line,))


@hookimpl
def weike_add_hookspecs(plugin_manager) -> None:
    """``weike_submission_statistics``: 附件5 figures a plugin counts."""
    from weike.plugins.province import hookspecs

    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def weike_settings() -> tuple[Setting, ...]:
    return SETTINGS


@hookimpl
def weike_cache_parts(context: BuildContext, repository) -> list:
    """The ledgers of what each report and submission form was made from (ledger.py)."""
    from weike.builder.keeping.prune import RecordPart
    from weike.plugins.province.ledger import LEDGER_FOLDER

    return [RecordPart(name="province-forms", title="报表和申报材料的输入记录 (what each form was made from)",
                       path=context.paths.cache / LEDGER_FOLDER)]


@hookimpl
def weike_build_inputs(root: Path, config) -> list[str]:
    """The libraries that write the spreadsheets and Word forms (the date they carry, when
    ``SOURCE_DATE_EPOCH`` sets it, the build stamp reads itself)."""
    return [f"{name} {version}" for name, version in package_versions("openpyxl", "python-docx")]


@hookimpl
def weike_output_stages() -> list[OutputStage]:
    """The province's reports: 附件3 in dist/reports, the whole submission in dist/submission."""
    return [OutputStage(name="reports", title="报表 reports", hook="weike_report_stage", whole_repository=True)]
