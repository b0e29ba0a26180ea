"""A built folder's manifest as its stamp holds it: one string a file, read back exactly; a
damaged record is no manifest (the folder is made whole again)."""

from __future__ import annotations

import json

import pytest

from weike.plugins.site.manifest import Manifest, stamp_manifest


def test_a_manifest_reads_back_as_written():
    made = Manifest(written={"index.html": [120, 1_700_000_000_123_456_789, "ab" * 16],
                             "courses/课程/index.html": [5, 7, "cd" * 16], "search/p/0.js": [3, 9, "ef" * 16]},
                    made_from={"index.html": "12" * 32, "courses/课程/index.html": "34" * 32})
    stamp = json.loads(json.dumps({"inputs": "x", **made.as_json()}, ensure_ascii=False))
    again = stamp_manifest(stamp)
    assert again is not None
    assert again.written == made.written
    # Input digests are kept to 128 bits, and compared as such.
    assert again.made_from == {rel: digest[:32] for rel, digest in made.made_from.items()}
    assert again.unchanged("index.html", "12" * 32) and not again.unchanged("index.html", "13" * 32)
    assert not again.unchanged("search/p/0.js", "12" * 32)


@pytest.mark.parametrize("files", [
    {"index.html": "120 7"},                    # no digest
    {"index.html": "12o 7 " + "ab" * 32},       # not a number
    {"index.html": ["120", "7", "ab" * 32]},   # the old layout's list
    {"index.html": "1 2 3 4 5"},                # one field too many
    [],
])
def test_a_damaged_record_is_no_manifest(files):
    assert stamp_manifest({"format": 3, "files": files}) is None


def test_a_stamp_of_another_format_is_no_manifest():
    assert stamp_manifest({"format": 2, "written": {}, "made_from": {}}) is None
    assert stamp_manifest(None) is None


def test_publishing_clears_the_way_only_for_files_that_meet_something_in_it(tmp_path, monkeypatch):
    """A made file moves into place with one rename; only a folder where it goes, a file where its
    parent folder goes, or a parent folder not there yet is cleared (and counted) first."""
    from weike.plugins.site import manifest

    made, folder = tmp_path / "made", tmp_path / "site"
    layout = {"same.js": "new", "changed/page.html": "new", "dir-here/index.html": "new",
              "file-here/child.txt": "new", "fresh/deep/new.txt": "new"}
    for rel, text in layout.items():
        (made / rel).parent.mkdir(parents=True, exist_ok=True)
        (made / rel).write_text(text, encoding="utf-8")
    (folder / "changed").mkdir(parents=True)
    (folder / "same.js").write_text("old", encoding="utf-8")
    (folder / "changed/page.html").write_text("old", encoding="utf-8")
    (folder / "dir-here/index.html/inside").mkdir(parents=True)  # a folder where a file goes
    (folder / "file-here").write_text("a file where a folder goes", encoding="utf-8")
    cleared: list[str] = []
    real_make_room = manifest.make_room
    monkeypatch.setattr(manifest, "make_room",
                        lambda target, root: cleared.append(target.relative_to(root).as_posix()) or real_make_room(target, root))
    present = manifest.present_files(folder, stamp_file="stamp")
    done = manifest.publish(made, folder, previous=manifest.Manifest(), present=present, kept=[], made_from={})
    assert sorted(cleared) == ["dir-here/index.html", "file-here/child.txt", "fresh/deep/new.txt"]
    assert {rel: (folder / rel).read_text(encoding="utf-8") for rel in layout} == layout
    assert sorted(done.written) == sorted(layout)
    assert sorted(manifest.present_files(folder, stamp_file="stamp")) == sorted(layout)


def test_a_file_written_from_memory_is_recorded_without_reading_it_back(tmp_path, monkeypatch):
    """What the build wrote itself (:class:`WrittenFiles`) is recorded from its bytes, neither
    stat'ed nor read back; a file the writer did not write, wrote twice, or that was replaced
    since (another inode) is read back."""
    from weike.plugins.site import manifest

    folder = tmp_path / "site"
    folder.mkdir()
    written = manifest.WrittenFiles(folder)
    for rel, data in {"courses/课程/l1/index.html": b"<p>1</p>", "courses/课程/index.html": b"<p>course</p>",
                      "search/p/0.js": b"p(0)", "twice.html": b"first", "replaced.html": b"old"}.items():
        written.put(rel, data)
    written.add("twice.html", written.write("twice.html", b"second"))
    (folder / "assets").mkdir()
    (folder / "assets/theme.css").write_bytes(b"body{}")  # copied by the engine: not written here
    replacement = folder / "replacement.tmp"
    replacement.write_bytes(b"new")  # same size, another file
    replacement.replace(folder / "replaced.html")

    hashed: list[str] = []
    real_sha256_file = manifest.sha256_file
    monkeypatch.setattr(manifest, "sha256_file", lambda path: hashed.append(path.relative_to(folder).as_posix())
                        or real_sha256_file(path))
    recorded = manifest.record_all(folder, stamp_file=".stamp", written=written.handed_over())
    assert sorted(hashed) == ["assets/theme.css", "replaced.html", "twice.html"]
    hashed.clear()
    assert recorded == manifest.record_all(folder, stamp_file=".stamp")  # every file read back: the same
    assert len(hashed) == 6
    assert (folder / "twice.html").read_bytes() == b"second"
    assert written.write("fresh/deep/new.html", b"x")[0] == 1  # a missing parent is made with its parents


def test_a_large_folder_walked_by_two_processes_is_recorded_as_one_process_records_it(tmp_path, monkeypatch):
    """A folder of many files is walked for its records by this process and a forked one, each
    every other folder two levels down: every file is recorded once, as one process records it
    (files known and unknown, at every depth, a name the system cannot decode, a symbolic link),
    without the stamp or a skipped folder."""
    import os

    from weike.plugins.site import manifest

    folder = tmp_path / "site"
    folder.mkdir()
    written = manifest.WrittenFiles(folder)
    for course in range(7):
        for lecture in range(3):
            written.put(f"courses/课程{course}/l{lecture}/index.html", f"<p>{course}.{lecture}</p>".encode())
        written.put(f"courses/课程{course}/index.html", b"<p>course</p>")
    for rel in ("index.html", "search/p/0.js", "assets/javascripts/bundle.js", "a/b/c/d/e.txt"):
        written.put(rel, rel.encode())
    (folder / "courses/课程3/l1/picture.png").write_bytes(b"png")  # copied, not written: read back
    (folder / "assets/theme.css").write_bytes(b"body{}")
    os.symlink("index.html", folder / "courses/课程5/link.html")
    undecodable = os.fsencode(folder / "courses/课程2") + b"/\xff\xfe.html"
    with open(undecodable, "wb") as handle:
        handle.write(b"odd")
    (folder / "media/c/l").mkdir(parents=True)
    (folder / "media/c/l/video.mp4").write_bytes(b"mp4")
    (folder / ".stamp").write_bytes(b"{}")

    alone = manifest.record_all(folder, stamp_file=".stamp", skip=("media",), written=written.handed_over())
    monkeypatch.setattr(manifest, "RECORDS_SHARED", 2)
    forks: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    shared = manifest.record_all(folder, stamp_file=".stamp", skip=("media",), written=written.handed_over())
    assert forks == [1]
    assert shared == alone
    assert len(shared) == 7 * 4 + 4 + 4
    assert "courses/课程3/l1/picture.png" in shared and not any(rel.startswith("media/") for rel in shared)


def test_a_walk_whose_forked_process_fails_is_finished_by_the_build(tmp_path, monkeypatch):
    """Where the process that lists every other folder fails, the build lists them itself: the
    records are those one process takes."""
    import os

    from weike.plugins.site import manifest

    folder = tmp_path / "site"
    written = manifest.WrittenFiles(folder)
    folder.mkdir()
    for course in range(6):
        for lecture in range(2):
            written.put(f"courses/c{course}/l{lecture}/index.html", f"{course}.{lecture}".encode())
    (folder / "courses/c1/l0/picture.png").write_bytes(b"png")
    alone = manifest.record_all(folder, stamp_file=".stamp", written=written.handed_over())

    build = os.getpid()
    real_walk = manifest._walk

    def walk(*args, **kwargs):
        if os.getpid() != build:
            raise OSError("the forked process fails")
        return real_walk(*args, **kwargs)

    monkeypatch.setattr(manifest, "_walk", walk)
    monkeypatch.setattr(manifest, "RECORDS_SHARED", 2)
    assert manifest.record_all(folder, stamp_file=".stamp", written=written.handed_over()) == alone
