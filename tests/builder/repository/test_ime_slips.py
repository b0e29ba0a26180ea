"""Chinese-keyboard slips in YAML are named at their own line, in Chinese, with the corrected line.

Each case replaces one line of a valid file with the slip a teacher types on a Chinese input
method; the diagnostic must point at that line (PyYAML notices most of them a line late, or
reads them silently as words of the value above) and its hint must hold the line as it should be.
"""

from __future__ import annotations

import re

import pytest

from weike.builder.repository.loading import load_repository
from tests.conftest import COURSE_YML, lecture_md

# (slip name, line as written correctly, the same line as typed with the slip)
COURSE_SLIPS = [
    ("full-width colon", "created: 2023-09-01", "created：2023-09-01"),
    ("no space after colon", "title: 测试课程", "title:测试课程"),
    ("full-width colon in a nested key", "provider:", "provider："),
    ("U+3000 indentation", "    bio: 社区学校教师。", "\u3000\u3000bio: 社区学校教师。"),
    ("U+3000 indentation under a key", "  name: 测试县社区教育学院", "\u3000name: 测试县社区教育学院"),
    ("curly quotes as YAML quotes", 'summary: "课程: 一门用于测试的课程。"', "summary: “课程: 一门用于测试的课程。”"),
    ("full-width list dash", "  - name: 张老师", "  － name: 张老师"),
]

LECTURE_SLIPS = [
    ("full-width colon", "knowledge_point: 扫码付款", "knowledge_point：扫码付款"),
    ("no space after colon", "title: 扫码", "title:扫码"),
    ("curly quotes as YAML quotes", 'title: "第一讲: 开机"', "title: “第一讲: 开机”"),
    ("U+3000 indentation", "  - 手机", "\u3000- 手机"),
    ("full-width list dash", "  - 手机", "  － 手机"),
]


def _diagnostics_for(make_repo, files: dict[str, str]):
    root = make_repo(files)
    return [d for d in load_repository(root).diagnostics if d.code.startswith("E")]


@pytest.mark.parametrize(("name", "correct", "typed"), COURSE_SLIPS, ids=[c[0] for c in COURSE_SLIPS])
def test_course_yml_slip_reported_at_its_line_with_the_corrected_line(make_repo, name, correct, typed):
    source = COURSE_YML.replace("summary: 一门用于测试的课程。", 'summary: "课程: 一门用于测试的课程。"')
    lines = source.splitlines()
    number = lines.index(correct) + 1
    lines[number - 1] = typed
    # The fixed text parses cleanly: the case is the slip and nothing else.
    assert not _diagnostics_for(make_repo, {"courses/c/course.yml": source})
    errors = _diagnostics_for(make_repo, {"courses/c/course.yml": "\n".join(lines) + "\n"})
    assert [(d.code, d.location.file, d.location.line) for d in errors] == [("E001", "courses/c/course.yml", number)]
    _assert_chinese_with_correction(errors[0], correct)


@pytest.mark.parametrize(("name", "correct", "typed"), LECTURE_SLIPS, ids=[c[0] for c in LECTURE_SLIPS])
def test_lecture_front_matter_slip_reported_at_its_line_with_the_corrected_line(make_repo, name, correct, typed):
    text = lecture_md(title="扫码", knowledge_point="扫码付款", extra="tags:\n  - 手机\n")
    if "第一讲" in correct:
        text = text.replace("title: 扫码", correct)
    lines = text.splitlines()
    number = lines.index(correct) + 1
    lines[number - 1] = typed
    broken = "\n".join(lines) + "\n"
    errors = _diagnostics_for(make_repo, {"courses/c/course.yml": COURSE_YML,
                                          "courses/c/01-one/lecture.md": broken})
    assert [(d.code, d.location.file, d.location.line) for d in errors if d.code == "E001"] == [
        ("E001", "courses/c/01-one/lecture.md", number)]
    _assert_chinese_with_correction(next(d for d in errors if d.code == "E001"), correct)


def _assert_chinese_with_correction(diagnostic, correct: str) -> None:
    assert correct.strip() in diagnostic.hint
    assert correct in diagnostic.hint  # the indentation too, where it matters
    # No English fragment inside the Chinese message (PyYAML's wording goes to message_en).
    assert not re.search(r"[A-Za-z]{3,}", diagnostic.message.replace("YAML", "").split("“")[0])
    assert "expected" not in diagnostic.message and "found" not in diagnostic.message


def test_full_width_punctuation_inside_values_is_not_a_slip(make_repo):
    text = lecture_md(title="今天：扫码　付款", knowledge_point="第一步：打开微信",
                      notes="　　段落开头的全角空格。\n－ 一个中文的列表")
    text = text.replace("knowledge_point:", "summary: |\n  　　第一段：全角空格开头\n  － 第一步\nknowledge_point:")
    errors = _diagnostics_for(make_repo, {"courses/c/course.yml": COURSE_YML, "courses/c/01-one/lecture.md": text})
    assert not [d for d in errors if d.code == "E001"]


def test_unrecognised_yaml_error_keeps_english_out_of_the_chinese_message(make_repo):
    errors = _diagnostics_for(make_repo, {"courses/c/course.yml": COURSE_YML + "title: [unclosed\n"})
    assert errors[0].code == "E001"
    assert not re.search(r"[a-z]{3,}", errors[0].message)
    assert errors[0].message_en.startswith("YAML syntax error:")


def test_bad_date_lists_the_accepted_forms(make_repo):
    errors = _diagnostics_for(make_repo, {"courses/c/course.yml": COURSE_YML.replace("2023-09-01", "去年九月")})
    e005 = next(d for d in errors if d.code == "E005")
    for form in ("2023-09-01", "2023/09/01", "2023.9.1", "2023年9月1日"):
        assert form in e005.hint


@pytest.mark.parametrize(("typed", "correct"), [("title:扫码", "title: 扫码"), ("title：扫码", "title: 扫码")])
def test_a_front_matter_of_one_slipped_line_is_named(make_repo, typed, correct):
    errors = _diagnostics_for(make_repo, {"courses/c/course.yml": COURSE_YML,
                                          "courses/c/01-one/lecture.md": f"---\n{typed}\n---\n讲义\n"})
    e001 = [d for d in errors if d.code == "E001"]
    assert [(d.location.file, d.location.line) for d in e001] == [("courses/c/01-one/lecture.md", 2)]
    assert correct in e001[0].hint
