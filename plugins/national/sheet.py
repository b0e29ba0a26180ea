"""课程信息.xlsx written straight from its rows, with the bytes openpyxl gives for the same sheet.

openpyxl builds a model of every cell, style and part and serialises all of it again for each
course: at national scale the slowest part of a bundle. Only three parts of this sheet depend on
the course (``docProps/core.xml``: title and dates; ``xl/workbook.xml``: the filter's range;
``xl/worksheets/sheet1.xml``: the rows); the others come out the same for every course.

So once per process, openpyxl writes two sample sheets (:func:`metadata_sheet_writer`, or they
are taken from the cache, kept there under a key of everything they come from): the first
gives the constant parts and the frame around the variable ones, the second, with another number
of rows, another title and date, and text that needs every kind of escaping, is then written both
ways and must come out byte for byte the same, or the direct way is not used at all. A sheet whose
cells hold anything openpyxl would treat specially (text it reads as a formula or an error code,
text that gets Excel's quote prefix, a type other than text, whole or finite numbers) is written by
openpyxl as before (:meth:`MetadataSheetWriter.write` returns ``None``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import io
import math
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from weike.builder.keeping.archive import ArchiveMember, zip_bytes
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.builder.keeping.outputs import write_atomic
from weike.plugins.spreadsheets import FIXED_DOCUMENT_TIME, FORMULA_TRIGGERS

#: Parts that differ from course to course; every other part is the first sample's.
CORE_PART = "docProps/core.xml"
WORKBOOK_PART = "xl/workbook.xml"
SHEET_PART = "xl/worksheets/sheet1.xml"
#: What openpyxl refuses in a cell (xml_text has removed it already) or reads as an error value.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_LONGEST_CELL = 32767
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

#: Sample text for the self-check: markup, entities, quotes, white space at the ends and inside,
#: line breaks, Chinese, a character beyond the BMP, an empty cell.
_HOSTILE = ("<b>&amp; \"引号\" 'x' a>b", " 前后有空格 ", "第一行\n第二行\r\n\t制表", "😀表情", "", "普通文字")


class MetadataSheetWriter:
    """The sheet's bytes from its title, rows and date, using the parts of a sample openpyxl made."""

    def __init__(self, sample: dict[str, bytes], *, title: str, rows: int, dated: _dt.datetime,
                 width: int) -> None:
        last_column = self._last = _column_letter(width)
        # Hashed once here, not for every course (the theme alone is 10 kB).
        self._constant = [ArchiveMember.from_bytes(name, data) for name, data in sample.items()
                          if name not in (CORE_PART, WORKBOOK_PART, SHEET_PART)]
        self._letters = [_column_letter(index) for index in range(1, width + 1)]
        core = sample[CORE_PART].decode("utf-8")
        head, tail = _split_once(core, _text(title))
        stamp = dated.strftime(_DATE_FORMAT)
        if head.count(stamp) + tail.count(stamp) != 2 or stamp in head:
            raise ValueError("unexpected core properties")
        self._core = (head, *tail.split(stamp))  # the title, then created and modified
        self._workbook = _split_once(sample[WORKBOOK_PART].decode("utf-8"), f"$A$1:${last_column}${rows + 1}")
        sheet = sample[SHEET_PART].decode("ascii")
        start, rest = _split_once(sheet, "<sheetData>")
        header, end = rest.split("</row>", 1)
        body, end = _split_once(end, "</sheetData>")
        if not body.startswith("<row r=\"2\">"):
            raise ValueError("unexpected sheet rows")
        self._sheet_start = _split_once(start, f"A1:{last_column}{rows + 1}")
        self._header = header + "</row>"
        self._sheet_end = _split_once(end, f"A1:{last_column}{rows + 1}")

    def write(self, title: str, rows: Sequence[Sequence[object]], dated: _dt.datetime | None) -> bytes | None:
        """The workbook's bytes, or ``None`` when openpyxl would treat a value specially."""
        if not rows or any(len(row) != len(self._letters) for row in rows):
            return None
        body = []
        for number, row in enumerate(rows, start=2):
            cells = []
            for letter, value in zip(self._letters, row):
                cell = _cell(f"{letter}{number}", value)
                if cell is None:
                    return None
                cells.append(cell)
            body.append(f'<row r="{number}">{"".join(cells)}</row>')
        made = FIXED_DOCUMENT_TIME if dated is None else dated.replace(microsecond=0)
        stamp = made.strftime(_DATE_FORMAT)
        extent = len(rows) + 1
        head, before_created, before_modified, end = self._core
        parts = {
            CORE_PART: "".join((head, _text(title), before_created, stamp, before_modified, stamp, end)).encode("utf-8"),
            WORKBOOK_PART: f"$A$1:${self._last}${extent}".join(self._workbook).encode("utf-8"),
            SHEET_PART: "".join((f"A1:{self._last}{extent}".join(self._sheet_start), "<sheetData>", self._header,
                                 *body, "</sheetData>", f"A1:{self._last}{extent}".join(self._sheet_end))
                                ).encode("ascii"),
        }
        return zip_bytes([*self._constant, *(ArchiveMember.from_bytes(name, data) for name, data in parts.items())],
                         made=made)


def _split_once(text: str, marker: str) -> tuple[str, str]:
    if text.count(marker) != 1:
        raise ValueError(f"{marker!r} found {text.count(marker)} times")
    head, tail = text.split(marker)
    return head, tail


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: str) -> str:
    """Element text as libxml2 escapes it (the document parts are UTF-8)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _cell(reference: str, value: object) -> str | None:
    """One body cell (style 2) as openpyxl's lxml writer gives it, or ``None`` for a value it
    treats specially."""
    if value is None:
        return f'<c r="{reference}" s="2" t="n"></c>'
    kind = type(value)
    if kind is int or kind is float:
        if kind is float and not math.isfinite(value):
            return None
        return f'<c r="{reference}" s="2" t="n"><v>{"%.16g" % value}</v></c>'
    if kind is not str:
        return None
    if value == "":
        return f'<c r="{reference}" s="2" t="inlineStr"></c>'
    if (len(value) > _LONGEST_CELL or value.startswith(FORMULA_TRIGGERS) or value in _ERROR_CODES
            or _ILLEGAL.search(value)):
        return None
    space = ' xml:space="preserve"' if value != value.strip() else ""
    text = _text(value).encode("ascii", "xmlcharrefreplace").decode("ascii")
    return f'<c r="{reference}" s="2" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {info.filename: package.read(info) for info in package.infolist()}


def _sample_rows(count: int, width: int, offset: int) -> list[tuple]:
    rows = []
    for number in range(count):
        row: list[object] = []
        for column in range(width):
            pick = (number * width + column + offset) % (len(_HOSTILE) + 4)
            if pick < len(_HOSTILE):
                row.append(_HOSTILE[pick])
            else:
                row.append((None, number + 1, round(61.37 * (number + 1) + column, 2), 1e-07 * column)[pick - len(_HOSTILE)])
        rows.append(tuple(row))
    return rows


@functools.cache
def metadata_sheet_writer(write_with_openpyxl: Callable[[str, tuple, _dt.datetime | None], bytes],
                          width: int, *, samples: Path | None = None) -> MetadataSheetWriter | None:
    """The direct writer, made from one sample openpyxl wrote and proven on a second; ``None``
    (openpyxl writes every sheet) when the second does not come out the same.

    ``samples``: a file in the cache keeping the two samples' bytes as openpyxl wrote them, under
    a key of everything they come from (:func:`_samples_key`): while it holds, neither is written
    again, nor openpyxl imported, for a build that packs a sheet or two (an edit's); the writer
    is still made from the first and proven on the second."""
    first = dict(title="样例 <课程> & 信息", rows=3, dated=_dt.datetime(2024, 5, 6, 7, 8, 9))
    first_rows = tuple(_sample_rows(first["rows"], width, 0))
    second_title, second_dated = "另一门 “课程” a>b\r 课程信息", _dt.datetime(2031, 12, 30, 23, 59, 58)
    second_rows = tuple(_sample_rows(9, width, 3))
    key = _samples_key(write_with_openpyxl, width) if samples is not None else ""
    kept = _kept_samples(samples, key) if samples is not None else None
    while True:
        written = kept is None
        if written:
            kept = (write_with_openpyxl(first["title"], first_rows, first["dated"]),
                    write_with_openpyxl(second_title, second_rows, second_dated))
            if samples is not None:
                _keep_samples(samples, key, *kept)
        try:
            writer = MetadataSheetWriter(_parts(kept[0]), width=width, **first)
            if writer.write(second_title, second_rows, second_dated) == kept[1]:
                return writer
        except (ValueError, KeyError, UnicodeError, zipfile.BadZipFile):
            pass
        if written:
            return None
        kept = None  # kept samples that do not prove the writer: written again by openpyxl


_SAMPLES_MAGIC = b"weike-sheet-samples\n"


def _samples_key(write_with_openpyxl: Callable, width: int) -> str:
    """What the samples' bytes come from: the code writing them (the function's and this
    module's packages), openpyxl's, lxml's and Python's versions, zlib's (the zip's bytes), the width."""
    return Fingerprint("sheet samples", code_digest(write_with_openpyxl.__module__, __name__),
                       package_versions("openpyxl", "lxml", "et-xmlfile"), sys.version, zlib.ZLIB_RUNTIME_VERSION,
                       width).hexdigest()


def _kept_samples(samples: Path, key: str) -> tuple[bytes, bytes] | None:
    """The two samples kept in ``samples`` under ``key``; None when absent, of another key, or torn."""
    try:
        data = samples.read_bytes()
    except OSError:
        return None
    head = _SAMPLES_MAGIC + key.encode("ascii") + b"\n"
    if not data.startswith(head):
        return None
    digest, body = data[len(head):len(head) + 32], data[len(head) + 32:]
    if len(body) < 8 or hashlib.sha256(body).digest() != digest:
        return None
    size = int.from_bytes(body[:8], "little")
    return body[8:8 + size], body[8 + size:]


def _keep_samples(samples: Path, key: str, first: bytes, second: bytes) -> None:
    """Keep the samples (atomically, without an fsync: the digest tells a torn file); a cache that
    cannot take them costs the next build the two samples."""
    body = len(first).to_bytes(8, "little") + first + second
    try:
        samples.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(samples, _SAMPLES_MAGIC + key.encode("ascii") + b"\n" + hashlib.sha256(body).digest() + body,
                     sync=False)
    except OSError:
        pass
