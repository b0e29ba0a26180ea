"""XLSX files with no clock in them: the same workbook content always gives the same bytes.

openpyxl stamps the time twice: ``docProps/core.xml`` gets created/modified dates, and every zip
entry gets the current time. Both are pinned here to one moment: the caller's ``made`` (the
province's forms give their *source date*, :func:`weike.builder.keeping.archive.source_date`:
``SOURCE_DATE_EPOCH``, else the newest file the form is made from, so the date an officer sees in
File > Properties is true and two builds of the same files still give the same bytes), else
:data:`FIXED_DOCUMENT_TIME`; the package is re-packed with
:mod:`weike.builder.keeping.archive`'s timestamps and order.

Every workbook also goes through :func:`text_cells_only` here, the one place all of weike's
spreadsheets pass: cell text comes from course authors, and openpyxl turns any string that starts
with ``=`` into a formula that the officer's spreadsheet program would run (``=HYPERLINK(...)``,
``=WEBSERVICE(...)``). weike writes no formulas of its own, so every such cell is stored as text.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from weike.builder.keeping.archive import FIXED_DATE_TIME, ArchiveMember, zip_bytes
from weike.builder.keeping.outputs import write_atomic

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written, not by every weike command
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

#: What "created" and "modified" say in a workbook written without a date of its own.
FIXED_DOCUMENT_TIME = _dt.datetime(*FIXED_DATE_TIME)

#: First characters that make spreadsheet programs (Excel, WPS, LibreOffice) read a typed or
#: imported value as a formula; tab and CR start the CSV-injection variants of the same trick.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def text_cells_only(workbook: Workbook) -> None:
    """Store every formula cell of ``workbook`` as the text it holds, and mark text that starts
    like a formula with Excel's quote prefix (shown as text, and still text after an officer
    edits the cell)."""
    for sheet in workbook.worksheets:
        for cell in sheet._cells.values():  # only the cells that exist: no scan of empty ranges
            if cell.data_type == "f":
                cell.data_type = "s"
            if cell.data_type == "s" and isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True


def form_print_setup(sheet: Worksheet, *, header_row: int, landscape: bool) -> None:
    """Print ``sheet`` as a form: A4, one page wide (as many pages long as it takes), the column
    headings in ``header_row`` repeated at the top of every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE if landscape else sheet.ORIENTATION_PORTRAIT
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.print_options.horizontalCentered = True


def workbook_bytes(workbook: Workbook, *, made: _dt.datetime | None = None) -> bytes:
    """The ``.xlsx`` bytes of ``workbook``, identical for identical content and ``made``.

    Sets the workbook's created/modified document properties and its zip entries' times to
    ``made`` (UTC, naive; default :data:`FIXED_DOCUMENT_TIME`) and stores every cell as a value,
    never a formula (:func:`text_cells_only`).
    """
    made = FIXED_DOCUMENT_TIME if made is None else made.replace(microsecond=0)
    text_cells_only(workbook)
    workbook.properties.created = made
    workbook.properties.modified = made
    raw = io.BytesIO()
    # ExcelWriter rather than Workbook.save(): save() sets "modified" to now just before writing.
    # Stored, not deflated: the parts are taken out again at once and re-packed below.
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as package:
        _in_memory_writer()(workbook, package).write_data()
    with zipfile.ZipFile(raw) as package:
        parts = [ArchiveMember.from_bytes(info.filename, package.read(info)) for info in package.infolist()]
    return zip_bytes(parts, made=made)


@functools.cache
def _in_memory_writer() -> type:
    """openpyxl's ExcelWriter, but each sheet's XML made in memory: openpyxl writes it to a
    temporary file, reads it back and deletes it, per sheet (disk work in every course's bundle)."""
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    class InMemoryExcelWriter(ExcelWriter):
        def write_worksheet(self, ws):
            if self.workbook.write_only:
                return super().write_worksheet(ws)
            # As ExcelWriter.write_worksheet (openpyxl 3.1), with the sheet in a BytesIO.
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = WorksheetWriter(ws, out=io.BytesIO())
            writer.write()
            ws._rels = writer._rels
            self._archive.writestr(ws.path[1:], writer.read())
            self.manifest.append(ws)

    return InMemoryExcelWriter


def save_workbook(workbook: Workbook, path: Path) -> Path:
    """Write ``workbook`` to ``path`` deterministically and atomically (not at all when the file
    already holds the same bytes); returns ``path``."""
    write_atomic(path, workbook_bytes(workbook))
    return path
