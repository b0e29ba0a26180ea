"""The contact details the province's forms carry (附件3, 附件4): one rule for a phone number
wherever it is written, course.yml, centre.yml or weike.yml.

An officer in the provincial capital must be able to dial it: a mobile number, or a landline
with its area code (a bare local number like 8888666 rings nowhere from another city), or a
400/800 service number; +86 forms and an extension (转 123, -123, ext 123) are fine.
"""

from __future__ import annotations

import re

from weike.builder.contracts.model import Diagnostic, SourceLocation
from weike.builder.running.scaffold import PLACEHOLDER

_PHONE_RE = re.compile(
    r"^(?:"
    r"(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"  # mobile
    r"|0\d{2,3}[\s-]?\d{3,4}[\s-]?\d{4}"  # landline with its area code
    r"|\+?86[\s-]?[1-9]\d{1,2}[\s-]?\d{3,4}[\s-]?\d{4}"  # the same from abroad: +86, area code without its 0
    r"|[48]00[\s-]?\d{3}[\s-]?\d{4}"  # 400/800 service numbers
    r")(?:\s*(?:转|-|ext\.?)\s*\d{1,6})?$")
_EMAIL_RE = re.compile(r"^[^@\s<>\"'()\[\],;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*"
                       r"\.[A-Za-z]{2,}$")
#: What every phone diagnostic suggests.
PHONE_HINT = "写手机号或带区号的固定电话，例如 13800138000 或 0571-88886666（可带分机：转 123）。"


def plausible_phone(text: str) -> bool:
    """A number an officer could dial from anywhere: mobile, landline with area code, optional extension."""
    return bool(_PHONE_RE.match(text.strip().replace("（", "(").replace("）", ")").replace("(", "").replace(")", "")))


def plausible_email(text: str) -> bool:
    return bool(_EMAIL_RE.match(text.strip()))


def phone_problem(phone: str | None, *, code: str, where: SourceLocation, key: str,
                  label: str = "联系电话") -> Diagnostic | None:
    """The error ``code`` at ``where`` when ``phone`` (the field ``key``) is written and no one could
    dial it; ``None`` when it is fine, absent (the missing-field rules say so) or still the
    scaffold's placeholder (W115/W712 say so)."""
    if phone is None or PLACEHOLDER in phone or plausible_phone(phone):
        return None
    return Diagnostic.error(code, where, f"{label}“{phone}”不像电话号码",
                            f"{key} '{phone}' does not look like a phone number", hint=PHONE_HINT)
