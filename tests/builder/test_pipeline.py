"""The build pipeline as a whole: what a build of one course folder may and may not touch."""

from __future__ import annotations

import json

import pytest

from weike.builder.cli import main

pytestmark = pytest.mark.slow  # real encodes (one: every lecture shares one tiny source)


def site_courses(root) -> list[str]:
    catalogue = json.loads((root / "dist/site/catalogue.json").read_text(encoding="utf-8"))
    return sorted(course["slug"] for course in catalogue["courses"])


def test_building_one_course_folder_keeps_the_other_courses_outputs(make_repo, capsys):
    root = make_repo(valid_courses=("aa", "bb"))
    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 0
    assert site_courses(root) == ["aa", "bb"]
    table = root / "dist/reports/社区教育品牌项目汇总表.xlsx"
    table_bytes = table.read_bytes()
    site_index = (root / "dist/site/index.html").read_bytes()
    capsys.readouterr()

    # A teacher edits and rebuilds only their course.
    notes = root / "courses/aa/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一句。\n", encoding="utf-8")
    assert main(["build", str(root / "courses/aa"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "site and reports not updated" in out, out
    # The catalogue and the province table still describe both courses, untouched.
    assert site_courses(root) == ["aa", "bb"]
    assert (root / "dist/site/index.html").read_bytes() == site_index
    assert table.read_bytes() == table_bytes
    # The course's own outputs are there, and the other course's bundles were not removed.
    for target in ("ouchn", "scorm", "smartedu"):
        assert sorted(p.name for p in (root / "dist/bundles" / target).iterdir()) == ["aa.zip", "bb.zip"]
    manifest = json.loads((root / "dist/media/manifest.json").read_text(encoding="utf-8"))
    assert {record["course"] for record in manifest["lectures"].values()} == {"aa", "bb"}


@pytest.mark.parametrize("only", ["site", "reports"])
def test_whole_repository_outputs_asked_of_one_course_are_a_usage_error(make_repo, capsys, only):
    root = make_repo(valid_courses=("aa",))
    assert main(["build", str(root / "courses/aa"), "--only", only, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"--only {only} covers every course of the repository" in err and "Traceback" not in err
    assert not (root / "dist").exists()
