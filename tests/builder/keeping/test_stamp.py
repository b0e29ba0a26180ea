"""A whole build is replayed when nothing it reads changed, and never otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from weike.builder.cli import main
from weike.builder.contracts.context import BuildPaths
from weike.builder.keeping.stamp import STAMP_FORMAT, BuildStamp, RecordedBuild, watched_identities
from tests.conftest import lecture_md


def build(root, *extra) -> int:
    return main(["build", str(root), "--quiet", *extra])


@pytest.fixture
def built(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    assert build(root) == 0
    capsys.readouterr()
    return root


def replayed(capsys) -> bool:
    return "nothing changed since the last build" in capsys.readouterr().out


@pytest.mark.slow
def test_unchanged_build_is_replayed_and_any_change_runs_again(built, capsys):
    root = built
    assert build(root) == 0 and replayed(capsys)

    lecture = root / "courses/c/02-lecture-2/lecture.md"
    lecture.write_text(lecture_md(title="新标题"), encoding="utf-8")
    assert build(root) == 0 and not replayed(capsys)
    assert "新标题" in (root / "dist/site/courses/c/02-lecture-2/index.html").read_text(encoding="utf-8")
    assert build(root) == 0 and replayed(capsys)

    (root / "courses/c/01-lecture-1/extra.txt").write_text("a new file", encoding="utf-8")  # added file
    assert build(root) == 0 and not replayed(capsys)

    (root / "weike.yml").write_text("province: 某省\n", encoding="utf-8")  # settings
    assert build(root) == 0 and not replayed(capsys)

    assert build(root, "--only", "site") == 0 and not replayed(capsys)  # other options: another build
    assert build(root) == 0 and not replayed(capsys)
    assert build(root, "--force") == 0 and not replayed(capsys)


@pytest.mark.slow
def test_touched_or_missing_outputs_run_the_build_again(built, capsys):
    root = built
    video = root / "dist/media/c/03-lecture-3.mp4"
    video.unlink()
    assert build(root) == 0 and not replayed(capsys)
    assert video.is_file()
    report = next((root / "dist/reports").glob("*.xlsx"))
    os.utime(report, ns=(1, 1))
    assert build(root) == 0 and not replayed(capsys)
    assert build(root) == 0 and replayed(capsys)


@pytest.mark.slow
def test_a_page_deleted_or_added_deep_in_the_site_or_offline_edition_runs_the_build_again(built, capsys):
    root = built
    page = root / "dist/site/courses/c/03-lecture-3/index.html"
    offline_page = root / "dist/offline/courses/c/03-lecture-3/index.html"
    made = page.read_bytes()
    page.unlink()
    assert build(root) == 0 and not replayed(capsys)
    assert page.read_bytes() == made  # repaired, as a cold build makes it
    assert build(root) == 0 and replayed(capsys)
    offline_made = offline_page.read_bytes()
    offline_page.unlink()
    assert build(root) == 0 and not replayed(capsys)
    assert offline_page.read_bytes() == offline_made
    (root / "dist/site/courses/c/03-lecture-3/stray.html").write_text("<p>not weike's</p>", encoding="utf-8")
    assert build(root) == 0 and not replayed(capsys)
    video_link = next((root / "dist/site/media/c").glob("*.mp4"))
    video_link.unlink()
    assert build(root) == 0 and not replayed(capsys)
    assert video_link.is_file()
    assert build(root) == 0 and replayed(capsys)


@pytest.mark.slow
def test_a_replayed_build_imports_no_library_only_a_stage_needs(built):
    """A build replayed unchanged renders, packs and shows nothing: the libraries that do so are
    not imported (together they were a third of a no-change build at catalogue scale)."""
    unneeded = ("markdown", "openpyxl", "docx", "rich", "pypinyin", "requests", "mkdocs", "jieba")
    script = ("import sys; from weike.builder.cli import main; code = main(sys.argv[1:]); "
              f"print(sorted(m for m in {unneeded!r} if m in sys.modules)); sys.exit(code)")
    replay = subprocess.run([sys.executable, "-c", script, "build", str(built), "--quiet"],
                            capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    assert "nothing changed since the last build" in replay.stdout
    assert replay.stdout.splitlines()[-1] == "[]"


@pytest.mark.slow
def test_replay_repeats_the_warnings(built, capsys):
    root = built
    path = root / "courses/c/course.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("created: 2023-09-01", "created: 2099-01-01"),
                    encoding="utf-8")
    assert build(root) == 0
    first = capsys.readouterr().out
    assert build(root) == 0
    again = capsys.readouterr().out
    assert "W113" in first and "W113" in again and "nothing changed" in again
    assert build(root, "--strict") == 1  # replayed warnings still fail a strict build


@pytest.mark.slow
def test_failed_build_is_never_replayed(built, capsys):
    root = built
    video = root / "courses/c/04-lecture-4/video.mp4"
    video.write_bytes(b"not a video")
    assert build(root) == 1
    capsys.readouterr()
    assert build(root) == 1 and not replayed(capsys)


@pytest.mark.slow
def test_a_plugin_change_runs_the_build_again(built, capsys):
    root = built
    (root / "plugins").mkdir()
    (root / "plugins/county.py").write_text("X = 1\n", encoding="utf-8")
    assert build(root) == 0 and not replayed(capsys)
    assert build(root) == 0 and replayed(capsys)


# --- the replay judges output folders by a list of paths, cheaply and without going blind ---


def _stamp(root: Path) -> BuildStamp:
    return BuildStamp(BuildPaths.for_root(root), options=(), code=[])


def _next_tick(folder: Path) -> None:
    """Wait until the file system's clock has moved on (file times have the kernel's tick, not ns),
    so a change made now cannot carry the times recorded before it."""
    probe = folder / "tick"
    probe.write_bytes(b"")
    first = probe.stat().st_ctime_ns
    while probe.stat().st_ctime_ns == first:
        os.utime(probe)


@pytest.fixture
def recorded(tmp_path):
    """A stamp over one video and a site folder whose page is deep inside it and whose video is a
    hard link of that video (as the site stage places them)."""
    root = tmp_path / "repo"
    video = root / "dist/media/c/01.mp4"
    page = root / "dist/site/courses/c/01-lecture-1/index.html"
    for path, text in ((video, "video bytes"), (page, "<p>第一讲</p>"), (root / "dist/site/index.html", "home")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "dist/site/media/c").mkdir(parents=True)
    os.link(video, root / "dist/site/media/c/01.mp4")
    _stamp(root).record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[],
                                      outputs=[video, root / "dist/site"]))
    _next_tick(tmp_path)
    return root


def _rewrite_keeping_size_and_time(path: Path, text: str) -> None:
    stat = path.stat()
    with open(path, "r+b") as file:  # in place: same inode
        file.write(text.encode("utf-8"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _replace_by_rename(path: Path) -> None:
    stat = path.stat()
    other = path.with_name("new")
    other.write_bytes(path.read_bytes())
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(other, path)


CHANGES = {
    "deep page deleted": lambda root: (root / "dist/site/courses/c/01-lecture-1/index.html").unlink(),
    "deep page rewritten, size and mtime kept": lambda root: _rewrite_keeping_size_and_time(
        root / "dist/site/courses/c/01-lecture-1/index.html", "<p>第二讲</p>"),
    "deep page replaced by a copy": lambda root: _replace_by_rename(
        root / "dist/site/courses/c/01-lecture-1/index.html"),
    "stray file added deep": lambda root: (root / "dist/site/courses/c/stray.html").write_text("x"),
    "site's video link deleted": lambda root: (root / "dist/site/media/c/01.mp4").unlink(),
    "site's video link replaced by a copy": lambda root: _replace_by_rename(root / "dist/site/media/c/01.mp4"),
    "video rewritten through the site's link": lambda root: _rewrite_keeping_size_and_time(
        root / "dist/site/media/c/01.mp4", "VIDEO BYTES"),
    "site folder deleted": lambda root: shutil.rmtree(root / "dist/site"),
}


def test_untouched_outputs_are_replayed(recorded):
    replayed = _stamp(recorded).replay()
    assert replayed is not None
    assert list(replayed.outputs) == [recorded / "dist/media/c/01.mp4", recorded / "dist/site"]
    assert isinstance(replayed.outputs[-1], Path) and len(replayed.outputs) == 2


def test_setting_or_changing_the_source_date_runs_the_build_again(recorded, monkeypatch):
    """SOURCE_DATE_EPOCH dates every zip entry and form: the stamp counts it itself, whichever
    plugin reads it (the stamp's own environment, not each plugin's weike_build_inputs)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert _stamp(recorded).replay() is not None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert _stamp(recorded).replay() is None
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert _stamp(recorded).replay() is not None


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_to_an_output_folder_runs_the_build(recorded, change):
    CHANGES[change](recorded)
    assert _stamp(recorded).replay() is None


def test_a_hard_link_of_a_watched_file_is_judged_through_it_and_its_folder(recorded):
    watched = watched_identities([recorded / "dist/media/c/01.mp4", recorded / "dist/site"])[0]
    assert str(recorded / "dist/site/media/c") in watched  # its folder: the link's coming and going
    assert str(recorded / "dist/site/media/c/01.mp4") not in watched  # its bytes: the video's inode
    assert str(recorded / "dist/site/courses/c/01-lecture-1/index.html") in watched


def test_a_damaged_stamp_is_no_stamp(recorded):
    stamp = _stamp(recorded)
    stamp.file.write_text(f'{{"format": {STAMP_FORMAT}, "inputs": "{stamp.inputs}", "watched": 7}}', encoding="utf-8")
    assert stamp.replay() is None
    stamp.file.write_bytes(b"\xff not json")
    assert stamp.replay() is None


def test_a_listing_torn_or_of_another_build_is_no_stamp(recorded):
    stamp = _stamp(recorded)
    listed = stamp.listing.read_bytes()
    stamp.listing.write_bytes(listed[:-3])  # torn: written without an fsync
    assert stamp.replay() is None
    stamp.listing.write_bytes(listed.replace(b"01.mp4", b"02.mp4", 1))  # another build's, or edited
    assert stamp.replay() is None
    stamp.listing.unlink()
    assert stamp.replay() is None
    stamp.listing.write_bytes(listed)
    assert stamp.replay() is not None


def test_a_build_that_only_rewrote_its_outputs_keeps_the_listing_as_it_was(recorded):
    """The listing (megabytes at catalogue scale) is written only when the list of paths changes;
    the stamp still follows the outputs' new identities."""
    stamp = _stamp(recorded)
    before = stamp.listing.stat()
    page = recorded / "dist/site/courses/c/01-lecture-1/index.html"
    page.write_text("<p>改过的第一讲</p>", encoding="utf-8")
    outputs = [recorded / "dist/media/c/01.mp4", recorded / "dist/site"]
    assert stamp.replay() is None
    stamp.record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[], outputs=outputs))
    after = stamp.listing.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (before.st_ino, before.st_mtime_ns, before.st_ctime_ns)
    assert _stamp(recorded).replay() is not None
    (recorded / "dist/site/courses/c/new.html").write_text("new", encoding="utf-8")
    stamp.record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[], outputs=outputs))
    assert str(recorded / "dist/site/courses/c/new.html").encode() in stamp.listing.read_bytes()
    assert _stamp(recorded).replay() is not None


def test_the_walk_takes_each_identity_the_replay_compares(recorded):
    outputs = [recorded / "dist/media/c/01.mp4", recorded / "dist/site", recorded / "dist/gone.zip"]
    watched, found = watched_identities(outputs)
    assert watched == watched_identities(outputs)[0] and str(recorded / "dist/gone.zip") in watched
    again = []
    for path in watched:
        try:
            st = os.stat(path)
            again.append((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        except OSError:
            again.append(None)
    assert found == again and found[watched.index(str(recorded / "dist/gone.zip"))] is None


def _links_in_the_site(root: Path) -> list[Path]:
    """The video linked twice more in the site and a page linked from the offline edition (as its
    pages are placed), every link after what it links."""
    links = [root / "dist/site/media/c/01-copy.mp4", root / "dist/site/media/d/01.mp4",
             root / "dist/site/z-offline/01-lecture-1.html"]
    for link in links:
        link.parent.mkdir(parents=True, exist_ok=True)
    os.link(root / "dist/media/c/01.mp4", links[0])
    os.link(root / "dist/media/c/01.mp4", links[1])
    os.link(root / "dist/site/courses/c/01-lecture-1/index.html", links[2])
    return links


def test_the_walk_stats_each_watched_path_once_and_no_link_of_an_inode_already_seen(recorded, monkeypatch):
    links = _links_in_the_site(recorded)
    stat, stated = os.stat, []

    def counted(path, *args, **kwargs):
        stated.append(os.fspath(path))
        return stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counted)
    watched, found = watched_identities([recorded / "dist/media/c/01.mp4", recorded / "dist/site"])
    monkeypatch.undo()
    assert sorted(stated) == sorted(watched) and len(stated) == len(set(stated))
    assert not {str(links[0]), str(links[1])} & set(stated)  # links of the video, stat'ed first
    # the page and its link: whichever the walk comes to first, not both
    files = [path for path in stated if os.path.isfile(path)]
    inodes = [os.stat(path).st_ino for path in files]
    assert len(inodes) == len(set(inodes)) == 3  # the video, the site's home page, the lecture's page
    assert len(stated) == 3 + len([path for path in stated if os.path.isdir(path)])


def test_a_file_seen_only_through_its_links_is_still_judged(recorded):
    """A link skipped unstat'ed is a link of a watched inode: rewriting the bytes through it, or
    putting another file in its place, is seen."""
    links = _links_in_the_site(recorded)
    stamp = _stamp(recorded)
    outputs = [recorded / "dist/media/c/01.mp4", recorded / "dist/site"]
    stamp.record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[], outputs=outputs))
    _next_tick(recorded.parent)
    assert _stamp(recorded).replay() is not None
    _rewrite_keeping_size_and_time(links[2], "<p>第二讲</p>")  # the page, through the offline edition's link
    assert _stamp(recorded).replay() is None
    stamp.record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[], outputs=outputs))
    _next_tick(recorded.parent)
    assert _stamp(recorded).replay() is not None
    _replace_by_rename(links[1])  # a copy in place of a link of the video, deep in another folder
    assert _stamp(recorded).replay() is None
    stamp.record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[], outputs=outputs))
    _next_tick(recorded.parent)
    assert _stamp(recorded).replay() is not None
    links[0].unlink()  # a symbolic link to another file in place of a hard link of the video
    (recorded / "dist/elsewhere.mp4").write_bytes(b"other video")
    links[0].symlink_to(recorded / "dist/elsewhere.mp4")
    assert _stamp(recorded).replay() is None
    stamp.record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[], outputs=outputs))
    assert str(links[0]) in _stamp(recorded).listing.read_bytes().decode()  # a symbolic link is stat'ed
    _next_tick(recorded.parent)
    (recorded / "dist/elsewhere.mp4").write_bytes(b"tampered video")  # its target, outside every output
    assert _stamp(recorded).replay() is None


def test_hard_links_known_by_their_listed_inodes_watch_what_stat_ing_every_file_watches(recorded):
    """The walk a file system whose listing disagrees with stat falls back to watches the same."""
    from weike.builder.keeping.stamp import _walk

    _links_in_the_site(recorded)
    outputs = [recorded / "dist/media/c/01.mp4", recorded / "dist/site", recorded / "dist/gone.zip"]
    assert _walk(outputs, by_listing=True) == _walk(outputs, by_listing=False)


# --- at catalogue scale the end of a build walks its output folders in two processes ---


def _with_offline_edition(root: Path) -> list[Path]:
    """An offline edition beside the site, its video a link of the site's (as the edition places
    it); the outputs of a build that made both, the site walked by the forked process."""
    page = root / "dist/offline/courses/c/01-lecture-1/index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<p>第一讲（离线）</p>", encoding="utf-8")
    (root / "dist/offline/media/c").mkdir(parents=True)
    os.link(root / "dist/site/media/c/01.mp4", root / "dist/offline/media/c/01.mp4")
    return [root / "dist/media/c/01.mp4", root / "dist/site", root / "dist/offline"]


def _record(root: Path, outputs: list[Path], *, shared_walk: bool) -> None:
    _stamp(root).record(RecordedBuild(courses=1, lectures=1, built=["c"], diagnostics=[], summary_lines=[],
                                      outputs=outputs), shared_walk=shared_walk)
    _next_tick(root.parent)


OFFLINE_CHANGES = {
    "offline page rewritten, size and mtime kept": lambda root: _rewrite_keeping_size_and_time(
        root / "dist/offline/courses/c/01-lecture-1/index.html", "<p>第二讲（离线）</p>"),
    "offline video link replaced by a copy": lambda root: _replace_by_rename(root / "dist/offline/media/c/01.mp4"),
    "stray file added to the offline edition": lambda root: (root / "dist/offline/courses/stray.html").write_text("x"),
}


@pytest.mark.parametrize("change", sorted({**CHANGES, **OFFLINE_CHANGES}))
def test_a_walk_shared_with_a_forked_process_sees_every_change_one_walk_sees(recorded, change):
    outputs = _with_offline_edition(recorded)
    _record(recorded, outputs, shared_walk=True)
    assert _stamp(recorded).replay() is not None
    {**CHANGES, **OFFLINE_CHANGES}[change](recorded)
    assert _stamp(recorded).replay() is None


def test_a_shared_walk_watches_what_one_walk_watches_and_takes_what_the_replay_compares(recorded):
    from weike.builder.keeping.stamp import identities, watched_listing

    outputs = _with_offline_edition(recorded)
    one, digest = watched_listing(outputs)
    shared, shared_digest = watched_listing(outputs, shared=True)
    assert set(one) <= set(shared)
    assert [path for path in shared if "/dist/offline" not in path] == [path for path in one if "/dist/offline" not in path]
    assert str(recorded / "dist/site/media/c/01.mp4") not in shared  # a link of an output file: known by its inode
    assert (digest, shared_digest) == (identities(one), identities(shared))
    # Recorded either way, the stamp replays, and a walk shared or not follows the other's record.
    _record(recorded, outputs, shared_walk=True)
    assert _stamp(recorded).replay() is not None
    _record(recorded, outputs, shared_walk=False)
    assert _stamp(recorded).replay() is not None


def test_course_folders_walked_in_two_processes_count_as_walked_in_one(tmp_path):
    from weike.builder.keeping.course_memo import folder_identity
    from weike.builder.keeping.stamp import courses_entries

    courses = tmp_path / "courses"
    for slug in ("a", "b", "c", "d", "e"):
        (courses / slug / "01-lecture").mkdir(parents=True)
        (courses / slug / "01-lecture" / "lecture.md").write_text(f"# {slug}\n", encoding="utf-8")
    (courses / "README.md").write_text("courses\n", encoding="utf-8")
    one = courses_entries(courses, shared=False)
    assert courses_entries(courses, shared=True) == one
    assert one[1] == {str(courses / slug): folder_identity(courses / slug) for slug in ("a", "b", "c", "d", "e")}
    _next_tick(tmp_path)
    (courses / "e" / "01-lecture" / "lecture.md").write_text("# e, edited\n", encoding="utf-8")  # walked aside
    (courses / "d" / "01-lecture" / "notes.md").write_text("new\n", encoding="utf-8")
    shared = courses_entries(courses, shared=True)
    assert shared == courses_entries(courses, shared=False) != one
    changed = {path for path, identity in shared[1].items() if identity != one[1][path]}
    assert changed == {str(courses / "d"), str(courses / "e")}
