"""The course call's rules: each reported by code at the right file and line."""

from __future__ import annotations

import os

import pytest

from weike.builder.running.checking import run_check
from tests.conftest import COURSE_YML, lecture_md


def found(root, **kwargs):
    """``{(code, file, line)}`` of a check run on ``root``."""
    result = run_check(root, **kwargs)
    return {(d.code, d.location.file, d.location.line) for d in result.diagnostics}, result


def replace_line(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


BAD = "courses/bad/course.yml"


def test_planted_mistakes_all_reported_in_one_run(make_repo, media, cover_jpeg):
    """The acceptance scenario: every planted mistake at its file and line, the good course clean."""
    course_yml = (COURSE_YML
                  .replace("title: 测试课程", "title: 错误百出的课程")
                  .replace("summary: 一门用于测试的课程。", "summary: " + "很长的简介" * 21)
                  .replace("theme: 老年智慧生活", "theme: 烹饪美食")
                  .replace("cover: cover.jpg", "cover: missing.jpg")
                  .replace("created: 2023-09-01", "created: 2021-05-01")
                  .replace("bio: 社区学校教师。", "bio: " + "经验丰富的老师" * 15))
    files = {BAD: course_yml}
    for number in range(1, 10):  # nine lectures: one short
        folder = f"courses/bad/{number:02d}-lecture-{number}"
        files[f"{folder}/lecture.md"] = lecture_md(title=f"第{number}讲")
        files[f"{folder}/video.mp4"] = media("landscape.mp4")
    files["courses/bad/02-lecture-2/lecture.md"] = "---\ntitle: 没有知识点\n---\n正文\n"
    files["courses/bad/03-lecture-3/lecture.md"] = lecture_md(extra="media: ../../x\n")
    files["courses/bad/04-lecture-4/lecture.md"] = lecture_md(extra="media: nothere.mp4\n")
    files["courses/broken/course.yml"] = "title: 语法错误\nsummary: [未闭合\n"
    root = make_repo(files, valid_courses=("good",))

    result = run_check(root)
    got = {(d.code, d.location.file, d.location.line) for d in result.diagnostics}
    expected = {
        ("E102", BAD, 2),
        ("E104", BAD, 3),
        ("E105", BAD, 4),
        ("E107", BAD, 5),
        ("E103", BAD, 8),
        ("E108", BAD, 1),
        ("E202", "courses/bad/02-lecture-2/lecture.md", 1),
        ("E206", "courses/bad/03-lecture-3/lecture.md", 4),
        ("E205", "courses/bad/04-lecture-4/lecture.md", 4),
        ("E001", "courses/broken/course.yml", 3),
    }
    assert expected <= got, expected - got
    assert not [d for d in result.diagnostics if d.location.file.startswith("courses/good/")]
    assert result.summary.failed()


def test_cli_exit_status_for_planted_mistakes(make_repo, capsys):
    from weike.builder.cli import main

    root = make_repo({"courses/bad/course.yml": COURSE_YML.replace("theme: 老年智慧生活", "theme: 无")},
                     valid_courses=("good",))
    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{BAD}:3:8: error E104" in out
    assert main(["check", str(root / "courses" / "good")]) == 0


def test_valid_course_has_no_diagnostics(make_repo):
    root = make_repo(valid_courses=("good",))
    got, result = found(root)
    assert got == set()
    assert result.summary.errors == 0


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        ("title: 测试课程\n", "", "E101", 1),
        ("summary: 一门用于测试的课程。", "summary: " + "字" * 101, "E102", 2),
        ("theme: 老年智慧生活", "theme: 养老", "E104", 3),
        ("cover: cover.jpg", "cover: nope.png", "E105", 4),
        ("cover: cover.jpg", "cover: /etc/passwd", "E206", 4),
        ("cover: cover.jpg", "cover: ../cover.jpg", "E206", 4),
        ("created: 2023-09-01", "created: 2022-05-31", "E107", 5),
        ("created: 2023-09-01", "created: 明年", "E005", 5),
        ("bio: 社区学校教师。", "bio: " + "字" * 101, "E103", 8),
        ("    bio: 社区学校教师。\n", "", "E101", 7),
        ("level: 县(市、区)", "level: 省", "E109", 11),
        ("phone: 0571-88886666", "phone: 请打电话", "E112", 14),
        ("public_good: true", "public_good: false", "W111", 16),
        ("  share_to_national_platforms: true\n", "", "E101", 15),
        ("title: 测试课程", "titel: 测试课程", "W006", 1),
        ("summary: 一门用于测试的课程。", "summary: [一, 二]", "E005", 2),
        ("created: 2023-09-01", "created: 2099-01-01", "W113", 5),
    ],
)
def test_course_field_rules(make_repo, old, new, code, line):
    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(replace_line(path.read_text(encoding="utf-8"), old, new), encoding="utf-8")
    got, _ = found(root)
    assert (code, "courses/c/course.yml", line) in got, got


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("created: 2023-09-01", "created: 2023年9月", 5),
        ("summary: 一门用于测试的课程。", "summary: [一, 二]", 2),
        ("instructors:\n", "instructors: 王老师\nold:\n", 6),
        ("provider:\n", "provider: 某某社区学校\nold:\n", 9),
        ("public_good: true", "public_good: 是的", 16),
    ],
)
def test_a_value_of_the_wrong_type_is_one_error_not_also_missing(make_repo, old, new, line):
    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(replace_line(path.read_text(encoding="utf-8"), old, new), encoding="utf-8")
    got, _ = found(root)
    assert {g for g in got if g[0].startswith("E")} == {("E005", "courses/c/course.yml", line)}, got


@pytest.mark.parametrize("front", ["- 一个列表\n", "title: [一, 二]\nknowledge_point: 知识点\n",
                                   "title: 标题\nknowledge_point: 知识点\nmedia: [a.mp4, b.mp4]\n"])
def test_a_lecture_field_of_the_wrong_type_is_one_error(make_repo, front):
    root = make_repo(valid_courses=("c",))
    lecture = root / "courses/c/01-lecture-1"
    (lecture / "lecture.md").write_text(f"---\n{front}---\n正文\n", encoding="utf-8")
    got, _ = found(root)
    assert [g[0] for g in got if g[0].startswith("E")] == ["E005"], got


def test_media_of_the_wrong_type_is_not_also_an_unknown_choice(make_repo, media):
    root = make_repo(valid_courses=("c",))
    lecture = root / "courses/c/01-lecture-1"
    (lecture / "second.mp4").write_bytes(media("landscape.mp4").read_bytes())
    (lecture / "lecture.md").write_text("---\ntitle: 标题\nknowledge_point: 知识点\nmedia: [video.mp4]\n---\n",
                                        encoding="utf-8")
    got, _ = found(root)
    assert {g for g in got if g[0].startswith("E")} == {("E005", "courses/c/01-lecture-1/lecture.md", 4)}, got


def test_a_course_file_that_is_no_mapping_is_one_error(make_repo):
    root = make_repo({"courses/c/course.yml": "- 一个列表\n- 不是字段表\n"}, valid_courses=("c",))
    got, _ = found(root)
    assert {g for g in got if g[0].startswith("E")} == {("E005", "courses/c/course.yml", 1)}, got


def test_summary_limit_counts_characters_not_bytes(make_repo):
    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(replace_line(path.read_text(encoding="utf-8"), "summary: 一门用于测试的课程。",
                                 "summary: " + "字" * 100), encoding="utf-8")  # 300 bytes, 100 characters
    got, _ = found(root)
    assert not {g for g in got if g[0] == "E102"}


def test_cut_off_date_is_configurable(make_repo):
    root = make_repo({"weike.yml": "created_after: 2024-01-01\n"}, valid_courses=("c",))
    got, _ = found(root)
    assert ("E107", "courses/c/course.yml", 5) in got


def test_cover_must_be_a_readable_image(make_repo):
    root = make_repo({"courses/c/cover.jpg": b"not an image at all"}, valid_courses=("c",))
    got, _ = found(root)
    assert ("E106", "courses/c/course.yml", 4) in got


def test_cover_must_be_jpeg_or_png(make_repo, tmp_path):
    from PIL import Image

    gif = tmp_path / "cover.gif"
    Image.new("RGB", (1280, 720)).save(gif, "GIF")
    root = make_repo({"courses/c/cover.jpg": gif}, valid_courses=("c",))
    got, _ = found(root)
    assert ("E106", "courses/c/course.yml", 4) in got


def test_small_cover_warns(make_repo, tmp_path):
    from PIL import Image

    small = tmp_path / "small.jpg"
    Image.new("RGB", (320, 180)).save(small, "JPEG")
    root = make_repo({"courses/c/cover.jpg": small}, valid_courses=("c",))
    got, _ = found(root)
    assert ("W114", "courses/c/course.yml", 4) in got


def test_lecture_rules(make_repo, media):
    folder = "courses/c/03-lecture-3"
    root = make_repo({
        f"{folder}/lecture.md": "---\nknowledge_point: 要点\nform: 电影\nsubtitles: missing.srt\n---\n",
        "courses/c/05-lecture-5/lecture.md": "---\ntitle: 五\nknowledge_point: 五\nimage: pic.jpg\n---\n",
        "courses/c/05-lecture-5/pic.jpg": b"broken",
    }, valid_courses=("c",))
    got, _ = found(root)
    assert ("E201", f"{folder}/lecture.md", 1) in got
    assert ("E212", f"{folder}/lecture.md", 3) in got
    assert ("E210", f"{folder}/lecture.md", 4) in got
    assert ("E213", "courses/c/05-lecture-5/lecture.md", 4) in got


def test_media_discovery_and_ambiguity(make_repo, media):
    root = make_repo({
        "courses/c/01-lecture-1/second.mp3": media("tone.mp3"),  # now two candidates
        "courses/c/02-lecture-2/video.mp4": b"",  # replaced below: no media at all
    }, valid_courses=("c",))
    (root / "courses/c/02-lecture-2/video.mp4").unlink()
    got, result = found(root)
    assert ("E209", "courses/c/01-lecture-1/lecture.md", 1) in got
    assert ("E209", "courses/c/02-lecture-2/lecture.md", 1) in got
    hint = next(d.hint for d in result.diagnostics if d.location.file == "courses/c/01-lecture-1/lecture.md")
    assert "media:" in hint


def test_explicit_media_resolves_inside_course(make_repo, media):
    root = make_repo({
        "courses/c/01-lecture-1/lecture.md": lecture_md(extra="media: ../shared/intro.mp4\n"),
        "courses/c/shared/intro.mp4": media("landscape.mp4"),
    }, valid_courses=("c",))
    got, _ = found(root)
    # ".." is refused as written even when the target would stay inside the course.
    assert ("E206", "courses/c/01-lecture-1/lecture.md", 4) in got


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_leading_out_of_course_is_refused(make_repo, tmp_path, media):
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(media("landscape.mp4").read_bytes())
    root = make_repo({"courses/c/01-lecture-1/lecture.md": lecture_md(extra="media: link.mp4\n")},
                     valid_courses=("c",))
    (root / "courses/c/01-lecture-1/video.mp4").unlink()
    os.symlink(outside, root / "courses/c/01-lecture-1/link.mp4")
    got, _ = found(root)
    assert ("E206", "courses/c/01-lecture-1/lecture.md", 4) in got


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_discovered_symlinks_are_checked_too(make_repo, tmp_path, media):
    """No ``media:`` key: the file weike finds by itself must not lead out of the course either."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(media("landscape.mp4").read_bytes())
    (outside / "lecture.md").write_text(lecture_md(), encoding="utf-8")
    root = make_repo(valid_courses=("c",))
    (root / "courses/c/01-lecture-1/video.mp4").unlink()
    os.symlink(outside / "secret.mp4", root / "courses/c/01-lecture-1/video.mp4")
    os.symlink(outside, root / "courses/c/11-linked")  # a whole lecture folder leading out
    got, _ = found(root)
    assert ("E206", "courses/c/01-lecture-1/lecture.md", 1) in got
    assert ("E206", "courses/c/11-linked/lecture.md", 1) in got


def test_windows_style_paths_are_judged_the_same(make_repo):
    root = make_repo({
        "courses/c/01-lecture-1/lecture.md": lecture_md(extra="media: C:\\Users\\x.mp4\n"),
        "courses/c/02-lecture-2/lecture.md": lecture_md(extra="media: ..\\..\\x.mp4\n"),
    }, valid_courses=("c",))
    got, _ = found(root)
    assert ("E206", "courses/c/01-lecture-1/lecture.md", 4) in got
    assert ("E206", "courses/c/02-lecture-2/lecture.md", 4) in got


def test_duplicate_numbers_and_bad_folder_names(make_repo, media):
    root = make_repo({
        "courses/c/01-again/lecture.md": lecture_md(),
        "courses/c/01-again/video.mp4": media("landscape.mp4"),
        "courses/c/11-中文名/lecture.md": lecture_md(),
        "courses/c/11-中文名/video.mp4": media("landscape.mp4"),
        "courses/Bad_Course/course.yml": COURSE_YML,
    }, valid_courses=("c",))
    got, _ = found(root)
    assert ("E207", "courses/c/01-lecture-1", None) in got
    assert ("E208", "courses/c/11-中文名", None) in got
    assert ("E110", "courses/Bad_Course", None) in got


def test_missing_files_in_folders(make_repo):
    root = make_repo({"courses/c/12-empty/notes.txt": "x", "courses/nocourse/01-x/lecture.md": lecture_md()},
                     valid_courses=("c",))
    got, _ = found(root)
    assert ("E008", "courses/c/12-empty", None) in got
    assert ("E007", "courses/nocourse", None) in got


def test_lecture_front_matter_problems(make_repo):
    root = make_repo({
        "courses/c/01-lecture-1/lecture.md": "没有头部的讲义\n",
        "courses/c/02-lecture-2/lecture.md": "---\ntitle: 没有结束\n",
        "courses/c/03-lecture-3/lecture.md": "---\ntitle: a\nknowledge_point: b: c\n---\n",
    }, valid_courses=("c",))
    got, _ = found(root)
    assert ("E008", "courses/c/01-lecture-1/lecture.md", 1) in got
    assert ("E009", "courses/c/02-lecture-2/lecture.md", 1) in got
    assert ("E001", "courses/c/03-lecture-3/lecture.md", 3) in got


def test_duplicate_course_titles_warn(make_repo):
    root = make_repo(valid_courses=("a", "b"))
    got, _ = found(root)
    assert ("W130", "courses/b/course.yml", 1) in got


def test_scaffold_placeholders_warn(make_repo):
    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: 张老师", "name: 【待填写】姓名"), encoding="utf-8")
    got, _ = found(root)
    assert ("W115", "courses/c/course.yml", 7) in got


def test_huge_pictures_are_refused_at_their_line_without_decoding(make_repo, recwarn):
    from tests.conftest import bomb_png

    bomb = bomb_png()
    assert len(bomb) < 30_000
    root = make_repo({"courses/c/cover.jpg": bomb,
                      "courses/c/05-lecture-5/lecture.md": "---\ntitle: 五\nknowledge_point: 五\nimage: pic.png\n---\n",
                      "courses/c/05-lecture-5/pic.png": bomb}, valid_courses=("c",))
    got, result = found(root)
    assert ("E106", "courses/c/course.yml", 4) in got
    assert ("E213", "courses/c/05-lecture-5/lecture.md", 4) in got
    message = next(d for d in result.diagnostics if d.code == "E106").message
    assert "10000×10000 像素" in message and "太大" in message
    assert not [w for w in recwarn if "DecompressionBomb" in w.category.__name__]


def test_texts_longer_than_their_box_or_broken_over_lines(make_repo):
    """E118 for course.yml, E224 for a lecture title: the field, its length and the limit at its line."""
    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    text = (path.read_text(encoding="utf-8").replace("title: 测试课程", "title: " + "课" * 41)
            .replace("  name: 测试县社区教育学院", '  name: "测试县\\n社区教育学院"')
            .replace("  - name: 张老师", "  - name: " + "张" * 21))
    path.write_text(text, encoding="utf-8")
    (root / "courses/c/01-lecture-1/lecture.md").write_text(lecture_md(title="讲" * 200), encoding="utf-8")
    (root / "courses/c/02-lecture-2/lecture.md").write_text(
        lecture_md(title='"第一行\\n第二行"'), encoding="utf-8")
    got, result = found(root)
    assert {item for item in got if item[0] in ("E118", "E224")} == {
        ("E118", "courses/c/course.yml", 1), ("E118", "courses/c/course.yml", 7),
        ("E118", "courses/c/course.yml", 10), ("E224", "courses/c/01-lecture-1/lecture.md", 2),
        ("E224", "courses/c/02-lecture-2/lecture.md", 2)}
    long_title = next(d for d in result.diagnostics if d.code == "E224" and "01-lecture-1" in d.location.file)
    assert "200" in long_title.message and "40" in long_title.message and "讲" * 41 not in long_title.message


@pytest.mark.parametrize(("written", "label"), [
    ("县级", "县(市、区)"), ("区", "县(市、区)"), ("县（市、区）", "县(市、区)"), ("乡镇级", "乡镇(街道)"),
    ("街道", "乡镇(街道)"), ("乡镇（街道）", "乡镇(街道)"), ("村级", "村(社区)"), ("社区", "村(社区)"),
])
def test_a_short_level_is_read_as_the_forms_label_with_a_warning(make_repo, written, label):
    from weike.builder.repository.loading import load_repository

    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(replace_line(path.read_text(encoding="utf-8"), "level: 县(市、区)", f"level: {written}"),
                    encoding="utf-8")
    got, result = found(root)
    assert got == {("W015", "courses/c/course.yml", 11)}  # not E109: the course passes
    warning = result.diagnostics[0]
    assert label in warning.message and label in warning.hint
    assert load_repository(root).course("c").provider.level == label  # what the site and forms show


def test_a_yaml_error_in_course_yml_hides_none_of_the_courses_other_problems(make_repo, tmp_path):
    """The syntax error is reported, and in the same pass the lectures, their media and the cover
    (named on a line that reads well) are checked; the course stays undelivered."""
    from PIL import Image

    root = make_repo(valid_courses=("c",))
    Image.new("RGB", (720, 1280), (30, 90, 160)).save(root / "courses/c/cover.jpg", "JPEG")  # upright photo
    course_yml = root / "courses/c/course.yml"
    course_yml.write_text(replace_line(course_yml.read_text(encoding="utf-8"), "title: 测试课程", "title:测试课程")
                          .replace("theme: 老年智慧生活", "theme: 老年智慧生活: 手机"), encoding="utf-8")
    (root / "courses/c/02-lecture-2/lecture.md").write_text(lecture_md(title=""), encoding="utf-8")
    (root / "courses/c/03-lecture-3/video.mp4").unlink()
    got, result = found(root)
    assert got == {("E001", "courses/c/course.yml", 1), ("W117", "courses/c/course.yml", 4),
                   ("E201", "courses/c/02-lecture-2/lecture.md", 2), ("E209", "courses/c/03-lecture-3/lecture.md", 1)}
    assert result.summary.errors == 3

    # A cover missing, named on a good line: E105 at once, not after the syntax is fixed.
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("cover: cover.jpg", "cover: fengmian.jpg"),
                          encoding="utf-8")
    assert ("E105", "courses/c/course.yml", 4) in found(root)[0]
    # The cover line itself broken, or a file YAML cannot read around: the syntax error alone.
    course_yml.write_text('title: "测试课程\ncover: cover.jpg\n', encoding="utf-8")
    assert {g for g in found(root)[0] if g[1] == "courses/c/course.yml"} == {("E001", "courses/c/course.yml", 3)}


def test_pictures_in_the_notes_are_decoded_in_full_at_their_line(make_repo, tmp_path, cover_jpeg):
    """A picture the notes show goes to the site, the offline edition and SCORM, so it is held to
    the covers' pixel cap and full decode, reported at the line of the notes that shows it."""
    from PIL import Image

    bomb = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(bomb, optimize=True)  # 400 Mpx in a few tens of kilobytes
    assert bomb.stat().st_size < 200_000
    whole = cover_jpeg.read_bytes()
    frames = [Image.new("L", (3000, 3000), shade) for shade in range(0, 240, 40)]
    animation = tmp_path / "moving.gif"
    frames[0].save(animation, save_all=True, append_images=frames[1:], duration=100)  # 54 Mpx in all
    notes = ("第一步。\n\n![大图](huge.png)\n\n第二步：<img src=\"./cut.jpg\" alt=\"半张\">\n\n"
             "![好图](fine.jpg) ![动图](moving.gif)\n\n![还没放进来](later.png)\n")
    folder = "courses/c/04-lecture-4"
    root = make_repo({
        f"{folder}/lecture.md": lecture_md(title="第4讲", knowledge_point="四", notes=notes),
        f"{folder}/huge.png": bomb,
        f"{folder}/cut.jpg": whole[: len(whole) // 2],  # a copy that stopped half-way
        f"{folder}/fine.jpg": cover_jpeg,
        f"{folder}/moving.gif": animation,
    }, valid_courses=("c",))
    got, _ = found(root)
    pictures = sorted(entry for entry in got if entry[0] == "E213")
    assert pictures == [("E213", f"{folder}/lecture.md", 8), ("E213", f"{folder}/lecture.md", 10),
                        ("E213", f"{folder}/lecture.md", 12)]
    # A picture put in later, with lecture.md unchanged (its verdict remembered), is still decoded.
    (root / folder / "later.png").write_bytes(bomb.read_bytes())
    got, _ = found(root)
    assert ("E213", f"{folder}/lecture.md", 14) in got


@pytest.mark.parametrize("instructors", ["instructors: [张老师]", "instructors:\n  - [张老师, 社区学校教师。]"])
def test_an_instructor_that_is_no_mapping_is_one_e005_not_a_crash(make_repo, instructors):
    """An instructor written as a name alone (or a list) is E005 at its line; no rule trips over
    the bio that could not be read (E901 would name a crash of the rules plugin)."""
    course_yml = COURSE_YML.replace("instructors:\n  - name: 张老师\n    bio: 社区学校教师。", instructors)
    root = make_repo({"courses/c/course.yml": course_yml}, valid_courses=())
    got, result = found(root)
    assert ("E005", "courses/c/course.yml", 6 if "[张老师]" in instructors else 7) in got
    assert not [d for d in result.diagnostics if d.code in ("E901", "E101")], result.diagnostics
