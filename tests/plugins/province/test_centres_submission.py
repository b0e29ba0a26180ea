"""Brand learning centres end to end: one check finds every centre problem at its line;
the fixed repository builds 附件3 (centres and courses in recommendation order), a 推介表 DOCX per
centre, 附件5, dist/submission and its zip (byte-identical across builds) and the centre pages.

Outputs are judged by reopening them with independent readers (openpyxl, python-docx, zipfile,
Chromium), against the facts written in the fixture's YAML, never against weike's own numbers.
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import redirect_stdout

import docx
import pytest
from openpyxl import load_workbook

from weike.builder.cli import main
from tests.plugins.conftest import run_build
from tests.conftest import COURSE_YML
from tests.plugins.province.test_centre_rules import GOOD as CENTRE_GOOD

pytestmark = pytest.mark.slow

DEPARTMENT = "department:\n  name: 测试省教育厅\n  contact: 钱处长\n  phone: 0571-87001234\n"
STATISTICS = {
    "centre_name": "测试省社区教育指导服务中心", "cities": 11, "city_guidance_centres": 11,
    "higher_vocational_colleges": 50, "higher_vocational_colleges_in_community_education": 31,
    "county_cities": 20, "county_community_colleges": 90, "secondary_vocational_schools": 300,
    "secondary_vocational_schools_in_community_education": 210, "towns": 1300, "town_community_schools": 1200,
    "villages": 20000, "village_learning_points": 15000, "funding_per_capita": 7, "trainings": 3500000,
}
#: 附件5's columns in the call's order (typed here from the call, not imported from weike).
ATTACHMENT_5_COLUMNS = [
    "省级社区教育指导服务中心名称", "地级市数 (个)", "地级社区教育指导中心数 (个)", "高等职业院校数 (个)",
    "开展社区教育的高等职业院校数 (个)", "县级市数 (个)", "县级社区教育学院数 (个)", "中等职业学校数(含职教中心) (个)",
    "开展社区的中等职业学校数(含职教中心) (个)", "镇(街道)数 (个)", "乡镇(街道)社区教育学校数 (个)", "村(社区)数 (个)",
    "村(社区)学习点数 (个)", "县域社区教育人均投入经费 (元/年/人)", "全省线上线下培训总数 (人次)",
]
COURSES = ("course-a", "course-b", "course-c")
CENTRES = ("centre-1", "centre-2", "centre-3", "centre-4", "centre-5", "centre-6")
#: Centres and courses mixed, as a province ranks them.
ORDER = ["course-b", "centre-3", "centre-1", "course-a", "centre-6", "centre-2", "course-c", "centre-5", "centre-4"]


def centre_yml(number: int, *, highlights: str | None = None, level: str = "乡镇(街道)",
               courses: tuple[str, ...] = (), extra: str = "") -> str:
    highlights = highlights or f"第{number}中心的特色：居民点单、学校配课。"
    course_lines = "".join(f"\n  - {slug}" for slug in courses) or " []"
    return (
        f"name: 测试市第{number}社区学校\n"
        f"level: {level}\n"
        f"region: 测试省测试市第{number}街道\n"
        "contact:\n"
        f"  name: 联系人{number}\n"
        f'  phone: "1380013800{number}"\n'
        f"  email: centre{number}@example.edu.cn\n"
        f"foundation: 第{number}中心的设施和经费。\n"
        f"team: 第{number}中心的教师和志愿者。\n"
        f"activities: |\n  第{number}中心的课程和活动。\n  第二段：数字化学习资源。\n"
        f"sustainability: 第{number}中心的成效。\n"
        f"highlights: {highlights}\n"
        f"promotion: 第{number}中心可复制的做法。\n"
        f"courses:{course_lines}\n"
        f"{extra}"
    )


def titled(title: str) -> str:
    return COURSE_YML.replace("title: 测试课程", f"title: {title}").replace("contact: 李老师", f"contact: 老师{title[-1]}")


def weike_yml(order=ORDER) -> str:
    statistics = "".join(f"  {key}: {value}\n" for key, value in STATISTICS.items())
    return ("province: 测试省\nrecommendation_order:\n" + "".join(f"  - {slug}\n" for slug in order)
            + DEPARTMENT + "statistics:\n" + statistics)


def broken_centres() -> dict[str, str]:
    """Six centres, three of them wrong: 1001 characters of 特色和经验, an unknown course, a bad level."""
    files = {f"centres/centre-{n}/centre.yml": centre_yml(n, courses=("course-a",) if n == 1 else ())
             for n in range(1, 7)}
    files["centres/centre-2/centre.yml"] = centre_yml(2, highlights="特" * 1001)
    files["centres/centre-3/centre.yml"] = centre_yml(3, courses=("course-a", "course-zz"))
    files["centres/centre-4/centre.yml"] = centre_yml(4, level="市级")
    return files


def fixed_centres() -> dict[str, str]:
    files = broken_centres()
    files["centres/centre-2/centre.yml"] = centre_yml(2, highlights="特" * 1000)
    files["centres/centre-3/centre.yml"] = centre_yml(3, courses=("course-a", "course-b"))
    files["centres/centre-4/centre.yml"] = centre_yml(4, level="村(社区)")
    return files


def course_titles() -> dict[str, str]:
    return {f"courses/{slug}/course.yml": titled(f"课程{slug[-1].upper()}") for slug in COURSES}


def check_json(root) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["check", str(root), "--format", "json"])
    payload = json.loads(out.getvalue())
    payload["status"] = status
    return payload


def line_of(root, rel: str, text: str) -> int:
    """1-based line of the first line of ``rel`` that contains ``text`` (the fixture's own file)."""
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


# --------------------------------------------------------------------------------------------
# One check: every problem at its line, the 5-centre warning
# --------------------------------------------------------------------------------------------


def test_one_check_reports_every_centre_problem_at_its_line(buildable_repo):
    root = buildable_repo(valid_courses=COURSES, files={"weike.yml": weike_yml(), **course_titles(),
                                                         **broken_centres()})
    payload = check_json(root)
    found = {(d["code"], d["file"], d["line"]) for d in payload["diagnostics"]}
    assert payload["status"] == 1 and payload["summary"]["centres"] == 6
    expected = {
        ("E702", "centres/centre-2/centre.yml", line_of(root, "centres/centre-2/centre.yml", "highlights:")),
        ("E707", "centres/centre-3/centre.yml", line_of(root, "centres/centre-3/centre.yml", "course-zz")),
        ("E704", "centres/centre-4/centre.yml", line_of(root, "centres/centre-4/centre.yml", "level:")),
        ("W711", "centres", None),
    }
    assert found == expected
    assert "1001" in next(d["message"] for d in payload["diagnostics"] if d["code"] == "E702")


def test_fixed_repository_checks_clean_but_for_the_five_centre_warning(buildable_repo):
    root = buildable_repo(valid_courses=COURSES, files={"weike.yml": weike_yml(), **course_titles(),
                                                         **fixed_centres()})
    payload = check_json(root)
    assert [(d["code"], d["severity"]) for d in payload["diagnostics"]] == [("W711", "warning")]
    assert payload["status"] == 0


# --------------------------------------------------------------------------------------------
# The build: 附件3, 附件4, 附件5, dist/submission and its zip, the site
# --------------------------------------------------------------------------------------------


@pytest.fixture
def built(buildable_repo):
    root = buildable_repo(valid_courses=COURSES, files={"weike.yml": weike_yml(), **course_titles(),
                                                         **fixed_centres()})
    result = run_build(root, only=None)
    assert not [d for d in result.diagnostics if d.is_error]
    assert not result.failed_build()
    return root


def submission_files(root) -> dict[str, bytes]:
    folder = root / "dist" / "submission"
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_attachment_3_lists_centres_and_courses_in_recommendation_order(built):
    sheet = load_workbook(built / "dist/submission/附件3-社区教育品牌项目汇总表.xlsx").worksheets[0]
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True)]  # below the "附件3" line
    assert rows[1][0] == "省级教育行政部门（盖章）：测试省教育厅"
    assert "钱处长" in rows[2][0] and "0571-87001234" in rows[2][0]
    body = rows[4:-1]
    assert len(body) == 9
    names = {**{f"centre-{n}": f"测试市第{n}社区学校" for n in range(1, 7)},
             **{slug: f"课程{slug[-1].upper()}" for slug in COURSES}}
    assert [row[1] for row in body] == [names[slug] for slug in ORDER]
    assert [row[0] for row in body] == list(range(1, 10))
    centre_6 = body[ORDER.index("centre-6")]
    assert centre_6[2:] == ("乡镇(街道)", "联系人6", "13800138006")
    course_b = body[ORDER.index("course-b")]
    assert course_b[2:] == ("县(市、区)", "老师B", "0571-88886666")
    # The same table as dist/reports (one workbook, not two versions of it).
    assert (built / "dist/reports/社区教育品牌项目汇总表.xlsx").read_bytes() == \
        (built / "dist/submission/附件3-社区教育品牌项目汇总表.xlsx").read_bytes()


def form_rows(path) -> list[list[str]]:
    """The 推介表's table as text, one list per row, a merged cell once."""
    table = docx.Document(path).tables[0]
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text)
        rows.append(cells)
    return rows


def test_six_recommendation_forms_hold_every_field_in_its_cell(built):
    files = submission_files(built)
    forms = sorted(name for name in files if name.startswith("附件4-"))
    centre_order = [slug for slug in ORDER if slug.startswith("centre-")]
    assert forms == [f"附件4-{index:02d}-测试市第{slug[-1]}社区学校.docx"
                     for index, slug in enumerate(centre_order, start=1)]
    for form, slug in zip(forms, centre_order):  # each form holds its own centre's facts
        number = slug[-1]
        rows = form_rows(built / "dist/submission" / form)
        assert (rows[0][1], rows[2][2], rows[2][4], rows[3][2], rows[7][1]) == (
            f"测试市第{number}社区学校", f"联系人{number}", f"1380013800{number}", f"centre{number}@example.edu.cn",
            f"第{number}中心的成效。")
    rows = form_rows(built / "dist/submission" / forms[centre_order.index("centre-2")])
    assert rows[0] == ["学校名称（准确填写全称）", "测试市第2社区学校"]
    assert rows[1] == ["省级教育主管部门", "联系人", "钱处长", "联系电话", "0571-87001234"]
    assert rows[2] == ["申报学校联系方式", "联系人", "联系人2", "联系电话", "13800138002"]
    assert rows[3] == ["申报学校联系方式", "电子邮箱", "centre2@example.edu.cn"]
    labels = ["基础保障", "队伍建设", "教育活动与服务", "可持续发展", "特色和经验", "重点宣传推介内容"]
    texts = ["第2中心的设施和经费。", "第2中心的教师和志愿者。", "第2中心的课程和活动。\n第二段：数字化学习资源。",
             "第2中心的成效。", "特" * 1000, "第2中心可复制的做法。"]
    for row, label, text in zip(rows[4:10], labels, texts):
        assert row[0].split("\n")[0] == label
        assert row[1] == text
    assert "字数不超过 1000 字" in rows[8][0]
    assert rows[10] == ["申报意见"]
    assert rows[11] == ["申报学校意见", "县级教育行政部门意见", "市级教育行政部门意见", "省级教育行政部门意见"]
    assert rows[12] == ["（盖章） 年 月 日"] * 4
    assert len(rows) == 13


def test_the_three_forms_are_labelled_and_print_as_forms(built):
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm
    from openpyxl.worksheet.worksheet import Worksheet

    def print_setup(sheet) -> tuple:
        setup = sheet.page_setup
        return (int(setup.paperSize), setup.orientation, setup.fitToWidth, setup.fitToHeight,
                sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.print_title_rows)

    submission = built / "dist/submission"
    # 附件3: its "附件3" line above the title, and one sheet only: printing the workbook prints the form.
    table = load_workbook(submission / "附件3-社区教育品牌项目汇总表.xlsx")
    assert table.sheetnames == ["社区教育品牌项目汇总表"]
    sheet = table.worksheets[0]
    assert (sheet["A1"].value, sheet["A2"].value, sheet["A5"].value) == ("附件3", "社区教育品牌项目汇总表", "序号")
    assert print_setup(sheet) == (int(Worksheet.PAPERSIZE_A4), "portrait", 1, 0, True, "$5:$5")
    # The courses' details for cross-checking are a workbook of their own, beside the table.
    details = load_workbook(built / "dist/reports/社区教育品牌课程明细.xlsx")
    assert details.sheetnames == ["课程明细"] and len(list(details.active.iter_rows())) == 1 + len(COURSES)
    assert "社区教育品牌课程明细.xlsx" not in submission_files(built)
    # 附件5: fifteen columns, landscape.
    sheet = load_workbook(submission / "附件5-社区教育机构统计表.xlsx").worksheets[0]
    assert sheet["A1"].value == "附件5"
    assert print_setup(sheet) == (int(Worksheet.PAPERSIZE_A4), "landscape", 1, 0, True, "$3:$3")
    # 附件4 (Word): A4 portrait.
    for name in submission_files(built):
        if name.startswith("附件4-"):
            document = docx.Document(submission / name)
            section = document.sections[0]
            assert document.paragraphs[0].text == "附件4"
            assert section.orientation == WD_ORIENT.PORTRAIT
            assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
            assert section.left_margin + section.right_margin < Cm(21.0) - Cm(15)


def test_attachment_5_follows_the_call_column_by_column(built):
    sheet = load_workbook(built / "dist/submission/附件5-社区教育机构统计表.xlsx").worksheets[0]
    rows = [row for row in sheet.iter_rows(values_only=True)]
    header = next(index for index, row in enumerate(rows) if row[0] == ATTACHMENT_5_COLUMNS[0])
    assert list(rows[header]) == ATTACHMENT_5_COLUMNS
    assert list(rows[header + 1]) == list(STATISTICS.values())
    assert sheet.cell(row=header + 2, column=1).data_type == "s"  # the authored name is text


def test_submission_folder_and_zip_are_byte_identical_across_builds(built, tmp_path):
    first = submission_files(built)
    assert set(first) == {
        "附件3-社区教育品牌项目汇总表.xlsx", "附件5-社区教育机构统计表.xlsx", "上报清单.txt", "社区教育品牌项目申报材料.zip",
        *(f"附件4-{index:02d}-测试市第{slug[-1]}社区学校.docx"
          for index, slug in enumerate([s for s in ORDER if s.startswith("centre-")], start=1))}
    with zipfile.ZipFile(io.BytesIO(first["社区教育品牌项目申报材料.zip"])) as archive:
        members = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    assert members == {name: data for name, data in first.items() if not name.endswith(".zip")}
    checklist = first["上报清单.txt"].decode("utf-8-sig")
    for step in ("盖章", "扫描成 PDF", "附件4-01-测试市第3社区学校.docx", "签字"):
        assert step in checklist

    result = run_build(built, only="reports", dist=tmp_path / "again")
    assert not result.failed_build()
    again = {path.name: path.read_bytes() for path in sorted((tmp_path / "again/submission").iterdir())}
    assert again == first
    # DOCX and XLSX are zips too: their entries carry one time, their source date (never 1980's
    # placeholder; test_province_incremental.py says which), the same in the build done again.
    for name, data in first.items():
        if name.endswith((".docx", ".xlsx", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                times = {info.date_time for info in archive.infolist()}
            assert len(times) == 1 and min(times)[0] > 1980, name


def test_a_removed_centre_loses_its_form_and_row(built):
    (built / "centres/centre-5/centre.yml").unlink()
    (built / "centres/centre-5").rmdir()
    (built / "weike.yml").write_text(weike_yml([s for s in ORDER if s != "centre-5"]), encoding="utf-8")
    result = run_build(built, only="reports")
    assert not result.failed_build()
    files = submission_files(built)
    assert not [name for name in files if "第5社区学校" in name]
    assert len([name for name in files if name.startswith("附件4-")]) == 5


def test_authored_text_is_escaped_in_the_outputs(buildable_repo):
    hostile = '<script>alert(1)</script>=HYPERLINK("http://x") &amp;'
    files = {"weike.yml": weike_yml(["centre-1"]).replace("测试省社区教育指导服务中心", "=1+2"),
             **course_titles(),
             "centres/centre-1/centre.yml": centre_yml(1, courses=("course-a",)).replace(
                 "第1中心的成效。", f"'{hostile.replace(chr(39), chr(39) * 2)}'")}
    root = buildable_repo(valid_courses=COURSES, files=files)
    result = run_build(root, only=None)
    assert not result.failed_build()
    page = (root / "dist/site/centres/centre-1/index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    form = next((root / "dist/submission").glob("附件4-*.docx"))
    assert hostile in [row[1] for row in form_rows(form) if row[0].startswith("可持续发展")]
    sheet = load_workbook(root / "dist/submission/附件5-社区教育机构统计表.xlsx").worksheets[0]
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == "=1+2")
    assert cell.data_type == "s"


def test_centre_pages_link_both_ways_and_keep_phones_and_drafts_off_the_site(buildable_repo):
    files = {"weike.yml": weike_yml(), **course_titles(), **fixed_centres()}
    files["centres/centre-6/centre.yml"] = centre_yml(6, courses=("course-c",), extra="publish: false\n")
    root = buildable_repo(valid_courses=COURSES, files=files)
    result = run_build(root, only=None)
    assert not result.failed_build()
    site = root / "dist/site"
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="centres/"' in home and 'href="centres/centre-1/"' in home
    centre = (site / "centres/centre-1/index.html").read_text(encoding="utf-8")
    assert "测试市第1社区学校" in centre and "第1中心的设施和经费。" in centre
    assert 'href="../../courses/course-a/"' in centre
    for private in ("13800138001", "centre1@example.edu.cn", "联系人1"):
        assert private not in centre
    course = (site / "courses/course-a/index.html").read_text(encoding="utf-8")
    assert 'href="../../centres/centre-1/"' in course and 'href="../../centres/centre-3/"' in course
    # publish: false — no page, no link, no text; the province still gets its form.
    assert not (site / "centres/centre-6").exists()
    assert "第6社区学校" not in home and "第6社区学校" not in (site / "courses/course-c/index.html").read_text("utf-8")
    assert any("第6社区学校" in path.name for path in (root / "dist/submission").iterdir())
    every_page = "".join(path.read_text("utf-8", errors="replace") for path in site.rglob("*.html"))
    assert "第6中心" not in every_page and "13800138006" not in every_page


def test_centre_pages_are_reachable_from_the_home_page_on_a_phone(built, browser, serve):
    url = serve(built / "dist/site")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_role("link", name="全部 6 个品牌社区学习中心").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "品牌社区学习中心"
        page.get_by_role("link", name="测试市第2社区学校").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "测试市第2社区学校"
        assert page.get_by_text("特" * 20, exact=False).first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_statistics_errors_hold_back_attachment_5_not_the_courses(buildable_repo):
    root = buildable_repo(valid_courses=("ok",), files={
        "weike.yml": "statistics:\n  towns: 10\n  town_community_schools: 11\n",
        "centres/bad/centre.yml": CENTRE_GOOD.replace("level: 乡镇(街道)", "level: 市级"),
        "centres/good/centre.yml": CENTRE_GOOD.replace("清河镇社区学校", "白沙镇社区学校")})
    result = run_build(root, only="reports")
    assert result.failed == {} and result.built == ["ok"]
    assert result.failed_centres == {"bad": "check"}
    assert result.failed_build()  # the errors still fail the build
    names = sorted(path.name for path in (root / "dist/submission").iterdir())
    assert not [name for name in names if name.startswith("附件5")]
    assert [name for name in names if name.startswith("附件4")] == ["附件4-01-测试县白沙镇社区学校.docx"]


def test_editing_a_centre_is_never_replayed_from_the_stamp(buildable_repo):
    root = buildable_repo(valid_courses=("ok",), files={"centres/qinghe/centre.yml": CENTRE_GOOD})
    assert not run_build(root, only="reports").failed_build()
    (root / "centres/qinghe/centre.yml").write_text(CENTRE_GOOD.replace("level: 乡镇(街道)", "level: 市级"), encoding="utf-8")
    result = run_build(root, only="reports")
    assert not result.replayed and result.failed_centres == {"qinghe": "check"}


def test_a_rebuild_that_changes_nothing_in_them_leaves_the_reports_and_submission_untouched(built):
    """Their bytes are made again (cheap), but a file holding them already is not rewritten: mtimes
    and inodes stay, so rsync, uploads and browsers' caches see no change."""
    folders = [built / "dist/submission", built / "dist/reports"]
    before = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for folder in folders
              for path in sorted(folder.iterdir())}
    notes = built / "courses" / COURSES[0] / "01-lecture-1" / "lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n讲义多一句。\n", encoding="utf-8")
    result = run_build(built, only="reports")
    assert not result.replayed and "reports" in result.stage_seconds
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in before} == before
