"""Loading again after an edit reads only the course whose folder changed, and equals a cold load."""

from __future__ import annotations

import os
import shutil

from weike.builder.repository.loading import load_repository
from weike.builder.running.reloading import CourseReloader
from tests.conftest import COURSE_YML, lecture_md


def _next_tick(folder) -> None:
    """Wait until file times move on (they have the kernel's tick), so an edit shows in them."""
    probe = folder / "tick"
    probe.write_bytes(b"")
    first = probe.stat().st_ctime_ns
    while probe.stat().st_ctime_ns == first:
        os.utime(probe)


def reload(root, reloader: CourseReloader):
    reloader.loaded.clear()
    repository = load_repository(root, course_loader=reloader)
    assert repository == load_repository(root)  # kept courses or not: the same as a cold load
    return repository, sorted(os.path.basename(folder) for folder in reloader.loaded)


def test_only_changed_courses_are_read_again(make_repo, tmp_path):
    root = make_repo(valid_courses=("a", "b", "c"))
    reloader = CourseReloader()
    _, loaded = reload(root, reloader)
    assert loaded == ["a", "b", "c"]
    assert reload(root, reloader)[1] == []

    _next_tick(tmp_path)
    notes = root / "courses/b/02-lecture-2/lecture.md"
    size = notes.stat().st_size
    notes.write_text(lecture_md(title="第二讲改了"), encoding="utf-8")
    repository, loaded = reload(root, reloader)
    assert loaded == ["b"]
    assert repository.courses[1].lectures[1].title == "第二讲改了"

    _next_tick(tmp_path)  # same size, same mtime: the ctime still tells
    stat = notes.stat()
    notes.write_bytes(notes.read_bytes().replace("第二讲改了".encode(), "第三讲改了".encode()))
    os.utime(notes, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert notes.stat().st_size == stat.st_size != size
    repository, loaded = reload(root, reloader)
    assert loaded == ["b"] and repository.courses[1].lectures[1].title == "第三讲改了"

    (root / "courses/a/01-lecture-1/extra.txt").write_text("x", encoding="utf-8")  # a new file
    shutil.copytree(root / "courses/c", root / "courses/d")  # a new course
    (root / "courses/d/course.yml").write_text(COURSE_YML.replace("测试课程", "第四门课"), encoding="utf-8")
    repository, loaded = reload(root, reloader)
    assert loaded == ["a", "d"] and [c.slug for c in repository.courses] == ["a", "b", "c", "d"]

    shutil.rmtree(root / "courses/c")  # a deleted course
    repository, loaded = reload(root, reloader)
    assert loaded == [] and [c.slug for c in repository.courses] == ["a", "b", "d"]


def test_a_course_holding_a_link_is_always_read_again(make_repo):
    root = make_repo(valid_courses=("a", "b"))
    (root / "courses/b/notes-elsewhere.md").symlink_to(root / "courses/a/01-lecture-1/lecture.md")
    reloader = CourseReloader()
    reload(root, reloader)
    assert reload(root, reloader)[1] == ["b"]


def test_with_a_watchers_reports_only_the_reported_course_is_walked(make_repo, tmp_path):
    """While the watcher's reports are complete, a course folder nothing was reported under is not
    walked (its change, here deliberately unreported, is not looked for); a reported one is, and
    unknown reports (no watcher, lost events, a folder of courses moved) walk every folder again."""
    from weike.builder.running.reloading import SavedPaths

    root = make_repo(valid_courses=("a", "b", "c"))
    saved = SavedPaths()
    reloader = CourseReloader()

    def reload_reported():
        reloader.walked.clear()
        reloader.reported(saved.take())
        repository = load_repository(root, course_loader=reloader)
        reloader_loaded = sorted(os.path.basename(folder) for folder in reloader.loaded)
        reloader.loaded.clear()
        return repository, sorted(os.path.basename(folder) for folder in reloader.walked), reloader_loaded

    assert reload_reported()[1:] == (["a", "b", "c"], ["a", "b", "c"])
    assert reload_reported()[1:] == (["a", "b", "c"], [])  # no watcher yet: every folder walked
    saved.watching(True)
    assert reload_reported()[1:] == (["a", "b", "c"], [])  # the watcher just started: walked once more
    assert reload_reported()[1:] == ([], [])

    _next_tick(tmp_path)
    notes = root / "courses/b/02-lecture-2/lecture.md"
    notes.write_text(lecture_md(title="报告了的修改"), encoding="utf-8")
    saved.saw(str(notes))
    unreported = root / "courses/c/01-lecture-1/lecture.md"
    unreported.write_text(lecture_md(title="没有报告的修改"), encoding="utf-8")
    repository, walked, loaded = reload_reported()
    assert walked == loaded == ["b"]
    assert repository.courses[1].lectures[1].title == "报告了的修改"
    assert repository.courses[2].lectures[0].title != "没有报告的修改"  # trusted, as the watcher said

    saved.lost()  # the system's queue overflowed: every folder is walked, and the change found
    repository, walked, loaded = reload_reported()
    assert walked == ["a", "b", "c"] and loaded == ["c"]
    assert repository == load_repository(root)

    shutil.copytree(root / "courses/c", root / "courses/d")  # a new course: walked, as a course moved
    saved.saw(str(root / "courses/d"))
    shutil.move(root / "courses/a", root / "courses/e")
    saved.saw(str(root / "courses/a"), str(root / "courses/e"))
    repository, walked, loaded = reload_reported()
    assert walked == loaded == ["d", "e"] and repository == load_repository(root)

    _next_tick(tmp_path)
    (root / "courses/b/01-lecture-1/lecture.md").write_text(lecture_md(title="整个文件夹搬走又搬回"), encoding="utf-8")
    saved.saw(str(root / "courses"))  # the folder of courses itself moved (and back)
    repository, walked, loaded = reload_reported()
    assert walked == ["b", "c", "d", "e"] and loaded == ["b"] and repository == load_repository(root)

    saved.watching(False)  # the watcher stopped: its silence means nothing
    assert reload_reported()[1] == ["b", "c", "d", "e"]


def test_a_file_with_another_name_elsewhere_is_looked_at_though_nothing_was_reported(make_repo, tmp_path):
    """A hard link's other name may be written outside the watched folders: no event comes, yet
    the course is walked and read again."""
    from weike.builder.running.reloading import SavedPaths

    root = make_repo(valid_courses=("a", "b"))
    elsewhere = tmp_path / "drafts-lecture.md"
    notes = root / "courses/b/02-lecture-2/lecture.md"
    os.link(notes, elsewhere)
    saved = SavedPaths()
    reloader = CourseReloader()
    saved.watching(True)
    for _ in range(2):
        reloader.reported(saved.take())
        load_repository(root, course_loader=reloader)
    reloader.walked.clear()
    reloader.reported(saved.take())
    load_repository(root, course_loader=reloader)
    assert reloader.walked == []  # trusted: nothing reported, the linked file as it was

    _next_tick(tmp_path)
    elsewhere.write_text(lecture_md(title="在别处改的"), encoding="utf-8")  # the same file, its other name
    reloader.loaded.clear()
    reloader.reported(saved.take())
    repository = load_repository(root, course_loader=reloader)
    assert [os.path.basename(folder) for folder in reloader.walked] == ["b"]
    assert [os.path.basename(folder) for folder in reloader.loaded] == ["b"]
    assert repository.courses[1].lectures[1].title == "在别处改的" and repository == load_repository(root)
