"""The check in proportion to the change: an unchanged course is taken back from the course memo,
an edited one is loaded and checked again, and either way the findings are a cold check's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import COURSE_YML, lecture_md, write_tree
from weike.builder.contracts.context import CACHE_DIR_ENV, BuildPaths, Made
from weike.builder.keeping.course_memo import CHECKED_FOLDER
from weike.builder.running.checking import check_project, run_check
from weike.builder.running.project import Project
from weike.plugins.notes import NOTES_MADE

COURSES = ("a", "b", "c")
LECTURE = "courses/b/03-lecture-3"
DEEP_LIST = "\n".join("  " * depth + "- 一层" for depth in range(60)) + "\n"


def findings(diagnostics) -> list[tuple]:
    """Everything a diagnostic says, in order: a remembered one must equal a fresh one exactly."""
    return [(d.code, d.severity, d.location.file, d.location.line, d.location.column, d.message, d.message_en,
             d.hint) for d in diagnostics]


@pytest.fixture
def repo(make_repo, tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    return make_repo({f"courses/{slug}/course.yml": COURSE_YML.replace("测试课程", f"测试课程{slug}")
                      for slug in COURSES}, valid_courses=COURSES)


def cold(root: Path, tmp_path: Path, monkeypatch) -> list[tuple]:
    """What a check with an empty cache finds (every course loaded, every rule run)."""
    fresh = tmp_path / f"cold-cache-{len(list(tmp_path.glob('cold-cache-*')))}"
    with monkeypatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(fresh))
        result = run_check(root)
    assert result.rechecked == tuple(course.slug for course in result.repository.courses)
    return findings(result.diagnostics)


def warm(root: Path) -> tuple[list[tuple], tuple[str, ...]]:
    """What a check with the repository's own cache finds, and which courses it loaded again."""
    result = run_check(root)
    return findings(result.diagnostics), result.rechecked


def png(path: Path) -> None:
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path, "PNG")


def edit_notes(root: Path) -> None:
    (root / LECTURE / "lecture.md").write_text(lecture_md(title="第3讲", knowledge_point="知识点3", notes=DEEP_LIST),
                                               encoding="utf-8")


def edit_front_matter(root: Path) -> None:
    (root / LECTURE / "lecture.md").write_text("---\ntitle: 第3讲\nform: 电影\n---\n\n讲义。\n", encoding="utf-8")


def break_shown_picture(root: Path) -> None:
    (root / LECTURE / "shown.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture after all")


def delete_media(root: Path) -> None:
    (root / LECTURE / "video.mp4").unlink()


def add_media(root: Path) -> None:
    shutil.copyfile(root / LECTURE / "video.mp4", root / LECTURE / "second.mp4")


def rename_lecture_folder(root: Path) -> None:
    (root / LECTURE).rename(root / "courses/b/03-Lecture-Three")


def rename_course_folder(root: Path) -> None:
    (root / "courses/b").rename(root / "courses/B_course")


def title_of_another_course(root: Path) -> None:
    """A rule over the whole repository (W130, two courses with one title) sees the remembered ones."""
    (root / "courses/c/course.yml").write_text(COURSE_YML.replace("测试课程", "测试课程a"), encoding="utf-8")


@pytest.mark.parametrize("edit, rechecked", [
    (edit_notes, ("b",)),
    (edit_front_matter, ("b",)),
    (break_shown_picture, ("b",)),
    (delete_media, ("b",)),
    (add_media, ("b",)),
    (rename_lecture_folder, ("b",)),
    (rename_course_folder, ("B_course",)),
    (title_of_another_course, ("c",)),
])
def test_an_edited_course_is_checked_again_alone_and_found_as_a_cold_check_finds_it(repo, tmp_path, monkeypatch,
                                                                                   edit, rechecked):
    # The notes show a picture of their folder: decoded by the check, remembered with the course.
    write_tree(repo, {f"{LECTURE}/lecture.md": lecture_md(title="第3讲", knowledge_point="知识点3",
                                                          notes="看图：\n\n![图](shown.png)\n")})
    png(repo / LECTURE / "shown.png")
    first, loaded = warm(repo)
    assert loaded == COURSES and first == cold(repo, tmp_path, monkeypatch) == []
    assert warm(repo) == (first, ())  # nothing changed: no course loaded or checked

    edit(repo)
    after, loaded = warm(repo)
    assert loaded == rechecked
    assert after == cold(repo, tmp_path, monkeypatch)
    assert after != first  # each edit is a real problem
    assert warm(repo) == (after, ())  # and the problem is remembered, lines included


def test_an_edit_of_weike_yml_checks_every_course_again(repo, tmp_path, monkeypatch):
    assert warm(repo) == ([], COURSES)
    (repo / "weike.yml").write_text("min_lectures: 11\n", encoding="utf-8")
    after, loaded = warm(repo)
    assert loaded == COURSES
    assert after == cold(repo, tmp_path, monkeypatch)
    assert [(finding[0], finding[2]) for finding in after] == [("E108", f"courses/{slug}/course.yml")
                                                               for slug in COURSES]


RULE = '''
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Diagnostic


@hookimpl
def weike_check_course(course):
    if {flag}:
        yield Diagnostic.warning("X900", course.where("title"), "县里的新规则", "the county's new rule")
'''


def check_in_a_new_process(root: Path, *, cache: Path | None = None) -> str:
    """``weike check --format json`` as a teacher runs it: a process that loads the plugins anew."""
    env = {key: value for key, value in os.environ.items() if key != CACHE_DIR_ENV}
    if cache is not None:
        env[CACHE_DIR_ENV] = str(cache)
    completed = subprocess.run([sys.executable, "-m", "weike.builder", "check", "--format", "json", str(root)],
                               capture_output=True, text=True, env=env)
    assert completed.returncode in (0, 1), completed.stderr
    return completed.stdout


def test_a_changed_rule_plugin_checks_every_course_again(repo, tmp_path):
    rule = repo / "plugins" / "county.py"
    rule.parent.mkdir()
    rule.write_text(RULE.format(flag="False"), encoding="utf-8")
    before = check_in_a_new_process(repo)
    assert "X900" not in before and (repo / ".weike/cache" / CHECKED_FOLDER / "a.pickle").is_file()
    assert check_in_a_new_process(repo) == before

    rule.write_text(RULE.format(flag="True"), encoding="utf-8")  # the county's rule now applies
    after = check_in_a_new_process(repo)
    assert after == check_in_a_new_process(repo, cache=tmp_path / "cold")
    assert after.count('"X900"') == len(COURSES)


def test_a_damaged_or_foreign_entry_is_no_entry(repo, tmp_path, monkeypatch):
    assert warm(repo) == ([], COURSES)
    entries = repo / ".weike/cache" / CHECKED_FOLDER
    torn = bytearray((entries / "a.pickle").read_bytes())
    torn[-200:-100] = bytes(100)  # a page never written before a power cut: same length, zeros
    (entries / "a.pickle").write_bytes(bytes(torn))
    body = (entries / "b.pickle").read_bytes()
    (entries / "b.pickle").write_bytes(body[: len(body) // 2])  # cut short by a full disk
    # A pickle that would run a command if it were loaded the ordinary way: never run.
    witness = tmp_path / "ran"
    header = (entries / "c.pickle").read_bytes().split(b"\n", 2)
    evil = b"cos\nsystem\n(S'touch " + str(witness).encode() + b"'\ntR."
    (entries / "c.pickle").write_bytes(header[0] + b"\n" + header[1] + b"\n" + hashlib.sha256(evil).digest() + evil)
    edit_notes(repo)
    after, loaded = warm(repo)
    assert loaded == COURSES and not witness.exists()
    assert after == cold(repo, tmp_path, monkeypatch)
    assert warm(repo) == (after, ())  # and each is written anew


def test_a_course_holding_a_symbolic_link_is_never_taken_back(repo):
    os.symlink(repo / LECTURE / "video.mp4", repo / "courses/c/notes-link.mp4")
    assert warm(repo)[1] == COURSES
    assert warm(repo)[1] == ("c",)


def test_a_build_takes_back_the_rendered_notes_a_check_for_a_build_made(repo):
    paths = BuildPaths.for_root(repo)
    first = Made()
    assert check_project(Project.open(repo), paths=paths, made=first).rechecked == COURSES
    again = Made()
    assert check_project(Project.open(repo), paths=paths, made=again).rechecked == ()
    assert len(again.of(NOTES_MADE)) == 30
    assert dict(again.of(NOTES_MADE)) == dict(first.of(NOTES_MADE))
    # `weike check` hands nothing on: its entries do not serve a build, which renders the notes itself.
    (repo / "courses/a/01-lecture-1/lecture.md").write_text(lecture_md(title="新标题", knowledge_point="k"),
                                                            encoding="utf-8")
    assert run_check(repo).rechecked == ("a",)
    built = Made()
    assert check_project(Project.open(repo), paths=paths, made=built).rechecked == ("a",)
    assert len(built.of(NOTES_MADE)) == 30


CRASHING_RULE = '''
from weike.builder.contracts.hookspecs import hookimpl


@hookimpl
def weike_check_course(course):
    if course.slug == "b":
        raise RuntimeError("a bug in the county's rule")
    return []
'''


def test_a_course_a_plugin_crashed_on_is_checked_again_every_time(repo, tmp_path):
    rule = repo / "plugins" / "county.py"
    rule.parent.mkdir()
    rule.write_text(CRASHING_RULE, encoding="utf-8")
    first = check_in_a_new_process(repo)
    assert '"E901"' in first
    entries = repo / ".weike/cache" / CHECKED_FOLDER
    assert sorted(entry.name for entry in entries.iterdir()) == ["a.pickle", "c.pickle"]  # not b's
    assert check_in_a_new_process(repo) == first == check_in_a_new_process(repo, cache=tmp_path / "cold")


def test_the_check_keys_each_course_by_the_walk_it_is_handed(repo):
    """A build's stamp walks every course folder; the check takes those identities rather than
    walking the folders again, and a course whose identity differs is loaded and checked again."""
    from weike.builder.keeping.stamp import courses_entries

    assert warm(repo)[1] == COURSES
    _, folders = courses_entries(repo / "courses")
    assert sorted(folders) == [str(repo / "courses" / slug) for slug in COURSES]
    assert check_project(Project.open(repo), course_folders=folders).rechecked == ()
    # As if b's files had changed between the walk and the check: b alone is read again.
    assert check_project(Project.open(repo), course_folders={**folders, str(repo / "courses/b"): "0" * 64}
                         ).rechecked == ("b",)
    # A folder the walk does not name is walked by the check itself.
    edit_notes(repo)
    assert check_project(Project.open(repo), course_folders={}).rechecked == ("b",)


def test_the_course_keys_name_every_course_and_change_with_its_folder_alone(repo):
    """What later stages key a course by (BuildContext.course_keys): the same for a course taken back
    from the memo as when it was read, another for the edited one."""
    first = run_check(repo).course_keys
    assert sorted(first) == list(COURSES)
    assert run_check(repo).course_keys == first  # taken back from the memo: the same keys
    edit_notes(repo)
    after = run_check(repo).course_keys
    assert [slug for slug in COURSES if after[slug] != first[slug]] == ["b"]


RECHECKED_IN_A_NEW_PROCESS = """
import json, sys
from weike.builder.contracts.context import BuildPaths, Made
from weike.builder.running.checking import check_project
from weike.builder.running.project import Project
project = Project.open(sys.argv[1])
print(json.dumps(check_project(project, paths=BuildPaths.for_root(project.root), made=Made()).rechecked))
"""


def test_a_new_process_takes_back_every_unchanged_course(repo):
    """Each build is a process of its own, which imports a plugin's modules only when it uses them:
    what a course's check made for the build (its sources' probes, its notes) still comes back in a
    process that has not imported the modules defining it yet."""
    def rechecked() -> list[str]:
        env = {key: value for key, value in os.environ.items() if key != CACHE_DIR_ENV}
        completed = subprocess.run([sys.executable, "-c", RECHECKED_IN_A_NEW_PROCESS, str(repo)],
                                   capture_output=True, text=True, env=env, check=True)
        return json.loads(completed.stdout)

    assert rechecked() == list(COURSES)
    assert rechecked() == []
    edit_notes(repo)
    assert rechecked() == ["b"]


def test_a_build_freezes_the_courses_at_once_only_when_nearly_all_came_back_from_the_memo(repo):
    """What loading remembered courses made is moved out of the collector's way (gc.freeze) as soon
    as it is loaded, for a caller that unfreezes it; with a course read afresh (a third of these,
    above FREEZE_WHEN_READ_AT_MOST), what loading it left for the collector is not kept so."""
    import gc

    def frozen_by_the_check(**arguments) -> bool:
        gc.unfreeze()
        try:
            check_project(Project.open(repo), made=Made(), **arguments)
            return gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()

    assert not frozen_by_the_check(freeze_loaded=True)  # every course read: nothing remembered yet
    assert frozen_by_the_check(freeze_loaded=True)  # every course taken back
    assert not frozen_by_the_check()  # a caller that does not unfreeze: never
    edit_notes(repo)
    assert not frozen_by_the_check(freeze_loaded=True)  # b read again
    assert frozen_by_the_check(freeze_loaded=True)
