"""What each report and submission file was last made from, so an unchanged one is not made again.

openpyxl and python-docx take most of the report stage's time, and after most edits (a lecture's
notes or media, a course's cover) nothing a form shows has changed. Each form is therefore made
under a fingerprint of everything it is made from (the values it lists, weike.yml, the date it
carries, the province and spreadsheet code, the libraries' versions) and recorded, with the size and
mtime of the file written, in an :class:`~weike.builder.keeping.fingerprint.OutputLedger` in the
cache. The next stage keeps the file on disk (and reads its bytes back for the zip) only when the
fingerprint is the same and the file is still the one written; a deleted or edited form, a damaged
or missing ledger, or ``--force`` makes it again. The bytes are those a cold build writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from weike.builder.keeping.fingerprint import Fingerprint, OutputLedger, code_digest, package_versions
from weike.builder.keeping.outputs import write_atomic

#: The forms' code. A plugin's code counts as its whole ``plugins/`` folder
#: (:func:`~weike.builder.keeping.fingerprint.code_location`), the spreadsheets' writer included:
#: one name hashes it once; the zip and document writer (dates, XML text) is weike's ``builder/``.
FORM_CODE = ("weike.plugins.province", "weike.builder.keeping.archive")
#: In the cache folder: one ledger per folder of forms (``weike cache`` part ``province-forms``).
LEDGER_FOLDER = "province-forms"


def form_fingerprint(kind: str, *parts: object) -> str:
    """The fingerprint of one form: its kind, ``parts`` (its values, settings, date), the code and
    the libraries that write it."""
    return Fingerprint("province-form", kind, code_digest(*FORM_CODE),
                       package_versions("openpyxl", "python-docx"), *parts).hexdigest()


def listed_values(item: object) -> tuple:
    """Every compared field of a course or centre, a course's lectures as their number only (a
    lecture's notes or media are on no form), for :func:`form_fingerprint`."""
    values = tuple((field.name, getattr(item, field.name)) for field in dataclasses.fields(item)
                   if field.compare and field.name != "lectures")
    lectures = getattr(item, "lectures", None)
    return values if lectures is None else (*values, ("lectures", len(lectures)))


def ledger_path(cache: Path, name: str) -> Path:
    """Where the ledger ``name`` (one a folder of forms) is kept: ``cache/province-forms/<name>.json``."""
    return Path(cache) / LEDGER_FOLDER / f"{name}.json"


class FormLedger:
    """The forms of one folder and what each was made from (:func:`ledger_path`)."""

    def __init__(self, folder: Path, cache: Path, name: str, *, force: bool = False) -> None:
        self.folder = Path(folder)
        self._ledger = OutputLedger(self.folder, ledger_path(cache, name))
        self._force = force
        #: The forms made now (not kept from an earlier build), by name.
        self.made: list[str] = []

    def form(self, name: str, fingerprint: str, make: Callable[[], bytes]) -> bytes:
        """The bytes of the form ``name``: the file on disk when it was made from ``fingerprint``
        and is untouched since, else ``make()``, written atomically and recorded."""
        if not self._force and self._ledger.up_to_date(name, fingerprint):
            try:
                return (self.folder / name).read_bytes()
            except OSError:
                pass
        data = make()
        write_atomic(self.folder / name, data)
        self._ledger.record(name, fingerprint)
        self.made.append(name)
        return data

    def save(self) -> None:
        """Keep the records for the next build; a cache that cannot take them costs it the shortcut."""
        try:
            self._ledger.save()
        except OSError:
            try:
                self._ledger.records.unlink(missing_ok=True)
            except OSError:
                pass
