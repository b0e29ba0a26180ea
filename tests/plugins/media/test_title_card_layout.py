"""What a title card shows fits its safe area and is readable: real cards drawn with Pillow in the
bundled font, judged by their pixels; and ``weike check`` refusing (E225) or naming (W226) what a
card cannot show, before any build. The delivered videos themselves: test_title_cards.py."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from weike.builder.cli import main
from weike.builder.running.checking import run_check
from weike.plugins.media.titlecards import (
    CARD_HEIGHT,
    CARD_WIDTH,
    PUBLIC_GOOD_STATEMENT,
    THEME_COLOUR,
    CardLine,
    CardTextDoesNotFit,
    card_layout,
    card_text,
    mark_offset,
    mark_png,
    render_card,
    safe_area,
)
from tests.conftest import COURSE_YML, lecture_md

SIZE = (CARD_WIDTH, CARD_HEIGHT)
CARDS_ON = "title_cards:\n  opening: true\n  closing: true\n  mark: true\n"


def opening(course_title: str, lecture_title: str, teachers: str, provider: str) -> list[CardLine]:
    return [CardLine(text=course_title, points=60, field=("course", "title")),
            CardLine(text=f"第 10 讲　{lecture_title}", points=72, field=("lecture", "title")),
            CardLine(text=f"主讲：{teachers}", points=44, field=("course", "instructors")),
            CardLine(text=provider, points=44, field=("course", "provider.name"))]


def closing(provider: str) -> list[CardLine]:
    return [CardLine(text=provider, points=60, field=("course", "provider.name")),
            CardLine(text=PUBLIC_GOOD_STATEMENT, points=44, rows=1), CardLine(text="2024 年", points=44, rows=1)]


def ink_outside_safe_area(picture: Image.Image) -> int:
    """Pixels outside the safe area that are not the plain background."""
    background = Image.new("RGB", picture.size, THEME_COLOUR)
    difference = ImageChops.difference(picture.convert("RGB"), background).convert("L").point(lambda v: 255 * (v > 0))
    left, top, right, bottom = safe_area(picture.size)
    difference.paste(0, (left, top, right, bottom))
    return sum(difference.histogram()[1:])


def assert_every_line_drawn_whole(lines: list[CardLine], picture: Image.Image) -> None:
    """Every line's text is on the card, row by row, and every row has white type in its box."""
    rows = card_layout(lines, picture.size)
    for number, line in enumerate(lines):
        drawn = "".join(row.text for row in rows if row.line == number)
        assert drawn.replace(" ", "") == card_text(line.text).replace(" ", ""), (line.text, drawn)
    for row in rows:
        brightest = picture.crop(row.box).convert("L").getextrema()[1]
        assert brightest > 200, row


@pytest.mark.parametrize("lines", [
    opening("课" * 40, "讲" * 40, "、".join(["张" * 20, "李" * 20, "王" * 20]), "院" * 40),
    opening("Community" * 4 + "edu", "W" * 40, "Ms Wang", "M" * 40),
    closing("院" * 40),
    closing("Provider " * 5),
], ids=["cjk-at-the-limits", "latin-at-the-limits", "closing-cjk", "closing-latin"])
def test_text_at_its_limits_shrinks_and_wraps_inside_the_safe_area(lines):
    picture = render_card(lines, cover=None, size=SIZE)
    assert ink_outside_safe_area(picture) == 0
    assert_every_line_drawn_whole(lines, picture)


def test_the_closing_card_keeps_the_public_good_statement_beside_a_long_provider():
    lines = closing("测试省测试市测试县清河镇社区教育学校" * 2)
    rows = card_layout(lines, SIZE)
    assert [row.text for row in rows if row.line == 1] == [PUBLIC_GOOD_STATEMENT]
    assert_every_line_drawn_whole(lines, render_card(lines, cover=None, size=SIZE))


@pytest.mark.parametrize("lines", [
    opening("课程", "讲" * 200, "张老师", "学院"),
    closing("院" * 180),
    opening("L" * 120, "第一讲", "张老师", "学院"),
])
def test_text_beyond_its_rows_at_the_smallest_size_is_refused_not_drawn_off_the_frame(lines):
    with pytest.raises(CardTextDoesNotFit):
        render_card(lines, cover=None, size=SIZE)


def test_line_breaks_tabs_bidi_controls_and_characters_the_font_lacks_are_not_drawn():
    plain = render_card([CardLine(text="第一讲 认识abc", points=72)], cover=None, size=SIZE)
    for hostile in ("第一讲\n认识abc", "第一讲\t认识\u202eabc", "第一讲 😀认识𠀀abc\u05d0\u0627", "第一讲 认识\u200babc\u2066"):
        drawn = render_card([CardLine(text=hostile, points=72)], cover=None, size=SIZE)
        assert ImageChops.difference(plain, drawn).getbbox() is None, repr(hostile)
    # A combining accent is composed with its letter (é), which the font has: it is drawn.
    assert card_text("cafe\u0301") == "café"


def test_the_mark_stays_inside_the_safe_area_once_laid_in_the_corner():
    for text in ("测试县社区教育学院", "院" * 40, "Community College of " + "M" * 19):
        mark = Image.open(io.BytesIO(mark_png(CardLine(text=text, points=26), size=SIZE)))
        offset = mark_offset(CARD_HEIGHT)
        frame = Image.new("RGBA", SIZE, (0, 0, 0, 0))
        frame.alpha_composite(mark, (CARD_WIDTH - mark.width - offset, CARD_HEIGHT - mark.height - offset))
        left, top, right, bottom = safe_area(SIZE)
        ink = frame.getchannel("A").getbbox()
        assert ink is not None and left <= ink[0] and top <= ink[1] and ink[2] <= right and ink[3] <= bottom, (text, ink)
        assert mark.width <= (right - left) // 2 + 2 * 64, (text, mark.width)
    with pytest.raises(CardTextDoesNotFit):
        mark_png(CardLine(text="院" * 180, points=26), size=SIZE)


def test_check_refuses_what_a_card_cannot_hold_and_names_what_its_font_cannot_draw(make_repo):
    """Cards on: E225 with the limit at the field's own line (once for a course fact), W226 naming
    the characters the font lacks; cards off: no card rule at all."""
    course_yml = (COURSE_YML.replace("  - name: 张老师", "  - name: 张老师😀")
                  + "title_cards:\n  opening: true\n  closing: true\n  mark: true\n")
    root = make_repo({"courses/c/course.yml": course_yml}, valid_courses=("c",))
    (root / "courses/c/01-lecture-1/lecture.md").write_text(lecture_md(title="讲" * 200), encoding="utf-8")
    (root / "courses/c/02-lecture-2/lecture.md").write_text(lecture_md(title="𠀀字\u05d0"), encoding="utf-8")
    found = [(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics
             if d.code in ("E225", "W226")]
    assert sorted(found) == [("E225", "courses/c/01-lecture-1/lecture.md", 2),
                             ("W226", "courses/c/02-lecture-2/lecture.md", 2),
                             ("W226", "courses/c/course.yml", 7)]
    diagnostics = {d.code: d for d in run_check(root).diagnostics}
    assert "最多约" in diagnostics["E225"].message and "讲" * 20 not in diagnostics["E225"].message
    lacking = [d for d in run_check(root).diagnostics if d.code == "W226" and "lecture.md" in d.location.file][0]
    assert "U+20000" in lacking.message and "U+05D0" in lacking.message and "U+5B57" not in lacking.message

    provider = root / "courses/c/course.yml"
    provider.write_text(course_yml.replace("name: 测试县社区教育学院", "name: " + "院" * 180), encoding="utf-8")
    cards = {(d.location.line, d.message[:4]) for d in run_check(root).diagnostics if d.code == "E225"}
    assert cards == {(2, "片头上的"), (10, "片头上的"), (10, "片尾上的"), (10, "机构标识")}

    provider.write_text(COURSE_YML.replace("name: 测试县社区教育学院", "name: " + "院" * 180), encoding="utf-8")
    assert not [d for d in run_check(root).diagnostics if d.code in ("E225", "W226")]


def test_preview_card_escapes_what_it_prints_and_reports_text_that_does_not_fit(make_repo, capsys, tmp_path):
    root = make_repo(valid_courses=("c",))
    lecture = root / "courses/c/01-lecture-1"
    (lecture / "lecture.md").write_text(lecture_md(title='"第一讲\\u202e\\x1b[2J认识\\n手机"'), encoding="utf-8")
    capsys.readouterr()
    assert main(["preview-card", str(lecture), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\x1b" not in out and "第 1 讲　第一讲[2J认识 手机" in out
    assert (tmp_path / "01-lecture-1-opening.png").is_file()

    (lecture / "lecture.md").write_text(lecture_md(title="讲" * 200), encoding="utf-8")
    assert main(["preview-card", str(lecture), "-o", str(tmp_path / "long")]) == 1
    captured = capsys.readouterr()
    assert "E225" in captured.out and "内部错误" not in captured.out + captured.err
    assert not (tmp_path / "long/01-lecture-1-opening.png").exists()
    assert (tmp_path / "long/01-lecture-1-closing.png").is_file()


@pytest.mark.slow
def test_a_line_break_in_a_lecture_title_or_the_marked_provider_stops_no_stage(make_repo):
    """The build goes on: the broken lecture and course are reported at their lines (E224, E118), the
    course's other lectures are delivered with cards and the mark (the provider's name on one
    line), the other course in full; nothing crashes."""
    from tests.plugins.media.test_title_cards import SMALL_PROFILE

    root = make_repo({"plugins/small_profile.py": SMALL_PROFILE, "weike.yml": "profile: cards-320x180\n"},
                     valid_courses=("a", "b"))
    course_yml = (COURSE_YML.replace("  name: 测试县社区教育学院", '  name: "测试县\\n社区教育学院"')
                  + "title_cards: {opening: true, closing: true, mark: true, opening_seconds: 1, closing_seconds: 1}\n")
    (root / "courses/b/course.yml").write_text(course_yml, encoding="utf-8")
    (root / "courses/b/01-lecture-1/lecture.md").write_text(lecture_md(title='"第一行\\n第二行"'), encoding="utf-8")
    assert main(["build", str(root), "--only", "media", "--jobs", "2"]) == 1
    found = {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics if d.is_error}
    assert found == {("E118", "courses/b/course.yml", 10), ("E224", "courses/b/01-lecture-1/lecture.md", 2)}
    assert len(list((root / "dist/media/a").glob("*.mp4"))) == 10
    assert sorted(path.name for path in (root / "dist/media/b").glob("*.mp4")) == [
        f"{number:02d}-lecture-{number}.mp4" for number in range(2, 11)]
