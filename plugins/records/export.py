"""``weike records export``: 学时 per learner and per course as XLSX, and the statements as JSON lines.

The workbook goes through :func:`weike.plugins.spreadsheets.workbook_bytes` like every spreadsheet
weike writes (no formulas: a learner's typed name is text), and the JSON lines hold one statement
each, in stored order, so another station's ``weike records import`` takes them without counting
any twice (statement ids).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from weike.builder.keeping.outputs import write_atomic
from weike.plugins.records.figures import Records
from weike.plugins.spreadsheets import workbook_bytes

WORKBOOK_NAME = "学时统计.xlsx"
STATEMENTS_NAME = "statements.jsonl"
LEARNER_COLUMNS = ("学员（设备编号）", "姓名", "课程", "课程标识", "看过的微课", "学完的微课", "观看分钟", "学时", "人次")
COURSE_COLUMNS = ("课程", "课程标识", "学员数", "学完全部微课的学员", "人次", "观看分钟", "学时")


def _sheet(workbook: Workbook, title: str, columns: Iterable[str], rows: Iterable[Iterable]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for column, width in zip("ABCDEFGHI", (40, 12, 30, 50, 12, 12, 12, 10, 8)):
        sheet.column_dimensions[column].width = width


def records_workbook(records: Records, lecture_counts: Mapping[str, int]) -> Workbook:
    """Two sheets: 学时（学员） one row per learner and course, 学时（课程） one row per course.

    ``lecture_counts`` (course IRI -> lectures) decides who completed a whole course; a course the
    catalogue no longer has counts what the statements show.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    learner_rows, course_rows = [], []
    for course in records.courses():
        name = records.course_names.get(course, course)
        items = records.in_course(course)
        for item in items:
            learner_rows.append((item.learner, item.learner_name or "", name, course, len(item.watched),
                                 len(item.completed), round(item.seconds / 60, 1), item.study_hours,
                                 item.attendances))
        whole = lecture_counts.get(course)
        finished = sum(1 for item in items if whole and len(item.completed) >= whole)
        seconds = sum(item.seconds for item in items)
        course_rows.append((name, course, len(items), finished, sum(item.attendances for item in items),
                            round(seconds / 60, 1), round(sum(item.study_hours for item in items), 2)))
    _sheet(workbook, "学时（学员）", LEARNER_COLUMNS, learner_rows)
    _sheet(workbook, "学时（课程）", COURSE_COLUMNS, course_rows)
    total = workbook.create_sheet("说明")
    for line in ("学时 = 实际观看的视频分钟数 ÷ 45（同一秒只算一次），保留两位小数。",
                 "人次 = 不同的（学员，课程，日期）的个数：同一学员同一天学同一门课算 1 人次（北京时间）。",
                 f"学员 {len({item.learner for item in records.learners.values()})} 人，"
                 f"人次 {records.attendances}，学习记录 {records.statements} 条。"):
        total.append([line])
    return workbook


def write_statements(statements: Iterable[Mapping], path: Path) -> int:
    lines = [json.dumps(statement, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
             for statement in statements]
    write_atomic(path, ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))
    return len(lines)


def write_workbook(records: Records, lecture_counts: Mapping[str, int], path: Path) -> None:
    write_atomic(path, workbook_bytes(records_workbook(records, lecture_counts)))


def read_statement_lines(path: Path) -> tuple[list[dict], list[str]]:
    """The statements of a ``statements.jsonl`` and the problems of its bad lines (``file:line: ...``)."""
    from weike.plugins.records.statements import statement_problems

    statements, problems = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                statement = json.loads(line)
            except ValueError as exc:
                problems.append(f"{path}:{number}: {exc}")
                continue
            found = statement_problems(statement)
            if found or "id" not in statement:
                problems.append(f"{path}:{number}: {'; '.join(found) or 'no id'}")
                continue
            statements.append(statement)
    return statements, problems
