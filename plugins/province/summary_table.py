"""The province summary table 社区教育品牌项目汇总表 (附件3), and the checks on the course set it lists.

``dist/reports/社区教育品牌项目汇总表.xlsx`` follows 附件3's layout so an officer can print, stamp
and scan it: the title, the lines for the education department's seal and contact (weike.yml's
``department``), the columns 序号 · 品牌社区学习中心名称/品牌课程名称 · 所处层级 · 联系人 · 联系电话,
and the note, under the form's "附件3" line. The brand learning centres (``centres/``) and the courses
are listed together ("社区教育品牌项目，包括品牌社区学习中心和社区教育品牌课程"): rows follow
``recommendation_order`` in weike.yml, which may name both, then the other centres by name, then the
other courses by title. The workbook holds the form and nothing else, set up to print as the form:
A4 portrait, fitted to one page wide, the column headings repeated on every page.

``dist/reports/社区教育品牌课程明细.xlsx``, a separate workbook never printed with the form, repeats each
listed course with its folder, theme and provider for cross-checking.

Only courses the call lets a province recommend are listed: a course whose three attestations
are not all true gets the same E501 error the national bundles give (so ``--only reports`` and a
full build agree). More than 20 courses is a warning (原则上不超过20门), not an error.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from copy import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weike.builder import __version__
from weike.builder.contracts.context import BuildContext, Made, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic, Repository, Severity, SourceLocation, WeikeConfig
from weike.builder.keeping.archive import source_date
from weike.builder.keeping.xmltext import xml_text
from weike.builder.repository.centre import CENTRE_FILE, CENTRES_DIR, Centre, find_centre_folders
from weike.builder.repository.loading import COURSE_FILE, COURSES_DIR, find_course_folders
from weike.builder.running.isolation import CourseIsolation
from weike.plugins.province.ledger import FormLedger, form_fingerprint, listed_values
from weike.plugins.province.settings import province, recommendation_order
from weike.plugins.rules import rights_not_cleared
from weike.plugins.spreadsheets import form_print_setup, workbook_bytes

if TYPE_CHECKING:  # openpyxl is imported when the table is written, not by every weike command
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

REPORT_NAME = "社区教育品牌项目汇总表.xlsx"
#: The courses' details for cross-checking: its own file, so printing the form prints only the form.
DETAIL_NAME = "社区教育品牌课程明细.xlsx"
#: The ledger of what the workbooks of dist/reports were made from (ledger.py).
REPORTS_LEDGER = "reports"
TITLE = "社区教育品牌项目汇总表"
ATTACHMENT = "附件3"
DETAIL_TITLE = "课程明细"
#: 各省申报社区教育品牌课程原则上不超过20门.
MAX_COURSES_PER_PROVINCE = 20
COLUMNS = ("序号", "品牌社区学习中心名称/品牌课程名称", "所处层级（县、市、区/乡镇、街道/村、社区）", "联系人", "联系电话")
NOTE = "注：社区教育品牌项目，包括品牌社区学习中心和社区教育品牌课程。（此表请省级教育行政部门按照推荐顺序填写）"
DETAIL_COLUMNS = ("序号", "课程文件夹", "品牌课程名称", "主题", "开课机构", "所在地区", "所处层级", "联系人",
                  "联系电话", "微课数", "创建日期")
BLANK = "__________"
_CONFIG_FILE = "weike.yml"
#: Row 1 says 附件3, row 2 is the title, rows 3-4 the department's lines, then the column headings.
_HEADER_ROW = 5


def _order_location(config: WeikeConfig, index: int | None = None) -> SourceLocation:
    if index is not None and (found := config.locations.get(f"recommendation_order.{index}")):
        return found
    return config.locations.get("recommendation_order") or SourceLocation(file=_CONFIG_FILE)


def _order_entry(entry: str) -> tuple[str | None, str]:
    """(folder kind or None, slug) of a recommendation_order entry: ``x``, ``courses/x`` or ``centres/x``."""
    kind, slash, slug = entry.partition("/")
    if slash and kind in (COURSES_DIR, CENTRES_DIR):
        return kind, slug
    return None, entry


def recommendation_ordered_items(centres: Sequence[Centre], courses: Sequence[Course],
                                 order: Sequence[str]) -> list[Centre | Course]:
    """Centres and courses in the province's recommendation order (an entry names a folder of
    either, ``centres/x`` or ``courses/x`` when both have it); the unnamed after it: centres by
    name, then courses by title."""
    rank: dict[tuple[str, str], int] = {}
    centre_slugs, course_slugs = {c.slug for c in centres}, {c.slug for c in courses}
    for entry in order:
        kind, slug = _order_entry(entry)
        if kind is None:  # a bare name: the course when both have it (W604 says so)
            kind = CENTRES_DIR if slug in centre_slugs and slug not in course_slugs else COURSES_DIR
        rank.setdefault((kind, slug), len(rank))
    items: list[tuple[tuple[str, str], Centre | Course]] = [((CENTRES_DIR, c.slug), c) for c in centres]
    items += [((COURSES_DIR, c.slug), c) for c in courses]
    listed = sorted((pair for pair in items if pair[0] in rank), key=lambda pair: rank[pair[0]])
    other_centres = sorted((c for c in centres if (CENTRES_DIR, c.slug) not in rank), key=lambda c: (c.name or "", c.slug))
    other_courses = sorted((c for c in courses if (COURSES_DIR, c.slug) not in rank), key=lambda c: (c.title or "", c.slug))
    return [item for _, item in listed] + other_centres + other_courses


@dataclass(frozen=True, kw_only=True)
class SummaryRow:
    """One row of 附件3: a brand learning centre or a brand course."""

    name: str | None
    level: str | None
    contact: str | None
    phone: str | None

    @classmethod
    def of(cls, item: Centre | Course) -> SummaryRow:
        if isinstance(item, Centre):
            return cls(name=item.name, level=item.level, contact=item.contact.name, phone=item.contact.phone)
        provider = item.provider
        return cls(name=item.title, level=provider.level, contact=provider.contact, phone=provider.phone)


# --------------------------------------------------------------------------------------------
# Check stage: recommendation_order must name real courses, once each
# --------------------------------------------------------------------------------------------


def check_recommendation_order(repository: Repository) -> Iterator[Diagnostic]:
    config = repository.config
    course_folders = [folder.name for folder in find_course_folders(repository.root)]
    centre_folders = [folder.name for folder in find_centre_folders(repository.root)]
    seen: set[str] = set()
    for index, entry in enumerate(recommendation_order(config)):
        kind, slug = _order_entry(entry)
        folders = {COURSES_DIR: course_folders, CENTRES_DIR: centre_folders}.get(kind, course_folders + centre_folders)
        if kind is None and slug in course_folders and slug in centre_folders:
            yield Diagnostic(
                code="W604", severity=Severity.WARNING, location=_order_location(config, index),
                message=f"“{slug}”既是课程文件夹又是学习中心文件夹，按课程排列",
                message_en=f"'{slug}' is both a course and a centre folder; it is taken as the course",
                hint=f"写成“{CENTRES_DIR}/{slug}”或“{COURSES_DIR}/{slug}”。")
        if entry in seen:
            yield Diagnostic(
                code="W603", severity=Severity.WARNING, location=_order_location(config, index),
                message=f"“{entry}”在 recommendation_order 中出现了不止一次，按第一次的位置排列",
                message_en=f"'{entry}' appears more than once in recommendation_order; the first place counts",
                hint="删掉重复的一行。")
        elif slug not in folders:
            close = difflib.get_close_matches(slug, folders, n=1, cutoff=0.6)
            yield Diagnostic(
                code="W602", severity=Severity.WARNING, location=_order_location(config, index),
                message=f"recommendation_order 中的“{entry}”不是 {COURSES_DIR}/ 下的课程文件夹或 {CENTRES_DIR}/ "
                        f"下的学习中心文件夹，汇总表里不会有它",
                message_en=f"recommendation_order names '{entry}', which is no folder under {COURSES_DIR}/ "
                           f"or {CENTRES_DIR}/",
                hint=(f"是不是“{close[0]}”？" if close else "") + "这里要写课程或学习中心文件夹的名字（英文），不是名称。")
        seen.add(entry)


@hookimpl
def weike_check_repository(repository: Repository) -> list[Diagnostic]:
    return list(check_recommendation_order(repository))


# --------------------------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------------------------

_FONT = "宋体"


def _merged_line(sheet: Worksheet, row: int, text: str, *, font: Font, horizontal: str = "left",
                 height: float | None = None) -> None:
    from openpyxl.styles import Alignment

    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS))
    cell = sheet.cell(row=row, column=1, value=xml_text(text))
    cell.font = font
    cell.alignment = Alignment(horizontal=horizontal, vertical="center", wrap_text=True)
    if height:
        sheet.row_dimensions[row].height = height


def _summary_sheet(sheet: Worksheet, items: Sequence[Centre | Course], config: WeikeConfig) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.title = TITLE
    department = config.department
    office = (department.name if department else None) or province(config)
    sheet.cell(row=1, column=1, value=ATTACHMENT).font = Font(name="黑体", size=12)
    _merged_line(sheet, 2, TITLE, font=Font(name=_FONT, size=16, bold=True), horizontal="center", height=32)
    _merged_line(sheet, 3, f"省级教育行政部门（盖章）：{office or BLANK}", font=Font(name=_FONT, size=12))
    contact = (department.contact if department else None) or BLANK
    phone = (department.phone if department else None) or BLANK
    _merged_line(sheet, 4, f"联系人：{contact}    联系电话：{phone}", font=Font(name=_FONT, size=12))
    for column, text in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=_HEADER_ROW, column=column, value=text)
        cell.font = Font(name=_FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = box
    sheet.row_dimensions[_HEADER_ROW].height = 36
    # A catalogue's table is thousands of cells of two styles. openpyxl files each style it is
    # given in the workbook's lists (hashing it every time): the first cell of each style is
    # styled so, every later one takes a copy of that cell's style indices, as openpyxl's own
    # copy_worksheet does. The workbook's bytes are the same.
    font = Font(name=_FONT, size=12)
    alignments = {True: Alignment(horizontal="left", vertical="center", wrap_text=True),
                  False: Alignment(horizontal="center", vertical="center", wrap_text=True)}
    styled: dict[bool, object] = {}
    for number, item in enumerate(items, start=1):
        row = SummaryRow.of(item)
        values = (number, row.name, row.level, row.contact, row.phone)
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=_HEADER_ROW + number, column=column, value=xml_text(value))
            name_column = column == 2
            if name_column in styled:
                cell._style = copy(styled[name_column])
                continue
            cell.font = font
            cell.alignment = alignments[name_column]
            cell.border = box
            styled[name_column] = cell._style
    _merged_line(sheet, _HEADER_ROW + len(items) + 1, NOTE, font=Font(name=_FONT, size=11), height=32)
    for letter, width in zip("ABCDE", (8, 40, 26, 12, 18)):
        sheet.column_dimensions[letter].width = width
    # Five columns fit A4 portrait (the form's own layout).
    form_print_setup(sheet, header_row=_HEADER_ROW, landscape=False)


def _detail_sheet(sheet: Worksheet, courses: Sequence[Course]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet.title = DETAIL_TITLE
    sheet.append(DETAIL_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for index, width in enumerate((6, 20, 24, 18, 26, 22, 12, 10, 16, 8, 12), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    form_print_setup(sheet, header_row=1, landscape=True)
    for number, course in enumerate(courses, start=1):
        sheet.append((number, *_table_values(course)))
    sheet.freeze_panes = "A2"


def _table_values(course: Course) -> tuple:
    """The 课程明细 row of ``course`` (after its number), as cells will hold it: made once per
    course in the stage first, so a course whose values cannot be made is left out before the
    workbook is written."""
    provider = course.provider
    return tuple(xml_text(value) for value in (
        course.slug, course.title, course.theme, provider.name, provider.region, provider.level,
        provider.contact, provider.phone, len(course.lectures),
        course.created.isoformat() if course.created else None))


def summary_workbook(items: Sequence[Centre | Course], config: WeikeConfig) -> Workbook:
    """附件3 for ``items`` (centres and courses, already in recommendation order): the form alone."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.creator = f"weike {__version__}"
    workbook.properties.title = TITLE
    _summary_sheet(workbook.active, items, config)
    return workbook


def detail_workbook(items: Sequence[Centre | Course]) -> Workbook:
    """课程明细: every course of ``items`` with its folder, theme and provider, for cross-checking 附件3."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.creator = f"weike {__version__}"
    workbook.properties.title = DETAIL_TITLE
    _detail_sheet(workbook.active, [item for item in items if isinstance(item, Course)])
    return workbook


def eligible_items(courses: Sequence[Course], centres: Sequence[Centre], config: WeikeConfig, *,
                   isolation: CourseIsolation | None = None) -> tuple[list[Centre | Course], list[Diagnostic]]:
    """What 附件3 lists, in order, and the E501 refusals of courses whose rights are not cleared.

    A course whose row cannot be made (an exception: E901 in ``isolation``) is left out; the
    others are listed.
    """
    isolation = isolation or CourseIsolation(stage="reports", plugin=__name__)
    diagnostics: list[Diagnostic] = []
    eligible: list[Course] = []
    for course in courses:
        verdict = isolation.call(course, lambda: (rights_not_cleared(course), _table_values(course)),
                                 what="汇总表 summary table")
        if verdict is None:
            continue
        if verdict[0] is not None:
            diagnostics.append(verdict[0])
        else:
            eligible.append(course)
    diagnostics.extend(isolation.diagnostics)
    return recommendation_ordered_items(centres, eligible, recommendation_order(config)), diagnostics


# --------------------------------------------------------------------------------------------
# Report stage
# --------------------------------------------------------------------------------------------


#: The kind under which the report stage hands 附件3 on (:class:`weike.builder.contracts.context.Made`): the
#: submission (:mod:`weike.plugins.province`) puts these very bytes in ``dist/submission``.
SUMMARY_MADE = "province-summary-table"


@dataclass(frozen=True, kw_only=True)
class SummaryTable:
    """附件3 as written: what it lists, in order, and the workbook's bytes."""

    items: tuple[Centre | Course, ...]
    data: bytes
    #: The date it carries (:func:`weike.builder.keeping.archive.source_date` of :func:`table_sources`).
    made: _dt.datetime


def table_sources(context: BuildContext, items: Sequence[Centre | Course]) -> list[Path]:
    """The files 附件3 and 课程明细 are made from: weike.yml (the department, the order), each
    listed centre's centre.yml and course's course.yml, and the course folders (its lectures, counted)."""
    sources = [context.paths.root / _CONFIG_FILE]
    for item in items:
        if isinstance(item, Centre):
            sources.append(item.folder / CENTRE_FILE)
        else:
            sources += [item.folder / COURSE_FILE, item.folder]
    return sources


def made_summary_table(context: BuildContext, courses: Sequence[Course], centres: Sequence[Centre], *,
                       isolation: CourseIsolation | None = None,
                       ledger: FormLedger | None = None) -> tuple[SummaryTable, list[Diagnostic]]:
    """附件3 for ``courses`` and ``centres``, dated by :func:`table_sources`, and the E501 refusals
    (E901 in ``isolation``); kept from ``ledger`` when made from the same values before."""
    config = context.config
    items, diagnostics = eligible_items(courses, centres, config, isolation=isolation)
    made = source_date(table_sources(context, items))

    def make() -> bytes:
        return workbook_bytes(summary_workbook(items, config), made=made)

    if ledger is None:
        return SummaryTable(items=tuple(items), data=make(), made=made), diagnostics
    fingerprint = form_fingerprint(REPORT_NAME, [listed_values(item) for item in items], config, made)
    return SummaryTable(items=tuple(items), data=ledger.form(REPORT_NAME, fingerprint, make), made=made), diagnostics


@hookimpl
def weike_report_stage(context: BuildContext, courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia],
                       centres: Sequence[Centre], made: Made) -> StageOutcome:
    config = context.config
    # One course's row never stops the table: an exception on it leaves just that course out (E901).
    isolation = CourseIsolation(stage="reports", plugin_manager=context.plugin_manager, plugin=__name__)
    # Each workbook is made again only when what it is made from changed (ledger.py).
    ledger = FormLedger(context.paths.reports, context.paths.cache, REPORTS_LEDGER, force=context.force)
    table, diagnostics = made_summary_table(context, courses, centres, isolation=isolation, ledger=ledger)
    if made is not None:
        made.add(SUMMARY_MADE, REPORT_NAME, table)  # the submission carries these very bytes
    items = list(table.items)
    listed = [item for item in items if isinstance(item, Course)]
    if len(listed) > MAX_COURSES_PER_PROVINCE:
        diagnostics.append(Diagnostic(
            code="W601", severity=Severity.WARNING, location=_order_location(config),
            message=f"汇总表列出 {len(listed)} 门课程，超过每省原则上 {MAX_COURSES_PER_PROVINCE} 门的上限",
            message_en=f"the summary table lists {len(listed)} courses; a province recommends at most "
                       f"{MAX_COURSES_PER_PROVINCE}",
            hint=f"在 weike.yml 的 recommendation_order 中按推荐顺序排好，上报前 {MAX_COURSES_PER_PROVINCE} 门。",
        ))
    # Written even when empty, so a table from an earlier build never outlives its courses.
    path = context.paths.reports / REPORT_NAME
    details = context.paths.reports / DETAIL_NAME
    ledger.form(DETAIL_NAME, form_fingerprint(DETAIL_NAME, [listed_values(item) for item in listed], table.made),
                lambda: workbook_bytes(detail_workbook(items), made=table.made))
    ledger.save()
    centre_count = len(items) - len(listed)
    centre_note = f"、{centre_count} 个学习中心" if centre_count else ""
    return StageOutcome(diagnostics=tuple(diagnostics), outputs=(path, details),
                        summary=(f"报表：{context.paths.shown(path)} 列出 {len(listed)} 门课程{centre_note} "
                                 f"(summary table: {len(listed)} course(s), {centre_count} centre(s))",))
