"""Text that XML 1.0 can carry: what every XML weike writes (feeds, sitemaps, SCORM manifests,
spreadsheets) is made of.

XML 1.0 has no way to write most control characters (U+0000-U+001F except tab, line feed and
carriage return), lone surrogates, or U+FFFE/U+FFFF, not even as character references.
:mod:`xml.etree.ElementTree` writes them anyway, giving a file no XML reader accepts, and openpyxl
refuses them with an exception. Loading refuses such text in course files; this is the net
behind it, so text from anywhere (a plugin, a file name) can never break an output.
"""

from __future__ import annotations

import re
from typing import TypeVar
from xml.etree import ElementTree

_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
T = TypeVar("T")


def xml_text(value: T) -> T:
    """``value`` without the characters XML 1.0 cannot hold (non-text values unchanged)."""
    if isinstance(value, str):
        return _NOT_IN_XML.sub("", value)  # type: ignore[return-value]
    return value


def xml_safe_tree(root: ElementTree.Element) -> ElementTree.Element:
    """Strip what XML 1.0 cannot hold from every text, tail and attribute of ``root``, in place."""
    for element in root.iter():
        element.text = xml_text(element.text)
        element.tail = xml_text(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_text(value)
    return root
