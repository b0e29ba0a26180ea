"""XLSX bytes depend on the content only: no clock in the document properties or the zip entries."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook, load_workbook

from builder.archive import FIXED_DATE_TIME
from builder.spreadsheet import FIXED_DOCUMENT_TIME, save_workbook, workbook_bytes


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
