"""Loading courses: values keep their locations; problems never stop other courses."""

from __future__ import annotations

import datetime as dt

import pytest

from weike.builder.contracts.model import PathProblem
from weike.builder.repository.loading import load_repository, split_front_matter
from weike.builder.repository.yamlfile import YamlFileError
from weike.builder.running.checking import check_repository, run_check
from weike.builder.running.plugin_manager import get_plugin_manager
from tests.conftest import COURSE_YML, lecture_md


def test_values_and_locations(make_repo):
    root = make_repo(valid_courses=("c",))
    course = load_repository(root).course("c")
    assert course.title == "测试课程"
    assert course.created == dt.date(2023, 9, 1)
    assert course.provider.phone == "0571-88886666"  # kept as typed, not a number
    assert str(course.where("summary")) == "courses/c/course.yml:2:10"
    assert str(course.where("provider.phone")) == "courses/c/course.yml:14:10"
    assert course.where("provider.nonexistent").line == 9  # falls back to "provider:"
    assert course.rights.public_good and course.rights.no_copyright_dispute and course.rights.share_to_national_platforms
    assert [lec.number for lec in course.lectures] == list(range(1, 11))
    lecture = course.lectures[0]
    assert lecture.key == "c/01-lecture-1"
    assert lecture.media.path.name == "video.mp4" and lecture.media.declared is None
    assert str(lecture.where("knowledge_point")) == "courses/c/01-lecture-1/lecture.md:3:18"
    assert lecture.notes.strip() == "讲义正文。"
    assert lecture.notes_line == 5


@pytest.mark.parametrize("text", ["2023-9-1", "2023/09/01", "2023年9月1日", "2023.9.1"])
def test_lenient_dates(make_repo, text):
    root = make_repo({"courses/c/course.yml": COURSE_YML.replace("2023-09-01", text)})
    assert load_repository(root).course("c").created == dt.date(2023, 9, 1)


def test_chinese_booleans(make_repo):
    root = make_repo({"courses/c/course.yml": COURSE_YML.replace("public_good: true", "public_good: 是")})
    assert load_repository(root).course("c").rights.public_good is True


def test_lectures_sorted_by_number_not_name(make_repo):
    files = {f"courses/c/{n}-x{n}/lecture.md": lecture_md() for n in ("10", "02", "1")}
    root = make_repo({"courses/c/course.yml": COURSE_YML, **files})
    assert [lec.number for lec in load_repository(root).course("c").lectures] == [1, 2, 10]


def test_syntax_error_in_one_course_does_not_stop_others(make_repo):
    root = make_repo({"courses/a/course.yml": "title: [\n"}, valid_courses=("b",))
    repo = load_repository(root)
    assert not repo.course("a").parsed
    assert repo.course("b").parsed and len(repo.course("b").lectures) == 10
    assert [d.code for d in repo.diagnostics] == ["E001"]


def test_declared_paths_record_their_problem(make_repo):
    root = make_repo({"courses/c/course.yml": COURSE_YML.replace("cover.jpg", "../../etc/x.jpg")})
    cover = load_repository(root).course("c").cover
    assert cover.problem is PathProblem.PARENT and cover.path is None


def test_front_matter_split():
    assert split_front_matter("---\na: 1\n---\nbody\n") == ("a: 1\n", "body\n", 4)
    assert split_front_matter("no front matter") is None
    with pytest.raises(YamlFileError):
        split_front_matter("---\na: 1\n")


def test_hidden_and_underscore_folders_are_not_courses(make_repo):
    root = make_repo({"courses/.git-stuff/course.yml": "x", "courses/_drafts/course.yml": "x"},
                     valid_courses=("c",))
    assert [c.slug for c in load_repository(root).courses] == ["c"]


#: What the audit put into a course: clear the screen, print a fake "all OK", write the clipboard.
TERMINAL_ATTACK = r"\e[2J\e[1;32m检查通过 all OK\e[0m\e]52;c;ZWNobyBoaQ==\a"


def test_control_characters_in_authored_text_are_refused_at_their_line(make_repo):
    course_yml = (COURSE_YML.replace("theme: 老年智慧生活", f'theme: "{TERMINAL_ATTACK}"')
                  .replace("  contact: 李老师", '  contact: "李老师\\x9b31m"')
                  .replace("title: 测试课程", '"\\e[31mtitle": 测试课程\ntitle: 测试课程'))
    lecture = "---\ntitle: \"第一讲\\r伪造\"\nknowledge_point: 知识\n---\n\n正文\n第二行\x1b[2J\x7f\n"
    root = make_repo({"courses/c/course.yml": course_yml, "courses/c/cover.jpg": b"x",
                      "courses/c/01-a/lecture.md": lecture})
    repository = load_repository(root)
    found = {(d.code, str(d.location)) for d in repository.diagnostics if d.code == "E013"}
    assert found == {("E013", "courses/c/course.yml:1:1"), ("E013", "courses/c/course.yml:4:8"),
                     ("E013", "courses/c/course.yml:14:12"), ("E013", "courses/c/01-a/lecture.md:2:8"),
                     ("E013", "courses/c/01-a/lecture.md:7:4")}
    course = repository.course("c")
    # What is kept has no control character left for a later stage to print or publish.
    assert course.theme.startswith("[2J[1;32m检查通过") and "\x1b" not in course.theme
    assert course.provider.contact == "李老师31m" and course.lectures[0].title == "第一讲伪造"
    assert "\x1b" not in course.lectures[0].notes and "\x7f" not in course.lectures[0].notes


def test_invisible_bidi_and_zero_width_characters_are_named(make_repo):
    root = make_repo({"courses/c/course.yml": COURSE_YML.replace("title: 测试课程", 'title: "发票\\u202egpj.exe"'),
                      "courses/c/01-a/lecture.md": "---\ntitle: \"第一\\u200b讲\"\nknowledge_point: 知识\n---\n"})
    repository = load_repository(root)
    found = {(d.code, str(d.location), d.severity.value) for d in repository.diagnostics if d.code == "W014"}
    assert found == {("W014", "courses/c/course.yml:1:8", "warning"), ("W014", "courses/c/01-a/lecture.md:2:8", "warning")}
    assert not any(d.code == "E013" for d in repository.diagnostics)


def test_course_files_and_folders_linked_from_outside_are_not_read(make_repo, tmp_path):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "secret.md").write_text("---\ntitle: 机密\nknowledge_point: 机密\n---\n机密正文\n", encoding="utf-8")
    (secret / "secret.yml").write_text(COURSE_YML.replace("测试课程", "机密课程"), encoding="utf-8")
    write = {"courses/linkcourse/01-a/lecture.md": lecture_md(), "courses/linklecture/course.yml": COURSE_YML}
    root = make_repo(write)
    (root / "courses/linkcourse/course.yml").symlink_to(secret / "secret.yml")
    (root / "courses/linklecture/02-b").mkdir()
    (root / "courses/linklecture/02-b/lecture.md").symlink_to(secret / "secret.md")
    (root / "courses/wholefolder").symlink_to(secret, target_is_directory=True)
    # A link that stays inside its course is fine; one into another course leaves the course.
    (root / "courses/linklecture/03-c").mkdir()
    (root / "courses/linklecture/shared.md").write_text(lecture_md(), encoding="utf-8")
    (root / "courses/linklecture/03-c/lecture.md").symlink_to(root / "courses/linklecture/shared.md")
    (root / "courses/linklecture/04-d").mkdir()
    (root / "courses/linklecture/04-d/lecture.md").symlink_to(root / "courses/linkcourse/01-a/lecture.md")

    repository = load_repository(root)
    outside = sorted(str(d.location) for d in repository.diagnostics if d.code == "E206")
    assert outside == ["courses/linkcourse/course.yml:1:1", "courses/linklecture/02-b/lecture.md:1:1",
                       "courses/linklecture/04-d/lecture.md:1:1", "courses/wholefolder"]
    for course in repository.courses:
        assert course.title != "机密课程"
        assert all(lecture.title != "机密" and "机密" not in lecture.notes for lecture in course.lectures)
    assert not repository.course("wholefolder").parsed and not repository.course("linkcourse").parsed
    assert [lec.title for lec in repository.course("linklecture").lectures if lec.parsed] == ["第一讲"]


def test_counts_and_limits_below_one_are_e005_for_the_core_and_a_plugin_alike(make_repo):
    """``jobs`` (the core's) and ``min_lectures`` (the rules' declared setting) share one reader."""
    from weike.builder.running.project import Project

    root = make_repo({"weike.yml": "jobs: 0\nmin_lectures: -2\nmax_bio_chars: 80\n"}, valid_courses=("c",))
    project = Project.open(root)
    repository = project.load()
    found = [(d.code, d.location.line, d.message_en) for d in repository.diagnostics]
    assert found == [("E005", 1, "'jobs' must be a positive number"),
                     ("E005", 2, "'min_lectures' must be a positive number")]
    assert repository.config.jobs is None
    assert repository.config.plugin_settings == {"max_bio_chars": 80}  # the bad limit keeps its default


def test_a_path_longer_than_the_file_system_allows_is_missing_at_its_line(make_repo):
    """A cover, media, subtitle, picture or centre photo named with 300 characters (more than a
    file name may have: the file cannot exist) is "not found" at its line, not an OSError that
    stopped weike check for every course."""
    long_name = "很" * 300
    lecture = lecture_md(extra=f"media: {long_name}.mp4\nsubtitles: {long_name}.srt\nimage: {long_name}.png\n")
    centre = (f"name: 中心\nlevel: 乡镇(街道)\nregion: 某地\nphotos: [{long_name}.jpg, a/{'b' * 300}/c.jpg]\n")
    root = make_repo({"courses/c/course.yml": COURSE_YML.replace("cover.jpg", f"{long_name}.jpg"),
                      "courses/c/01-a/lecture.md": lecture, "centres/z/centre.yml": centre}, valid_courses=("d",))
    repository = load_repository(root)
    course = repository.course("c")
    declared = [course.cover, course.lectures[0].media, course.lectures[0].subtitles, course.lectures[0].image,
                *repository.centres[0].photos]
    assert [(f.problem, f.path) for f in declared] == [(PathProblem.MISSING, None)] * 6
    assert [d.code for d in check_repository(repository, get_plugin_manager(root)) if d.code.startswith("E9")] == []
    codes = {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}
    assert {("E105", "courses/c/course.yml", 4), ("E205", "courses/c/01-a/lecture.md", 4),
            ("E708", "centres/z/centre.yml", 4)} <= codes
