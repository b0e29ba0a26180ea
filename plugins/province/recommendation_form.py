"""附件4 品牌社区学习中心典型案例推介表: one Word document per centre, laid out like the call's form.

Every row of the form is there, in its order, with the form's own labels and guidance:
学校名称 · 省级教育主管部门 (联系人, 联系电话) · 申报学校联系方式 (联系人, 联系电话, 电子邮箱) ·
基础保障 · 队伍建设 · 教育活动与服务 · 可持续发展 · 特色和经验 · 重点宣传推介内容 · 申报意见 with its
four opinion cells (school, county, city, province), left blank for the hand, the seal and the
date: "（盖章） 年 月 日". The grid is five columns wide, as the form's contact rows are.

A4 portrait, 宋体 throughout (仿宋 for the texts), so it prints as the officers expect.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from weike.builder.keeping.xmltext import property_text, xml_text
from weike.builder.repository.centre import CENTRE_FILE, Centre, ProvinceDepartment
from weike.builder.keeping.archive import source_date
from weike.plugins.province.document import document_bytes
from weike.plugins.province.forms import CENTRE_TEXTS

TITLE = "品牌社区学习中心典型案例推介表"
ATTACHMENT = "附件4"
NAME_LABEL = "学校名称（准确填写全称）"
DEPARTMENT_LABEL = "省级教育主管部门"
SCHOOL_CONTACT_LABEL = "申报学校联系方式"
OPINIONS_LABEL = "申报意见"
OPINION_LABELS = ("申报学校意见", "县级教育行政部门意见", "市级教育行政部门意见", "省级教育行政部门意见")
#: What each opinion cell holds until it is signed: room for the seal and the date.
SEAL_LINE = "（盖章） 年 月 日"
_COLUMNS = 5
_WIDTHS = (Cm(3.4), Cm(2.2), Cm(4.6), Cm(2.2), Cm(4.2))
_LABEL_FONT = "宋体"
_TEXT_FONT = "仿宋"


def _font(run, name: str, size: float, *, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    # Word picks the font of Chinese characters from eastAsia, not from the plain font name.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _write(cell, text: str | None, *, font: str = _LABEL_FONT, size: float = 12, bold: bool = False,
           align=WD_ALIGN_PARAGRAPH.CENTER, guidance: str | None = None) -> None:
    """Fill ``cell`` with ``text`` (one paragraph per line); ``guidance`` in small print below."""
    lines = xml_text(text or "").splitlines() or [""]
    first = cell.paragraphs[0]
    for index, line in enumerate(lines):
        paragraph = first if index == 0 else cell.add_paragraph()
        paragraph.alignment = align
        _font(paragraph.add_run(line), font, size, bold=bold)
    if guidance:
        paragraph = cell.add_paragraph()
        paragraph.alignment = align
        _font(paragraph.add_run(f"（{guidance}）"), _LABEL_FONT, 9)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _long_text(cell, text: str | None) -> None:
    """A free-text row: justified, first lines indented two characters as Chinese prose is."""
    _write(cell, text, font=_TEXT_FONT, size=12, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    for paragraph in cell.paragraphs:
        paragraph.paragraph_format.first_line_indent = Pt(24)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def recommendation_form(centre: Centre, department: ProvinceDepartment | None):
    """The python-docx ``Document`` of 附件4 for ``centre``."""
    document = Document()
    properties = document.core_properties
    # A document property holds at most 255 characters (python-docx raises beyond): the form's
    # cell holds the whole name, the title what fits.
    properties.title = property_text(f"{TITLE}：{centre.name or centre.slug}")
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin = section.bottom_margin = Cm(2.2)
    section.left_margin = section.right_margin = Cm(2.2)

    heading = document.paragraphs[0] if document.paragraphs else document.add_paragraph()
    _font(heading.add_run(ATTACHMENT), "黑体", 14)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(TITLE), _LABEL_FONT, 18, bold=True)

    rows = 3 + 1 + len(CENTRE_TEXTS) + 3
    table = document.add_table(rows=rows, cols=_COLUMNS)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    # Word reads the cells' widths, LibreOffice and WPS the grid's: both are set.
    for column, width in zip(table.columns, _WIDTHS):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, _WIDTHS):
            cell.width = width

    def cells(row: int):
        return table.rows[row].cells

    # 学校名称（准确填写全称）
    _write(cells(0)[0], NAME_LABEL, bold=True)
    _write(cells(0)[1].merge(cells(0)[4]), centre.name)
    # 省级教育主管部门 · 联系人 · … · 联系电话 · …
    _write(cells(1)[0], DEPARTMENT_LABEL, bold=True)
    _write(cells(1)[1], "联系人")
    _write(cells(1)[2], department.contact if department else None)
    _write(cells(1)[3], "联系电话")
    _write(cells(1)[4], department.phone if department else None)
    # 申报学校联系方式: two rows under one label
    _write(cells(2)[0].merge(cells(3)[0]), SCHOOL_CONTACT_LABEL, bold=True)
    _write(cells(2)[1], "联系人")
    _write(cells(2)[2], centre.contact.name)
    _write(cells(2)[3], "联系电话")
    _write(cells(2)[4], centre.contact.phone)
    _write(cells(3)[1], "电子邮箱")
    _write(cells(3)[2].merge(cells(3)[4]), centre.contact.email)
    # 基础保障 … 重点宣传推介内容
    for offset, (key, label, guidance) in enumerate(CENTRE_TEXTS):
        row = 4 + offset
        _write(cells(row)[0], label, bold=True, guidance=guidance)
        _long_text(cells(row)[1].merge(cells(row)[4]), centre.text(key))
    # 申报意见: a heading row, then four opinion cells, each left for the seal and the date
    heading_row = 4 + len(CENTRE_TEXTS)
    _write(cells(heading_row)[0].merge(cells(heading_row)[4]), OPINIONS_LABEL, bold=True)
    label_cells = _opinion_cells(cells(heading_row + 1))
    seal_cells = _opinion_cells(cells(heading_row + 2))
    for label_cell, seal_cell, label in zip(label_cells, seal_cells, OPINION_LABELS):
        _write(label_cell, label, bold=True)
        _write(seal_cell, SEAL_LINE, align=WD_ALIGN_PARAGRAPH.RIGHT)
        seal_cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    table.rows[heading_row + 2].height = Cm(4.0)
    return document


def _opinion_cells(row_cells) -> Sequence:
    """Four cells over the five-column grid: the school's takes the two narrow first columns."""
    return (row_cells[0].merge(row_cells[1]), row_cells[2], row_cells[3], row_cells[4])


def recommendation_form_bytes(centre: Centre, department: ProvinceDepartment | None, *,
                              sources: Iterable[Path] = (), made: _dt.datetime | None = None) -> bytes:
    """附件4 for ``centre`` as deterministic ``.docx`` bytes, dated ``made``, else by its centre.yml
    and ``sources`` (weike.yml, which holds ``department``), authored by the department."""
    if made is None:
        made = source_date([centre.folder / CENTRE_FILE, *sources])
    return document_bytes(recommendation_form(centre, department), made=made,
                          author=department.name if department else None)
