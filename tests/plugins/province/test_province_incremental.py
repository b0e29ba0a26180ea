"""The report stage per edit: a form whose inputs did not change is kept, not made again; what is
made again equals a cold build's; a deleted or edited output comes back; every form carries its true
source date (the newest file it is made from, or SOURCE_DATE_EPOCH), never 1980-01-01."""

from __future__ import annotations

import calendar
import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

import weike.plugins.province as province
import weike.plugins.province.summary_table as summary_table
import weike.plugins.province.recommendation_form as recommendation_form
from weike.plugins.province.ledger import LEDGER_FOLDER, ledger_path
from tests.plugins.conftest import run_build
from tests.plugins.province.test_centres_submission import COURSES, course_titles, fixed_centres, weike_yml

pytestmark = pytest.mark.slow

OUTPUTS = ("reports", "submission")
#: 2030-03-04 05:06:08 UTC, and an older moment every other input is set to.
NEWEST = calendar.timegm((2030, 3, 4, 5, 6, 8))
OLDER = calendar.timegm((2029, 1, 2, 3, 4, 6))


@pytest.fixture
def repo(buildable_repo, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return buildable_repo(valid_courses=COURSES, files={"weike.yml": weike_yml(), **course_titles(),
                                                         **fixed_centres()})


@pytest.fixture
def made(monkeypatch) -> dict[str, int]:
    """How many workbooks, Word forms and zips the report stage makes (the real functions run)."""
    seen = {"workbooks": 0, "forms": 0, "zips": 0}

    def counting(module, name, kind):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            seen[kind] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(summary_table, "workbook_bytes", "workbooks")
    counting(province, "workbook_bytes", "workbooks")
    counting(recommendation_form, "document_bytes", "forms")
    counting(province, "zip_bytes", "zips")
    return seen


def outputs(dist: Path) -> dict[str, bytes]:
    return {f"{folder}/{path.name}": path.read_bytes() for folder in OUTPUTS
            for path in sorted((dist / folder).iterdir()) if path.is_file()}


def cold(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The same repository's reports built cold in a copy: no reports, submission or ledgers."""
    copy = tmp_path / "cold"
    shutil.copytree(root, copy, symlinks=True)
    for path in [root, *root.rglob("*")]:  # the copy keeps every time: the forms' dates come from them
        st = path.lstat()
        os.utime(copy / path.relative_to(root), ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    for folder in OUTPUTS:
        shutil.rmtree(copy / "dist" / folder)
    shutil.rmtree(copy / ".weike/cache" / LEDGER_FOLDER)
    assert not run_build(copy, only="reports").failed_build()
    return outputs(copy / "dist")


def workbook_values(data: bytes) -> list[list]:
    book = load_workbook(io.BytesIO(data))
    return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]


def edit_notes(root: Path) -> None:
    notes = root / "courses" / COURSES[0] / "01-lecture-1" / "lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n讲义多一句。\n", encoding="utf-8")


def test_only_forms_whose_inputs_changed_are_made_again_and_equal_a_cold_build(repo, made, tmp_path):
    assert not run_build(repo, only="reports").failed_build()
    # 附件3, 课程明细 and 附件5 twice over (dist/reports and the submission), six 附件4, one zip.
    assert made == {"workbooks": 3, "forms": 6, "zips": 1}
    first = outputs(repo / "dist")

    # A lecture's notes are on no form: nothing is made, nothing rewritten.
    made.update(workbooks=0, forms=0, zips=0)
    edit_notes(repo)
    result = run_build(repo, only="reports")
    assert not result.replayed and not result.failed_build()
    assert made == {"workbooks": 0, "forms": 0, "zips": 0}
    assert outputs(repo / "dist") == first

    # A course's title is in 附件3 and 课程明细: those two and the zip, not 附件5 nor a centre's form.
    course = repo / "courses" / COURSES[1] / "course.yml"
    course.write_text(course.read_text(encoding="utf-8").replace("title: 课程B", "title: 课程B（修订版）"),
                      encoding="utf-8")
    assert not run_build(repo, only="reports").failed_build()
    assert made == {"workbooks": 2, "forms": 0, "zips": 1}
    incremental = outputs(repo / "dist")
    summary = incremental["reports/社区教育品牌项目汇总表.xlsx"]
    assert any("课程B（修订版）" in row for row in workbook_values(summary)[0])
    assert incremental["submission/附件3-社区教育品牌项目汇总表.xlsx"] == summary
    expected = cold(repo, tmp_path)
    assert incremental == expected
    with zipfile.ZipFile(io.BytesIO(incremental["submission/社区教育品牌项目申报材料.zip"])) as archive:
        members = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    assert members == {name.split("/", 1)[1]: data for name, data in incremental.items()
                       if name.startswith("submission/") and not name.endswith(".zip")}


def test_a_deleted_or_edited_output_is_made_again(repo, made, tmp_path):
    assert not run_build(repo, only="reports").failed_build()
    good = outputs(repo / "dist")
    (repo / "dist/reports/社区教育品牌项目汇总表.xlsx").unlink()
    (repo / "dist/submission/附件5-社区教育机构统计表.xlsx").write_bytes(b"edited by hand")
    form = next((repo / "dist/submission").glob("附件4-01-*.docx"))
    form.write_bytes(form.read_bytes()[:-10])
    (repo / "dist/submission/社区教育品牌项目申报材料.zip").unlink()
    made.update(workbooks=0, forms=0, zips=0)
    edit_notes(repo)  # and something the build reads changed: no replay of the stamp either way
    assert not run_build(repo, only="reports").failed_build()
    assert made == {"workbooks": 2, "forms": 1, "zips": 1}
    assert outputs(repo / "dist") == good


def test_a_damaged_ledger_makes_every_form_again(repo, made):
    assert not run_build(repo, only="reports").failed_build()
    good = outputs(repo / "dist")
    for name in (summary_table.REPORTS_LEDGER, province.SUBMISSION_LEDGER):
        ledger_path(repo / ".weike/cache", name).write_text('["not", "records"]', encoding="utf-8")
    made.update(workbooks=0, forms=0, zips=0)
    edit_notes(repo)
    assert not run_build(repo, only="reports").failed_build()
    assert made == {"workbooks": 3, "forms": 6, "zips": 1}
    assert outputs(repo / "dist") == good


def entry_times(data: bytes) -> set[tuple]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.date_time for info in archive.infolist()}


def core_dates(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("docProps/core.xml").decode()


def test_forms_carry_the_date_of_the_newest_file_they_are_made_from(repo, monkeypatch):
    for path in [repo / "weike.yml", *repo.glob("courses/*/course.yml"), *repo.glob("courses/*"),
                 *repo.glob("centres/*/centre.yml")]:
        os.utime(path, (OLDER, OLDER))
    os.utime(repo / "courses" / COURSES[2] / "course.yml", (NEWEST, NEWEST))
    assert not run_build(repo, only="reports").failed_build()
    files = outputs(repo / "dist")
    newest, older = (2030, 3, 4, 5, 6, 8), (2029, 1, 2, 3, 4, 6)
    for name in ("reports/社区教育品牌项目汇总表.xlsx", "reports/社区教育品牌课程明细.xlsx",
                 "submission/附件3-社区教育品牌项目汇总表.xlsx"):
        assert entry_times(files[name]) == {newest}, name
        assert core_dates(files[name]).count("2030-03-04T05:06:08Z") == 2, name  # created and modified
    statistics = files["submission/附件5-社区教育机构统计表.xlsx"]  # its figures are weike.yml's
    assert entry_times(statistics) == {older} and core_dates(statistics).count("2029-01-02T03:04:06Z") == 2
    forms = [data for name, data in files.items() if name.endswith(".docx")]
    assert len(forms) == 6 and all(entry_times(data) == {older} for data in forms)
    reread = load_workbook(repo / "dist/reports/社区教育品牌项目汇总表.xlsx")
    assert reread.properties.created.timetuple()[:6] == newest
    # The zip is as new as its newest form.
    assert entry_times(files["submission/社区教育品牌项目申报材料.zip"]) == {newest}

    # SOURCE_DATE_EPOCH (reproducible builds) dates every form and entry alike.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(calendar.timegm((2031, 5, 6, 7, 8, 10))))
    assert not run_build(repo, only="reports").failed_build()
    files = outputs(repo / "dist")
    for name, data in files.items():
        if name.endswith((".xlsx", ".docx", ".zip")):
            assert entry_times(data) == {(2031, 5, 6, 7, 8, 10)}, name


def test_every_weike_package_the_forms_are_made_with_is_in_their_fingerprints_code():
    """A form kept from an earlier build is kept only while the code that makes its bytes is the
    same: each weike package the province's modules use (the zip and date writer of builder/, the
    spreadsheets' writer) is among the code locations the form fingerprint hashes."""
    import importlib
    import sys
    import types

    from weike.builder.keeping.fingerprint import code_location
    from weike.plugins.province import document, ledger, recommendation_form, summary_table

    def locations(names) -> set[tuple]:
        return {tuple(code_location(importlib.import_module(name))) for name in names}

    used: set[str] = set()
    for module in (province, document, recommendation_form, summary_table):
        for value in vars(module).values():
            name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
            if isinstance(name, str) and name.startswith("weike.") and name in sys.modules:
                used.add(name)
    missing = sorted(name for name in used if not locations([name]) <= locations(ledger.FORM_CODE))
    assert not missing, f"forms made with code their fingerprint does not hash: {missing}"
