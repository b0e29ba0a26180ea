"""附件5 社区教育机构统计表: the province's one row of counts, in the call's column order.

Written from weike.yml's ``statistics`` (:class:`weike.builder.contracts.model.ProvinceStatistics`) only when
every figure passed the rules (non-negative, no "of which" above its total). A figure left out
of weike.yml stays an empty cell for the officer to fill in by hand.
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from weike.builder import __version__
from weike.builder.contracts.model import ProvinceStatistics
from weike.builder.keeping.xmltext import xml_text
from weike.plugins.province.forms import STATISTIC_FIELDS, STATISTICS_NAME_LABEL
from weike.plugins.spreadsheets import form_print_setup

TITLE = "社区教育机构统计表"
ATTACHMENT = "附件5"
COLUMNS = (STATISTICS_NAME_LABEL, *(spec.label for spec in STATISTIC_FIELDS))
NOTE = "注：线上线下培训总数统计时间范围为 2022 年 9 月至 2023 年 9 月。"
_FONT = "宋体"
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_ROW = 3


def statistics_workbook(statistics: ProvinceStatistics, *, note: str = NOTE) -> Workbook:
    """附件5 as a workbook: 附件5 line, title, the header row, the province's row, the note."""
    workbook = Workbook()
    workbook.properties.creator = f"weike {__version__}"
    workbook.properties.title = TITLE
    sheet = workbook.active
    sheet.title = TITLE
    last = len(COLUMNS)
    sheet.cell(row=1, column=1, value=ATTACHMENT).font = Font(name="黑体", size=12)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)
    title = sheet.cell(row=2, column=1, value=TITLE)
    title.font = Font(name=_FONT, size=16, bold=True)
    title.alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[2].height = 30
    for column, text in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=text)
        cell.font = Font(name=_FONT, size=10, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
    sheet.row_dimensions[HEADER_ROW].height = 80
    name = xml_text(statistics.centre_name or "")
    values = [name or None, *(statistics.values.get(spec.key) for spec in STATISTIC_FIELDS)]
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=HEADER_ROW + 1, column=column, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # authored text is text, never a formula
        cell.font = Font(name=_FONT, size=11)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
    sheet.row_dimensions[HEADER_ROW + 1].height = 40
    sheet.merge_cells(start_row=HEADER_ROW + 2, start_column=1, end_row=HEADER_ROW + 2, end_column=last)
    sheet.cell(row=HEADER_ROW + 2, column=1, value=note).font = Font(name=_FONT, size=10)
    sheet.column_dimensions["A"].width = 22
    for column in range(2, last + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 9.5
    # Fifteen columns: landscape A4, fitted to one page wide.
    form_print_setup(sheet, header_row=HEADER_ROW, landscape=True)
    return workbook
