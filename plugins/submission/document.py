"""Word documents with no clock in them, and authored text made safe for them.

python-docx stamps the time into every zip entry of a ``.docx`` (a DOCX is a zip of XML parts),
so two builds of the same form would differ. As for XLSX (:mod:`weike.plugins.submission.spreadsheet`), the
document properties are pinned to one fixed moment and the package is re-packed with
:mod:`weike.builder.archive`'s fixed timestamps and order.
"""

from __future__ import annotations

import io
import re
import zipfile

from weike.builder.archive import ArchiveMember, zip_bytes
from weike.plugins.submission.spreadsheet import FIXED_DOCUMENT_TIME

#: Characters XML 1.0 cannot hold (C0 controls but tab/newline/return, U+FFFE/U+FFFF, lone surrogates).
#: lxml refuses them with an exception; authored text loses them instead of stopping the build.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: object) -> str:
    """``text`` with the characters XML cannot carry removed (python-docx escapes ``<``, ``&``...)."""
    return _NOT_XML.sub("", str(text))


def document_bytes(document) -> bytes:
    """The ``.docx`` bytes of a python-docx ``document``, identical for identical content."""
    properties = document.core_properties
    properties.created = FIXED_DOCUMENT_TIME
    properties.modified = FIXED_DOCUMENT_TIME
    properties.last_printed = FIXED_DOCUMENT_TIME
    properties.revision = 1
    raw = io.BytesIO()
    document.save(raw)
    with zipfile.ZipFile(raw) as package:
        parts = [ArchiveMember.from_bytes(info.filename, package.read(info)) for info in package.infolist()]
    return zip_bytes(parts)
