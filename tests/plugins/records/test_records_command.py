"""``weike records``: the summary, the export (学时 per learner and course as XLSX, statements as
JSON lines), several stations merged without double counting, and 附件5's 人次 from the records."""

from __future__ import annotations

import json
import uuid

from openpyxl import load_workbook

from tests.plugins.conftest import run_build
from tests.plugins.records.test_records_statements import weike_statement
from weike.builder.cli import main
from weike.plugins.records.statements import (
    EXT_LENGTH,
    EXT_PROGRESS,
    VERB_COMPLETED,
    VERB_PROGRESSED,
    course_iri,
    lecture_iri,
    statement_problems,
)
from weike.plugins.records.store import StatementStore
from weike.plugins.province import STATISTICS_NAME


def watched(device: str, course: str, lecture: str, *, progress: float, length: float, when: str,
            verb: str = VERB_PROGRESSED, name: str | None = None) -> dict:
    actor = {"objectType": "Agent", "account": {"homePage": "https://weike.invalid/", "name": device}}
    if name:
        actor["name"] = name
    statement = weike_statement(id=str(uuid.uuid4()), actor=actor, timestamp=when,
                                verb={"id": verb, "display": {"en-US": "x"}})
    statement["object"]["id"] = lecture_iri(None, course, lecture)
    parent = statement["context"]["contextActivities"]["parent"][0]
    parent["id"] = course_iri(None, course)
    parent["definition"]["name"]["zh-CN"] = {"demo": "测试课程", "photo": "=手机摄影"}[course]
    statement["context"]["extensions"] = {EXT_LENGTH: length}
    statement["result"] = {"duration": f"PT{progress * length}S", "extensions": {EXT_PROGRESS: progress}}
    if verb == VERB_COMPLETED:
        statement["result"]["completion"] = True
    assert statement_problems(statement) == []
    return statement


ALICE, BOB = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
#: Alice: demo lecture 1 (10 min, watched twice: counted once) and lecture 2 (half of 8 min) on
#: one day (1 人次), demo again the next day (1 人次), photo once (1 人次). Bob: demo, 9 minutes.
#: 16:30Z and 17:30Z are two different days in China (UTC+8).
PLAYED = [
    dict(device=ALICE, course="demo", lecture="01-lecture-1", progress=0.5, length=600, when="2026-12-06T15:00:00Z"),
    dict(device=ALICE, course="demo", lecture="01-lecture-1", progress=1.0, length=600, when="2026-12-06T15:10:00Z",
         verb=VERB_COMPLETED, name="王阿姨"),
    dict(device=ALICE, course="demo", lecture="01-lecture-1", progress=1.0, length=600, when="2026-12-06T15:20:00Z"),
    dict(device=ALICE, course="demo", lecture="02-lecture-2", progress=0.5, length=480, when="2026-12-06T15:30:00Z"),
    dict(device=ALICE, course="demo", lecture="02-lecture-2", progress=0.5, length=480, when="2026-12-06T16:30:00Z"),
    dict(device=ALICE, course="photo", lecture="01-lecture-1", progress=1.0, length=90, when="2026-12-06T16:30:00Z"),
    dict(device=BOB, course="demo", lecture="01-lecture-1", progress=0.9, length=600, when="2026-12-06T17:30:00Z"),
]


def station(root, played=PLAYED) -> list[dict]:
    statements = [watched(**item) for item in played]
    with StatementStore.of_repository(root) as store:
        store.add(statements)
    return statements


def test_summary_counts_learners_hours_and_attendances(make_repo, capsys):
    root = make_repo(valid_courses=("demo",))
    station(root)
    assert main(["records", "--path", str(root)]) == 0
    out = capsys.readouterr().out
    assert "学习记录 7 条，学员 2 人，人次 4" in out
    # demo: Alice 10 + 4 minutes, Bob 9 minutes: 14/45 + 9/45 学时.
    assert "测试课程: 学员 2 人，人次 3，学时 0.51" in out


def test_export_writes_hours_per_learner_and_course_and_the_statements(make_repo, tmp_path):
    root = make_repo(valid_courses=("demo",))
    statements = station(root)
    out = tmp_path / "out"
    assert main(["records", "export", "--path", str(root), "--out", str(out)]) == 0
    workbook = load_workbook(out / "学时统计.xlsx")
    learners = list(workbook["学时（学员）"].iter_rows(values_only=True))
    assert learners[0][:3] == ("学员（设备编号）", "姓名", "课程")
    alice_demo = next(row for row in learners if row[0].startswith(ALICE) and row[2] == "测试课程")
    assert alice_demo[1:] == ("王阿姨", "测试课程", "urn:weike:courses:demo", 2, 1, 14.0, 0.31, 2)
    photo = next(row for row in learners if row[2] == "=手机摄影")
    assert photo[6:] == (1.5, 0.03, 1)
    cell = next(c for c in workbook["学时（学员）"]["C"] if c.value == "=手机摄影")
    assert cell.data_type == "s"  # a course title that looks like a formula stays text
    courses = {row[0]: row for row in workbook["学时（课程）"].iter_rows(values_only=True)}
    assert courses["测试课程"][2:] == (2, 0, 3, 23.0, 0.51)  # nobody completed all 10 lectures
    lines = (out / "statements.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["id"] for line in lines} == {s["id"] for s in statements}


def test_two_stations_merge_without_double_counting(make_repo, tmp_path, capsys):
    first = make_repo(valid_courses=("demo",))
    station(first, PLAYED[:5])
    assert main(["records", "export", "--path", str(first), "--out", str(tmp_path / "first")]) == 0
    second = tmp_path / "second-station"
    second.mkdir()
    (second / "courses").mkdir()
    # The second station has two statements the first also has (a phone that visited both) and two of its own.
    shared = json.loads((tmp_path / "first/statements.jsonl").read_text(encoding="utf-8").splitlines()[0])
    with StatementStore.of_repository(second) as store:
        store.add([shared, *[watched(**item) for item in PLAYED[5:]]])
    assert main(["records", "export", "--path", str(second), "--out", str(tmp_path / "second")]) == 0
    capsys.readouterr()
    assert main(["records", "import", "--path", str(first), str(tmp_path / "second/statements.jsonl")]) == 0
    assert "3 条记录，新增 2 条" in capsys.readouterr().out
    assert main(["records", "import", "--path", str(first), str(tmp_path / "second/statements.jsonl")]) == 0
    assert "新增 0 条" in capsys.readouterr().out
    assert main(["records", "--path", str(first)]) == 0
    assert "学习记录 7 条，学员 2 人，人次 4" in capsys.readouterr().out


def test_import_names_bad_lines(make_repo, tmp_path, capsys):
    root = make_repo(valid_courses=("demo",))
    bad = tmp_path / "bad.jsonl"
    good = watched(**PLAYED[0])
    bad.write_text(json.dumps(good) + "\n{oops\n" + json.dumps({**good, "id": "x"}) + "\n", encoding="utf-8")
    assert main(["records", "import", "--path", str(root), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and f"{bad}:3: id: must be a UUID" in err


def test_attachment_5_takes_the_online_attendances_from_the_records(make_repo):
    root = make_repo({"weike.yml": "statistics:\n  centre_name: 测试省中心\n  cities: 3\n  trainings: 5\n"
                                   "records:\n  offline_trainings: 1000\n"}, valid_courses=("demo",))
    station(root)
    run_build(root, only="reports")
    sheet = load_workbook(root / "dist/submission" / STATISTICS_NAME).worksheets[0]
    header = [cell.value for cell in sheet[3]]
    row = [cell.value for cell in sheet[4]]
    assert row[header.index("全省线上线下培训总数 (人次)")] == 1004
    # More records: the next build sees them (the records folder is one of the build's inputs).
    station(root, [dict(device=BOB, course="demo", lecture="02-lecture-2", progress=0.2, length=480,
                        when="2026-12-09T02:00:00Z")])
    run_build(root, only="reports")
    sheet = load_workbook(root / "dist/submission" / STATISTICS_NAME).worksheets[0]
    assert [cell.value for cell in sheet[4]][header.index("全省线上线下培训总数 (人次)")] == 1005


def test_without_records_settings_attachment_5_keeps_the_typed_figure(make_repo):
    root = make_repo({"weike.yml": "statistics:\n  trainings: 5\n"}, valid_courses=("demo",))
    station(root)
    run_build(root, only="reports")
    sheet = load_workbook(root / "dist/submission" / STATISTICS_NAME).worksheets[0]
    header = [cell.value for cell in sheet[3]]
    assert [cell.value for cell in sheet[4]][header.index("全省线上线下培训总数 (人次)")] == 5


def test_no_records_yet(make_repo, capsys):
    root = make_repo(valid_courses=("demo",))
    assert main(["records", "--path", str(root)]) == 0
    assert "还没有学习记录" in capsys.readouterr().out


def test_path_may_come_before_or_after_the_action(make_repo, tmp_path, capsys):
    root = make_repo(valid_courses=("demo",))
    station(root)
    assert main(["records", "--path", str(root), "export", "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a/statements.jsonl").is_file()
    assert main(["records", "summary", "--path", str(root)]) == 0
    assert "人次 4" in capsys.readouterr().out


def test_bad_records_settings_are_named_at_their_lines(make_repo, capsys):
    root = make_repo({"weike.yml": "records:\n  ask_name: maybe\n  offline_trainings: -3\n"
                                   "  lrs:\n    endpoint: ftp://lrs.example.cn/\n  colour: red\n"},
                     valid_courses=("demo",))
    assert main(["check", str(root), "--format", "json"]) == 1
    found = {(d["code"], d["line"]) for d in json.loads(capsys.readouterr().out)["diagnostics"]
             if d["file"] == "weike.yml"}
    assert {("E005", 2), ("E005", 3), ("E005", 5), ("W006", 6)} <= found
