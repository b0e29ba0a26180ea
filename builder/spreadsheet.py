"""XLSX files with no clock in them: the same workbook content always gives the same bytes.

openpyxl stamps the time twice: ``docProps/core.xml`` gets created/modified dates, and every zip
entry gets the current time. Both are pinned here: the document dates to the same fixed moment
as the zip entries (openpyxl cannot leave them out), and the package is re-packed with
:mod:`builder.archive`'s fixed timestamps and order.
"""

from __future__ import annotations

import datetime as _dt
import io
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from builder.archive import FIXED_DATE_TIME, ArchiveMember, zip_bytes
from builder.outputs import write_atomic

#: What "created" and "modified" say in every workbook weike writes.
FIXED_DOCUMENT_TIME = _dt.datetime(*FIXED_DATE_TIME)


def workbook_bytes(workbook: Workbook) -> bytes:
    """The ``.xlsx`` bytes of ``workbook``, identical for identical content.

    Sets the workbook's created/modified document properties to :data:`FIXED_DOCUMENT_TIME`.
    """
    workbook.properties.created = FIXED_DOCUMENT_TIME
    workbook.properties.modified = FIXED_DOCUMENT_TIME
    raw = io.BytesIO()
    # ExcelWriter rather than Workbook.save(): save() sets "modified" to now just before writing.
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as package:
        ExcelWriter(workbook, package).write_data()
    with zipfile.ZipFile(raw) as package:
        parts = [ArchiveMember.from_bytes(info.filename, package.read(info)) for info in package.infolist()]
    return zip_bytes(parts)


def save_workbook(workbook: Workbook, path: Path) -> Path:
    """Write ``workbook`` to ``path`` deterministically and atomically (not at all when the file
    already holds the same bytes); returns ``path``."""
    write_atomic(path, workbook_bytes(workbook))
    return path
