"""``weike records``: what a station has collected, its export, and merging other stations' exports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weike.builder.contracts.errors import UsageError
from weike.builder.running.project import Project

EXPORT_DIR = Path("dist") / "records"


def add_records_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "records", help="学习记录：学时、人次的汇总、导出和合并 (learning records: summary, export, merge)",
        description="Summarise the learning records this station's `weike share` received (.weike/records/): "
                    "learners, 学时 and 人次 per course. `export` writes 学时 per learner and per course (XLSX) and "
                    "the statements (xAPI JSON lines) to dist/records/; `import` merges another station's "
                    "statements.jsonl (statements already here are not counted twice).")
    here = "仓库文件夹，默认是当前文件夹 (repository, default: current folder)"
    parser.add_argument("--path", default=".", help=here)
    parser.set_defaults(func=cmd_records, path_argument="path", action="summary")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="可以做 (actions)")
    summary = actions.add_parser("summary", help="汇总（默认）：学员、人次、学时 (summary, the default)")
    summary.add_argument("--path", default=argparse.SUPPRESS, help=here)
    export = actions.add_parser("export", help=f"导出学时表（XLSX）和全部记录（JSON lines）到 {EXPORT_DIR}/ "
                                               "(export 学时 as XLSX and the statements as JSON lines)")
    export.add_argument("--path", default=argparse.SUPPRESS, help=here)
    export.add_argument("--out", help=f"写到这个文件夹 (folder to write to; default {EXPORT_DIR})")
    merge = actions.add_parser("import", help="合并其他学习站导出的 statements.jsonl，重复的记录只算一次 "
                                              "(merge other stations' statements.jsonl; each statement once)")
    merge.add_argument("files", nargs="+", help="statements.jsonl")
    merge.add_argument("--path", default=argparse.SUPPRESS, help=here)
    send = actions.add_parser("forward", help="把还没转发的记录分批发给 weike.yml 的 records.lrs（不会重复发送） "
                                              "(send the statements the LRS has not acknowledged, in batches)")
    send.add_argument("--path", default=argparse.SUPPRESS, help=here)


def _lecture_counts(project: Project) -> dict[str, int]:
    """Course IRI -> lectures, from the repository (for "completed the whole course")."""
    from weike.plugins.records.statements import course_iri
    from weike.plugins.site import site_url

    if not project.is_repository:
        return {}
    repository = project.load()
    url = site_url(project.config)
    return {course_iri(url, course.slug): len(course.lectures) for course in repository.courses}


def cmd_records(project: Project, args: argparse.Namespace) -> int:
    from weike.plugins.records.export import (
        STATEMENTS_NAME,
        WORKBOOK_NAME,
        read_statement_lines,
        write_statements,
        write_workbook,
    )
    from weike.plugins.records.figures import tally
    from weike.plugins.records.store import StatementConflict, StatementStore

    if args.action == "import":
        problems: list[str] = []
        with StatementStore.of_repository(project.root) as store:
            for name in args.files:
                path = Path(name)
                if not path.is_file():
                    raise UsageError(f"找不到文件 {path} (no such file)")
                statements, bad = read_statement_lines(path)
                problems.extend(bad)
                added = 0
                for statement in statements:  # one by one: a conflict costs one statement, not the file
                    try:
                        added += store.add([statement], stored=statement.get("stored"))[1]
                    except StatementConflict as exc:
                        problems.append(f"{path}: statement {exc.statement_id} differs from the one stored here")
                print(f"{path}: {len(statements)} 条记录，新增 {added} 条，已有 {len(statements) - added} 条 "
                      f"({len(statements)} statements, {added} new)")
        for line in problems:
            print(f"{line}", file=sys.stderr)
        return 1 if problems else 0

    if args.action == "forward":
        return forward_records(project)
    try:
        store = StatementStore.of_repository(project.root, create=False)
    except FileNotFoundError:
        print("这里还没有学习记录：用 weike share 分享网站，手机看课后会把记录交到这里 "
              "(no records yet: phones send them to `weike share`)")
        return 0
    with store:
        statements = list(store.statements())
    records = tally(statements)
    if args.action == "export":
        folder = Path(args.out) if getattr(args, "out", None) else project.root / EXPORT_DIR
        write_workbook(records, _lecture_counts(project), folder / WORKBOOK_NAME)
        count = write_statements(statements, folder / STATEMENTS_NAME)
        print(f"已导出 (exported): {folder / WORKBOOK_NAME}（学时）, {folder / STATEMENTS_NAME}（{count} 条记录）")
        return 0
    learners = {item.learner for item in records.learners.values()}
    print(f"学习记录 {records.statements} 条，学员 {len(learners)} 人，人次 {records.attendances} "
          f"({records.statements} statements, {len(learners)} learners, {records.attendances} attendances)")
    for course in records.courses():
        items = records.in_course(course)
        hours = round(sum(item.study_hours for item in items), 2)
        print(f"  {records.course_names.get(course, course)}: 学员 {len(items)} 人，"
              f"人次 {sum(item.attendances for item in items)}，学时 {hours:g}")
    return 0


def forward_records(project: Project) -> int:
    """``weike records forward``: 0 when everything reached the LRS, 1 when some is still waiting."""
    from weike.plugins.records.forwarding import forward, lrs_settings
    from weike.plugins.records.settings import records_settings
    from weike.plugins.records.store import StatementStore

    settings = lrs_settings(records_settings(project.config).lrs)
    if settings is None:
        raise UsageError("weike.yml 没有 records.lrs.endpoint，记录不转发 (no records.lrs in weike.yml: nothing is forwarded)")
    try:
        store = StatementStore.of_repository(project.root, create=False)
    except FileNotFoundError:
        print("这里还没有学习记录 (no records yet)")
        return 0
    with store:
        report = forward(store, settings)
    print(f"已转发 {report.sent} 条到 {settings.endpoint}，还有 {report.pending} 条等待 "
          f"(forwarded {report.sent}, {report.pending} waiting)")
    for statement_id, reason in report.refused.items():
        print(f"  平台拒收 (refused by the LRS) {statement_id}: {reason}", file=sys.stderr)
    if report.stopped:
        print(f"  转发中断，下次再试 (stopped, tried again next time): {report.stopped}", file=sys.stderr)
    return 1 if report.stopped or report.refused else 0
