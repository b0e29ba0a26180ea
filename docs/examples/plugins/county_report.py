"""示范县课程清单 (the county's course list): one HTML page in ``dist/reports/`` for the county office.

The page opens with the paragraph the office keeps in ``county-note.txt`` at the repository root.
weike does not know that file, so the plugin names it in ``weike_build_inputs``: editing it alone
makes the next ``weike build`` run again instead of replaying the last one. Every piece of
authored text is HTML-escaped, so a title such as ``<b>微信</b> & 支付`` shows as written.
"""

from html import escape

from weike.builder.contracts.context import StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.outputs import write_atomic

REPORT = "county-courses.html"
NOTE = "county-note.txt"


@hookimpl
def weike_build_inputs(root, config):
    return [root / NOTE]


def minutes(course, delivered):
    seconds = [delivered[lecture.key].duration for lecture in course.lectures if lecture.key in delivered]
    # `weike build --only reports` delivers no media: no length to show.
    return f"{sum(seconds) / 60:.1f}" if len(seconds) == len(course.lectures) else "—"


@hookimpl
def weike_report_stage(context, courses, delivered):
    note_file = context.paths.root / NOTE
    note = note_file.read_text(encoding="utf-8").strip() if note_file.is_file() else ""
    rows = "".join(f"<tr><td>{escape(course.title or course.slug)}</td><td>{escape(course.provider.name or '')}</td>"
                   f"<td>{len(course.lectures)}</td><td>{minutes(course, delivered)}</td></tr>\n"
                   for course in courses)
    page = ('<!doctype html>\n<html lang="zh"><meta charset="utf-8"><title>示范县课程清单</title>\n'
            f"<p>{escape(note)}</p>\n<table>\n<tr><th>课程</th><th>开课机构</th><th>微课数</th><th>分钟</th></tr>\n"
            f"{rows}</table></html>\n")
    path = context.paths.reports / REPORT
    write_atomic(path, page.encode("utf-8"))
    return StageOutcome(outputs=(path,), summary=(
        f"示范县课程清单：{len(courses)} 门课程写入 {context.paths.shown(path)} (county list: {len(courses)} course(s))",))
