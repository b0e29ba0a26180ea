"""The province summary table (附件3): layout, recommendation order, the rights gate, the 20-course warning."""

from __future__ import annotations

from openpyxl import load_workbook

from weike.builder.contracts.context import BuildContext, BuildPaths, Made
from weike.builder.repository.loading import load_repository
from weike.builder.running.checking import run_check
from weike.builder.running.plugin_manager import get_plugin_manager
from weike.builder.running.progress import Progress
from weike.plugins.province.summary_table import COLUMNS, DETAIL_NAME, NOTE, REPORT_NAME
from tests.plugins.conftest import run_build
from tests.conftest import COURSE_YML


def titled(title: str, *, contact: str = "李老师", level: str = "县(市、区)", **rights) -> str:
    text = COURSE_YML.replace("title: 测试课程", f"title: {title}").replace("contact: 李老师", f"contact: {contact}")
    text = text.replace("level: 县(市、区)", f"level: {level}")
    for field, value in rights.items():
        text = text.replace(f"{field}: true", f"{field}: {str(value).lower()}")
    return text


def table_rows(path):
    """附件3's rows below its "附件3" line: the title, the department's two lines, the headings, the body, the note."""
    sheet = load_workbook(path).worksheets[0]
    return [row for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_summary_table_follows_attachment_3_in_recommendation_order(make_repo):
    root = make_repo({
        "weike.yml": "province: 示范省\nrecommendation_order: [cc, aa]\n",
        "courses/aa/course.yml": titled("甲课程", contact="王老师"),
        "courses/bb/course.yml": titled("乙课程", level="乡镇(街道)"),
        "courses/cc/course.yml": titled("丙课程", level="村(社区)"),
        "courses/dd/course.yml": titled("丁课程"),
    }, valid_courses=("aa", "bb", "cc", "dd"))
    result = run_build(root, only="reports")
    path = root / "dist/reports" / REPORT_NAME
    assert path in result.outputs and not result.failed_build()

    rows = table_rows(path)
    assert rows[0][0] == "社区教育品牌项目汇总表"
    assert rows[1][0] == "省级教育行政部门（盖章）：示范省"
    assert rows[2][0].startswith("联系人：") and "联系电话：" in rows[2][0]
    assert rows[3] == COLUMNS == ("序号", "品牌社区学习中心名称/品牌课程名称",
                                  "所处层级（县、市、区/乡镇、街道/村、社区）", "联系人", "联系电话")
    # cc and aa as recommended, then the others by title (丁 U+4E01 sorts before 乙 U+4E59).
    assert rows[4:8] == [
        (1, "丙课程", "村(社区)", "李老师", "0571-88886666"),
        (2, "甲课程", "县(市、区)", "王老师", "0571-88886666"),
        (3, "丁课程", "县(市、区)", "李老师", "0571-88886666"),
        (4, "乙课程", "乡镇(街道)", "李老师", "0571-88886666"),
    ]
    assert rows[8][0] == NOTE and len(rows) == 9

    details = list(load_workbook(root / "dist/reports" / DETAIL_NAME)["课程明细"].iter_rows(values_only=True))
    assert [row[1] for row in details[1:]] == ["cc", "aa", "dd", "bb"]
    assert details[1][3:5] == ("老年智慧生活", "测试县社区教育学院") and details[1][9] == 10


def test_courses_without_cleared_rights_are_left_out_with_e501(make_repo):
    root = make_repo({"courses/closed/course.yml": titled("不公开", public_good=False)},
                     valid_courses=("open", "closed"))
    result = run_build(root, only="reports")
    assert [(d.code, d.location.file) for d in result.diagnostics if d.is_error] == [
        ("E501", "courses/closed/course.yml")]
    assert result.failed == {"closed": "reports"}
    rows = table_rows(root / "dist/reports" / REPORT_NAME)
    assert [row[1] for row in rows[4:-1]] == ["测试课程"]


def test_more_than_twenty_courses_warns_twenty_do_not(make_repo):
    slugs = tuple(f"course-{n:02d}" for n in range(1, 22))
    files = {f"courses/{slug}/course.yml": titled(f"课程{slug[-2:]}") for slug in slugs}
    root = make_repo({"weike.yml": "recommendation_order: [course-21]\n", **files}, valid_courses=slugs)
    result = run_build(root, only="reports")
    warnings = [d for d in result.diagnostics if d.code == "W601"]
    assert [(d.severity.value, d.location.file, d.location.line) for d in warnings] == [("warning", "weike.yml", 1)]
    assert not result.failed_build() and result.failed_build(strict=True)
    rows = table_rows(root / "dist/reports" / REPORT_NAME)
    assert len(rows[4:-1]) == 21 and rows[4][1] == "课程21"

    repository = load_repository(root)
    pm = get_plugin_manager(root)
    context = BuildContext(config=repository.config, paths=BuildPaths.for_root(root, dist=root / "dist20"),
                           plugin_manager=pm, progress=Progress())
    outcomes = pm.hook.weike_report_stage(context=context, courses=repository.courses[:20], delivered={},
                                         centres=(), made=Made())
    assert [d.code for outcome in outcomes for d in outcome.diagnostics] == []


def test_empty_set_still_replaces_an_old_table(make_repo):
    root = make_repo({"courses/closed/course.yml": titled("不公开", share_to_national_platforms=False)},
                     valid_courses=("closed",))
    old = root / "dist/reports" / REPORT_NAME
    old.parent.mkdir(parents=True)
    old.write_bytes(b"stale")
    run_build(root, only="reports")
    rows = table_rows(old)
    assert rows[3] == COLUMNS and rows[4][0] == NOTE and len(rows) == 5


def test_recommendation_order_names_real_courses_once(make_repo):
    root = make_repo({"weike.yml": "recommendation_order:\n  - baduanjin\n  - zhineng-shouj\n  - baduanjin\n"},
                     valid_courses=("baduanjin", "zhineng-shouji"))
    diagnostics = run_check(root).diagnostics
    found = {(d.code, d.location.file, d.location.line) for d in diagnostics if d.code.startswith("W60")}
    assert found == {("W602", "weike.yml", 3), ("W603", "weike.yml", 4)}
    assert "zhineng-shouji" in next(d.hint for d in diagnostics if d.code == "W602")


def test_same_courses_same_report_bytes(make_repo, tmp_path):
    root = make_repo({"weike.yml": "province: 示范省\n"}, valid_courses=("aa", "bb"))
    run_build(root, only="reports", dist=tmp_path / "one")
    run_build(root, only="reports", dist=tmp_path / "two")
    assert (tmp_path / "one/reports" / REPORT_NAME).read_bytes() == (tmp_path / "two/reports" / REPORT_NAME).read_bytes()


def test_every_row_of_the_table_is_styled_as_the_form_and_a_quoted_cell_alone_is_quoted(make_repo):
    """The body's cells share their style (one is styled, the others copy its indices): each
    still reads as the form's, and the quote prefix a formula-like cell gets stays on that cell."""
    root = make_repo({
        "courses/aa/course.yml": titled("甲课程", contact="=HYPERLINK(1)"),
        "courses/bb/course.yml": titled("乙课程"),
        "courses/cc/course.yml": titled("丙课程"),
    }, valid_courses=("aa", "bb", "cc"))
    run_build(root, only="reports")
    sheet = load_workbook(root / "dist/reports" / REPORT_NAME).worksheets[0]
    body = [row for row in sheet.iter_rows(min_row=6, max_row=8)]
    assert [row[1].value for row in body] == ["丙课程", "乙课程", "甲课程"]
    for row in body:
        for cell in row:
            assert (cell.font.name, cell.font.sz, cell.font.b) == ("宋体", 12, False), cell.coordinate
            assert cell.alignment.horizontal == ("left" if cell.column == 2 else "center"), cell.coordinate
            assert (cell.alignment.vertical, cell.alignment.wrap_text) == ("center", True), cell.coordinate
            assert {cell.border.left.style, cell.border.right.style, cell.border.top.style,
                    cell.border.bottom.style} == {"thin"}, cell.coordinate
            quoted = cell.value == "=HYPERLINK(1)"
            assert cell.quotePrefix is quoted, cell.coordinate
    assert sum(cell.value == "=HYPERLINK(1)" for row in body for cell in row) == 1
