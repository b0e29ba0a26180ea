"""Text that XML 1.0 can carry: what every XML weike writes (feeds, sitemaps, SCORM manifests, Word documents,
spreadsheets) is made of.

XML 1.0 has no way to write most control characters (U+0000-U+001F except tab, line feed and
carriage return), lone surrogates, or U+FFFE/U+FFFF, not even as character references.
:mod:`xml.etree.ElementTree` writes them anyway, giving a file no XML reader accepts, and openpyxl
refuses them with an exception. Loading refuses such text in course files; this is the net
behind it, so text from anywhere (a plugin, a file name) can never break an output.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeVar
from xml.etree import ElementTree

_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
T = TypeVar("T")


def xml_text(value: T) -> T:
    """``value`` without the characters XML 1.0 cannot hold (non-text values unchanged)."""
    if isinstance(value, str):
        return _NOT_IN_XML.sub("", value)  # type: ignore[return-value]
    return value


#: The longest document property (title, author...) an office package holds: python-docx refuses
#: more than 255 characters with an exception, and Word shows no more.
MAX_PROPERTY_CHARS = 255


def property_text(value: object, *, max_chars: int = MAX_PROPERTY_CHARS) -> str:
    """``value`` made fit for a document property: one line, no control, bidi or zero-width
    character (a property shows in file dialogs and search results, where nothing escapes it), at
    most ``max_chars`` characters (cut with "…")."""
    text = "".join(" " if unicodedata.category(char) in ("Zl", "Zp") or char in "\t\n\r\x0b\x0c\x85" else char
                   for char in str(value))
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"))
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def xml_safe_tree(root: ElementTree.Element) -> ElementTree.Element:
    """Strip what XML 1.0 cannot hold from every text, tail and attribute of ``root``, in place."""
    for element in root.iter():
        element.text = xml_text(element.text)
        element.tail = xml_text(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_text(value)
    return root
