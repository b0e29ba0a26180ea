"""A cold build shares its pages among worker processes, and writes exactly what a serial build
writes: every file, byte for byte, the search index and the hand-written pages included."""

from __future__ import annotations

import gc
import json
import os
import shutil

import pytest

from tests.plugins.site.conftest import build_site
from weike.builder.contracts.context import BuildPaths
from tests.plugins.site.test_site_incremental import tree
from weike.plugins.site import engine, manifest, placement, sources, website, workers
from weike.plugins.site.catalogue import SiteCourse
from weike.plugins.site.course_memo import MEMO_FOLDER
from weike.plugins.site.qr import QR_CODES_FILE
from tests.conftest import lecture_md

FILES = {"site/about.md": "# 关于我们\n\n社区学院的介绍，[课程](courses/demo/index.md)。\n",
         "site/guide/help.md": "# 使用帮助\n\n## 看视频\n\n点一下播放。\n"}


@pytest.fixture
def forks(monkeypatch):
    """Every page worth a process of its own, three processes, the media linked aside, the folder's
    records walked by two; returns the shares the workers got."""
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 1)
    monkeypatch.setattr(placement, "MEDIA_ASIDE", 1)
    monkeypatch.setattr(website, "PLUGIN_FILES_ASIDE", 1)
    monkeypatch.setattr(manifest, "RECORDS_SHARED", 2)  # (the folder's records walked by two processes)
    monkeypatch.setattr(workers, "available_cores", lambda: 3)
    shares: list[list[str]] = []
    fork_worker = workers._fork_worker

    def counted(items, work):
        shares.append([getattr(item, "src_uri", item) for item in items])  # MkDocs' files, or paths
        return fork_worker(items, work)

    monkeypatch.setattr(workers, "_fork_worker", counted)
    return shares


def serial_tree(built, monkeypatch) -> dict[str, bytes]:
    """The same repository built again from nothing by one process."""
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    monkeypatch.setattr(workers, "available_cores", lambda: 1)  # nothing else shared either
    os.rename(built.site, built.site.with_name("site-parallel"))
    # From nothing: nor what the courses made (their memo), nor the thumbnails.
    shutil.rmtree(BuildPaths.for_root(built.root).cache / "site")
    build_site(built.root, built.delivered)
    return tree(built.site)


def test_a_parallel_cold_build_equals_a_serial_one(built_site, forks, monkeypatch):
    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    # The courses' search entries and parts of catalogue.json were made by a worker (one course
    # each for this process and one worker).
    assert [[item.slug for item in share] for share in forks if isinstance(share[0], SiteCourse)] == [["photo"]]
    # Two workers rendered a share of weike's pages each; the hand-written ones (which Material's
    # search indexes) were rendered by the build itself.
    site_shares = [[uri for uri in share if uri.endswith(".md")] for share in forks
                   if isinstance(share[0], str) and any(uri.endswith(".md") for uri in share)]
    assert len(site_shares) == 2 and all(site_shares)
    shared = [uri for share in site_shares for uri in share]
    assert len(shared) == len(set(shared)) and "courses/photo/01-lecture-1.md" in shared
    assert "about.md" not in shared and "guide/help.md" not in shared
    # The delivered media were linked by a process of their own, forked before the pages' workers
    # (beside the build's serial work up to the render), and moved into place after it.
    assert forks.count(["media"]) == 1
    first_render = next(i for i, share in enumerate(forks)
                        if isinstance(share[0], str) and any(uri.endswith(".md") for uri in share))
    assert forks.index(["media"]) < first_render
    assert not (built.site / placement.ASIDE_FOLDER).exists()
    assert (built.site / "media/photo/01-lecture-1.mp4").stat().st_nlink > 1  # (linked, not copied)
    # The folder's records were walked by two processes (the media moved in meanwhile): every
    # file but the media and the stamp is recorded, and only those.
    recorded = manifest.stamp_manifest(manifest.read_stamp_file(built.site, website.STAMP_FILE)).written
    assert sorted(recorded) == sorted(rel for rel in tree(built.site) if not rel.startswith("media/"))
    # The plugins' files (the records' facts of each course) were written by a process of their
    # own, beside the serial work too.
    assert forks.count([None]) == 1 and forks.index([None]) < first_render
    assert (built.site / "assets/records/courses/photo.js").is_file()
    # Each worker copied its part of the static files (the theme's assets, the covers) too.
    assert all(any(not uri.endswith(".md") for uri in share) for share in forks
               if isinstance(share[0], str) and any(uri.endswith(".md") for uri in share))
    parallel = tree(built.site)
    assert "courses/demo/01-lecture-1/index.html" in parallel
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def memo_files(root) -> dict[str, bytes]:
    """Every file of the site's course memo by name."""
    folder = BuildPaths.for_root(root).cache / "site" / "build" / MEMO_FOLDER
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


#: A notes picture and markup the notes may not publish (W406) in a course a worker makes.
WORKER_NOTES = {"courses/photo/02-lecture-2/lecture.md": lecture_md(
    title="第2讲", knowledge_point="对焦", notes="![对焦](focus.png)\n\n<script>alert(1)</script>先点一下屏幕。")}


@pytest.mark.parametrize("search_notes", [False, True])
def test_a_cold_builds_courses_are_made_whole_where_they_are_shared(built_site, forks, monkeypatch, tmp_path,
                                                                   search_notes):
    """The courses a worker makes are made whole there (pages, files, warnings, search entries,
    part of catalogue.json) and remembered there: the build holds their pages as remembered ones,
    made by no one else, and the site, the memo's files and the warnings equal one process's."""
    from PIL import Image

    from weike.builder.keeping.memo import FileMemo
    from weike.plugins.site import website
    from weike.plugins.site.course_memo import RememberedPage
    from weike.plugins.site.covers import COVERS_MEMO_FILE

    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    made_here: list[str] = []  # (a worker appends to its own copy)
    real_course_sources = sources._course_sources

    def counted(item, *args, **kwargs):
        made_here.append(item.slug)
        return real_course_sources(item, *args, **kwargs)

    monkeypatch.setattr(sources, "_course_sources", counted)
    pages_given: list[dict[str, str]] = []
    real_generate_sources = website.generate_sources

    def generated(*args, **kwargs):
        made = real_generate_sources(*args, **kwargs)
        pages_given.append({rel: type(page).__name__ for rel, page in made.pages.items() if rel.startswith("courses/")})
        return made

    monkeypatch.setattr(website, "generate_sources", generated)
    Image.new("RGB", (64, 48), "red").save(tmp_path / "focus.png")
    files = {**FILES, **WORKER_NOTES, "courses/photo/02-lecture-2/focus.png": tmp_path / "focus.png"}
    if search_notes:
        files["mkdocs.yml"] = "site_name: 微课\nextra:\n  weike:\n    search_notes: true\n"
    built = built_site(files, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    assert made_here == ["demo"]
    [given] = pages_given
    assert {kind for rel, kind in given.items() if rel.startswith("courses/photo/")} == {RememberedPage.__name__}
    assert {kind for rel, kind in given.items() if rel.startswith("courses/demo/")} == {"GeneratedPage"}
    assert '<img alt="对焦" src="focus.png">' in built.html("courses/photo/02-lecture-2")
    assert (built.site / "courses/photo/02-lecture-2/focus.png").is_file()
    # The picture's hash, taken by the worker, is in the covers' memo for the next build.
    with FileMemo(BuildPaths.for_root(built.root).cache / "site" / COVERS_MEMO_FILE) as facts:
        assert facts.get("sha256", built.root / "courses/photo/02-lecture-2/focus.png") is not None
    search_text = "".join(path.read_text(encoding="utf-8") for path in (built.site / "search/d").glob("*.js"))
    assert ("先点一下屏幕" in search_text) is search_notes
    warnings = [(d.code, d.location) for d in built.result.diagnostics]
    assert [code for code, _ in warnings] == ["W406"]
    parallel, parallel_memo = tree(built.site), memo_files(built.root)
    # Both courses' QR codes are in the record (too few to share: made before the worker forked,
    # by another process, after its covers, while the build loaded jieba's dictionary).
    codes = BuildPaths.for_root(built.root).cache / "site" / QR_CODES_FILE
    parallel_codes = json.loads(codes.read_bytes())["codes"]
    assert len(parallel_codes) == 2
    assert [sorted(item[1]) for share in forks for item in share
            if isinstance(item, tuple) and item[0] is False] == [sorted(parallel_codes)]

    made_here.clear()
    serial = serial_tree(built, monkeypatch)
    assert made_here == ["demo", "photo"]
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []
    serial_memo = memo_files(built.root)
    assert len(serial_memo) == 2 and sorted(parallel_memo) == sorted(serial_memo)  # a file per course
    assert [name for name in serial_memo if parallel_memo[name] != serial_memo[name]] == []
    assert [(d.code, d.location) for d in built.result.diagnostics] == warnings
    assert json.loads(codes.read_bytes())["codes"] == parallel_codes


@pytest.mark.parametrize("dies", ["after its course", "before its course"])
def test_a_course_whose_worker_dies_is_made_by_the_build_itself(built_site, monkeypatch, dies):
    """A worker killed while it makes its courses (before or after writing a course's memo) has
    them made by the build itself: the site and the memo are one process's."""
    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    fork_worker = workers._fork_worker
    died: list[str] = []

    def dying(items, work):
        if not isinstance(items[0], SiteCourse):
            return fork_worker(items, work)
        died.extend(item.slug for item in items)

        def work_then_die(item):
            if dies == "after its course":
                work(item)
            os._exit(3)

        return fork_worker(items, work_then_die)

    monkeypatch.setattr(workers, "_fork_worker", dying)
    built = built_site(FILES)
    assert died == ["photo"]
    assert not built.result.failed and list(built.result.diagnostics) == []
    parallel, parallel_memo = tree(built.site), memo_files(built.root)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []
    assert parallel_memo == memo_files(built.root)


def test_a_course_that_fails_in_a_worker_is_reported_for_itself_as_by_one_process(built_site, forks, monkeypatch):
    """An exception while a worker makes a course is the course's own: E901 for it alone, the
    other courses published, as a serial build reports it."""
    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    real_lecture_page = sources.lecture_page

    def failing(item, *args, **kwargs):
        if item.slug == "photo":
            raise ValueError("讲义页坏了 a broken lecture page")
        return real_lecture_page(item, *args, **kwargs)

    monkeypatch.setattr(sources, "lecture_page", failing)
    built = built_site(FILES)
    assert [[item.slug for item in share] for share in forks if isinstance(share[0], SiteCourse)] == [["photo"]]
    errors = [(d.code, d.location.file, d.message_en) for d in built.result.diagnostics if d.is_error]
    assert [(code, file) for code, file, _ in errors] == [("E901", "courses/photo/course.yml")]
    assert (built.site / "courses/demo/index.html").is_file() and not (built.site / "courses/photo").exists()
    parallel = tree(built.site)
    serial = serial_tree(built, monkeypatch)
    assert [(d.code, d.location.file, d.message_en) for d in built.result.diagnostics if d.is_error] == errors
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def edition(offline) -> tuple[dict[str, bytes], list]:
    """The offline edition's files but its stamp, and the subtitles its stamp records page by page."""
    stamp = json.loads((offline / ".weike-offline.json").read_text(encoding="utf-8"))
    files = {path.relative_to(offline).as_posix(): path.read_bytes() for path in sorted(offline.rglob("*"))
             if path.is_file() and path.name != ".weike-offline.json"}
    return files, [(rel, vtts) for rel, vtts in stamp["subtitles"].items() if vtts]


def test_a_parallel_offline_edition_equals_a_serial_one(built_site, forks, monkeypatch):
    built = built_site(FILES)
    offline = built.root / "dist" / "offline"
    # The workers rewrote pages of the edition (a lecture with subtitles among them), and linked
    # its files and media.
    parallel, subtitles = edition(offline)
    assert any(("page", "courses/photo/01-lecture-1/index.html") in share for share in forks)
    edition_shares = [share for share in forks if isinstance(share[0], tuple)]
    assert {kind for share in edition_shares for kind, *_ in share} == {"page", "file", "media"}
    assert ("courses/photo/01-lecture-1/index.html", ["media/photo/01-lecture-1.vtt"]) in subtitles

    # What the parallel edition recorded lets an edit rewrite only its page.
    before = {rel: (offline / rel).stat().st_ino for rel in parallel if rel.endswith("index.html")}
    notes = built.root / "courses/photo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n离线版也要更新。\n", encoding="utf-8")
    built.rebuild()
    after = {rel: (offline / rel).stat().st_ino for rel in before}
    rewritten = [rel for rel in before if after[rel] != before[rel] and rel.startswith("courses/")]
    assert rewritten == ["courses/photo/01-lecture-1/index.html"]
    parallel, subtitles = edition(offline)

    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    shutil.rmtree(offline)
    shutil.rmtree(built.site)
    build_site(built.root, built.delivered)
    serial, serial_subtitles = edition(offline)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []
    assert subtitles == serial_subtitles


def test_qr_codes_beyond_those_made_aside_while_the_dictionary_loads_are_made_by_the_build(built_site, forks,
                                                                                           monkeypatch):
    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    monkeypatch.setattr(sources, "DICTIONARY_WORTH_CODES", 0)  # (the two codes split in halves)
    # As where the memo holds other courses: no code made with the covers, before the courses to make are known.
    monkeypatch.setattr(website, "makes_every_course", lambda *args, **kwargs: False)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    assert forks[0] == [["https://weike.example.gov.cn/courses/demo/"]]  # the process making codes aside
    parallel = tree(built.site)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


@pytest.mark.parametrize("worker", ["works", "dies"])
def test_a_cold_build_loads_the_dictionary_and_makes_its_codes_while_its_covers_are_made(built_site, forks,
                                                                                        monkeypatch, worker):
    """A cold build that makes every course loads jieba's dictionary in its own process while
    another makes covers and then the courses' QR codes; the courses then find both ready (no
    process forked for codes, the dictionary loaded by then). A process that dies making covers
    and codes has them made by the build. The site is one process's either way."""
    from weike.plugins.site import words

    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    fork_worker = workers._fork_worker  # (the forks fixture's: it lists each share)
    if worker == "dies":
        def dying(items, work):
            if isinstance(items[0], tuple) and isinstance(items[0][0], bool):  # covers and codes
                return fork_worker(items, lambda item: os._exit(3))
            return fork_worker(items, work)

        monkeypatch.setattr(workers, "_fork_worker", dying)
    loads, collected = [], []
    whole_dictionary, collect_courses = words.whole_dictionary, website.collect_courses

    def loading():
        loads.append((os.getpid(), bool(collected)))
        whole_dictionary()

    def collecting(*args, **kwargs):
        found = collect_courses(*args, **kwargs)
        collected.append(True)
        return found

    monkeypatch.setattr(words, "whole_dictionary", loading)
    monkeypatch.setattr(website, "collect_courses", collecting)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    # Loaded by the build's process while the covers were made, and found loaded before the courses.
    assert loads == [(os.getpid(), False), (os.getpid(), True)]
    urls = ["https://weike.example.gov.cn/courses/demo/", "https://weike.example.gov.cn/courses/photo/"]
    assert [sorted(item[1]) for share in forks for item in share
            if isinstance(item, tuple) and item[0] is False] == [urls]
    assert not [share for share in forks if isinstance(share[0], list)]  # (no process making codes aside)
    codes = BuildPaths.for_root(built.root).cache / "site" / QR_CODES_FILE
    assert sorted(json.loads(codes.read_bytes())["codes"]) == urls
    parallel = tree(built.site)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_a_dictionary_that_fails_to_load_with_the_covers_is_loaded_before_the_courses(built_site, monkeypatch):
    """A failure loading jieba's dictionary while the covers are made stops nothing there: the
    dictionary is loaded again before the courses are made (where a failure is the build's, as
    ever), and the site is the one a build whose first load worked makes."""
    from weike.plugins.site import words

    monkeypatch.setattr(sources, "COURSES_PER_PROCESS", 1)
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    whole_dictionary, loads = words.whole_dictionary, []

    def failing_once():
        loads.append(len(loads))
        if len(loads) == 1:
            raise OSError("the dictionary's cache could not be read")
        whole_dictionary()

    monkeypatch.setattr(words, "whole_dictionary", failing_once)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed and list(built.result.diagnostics) == []
    assert loads == [0, 1]
    parallel = tree(built.site)
    serial = serial_tree(built, monkeypatch)
    assert [rel for rel in serial if parallel.get(rel) != serial[rel]] == [] and sorted(parallel) == sorted(serial)


def test_only_a_build_that_makes_every_course_does_the_courses_work_with_the_covers(tmp_path):
    """A cold build with an empty memo, or a forced one, makes every course (its QR codes and the
    dictionary are worth making with the covers); one with a site built before, or with courses
    in its memo or kept by ``weike serve``, may make few."""
    from weike.plugins.site.course_memo import KeptCourses
    from weike.plugins.site.stamp import STAMP_FILE

    site, work = tmp_path / "site", tmp_path / "work"
    assert website.makes_every_course(site, work, force=False, kept=None)
    (work / MEMO_FOLDER).mkdir(parents=True)
    assert website.makes_every_course(site, work, force=False, kept=KeptCourses())
    (work / MEMO_FOLDER / "course.json").write_text("{}")
    assert not website.makes_every_course(site, work, force=False, kept=None)
    assert website.makes_every_course(site, work, force=True, kept=None)
    (work / MEMO_FOLDER / "course.json").unlink()
    site.mkdir()
    (site / STAMP_FILE).write_text("{}")
    assert not website.makes_every_course(site, work, force=False, kept=None)
    assert website.makes_every_course(site, work, force=True, kept=None)


def test_a_failed_worker_has_its_pages_rendered_by_the_build_itself(built_site, monkeypatch):
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 1)
    monkeypatch.setattr(placement, "MEDIA_ASIDE", 1)  # (the process linking the media dies too)
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    fork_worker = workers._fork_worker

    def failing(items, work):
        def work_then_die(item):
            work(item)
            os._exit(3)  # the worker dies after its first page (killed, out of memory, ...)

        return fork_worker(items, work_then_die)

    monkeypatch.setattr(workers, "_fork_worker", failing)
    built = built_site(FILES)
    assert not built.result.failed
    parallel = tree(built.site)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_a_template_error_in_a_worker_page_is_reported_as_by_a_serial_build(built_site, forks, monkeypatch):
    # Only a page a worker renders fails.
    override = ('{% extends "base.html" %}\n{% block content %}\n'
                '{% if page.url == "courses/photo/10-lecture-10/" %}{{ page.meta.title.oops() }}{% endif %}\n'
                '{% endblock %}\n')
    built = built_site({"site/overrides/main.html": override})
    assert any("courses/photo/10-lecture-10.md" in share for share in forks)
    parallel = [(d.code, d.location, d.message_en) for d in built.result.diagnostics if d.is_error]
    assert [code for code, _, _ in parallel] == ["E402"]
    assert not list(built.site.parent.glob(".tmp-*"))
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    serial = build_site(built.root, built.delivered)
    assert [(d.code, d.location, d.message_en) for d in serial.diagnostics if d.is_error] == parallel


def test_processes_follow_the_pages_and_the_cores():
    assert workers.render_processes(10, cores=2) == 1
    assert workers.render_processes(13_000, cores=2) == 2
    assert workers.render_processes(13_000, cores=64) == workers.MAX_PROCESSES
    assert workers.render_processes(13_000, cores=1) == 1


def test_shared_work_comes_back_in_order_from_other_processes():
    parent = os.getpid()
    results = workers.share_work(list(range(10)), lambda n: [n * n, os.getpid()], processes=3,
                                 shared=lambda n: n != 0)
    assert [square for square, _ in results] == [n * n for n in range(10)]
    done_by = [pid for _, pid in results]
    assert done_by[0] == parent and len(set(done_by)) == 3


def test_work_a_worker_did_not_finish_is_done_here():
    parent = os.getpid()

    def work(n):
        if n == 9 and os.getpid() != parent:
            os.kill(os.getpid(), 9)  # the worker is killed half-way
        return n + 1

    assert workers.share_work(list(range(10)), work, processes=2) == list(range(1, 11))


def test_work_whose_worker_cannot_be_forked_is_done_here(monkeypatch):
    """A fork that fails (no memory for the process, too many processes) leaves its share to this
    process, as a worker that fails does: the build goes on, serially."""
    parent = os.getpid()

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    results = workers.share_work(list(range(10)), lambda n: [n + 1, os.getpid()], processes=2)
    assert results == [[n + 1, parent] for n in range(10)]
    assert workers.WorkAside([1, 2], lambda n: n * 3).results() == [3, 6]


def _a_child_exited(deadline_seconds: float) -> bool:
    """Whether a child of this process has exited (not reaped: its parent still waits for it)
    before the deadline; a blocked child never does."""
    import time

    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
            return True
        time.sleep(0.01)
    return False


def test_a_worker_with_much_to_send_back_ends_while_the_build_does_other_work():
    # Far more than a pipe holds: the worker must not wait for the build to read its results.
    exited: list[bool] = []
    results = workers.share_work(list(range(4)), lambda n: str(n) * 400_000, processes=2,
                                 meanwhile=lambda: exited.append(_a_child_exited(20)))
    assert exited == [True]
    assert results == [str(n) * 400_000 for n in range(4)]


def test_a_folder_recorded_by_workers_is_recorded_as_by_one_process(tmp_path, forks, monkeypatch):
    from weike.plugins.site import manifest

    for number in range(12):
        page = tmp_path / "site" / f"p{number % 3}" / f"{number}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(f"<p>{number}</p>".encode() * (number + 1))
    shared = manifest.record_all(tmp_path / "site", stamp_file=".stamp")
    assert len(forks) == 2 and all(forks)
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    alone = manifest.record_all(tmp_path / "site", stamp_file=".stamp")
    assert list(shared.items()) == list(alone.items()) and len(alone) == 12


class _Held:
    """A collected object (tracked by the cyclic collector) whose frozen state the tests follow."""


def _tracked(held: _Held) -> bool:
    """Whether ``held`` is in one of the collector's generations (not frozen)."""
    return any(found is held for found in gc.get_objects())


def test_sharing_work_leaves_the_collector_as_it_found_it():
    """The build freezes the courses' models before the site renders; sharing the site's work
    leaves them frozen and freezes nothing more here, while each worker keeps what it inherited
    out of its own collections (so its pages stay shared with this process)."""
    gc.unfreeze()
    models = _Held()
    gc.freeze()  # as the build does after the check
    try:
        frozen = gc.get_freeze_count()
        setup = _Held()  # made afterwards, before the work is shared (the site's pages, nav...)
        parent = os.getpid()
        results = workers.share_work(list(range(6)), lambda n: [os.getpid(), gc.get_freeze_count(), _tracked(setup)],
                                     processes=3)
        # A worker froze what it inherited: the setup made after the build's freeze too. (Not told by
        # its freeze count: frozen objects a worker lets go of leave the count.)
        in_workers = [tracked for pid, _, tracked in results if pid != parent]
        assert in_workers and not any(in_workers)
        assert [(count, tracked) for pid, count, tracked in results if pid == parent] == [(frozen, True)] * 2
        assert gc.get_freeze_count() == frozen
        assert not _tracked(models) and _tracked(setup)
    finally:
        gc.unfreeze()
    # Nothing frozen before: nothing frozen after.
    assert workers.share_work(list(range(6)), lambda n: n, processes=3) == list(range(6))
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("parallel", [True, False])
def test_a_cold_build_reads_back_no_file_it_wrote(built_site, monkeypatch, request, parallel):
    """Pages, search files, weike's after-render files and the static files (the theme's assets,
    covers, site/'s files) are recorded in the stamp from the bytes the process that wrote them
    held (a worker hands its records back), never read back to be hashed; every record is the
    file's own."""
    import hashlib

    from weike.plugins.site import manifest

    if parallel:
        request.getfixturevalue("forks")
    else:
        monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    hashed: list[str] = []
    real_sha256_file = manifest.sha256_file
    monkeypatch.setattr(manifest, "sha256_file", lambda path: hashed.append(path.as_posix()) or real_sha256_file(path))
    built = built_site(FILES)
    assert not built.result.failed
    # (The site's own; the theme's 404.html is MkDocs' to write, Material's search its index, the
    # offline edition hashes its own.)
    in_site = [path.split("~site/", 1)[1] for path in hashed if "~site/" in path]
    assert "404.html" in in_site and set(in_site) <= {"404.html", "search/search_index.json"}
    stamp = json.loads((built.site / ".weike-site.json").read_text(encoding="utf-8"))
    files = {path.relative_to(built.site).as_posix(): path for path in built.site.rglob("*")
             if path.is_file() and path.name != ".weike-site.json" and not path.relative_to(built.site).as_posix().startswith("media/")}
    assert sorted(stamp["files"]) == sorted(files)
    for rel, record in stamp["files"].items():
        size, mtime_ns, sha256 = record.split(" ")[:3]
        stat = files[rel].stat()
        assert (int(size), int(mtime_ns)) == (stat.st_size, stat.st_mtime_ns), rel
        assert sha256 == hashlib.sha256(files[rel].read_bytes()).hexdigest()[:32], rel
    assert "courses/demo/01-lecture-1/index.html" in stamp["files"] and "search/manifest.js" in stamp["files"]


def test_a_page_a_hook_rewrites_after_the_render_is_recorded_as_it_ends(built_site):
    """With a repository's hooks (which may write anything, even into a page in place, keeping
    its size) no page is recorded from the bytes first written: every record is the file's own."""
    import hashlib

    hook = ("from pathlib import Path\n\n\ndef on_post_build(config):\n"
            "    page = Path(config.site_dir) / 'courses/demo/01-lecture-1/index.html'\n"
            "    text = page.read_bytes()\n"
            "    page.write_bytes(text.replace(b'<html', b'<HTML', 1))\n")
    built = built_site({"mkdocs.yml": "site_name: 微课\nhooks:\n  - hooks.py\n", "hooks.py": hook})
    assert not built.result.failed
    page = built.site / "courses/demo/01-lecture-1/index.html"
    assert b"<!doctype html>\n<HTML lang" in page.read_bytes()
    stamp = json.loads((built.site / ".weike-site.json").read_text(encoding="utf-8"))
    size, _mtime_ns, sha256 = stamp["files"]["courses/demo/01-lecture-1/index.html"].split(" ")[:3]
    assert (int(size), sha256) == (page.stat().st_size, hashlib.sha256(page.read_bytes()).hexdigest()[:32])


def _site_shares(forks) -> list[str]:
    """The pages the workers were given to render (not the courses' or the offline edition's work,
    nor the static files they copied)."""
    return [uri for share in forks if isinstance(share[0], str) for uri in share if uri.endswith(".md")]


def _remembered_rebuild(built) -> None:
    """A rebuild that renders every page again from the courses' memo (the site deleted, the memo kept)."""
    shutil.rmtree(built.site)
    built.rebuild()


def test_a_worker_sets_up_and_reads_the_pages_it_renders(built_site, forks, monkeypatch):
    """A page a worker renders gets its MkDocs Page, plugin events and body (read from its course's
    memo) in the worker: the build's own process neither sets it up nor reads its memo."""
    from mkdocs.commands import build as mkdocs_build
    from mkdocs.structure.pages import Page

    from weike.plugins.site.course_memo import RememberedPage
    from weike.plugins.site.generated import GeneratedPages

    built = built_site(FILES)
    parent = os.getpid()
    set_up: list[str] = []
    read: list[str] = []
    populate, load, page_init = mkdocs_build._populate_page, GeneratedPages.load, Page.__init__
    populate_alone = GeneratedPages.populate

    def populated(page, *args, **kwargs):
        if os.getpid() == parent:
            set_up.append(page.file.src_uri)
        return populate(page, *args, **kwargs)

    def populated_alone(self, page, *args, **kwargs):  # (weike's handlers the only ones of the page events)
        if os.getpid() == parent:
            set_up.append(page.file.src_uri)
        return populate_alone(self, page, *args, **kwargs)

    def loaded(self, src_uri):
        if os.getpid() == parent and isinstance(self.pages.get(src_uri), RememberedPage):
            read.append(src_uri)
        return load(self, src_uri)

    def made(self, title, file, config):
        if os.getpid() == parent:
            set_up.append(file.src_uri)
        return page_init(self, title, file, config)

    def addressed(file):  # (a page filled straight from the site model, without a Page, or about to get one)
        if os.getpid() == parent:
            filled_from_model.append(file.src_uri)
        return page_address(file)

    filled_from_model: list[str] = []
    page_address = engine.page_address
    monkeypatch.setattr(engine, "page_address", addressed)
    monkeypatch.setattr(mkdocs_build, "_populate_page", populated)
    monkeypatch.setattr(GeneratedPages, "load", loaded)
    monkeypatch.setattr(GeneratedPages, "populate", populated_alone)
    monkeypatch.setattr(Page, "__init__", made)
    forks.clear()
    _remembered_rebuild(built)
    assert "本次渲染" in "\n".join(built.result.summary_lines) and not built.result.failed
    # (The navigation's pages, home, themes and levels, are MkDocs pages here: the navigation is made of them.)
    shared = [uri for uri in _site_shares(forks) if uri.startswith("courses/")]
    assert "courses/photo/01-lecture-1.md" in shared and "courses/photo/index.md" in shared
    assert set(set_up) & set(shared) == set()
    # The build's own share of remembered pages was read here, and only that.
    assert read and set(read) & set(shared) == set()
    assert {rel for rel in read} <= {rel for rel in set_up} | set(filled_from_model)
    assert set(filled_from_model) & set(shared) == set() and set(filled_from_model) - set(set_up)
    parallel = tree(built.site)
    monkeypatch.undo()
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_a_memo_gone_when_its_pages_are_rendered_has_its_course_made_again(built_site, forks, monkeypatch):
    """The courses' memo read when the build starts, then damaged before the pages are rendered
    (one course's pages deleted, the other's cut short): the workers cannot read them, the build
    makes both courses again and renders their pages, every page as a cold build makes it."""
    from tests.plugins.site.test_site_incremental import CourseWork, assert_equals_cold
    from weike.plugins.site import website

    built = built_site(FILES)
    memo = BuildPaths.for_root(built.root).cache / "site/build/course-memo"
    run_mkdocs = website.run_mkdocs

    def damaging(*args, **kwargs):
        first, *others = sorted(memo.glob("*.json"))
        first.unlink()
        for path in others:
            path.write_bytes(path.read_bytes()[:100])
        return run_mkdocs(*args, **kwargs)

    monkeypatch.setattr(website, "run_mkdocs", damaging)
    work = CourseWork(monkeypatch)
    forks.clear()
    shutil.rmtree(built.site)
    assert work.rebuild(built) == {"demo", "photo"}
    assert not built.result.failed
    assert not any("MkDocs:" in line for line in built.result.summary_lines)
    assert "courses/photo/01-lecture-1.md" in _site_shares(forks)
    monkeypatch.setattr(website, "run_mkdocs", run_mkdocs)
    assert_equals_cold(built)


def test_weikes_course_pages_are_never_indexed_by_materials_search(built_site):
    """Why a worker may render a remembered page without reading it first: every page a course
    makes (what its memo holds) is excluded from Material's search."""
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    memo = BuildPaths.for_root(built.root).cache / "site/build/course-memo"
    # A course's memo: its summary on the first line, its pages' (path, metadata, size) on the
    # second, then their bodies.
    pages = {rel: meta for path in memo.glob("*.json")
             for rel, meta, _ in json.loads(path.read_bytes().split(b"\n", 2)[1])["pages"]}
    assert "courses/demo/index.md" in pages and "courses/photo/01-lecture-1.md" in pages
    assert all(meta["search"]["exclude"] is True for meta in pages.values())


def test_a_link_into_a_page_a_worker_rendered_is_checked_as_by_a_serial_build(built_site, forks, monkeypatch):
    files = {"site/about.md": "# 关于我们\n\n[课程](courses/photo/index.md#nowhere)。\n",
             "mkdocs.yml": "validation:\n  anchors: warn\n"}
    built = built_site(files)
    assert "courses/photo/index.md" in _site_shares(forks)
    warned = [line for line in built.result.summary_lines if "MkDocs:" in line]
    assert any("'#nowhere'" in line for line in warned)
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    shutil.rmtree(built.site)
    shutil.rmtree(BuildPaths.for_root(built.root).cache / "site")
    serial = build_site(built.root, built.delivered)
    assert [line for line in serial.summary_lines if "MkDocs:" in line] == warned


def test_a_template_reading_every_page_has_them_all_set_up_before_sharing(built_site, forks, monkeypatch):
    """A theme override that reads ``pages`` (every page's title here) sees each page set up in
    every process, as a serial build shows them."""
    override = ('{% extends "base.html" %}\n{% block content %}{{ super() }}\n'
                '<ol>{% for file in pages %}<li>{{ file.page.title if file.page else "?" }}</li>{% endfor %}</ol>\n'
                '{% endblock %}\n')
    built = built_site({**FILES, "site/overrides/main.html": override})
    assert _site_shares(forks)
    parallel = tree(built.site)
    assert "<li>?</li>" not in parallel["courses/photo/01-lecture-1/index.html"].decode("utf-8")
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_static_files_are_spread_among_the_pages():
    from weike.plugins.site.engine import spread

    pages, files = [f"p{n}" for n in range(10)], [f"f{n}" for n in range(4)]
    merged = spread(pages, files)
    assert [item for item in merged if item.startswith("p")] == pages
    assert [item for item in merged if item.startswith("f")] == files
    halves = merged[:7], merged[7:]
    assert all(any(item.startswith("f") for item in half) and any(item.startswith("p") for item in half)
               for half in halves)
    assert spread(pages, []) == pages and spread([], files) == files
    assert spread(["p"], files) == ["p", *files]


def test_the_build_does_its_own_items_then_other_work_then_a_smaller_share():
    """``meanwhile`` runs here once the items only this process may do are done, while the workers
    do theirs; this process's share is smaller by its weight, and the results are in order."""
    parent = os.getpid()
    done_here: list[int] = []
    seen: list[list[int]] = []

    def work(n):
        if os.getpid() == parent:
            done_here.append(n)
        return [n * n, os.getpid()]

    items = list(range(40))
    results = workers.share_work(items, work, processes=2, shared=lambda n: n % 10 != 0,
                                 meanwhile=lambda: seen.append(list(done_here)), meanwhile_weight=12)
    assert [square for square, _ in results] == [n * n for n in items]
    assert seen == [[0, 10, 20, 30]]  # only this process's own items, in their order, before
    own = [n for n in done_here if n % 10]
    workers_did = [n for n, (_, pid) in zip(items, results) if pid != parent]
    # 36 shared items and 12 items' worth of other work: (36 + 12) / 2 - 12 here, the rest there.
    assert len(own) == 12 and len(workers_did) == 24 and own == items[1:10] + items[11:14]
    # Done alone, the other work comes after every item.
    done_here.clear()
    seen.clear()
    assert workers.share_work(items[:5], work, processes=1, meanwhile=lambda: seen.append(list(done_here))) \
        == [[n * n, parent] for n in range(5)]
    assert seen == [[0, 1, 2, 3, 4]]


def test_shares_leave_the_first_process_room_for_its_other_work():
    assert workers._shares(list(range(10)), 3, head_start=0) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert workers._shares(list(range(10)), 3, head_start=2) == [[0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]
    assert workers._shares(list(range(10)), 2, head_start=50) == [[], list(range(10))]


def _search_made_while_rendering(monkeypatch, files: list | None = None) -> list[int]:
    """For every time the sharded index is written: how many page workers were out (forked, not
    yet waited for); its files into ``files``."""
    from weike.plugins.site import website

    out: set[int] = set()
    calls: list[int] = []
    files = files if files is not None else []
    fork_worker, wait, write_search_shards = workers._fork_worker, workers._wait, website.write_search_shards

    def forked(items, work):
        worker = fork_worker(items, work)
        if any(str(getattr(item, "src_uri", "")).endswith(".md") for item in items):
            out.add(id(worker))
        return worker

    def waited(worker):
        out.discard(id(worker))
        return wait(worker)

    def watched(*args, **kwargs):
        calls.append(len(out))
        shards = write_search_shards(*args, **kwargs)
        files.append(set(shards.files))
        return shards

    monkeypatch.setattr(workers, "_fork_worker", forked)
    monkeypatch.setattr(workers, "_wait", waited)
    monkeypatch.setattr(website, "write_search_shards", watched)
    return calls


def test_the_search_index_is_made_while_the_workers_render(built_site, forks, monkeypatch):
    """The build's own process renders the pages Material's search indexes (the hand-written ones)
    first, then makes the merged index, its shards, catalogue.json, the sitemap and the feed while
    the workers render: every file, the index Material wrote included, as a serial build makes it."""
    calls = _search_made_while_rendering(monkeypatch)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    # Once, while both page workers rendered.
    assert calls == [2] and len([share for share in _site_shares(forks)]) > 0
    parallel = tree(built.site)
    index = json.loads(parallel["search/search_index.json"])
    assert {doc["location"] for doc in index["docs"]} >= {"about/", "guide/help/", "courses/photo/"}
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_an_index_material_writes_otherwise_has_its_shards_made_again_after_the_render(built_site, forks,
                                                                                       monkeypatch):
    """Should Material's search gather an entry after the index was made (here: the index it held
    then had others), the shards are made again from the index it writes, and none of
    the first ones is left: the site is a serial build's."""
    from weike.plugins.site import engine

    made: list[set[str]] = []
    calls = _search_made_while_rendering(monkeypatch, made)
    index_now = engine._search_index_now

    def early(search) -> bytes:
        data = json.loads(index_now(search))
        data["docs"] = [{"location": f"x{n}/", "title": f"页{n}", "text": f"第{n}页"} for n in range(200)]
        return json.dumps(data).encode("utf-8")

    monkeypatch.setattr(engine, "_search_index_now", early)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed and calls == [2, 0]
    assert made[0] - made[1]  # (more store chunks first: those are gone)
    parallel = tree(built.site)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_a_failure_making_the_index_while_the_pages_render_is_reported_after_them(built_site, forks,
                                                                                monkeypatch):
    """A full disk while the shards are written: reported as by a build that writes them after the
    render, the folder being built removed, nothing published."""
    import errno

    from weike.plugins.site import website

    write_search_shards = website.write_search_shards

    def full(folder, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "search/p/0.js"))

    monkeypatch.setattr(website, "write_search_shards", full)
    built = built_site(FILES)
    parallel = [(d.code, d.location, d.message_en) for d in built.result.diagnostics if d.is_error]
    assert [code for code, _, _ in parallel] == ["E301"]
    assert _site_shares(forks) and not list(built.site.parent.glob(".tmp-*")) and not built.site.exists()
    monkeypatch.setattr(workers, "PAGES_PER_PROCESS", 10**9)
    serial = build_site(built.root, built.delivered)
    assert [(d.code, d.location, d.message_en) for d in serial.diagnostics if d.is_error] == parallel
    monkeypatch.setattr(website, "write_search_shards", write_search_shards)


def test_with_hooks_the_search_index_is_made_after_the_render(built_site, forks, monkeypatch):
    """A repository's hooks may gather anything at any page (an entry of Material's search too):
    the pages are rendered by one process and the index made after them, as before."""
    calls = _search_made_while_rendering(monkeypatch)
    hook = "def on_page_context(context, page, config, nav):\n    return context\n"
    built = built_site({"mkdocs.yml": "site_name: 微课\nhooks:\n  - hooks.py\n", "hooks.py": hook})
    assert not built.result.failed
    assert calls == [0] and _site_shares(forks) == []


def test_a_site_file_where_a_shard_goes_is_overwritten_by_the_shard_as_in_a_serial_build(built_site, forks,
                                                                                      monkeypatch):
    """A static file of the theme's overrides below ``search/`` is copied before the pages render,
    never after the shards made meanwhile: a shard of the same path overwrites it, as in a serial
    build. (``site/search/`` is weike's: not published.)"""
    files = {**FILES, "site/overrides/search/p/0.js": "/* the repository's own */\n",
             "site/overrides/search/d/0.js": "/* the repository's own */\n",
             "site/overrides/search/own.js": "/* kept */\n"}
    built = built_site(files)
    assert not built.result.failed and _site_shares(forks)
    parallel = tree(built.site)
    assert parallel["search/p/0.js"].startswith(b"__weikeSearch.p(0,")
    assert parallel["search/own.js"] == b"/* kept */\n"
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_plugins_files_whose_process_fails_are_written_by_the_build(built_site, forks, monkeypatch):
    """A cold build's plugins' files and QR record are written aside; when that process fails, the
    build writes them itself."""
    from weike.plugins.site import website

    write = website.write_plugin_file

    def failing_in_a_worker(target, data):
        if workers.in_worker():
            raise OSError("the process writing the plugins' files failed")
        write(target, data)

    monkeypatch.setattr(website, "write_plugin_file", failing_in_a_worker)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    assert forks.count([None]) == 1  # (it was forked, and failed)
    assert (built.site / "assets/records/courses/photo.js").read_bytes() == \
        (BuildPaths.for_root(built.root).cache / "site/build/plugin-files/assets/records/courses/photo.js").read_bytes()
    codes = json.loads((BuildPaths.for_root(built.root).cache / "site" / QR_CODES_FILE).read_bytes())["codes"]
    assert sorted(codes) == ["https://weike.example.gov.cn/courses/demo/", "https://weike.example.gov.cn/courses/photo/"]


def test_a_parallel_cold_build_s_page_digests_taken_while_rendering_keep_its_pages(built_site, forks, monkeypatch):
    """A cold build takes its pages' digests while the workers render (with catalogue.json): the
    stamp records them as a rebuild takes them, so an edit to one lecture's notes renders that
    page and the navigation's, and keeps every other."""
    from tests.plugins.site.test_site_incremental import identities
    from weike.plugins.site import website

    rendering, taken = [False], []
    digests, run_mkdocs = website.page_digests, website.run_mkdocs

    def watched_digests(*args):
        taken.append(rendering[0])
        return digests(*args)

    def watched_render(*args, **kwargs):
        rendering[0] = True
        try:
            return run_mkdocs(*args, **kwargs)
        finally:
            rendering[0] = False

    monkeypatch.setattr(website, "page_digests", watched_digests)
    monkeypatch.setattr(website, "run_mkdocs", watched_render)
    built = built_site(FILES, site_url="https://weike.example.gov.cn/")
    assert taken == [True]  # (during the render, not before it)
    before = identities(built.site)
    notes = built.root / "courses/photo/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n新加的一段。\n", encoding="utf-8")
    built.rebuild()
    assert taken == [True, False]
    after = identities(built.site)
    rendered = {rel for rel in after if after[rel] != before.get(rel)}
    assert "courses/photo/03-lecture-3/index.html" in rendered
    assert "courses/demo/01-lecture-1/index.html" not in rendered
    assert "courses/photo/04-lecture-4/index.html" not in rendered
    assert len(rendered) < len(after) // 2
