"""附件4's document properties: true, neutral, and never the reason a stage stops.

The forms are read back with python-docx and with zipfile (docProps/core.xml, app.xml), not through
weike's own code.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path

import docx

from weike.builder.contracts.model import Centre, CentreContact, ProvinceDepartment
from weike.plugins.province.recommendation_form import recommendation_form_bytes
from tests.plugins.conftest import run_build
from tests.plugins.province.test_centres_submission import centre_yml, course_titles, weike_yml

DEPARTMENT = ProvinceDepartment(name="测试省教育厅", contact="钱处长", phone="0571-87001234")


def centre(tmp_path: Path, name: str) -> Centre:
    folder = tmp_path / "centres" / "qinghe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "centre.yml").write_text("name: x\n", encoding="utf-8")
    return Centre(slug="qinghe", folder=folder, file="centres/qinghe/centre.yml", name=name,
                  contact=CentreContact(name="王老师"), foundation="设施。")


def test_a_name_longer_than_any_property_allows_still_makes_the_form(tmp_path):
    name = "清" * 300 + "\x07\u202e"
    form = docx.Document(io.BytesIO(recommendation_form_bytes(centre(tmp_path, name), DEPARTMENT)))
    title = form.core_properties.title
    assert 0 < len(title) <= 255 and title.startswith("品牌社区学习中心典型案例推介表")
    assert "\x07" not in title and "\u202e" not in title
    # ...and the form itself holds the whole name: only the property is shortened.
    assert "清" * 300 in form.tables[0].rows[0].cells[1].text


def test_properties_are_true_and_neutral(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    item = centre(tmp_path, "测试县清河镇社区学校")
    written = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc).timestamp()
    os.utime(item.folder / "centre.yml", (written, written))
    data = recommendation_form_bytes(item, DEPARTMENT)
    properties = docx.Document(io.BytesIO(data)).core_properties
    assert properties.created == properties.modified == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    assert properties.author == properties.last_modified_by == "测试省教育厅"
    assert properties.comments == ""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        core = package.read("docProps/core.xml").decode()
        app = package.read("docProps/app.xml").decode()
        names = package.namelist()
    for text in (core, app):
        assert "python-docx" not in text and "Macintosh" not in text and "2013" not in text and "1980" not in text
    assert not [name for name in names if "thumbnail" in name]  # python-docx's template page, not this form

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    again = docx.Document(io.BytesIO(recommendation_form_bytes(item, DEPARTMENT))).core_properties
    assert again.created == again.modified == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)


def test_a_centre_name_of_240_characters_leaves_the_reports_and_the_submission_written(buildable_repo):
    files = {"weike.yml": weike_yml(["centre-1", "centre-2"]), **course_titles(),
             "centres/centre-1/centre.yml": centre_yml(1).replace("name: 测试市第1社区学校", "name: " + "长" * 240),
             "centres/centre-2/centre.yml": centre_yml(2)}
    root = buildable_repo(valid_courses=("course-a", "course-b", "course-c"), files=files)
    result = run_build(root, only=None)
    assert {d.code for d in result.diagnostics if d.severity == "error"} == {"E713"}
    assert (root / "dist/reports/社区教育品牌项目汇总表.xlsx").is_file()
    assert [path.name for path in (root / "dist/submission").glob("附件4-*")] == ["附件4-01-测试市第2社区学校.docx"]


def test_the_form_carries_the_date_it_was_fingerprinted_with(tmp_path, monkeypatch):
    # The submission computes a form's date once, for its ledger's fingerprint and for the form:
    # a centre.yml touched in between must not give the form another date than its fingerprint.
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    item = centre(tmp_path, "测试县清河镇社区学校")
    fingerprinted = dt.datetime(2024, 5, 6, 7, 8, 9)
    later = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).timestamp()
    os.utime(item.folder / "centre.yml", (later, later))
    data = recommendation_form_bytes(item, DEPARTMENT, made=fingerprinted)
    properties = docx.Document(io.BytesIO(data)).core_properties
    assert properties.created == properties.modified == fingerprinted.replace(tzinfo=dt.timezone.utc)
