"""The media stage's ledger: unchanged lectures are handed forward, not planned or placed again; what
is delivered stays what was verified; an incremental stage equals a cold one, file by file."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest

import weike.plugins.media.manifest as manifest_module
import weike.plugins.media.stage as stage
from weike.builder.cli import main
from weike.plugins.media.ledger import LEDGER_FILE
from weike.plugins.media.manifest import MANIFEST_FILE
from tests.plugins.media_sources import make_source

pytestmark = pytest.mark.slow

SRT = "1\n00:00:00,000 --> 00:00:00,800\n你好\n"


def build(root: Path, *extra: str) -> int:
    return main(["build", str(root), "--only", "media", "--jobs", "2", *extra])


@pytest.fixture
def counted(monkeypatch) -> dict[str, list[str]]:
    """The lectures the media stage plans and places, by key (the real functions run)."""
    seen: dict[str, list[str]] = {"planned": [], "placed": []}
    real_plan, real_place = stage.plan_lecture, stage.place_delivered

    def plan_lecture(course, lecture, **kwargs):
        seen["planned"].append(lecture.key)
        return real_plan(course, lecture, **kwargs)

    def place_delivered(item, *args, **kwargs):
        seen["placed"].append(item.lecture.key)
        return real_place(item, *args, **kwargs)

    monkeypatch.setattr(stage, "plan_lecture", plan_lecture)
    monkeypatch.setattr(stage, "place_delivered", place_delivered)
    return seen


@pytest.fixture
def course_repo(make_repo, media):
    """One valid course of ten lectures sharing one clip, lecture 1 with subtitles, lecture 2 another clip."""
    root = make_repo({"courses/c/01-lecture-1/video.srt": SRT}, valid_courses=("c",))
    shutil.copyfile(make_source(media, "60fps.mp4"), root / "courses/c/02-lecture-2/video.mp4")
    return root


def media_tree(root: Path) -> dict[str, bytes]:
    folder = root / "dist" / "media"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def identities(root: Path) -> dict[str, tuple[int, int]]:
    folder = root / "dist" / "media"
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cold_tree(root: Path) -> dict[str, bytes]:
    """dist/media as a cold stage makes it (no dist/, no ledger; the content store stays)."""
    shutil.rmtree(root / "dist")
    (root / ".weike" / "cache" / LEDGER_FILE).unlink(missing_ok=True)
    assert build(root) == 0
    return media_tree(root)


def delivered_sha(root: Path, key: str) -> tuple[str, str]:
    record = json.loads((root / "dist/media" / MANIFEST_FILE).read_text(encoding="utf-8"))["lectures"][key]
    return record["sha256"], hashlib.sha256((root / "dist/media" / record["file"]).read_bytes()).hexdigest()


def test_only_the_edited_lecture_is_planned_and_placed_again(course_repo, counted, capsys):
    assert build(course_repo) == 0
    assert len(counted["planned"]) == 10 and len(counted["placed"]) == 10
    before = identities(course_repo)

    # Notes never reach the video: nothing is planned, placed or rewritten.
    notes = course_repo / "courses/c/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n多一段讲义。\n", encoding="utf-8")
    counted["planned"].clear(), counted["placed"].clear()
    capsys.readouterr()
    assert build(course_repo) == 0
    assert counted == {"planned": [], "placed": []}
    assert "10/10" in capsys.readouterr().out
    assert identities(course_repo) == before

    # New subtitles for one lecture: that lecture alone.
    (course_repo / "courses/c/01-lecture-1/video.srt").write_text(SRT.replace("你好", "大家好"), encoding="utf-8")
    assert build(course_repo) == 0
    assert counted == {"planned": ["c/01-lecture-1"], "placed": ["c/01-lecture-1"]}
    assert "大家好" in (course_repo / "dist/media/c/01-lecture-1.vtt").read_text(encoding="utf-8")

    # One source replaced (by lecture 2's clip): that lecture alone.
    counted["planned"].clear(), counted["placed"].clear()
    capsys.readouterr()
    source = course_repo / "courses/c/04-lecture-4/video.mp4"
    source.unlink()
    shutil.copyfile(course_repo / "courses/c/02-lecture-2/video.mp4", source)
    assert build(course_repo) == 0
    assert counted == {"planned": ["c/04-lecture-4"], "placed": ["c/04-lecture-4"]}

    incremental = media_tree(course_repo)
    assert incremental == cold_tree(course_repo)


def test_handed_forward_media_equals_what_placing_makes(course_repo):
    from weike.builder.running.pipeline import build as run_build
    from weike.builder.running.progress import Progress

    placed = run_build(course_repo, progress=Progress(), only="media", jobs=2, force=True).delivered
    notes = course_repo / "courses/c/05-lecture-5/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n改一下。\n", encoding="utf-8")
    kept = run_build(course_repo, progress=Progress(), only="media", jobs=2).delivered
    assert dict(kept) == dict(placed)


def test_a_delivered_file_replaced_on_disk_is_put_back(course_repo, counted):
    assert build(course_repo) == 0
    target = course_repo / "dist/media/c/03-lecture-3.mp4"
    target.unlink()
    target.write_bytes(b"not the delivered video")
    counted["planned"].clear(), counted["placed"].clear()
    assert build(course_repo) == 0
    assert counted["placed"] == ["c/03-lecture-3"]
    expected, actual = delivered_sha(course_repo, "c/03-lecture-3")
    assert actual == expected


def test_a_delivered_file_edited_in_place_is_caught(course_repo, counted, capsys):
    """Edited through its hard link, at the same size: the cache entry behind it is damaged too, and
    only its recorded SHA-256 can tell. It is made again, never delivered as it is."""
    assert build(course_repo) == 0
    target = course_repo / "dist/media/c/02-lecture-2.mp4"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(target, 0o644)
    with open(target, "r+b") as handle:  # in place: the same inode, the same size
        handle.write(bytes(data))
    counted["planned"].clear(), counted["placed"].clear()
    capsys.readouterr()
    assert build(course_repo) == 0
    assert counted["placed"] == ["c/02-lecture-2"]
    assert "1 transcoded" in capsys.readouterr().out
    expected, actual = delivered_sha(course_repo, "c/02-lecture-2")
    assert actual == expected


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": 1, "lectures": []}', b""])
def test_a_damaged_ledger_means_every_lecture_is_looked_at(course_repo, counted, damage):
    assert build(course_repo) == 0
    (course_repo / ".weike/cache" / LEDGER_FILE).write_bytes(damage)
    notes = course_repo / "courses/c/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n改一下。\n", encoding="utf-8")  # no replay
    counted["planned"].clear(), counted["placed"].clear()
    assert build(course_repo) == 0
    assert len(counted["placed"]) == 10
    # ...and the ledger is whole again: the next build hands every lecture forward.
    counted["planned"].clear(), counted["placed"].clear()
    notes.write_text(notes.read_text(encoding="utf-8") + "\n再改。\n", encoding="utf-8")
    assert build(course_repo) == 0
    assert counted == {"planned": [], "placed": []}


def test_a_manifest_edited_by_hand_is_written_again(course_repo, counted):
    assert build(course_repo) == 0
    manifest = course_repo / "dist/media" / MANIFEST_FILE
    good = manifest.read_bytes()
    data = json.loads(good)
    data["lectures"]["c/03-lecture-3"]["duration"] = 99.0
    manifest.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    counted["planned"].clear(), counted["placed"].clear()
    assert build(course_repo) == 0
    assert len(counted["placed"]) == 10 and manifest.read_bytes() == good


def test_the_manifest_is_json_with_one_lecture_per_line(course_repo):
    assert build(course_repo) == 0
    text = (course_repo / "dist/media" / MANIFEST_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    lines = text.splitlines()
    assert len(data["lectures"]) == 10 and len(lines) == 10 + 2
    for key, line in zip(sorted(data["lectures"]), lines[1:-1]):
        assert json.loads("{" + line.rstrip(",") + "}") == {key: data["lectures"][key]}


def test_a_manifest_another_weike_wrote_is_written_again_in_this_ones_bytes(course_repo, counted):
    """Same records, other bytes (an older weike indented it): an incremental build must still give
    a cold build's file, so a ledger of other code trusts no manifest."""
    assert build(course_repo) == 0
    manifest = course_repo / "dist/media" / MANIFEST_FILE
    ours = manifest.read_bytes()
    manifest.write_text(json.dumps(json.loads(ours), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ledger_file = course_repo / ".weike/cache" / LEDGER_FILE
    ledger = pickle.loads(ledger_file.read_bytes())
    st = manifest.stat()
    ledger.update(code="an older weike", manifest=[st.st_size, st.st_mtime_ns, st.st_ino])
    ledger_file.write_bytes(pickle.dumps(ledger))
    notes = course_repo / "courses/c/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n改。\n", encoding="utf-8")
    assert build(course_repo) == 0
    assert manifest.read_bytes() == ours


def test_a_deleted_subrip_file_is_delivered_again_not_replayed_away(course_repo):
    """The .srt beside the .vtt is an output like the others: deleting it defeats the build stamp."""
    assert build(course_repo) == 0
    srt = course_repo / "dist/media/c/01-lecture-1.srt"
    good = srt.read_bytes()
    srt.unlink()
    assert build(course_repo) == 0
    assert srt.read_bytes() == good


def test_one_lecture_replaced_is_the_one_verified_placed_and_written_into_the_manifest(course_repo, counted,
                                                                                        monkeypatch):
    """The other nine are handed forward: not planned, verified, placed, and their manifest lines
    are the file's own (no record encoded again); the manifest equals a cold stage's."""
    assert build(course_repo) == 0
    encoded: list[str] = []
    verified: list[str] = []
    real_dumps, real_get = manifest_module.json.dumps, stage.ContentStore.get

    def dumps(value, *args, **kwargs):
        if isinstance(value, dict) and "cache_key" in value:
            encoded.append(f"{value['course']}/{value['lecture']}")
        return real_dumps(value, *args, **kwargs)

    def get(self, key, *, verify=False):
        if verify:
            verified.append(key)
        return real_get(self, key, verify=verify)

    monkeypatch.setattr(manifest_module.json, "dumps", dumps)
    monkeypatch.setattr(stage.ContentStore, "get", get)
    counted["planned"].clear(), counted["placed"].clear()
    source = course_repo / "courses/c/06-lecture-6/video.mp4"
    source.unlink()
    shutil.copyfile(course_repo / "courses/c/02-lecture-2/video.mp4", source)
    assert build(course_repo) == 0
    assert counted == {"planned": ["c/06-lecture-6"], "placed": ["c/06-lecture-6"]}
    assert encoded == ["c/06-lecture-6"] and verified == []
    monkeypatch.undo()
    assert media_tree(course_repo) == cold_tree(course_repo)


@pytest.fixture
def two_courses(make_repo, media):
    """Courses c and d, ten lectures each; c's lecture 1 with subtitles."""
    return make_repo({"courses/c/01-lecture-1/video.srt": SRT}, valid_courses=("c", "d"))


@pytest.fixture
def examined(monkeypatch) -> list[str]:
    """The lectures whose inputs the media stage digested one by one (the real function runs)."""
    seen: list[str] = []
    real = stage.lecture_digest

    def lecture_digest(course, lecture):
        seen.append(lecture.key)
        return real(course, lecture)

    monkeypatch.setattr(stage, "lecture_digest", lecture_digest)
    return seen


def test_an_unchanged_course_is_handed_forward_whole_and_only_an_edited_one_is_examined(two_courses, examined,
                                                                                         counted):
    assert build(two_courses) == 0
    assert len(examined) == 20
    examined.clear(), counted["planned"].clear(), counted["placed"].clear()

    # A notes edit changes course c's folder: its lectures are looked at one by one (and handed
    # forward, notes never reach the video); d is handed forward whole, none of its lectures looked at.
    notes = two_courses / "courses/c/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n多一段讲义。\n", encoding="utf-8")
    assert build(two_courses) == 0
    assert examined == [f"c/{n:02d}-lecture-{n}" for n in range(1, 11)]
    assert counted == {"planned": [], "placed": []}

    # ...and c is remembered whole again: the next build with no media change looks at no lecture.
    examined.clear()
    (two_courses / "weike.yml").write_text("# 全省微课\n", encoding="utf-8")  # every course's key changes
    assert build(two_courses) == 0
    assert examined == [f"{slug}/{n:02d}-lecture-{n}" for slug in "cd" for n in range(1, 11)]
    examined.clear()
    notes.write_text(notes.read_text(encoding="utf-8") + "\n再多一段。\n", encoding="utf-8")
    assert build(two_courses) == 0
    assert examined == [f"c/{n:02d}-lecture-{n}" for n in range(1, 11)]
    examined.clear()

    # New subtitles in c: c's lectures are examined, that lecture alone placed; d stays whole.
    (two_courses / "courses/c/01-lecture-1/video.srt").write_text(SRT.replace("你好", "大家好"), encoding="utf-8")
    assert build(two_courses) == 0
    assert examined == [f"c/{n:02d}-lecture-{n}" for n in range(1, 11)]
    assert counted == {"planned": ["c/01-lecture-1"], "placed": ["c/01-lecture-1"]}
    assert "大家好" in (two_courses / "dist/media/c/01-lecture-1.vtt").read_text(encoding="utf-8")
    assert media_tree(two_courses) == cold_tree(two_courses)


@pytest.mark.parametrize("damage", ["replaced", "edited in place", "deleted"])
def test_a_delivered_file_of_an_unchanged_course_is_caught(two_courses, examined, counted, damage):
    """Nothing in course d changed but one of its delivered files: the course is not handed forward
    whole, and that lecture is delivered again, as the cold stage delivers it. (Edited in place, the
    file is every lecture's: all twenty share one clip, so one cache entry and one inode.)"""
    assert build(two_courses) == 0
    good = media_tree(two_courses)
    target = two_courses / "dist/media/d/04-lecture-4.mp4"
    if damage == "replaced":
        target.unlink()
        target.write_bytes(b"not the delivered video")
    elif damage == "edited in place":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        os.chmod(target, 0o644)
        with open(target, "r+b") as handle:
            handle.write(bytes(data))
    else:
        target.unlink()
    notes = two_courses / "courses/c/03-lecture-3/lecture.md"  # no replay of the build stamp
    notes.write_text(notes.read_text(encoding="utf-8") + "\n改一下。\n", encoding="utf-8")
    examined.clear(), counted["planned"].clear(), counted["placed"].clear()
    assert build(two_courses) == 0
    if damage == "edited in place":
        assert len(counted["placed"]) == 20 and len(examined) == 20
    else:
        assert counted["placed"] == ["d/04-lecture-4"]
        # c's notes changed its folder; d is looked at for its delivered file alone.
        assert examined == [f"{slug}/{n:02d}-lecture-{n}" for slug in "cd" for n in range(1, 11)]
    assert media_tree(two_courses) == good


def test_a_course_the_check_has_no_key_for_is_recalled_by_its_lectures_parts(two_courses, examined, counted):
    """A symbolic link in course d's folder: the check keys no such course, so the stage digests its
    lectures' own parts as one (still no lecture looked at alone while nothing of d changed)."""
    (two_courses / "courses/d/links").mkdir()
    (two_courses / "courses/d/links/notes.md").symlink_to("../01-lecture-1/lecture.md")
    assert build(two_courses) == 0
    examined.clear(), counted["planned"].clear(), counted["placed"].clear()

    notes = two_courses / "courses/d/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n多一段讲义。\n", encoding="utf-8")
    assert build(two_courses) == 0
    assert examined == [] and counted == {"planned": [], "placed": []}

    # Its subtitles changed: its lectures are looked at, that one placed again.
    (two_courses / "courses/d/02-lecture-2/video.srt").write_text(SRT, encoding="utf-8")
    assert build(two_courses) == 0
    assert examined == [f"d/{n:02d}-lecture-{n}" for n in range(1, 11)]
    assert counted == {"planned": ["d/02-lecture-2"], "placed": ["d/02-lecture-2"]}
    assert media_tree(two_courses) == cold_tree(two_courses)


@pytest.fixture
def manifest_reads(monkeypatch) -> dict[str, int]:
    """How often the stage reads manifest.json and makes a value from one of its records."""
    seen = {"read": 0, "records": 0}
    real_read, real_from_record = stage.read_manifest, stage.delivered_from_record

    def read_manifest(*args, **kwargs):
        seen["read"] += 1
        return real_read(*args, **kwargs)

    def delivered_from_record(*args, **kwargs):
        seen["records"] += 1
        return real_from_record(*args, **kwargs)

    monkeypatch.setattr(stage, "read_manifest", read_manifest)
    monkeypatch.setattr(stage, "delivered_from_record", delivered_from_record)
    return seen


def delivered_now(root: Path, **options) -> dict:
    from weike.builder.running.pipeline import build as run_build
    from weike.builder.running.progress import Progress

    return dict(run_build(root, progress=Progress(), only="media", jobs=2, **options).delivered)


def test_unchanged_courses_are_handed_forward_from_the_ledger_not_the_manifest(two_courses, manifest_reads,
                                                                              counted):
    """A notes edit: every lecture is handed forward, from the values the ledger keeps; manifest.json
    is neither read nor written, and no value is made from a record. Equal to placing them all."""
    placed = delivered_now(two_courses, force=True)
    manifest = two_courses / "dist/media" / MANIFEST_FILE
    written = manifest.stat().st_mtime_ns
    manifest_reads.update(read=0, records=0)
    counted["placed"].clear()
    notes = two_courses / "courses/c/03-lecture-3/lecture.md"
    for edit in ("\n多一段讲义。\n", "\n再多一段。\n"):  # the second hands forward what the first handed forward
        notes.write_text(notes.read_text(encoding="utf-8") + edit, encoding="utf-8")
        kept = delivered_now(two_courses)
        assert kept == placed
        # ...each with the digest it was placed with, which later stages may compare instead.
        assert {key: media.digest for key, media in kept.items()} == {key: media.digest for key, media in placed.items()}
        assert all(len(media.digest) == 64 for media in kept.values())
    assert manifest_reads == {"read": 0, "records": 0}
    assert counted["placed"] == [] and manifest.stat().st_mtime_ns == written


def test_a_course_added_reads_the_manifest_once_and_makes_no_value_from_records(two_courses, make_repo,
                                                                               manifest_reads, counted):
    """Course e added: its lectures are placed and written into the manifest (read once to keep the
    others' lines); c and d are handed forward from the ledger's values."""
    assert build(two_courses) == 0
    shutil.copytree(two_courses / "courses/d", two_courses / "courses/e")
    course = two_courses / "courses/e/course.yml"
    course.write_text(course.read_text(encoding="utf-8").replace("title:", "title: 又一门", 1), encoding="utf-8")
    manifest_reads.update(read=0, records=0)
    counted["placed"].clear()
    assert build(two_courses) == 0
    assert manifest_reads == {"read": 1, "records": 0}
    assert sorted(counted["placed"]) == [f"e/{n:02d}-lecture-{n}" for n in range(1, 11)]
    assert media_tree(two_courses) == cold_tree(two_courses)


def test_damaged_values_in_the_ledger_are_made_from_the_manifest_records(two_courses, manifest_reads, counted):
    """A course's pickled values that do not read back: its lectures are made from their manifest
    records (still handed forward: nothing placed), as placing makes them; the ledger is whole again."""
    placed = delivered_now(two_courses, force=True)
    ledger_file = two_courses / ".weike/cache" / LEDGER_FILE
    ledger = pickle.loads(ledger_file.read_bytes())
    ledger["values"]["d"] = ledger["values"]["d"][:-40] + b"\x00" * 40
    ledger_file.write_bytes(pickle.dumps(ledger))
    notes = two_courses / "courses/c/03-lecture-3/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n改一下。\n", encoding="utf-8")
    manifest_reads.update(read=0, records=0)
    counted["placed"].clear()
    assert delivered_now(two_courses) == placed
    assert manifest_reads == {"read": 1, "records": 10} and counted["placed"] == []
    manifest_reads.update(read=0, records=0)
    notes.write_text(notes.read_text(encoding="utf-8") + "\n再改。\n", encoding="utf-8")
    assert delivered_now(two_courses) == placed
    assert manifest_reads == {"read": 0, "records": 0}


def test_a_title_edit_without_cards_plans_nothing_and_with_the_mark_plans_the_course(two_courses, counted,
                                                                                     examined):
    """Without title cards or the mark a delivery reads of its course only the slug and the cover:
    a course's title edited leaves every lecture handed forward. With the mark (the provider's name
    drawn on the video), the provider's name edited re-plans the course's lectures. Both as cold."""
    assert build(two_courses) == 0
    course = two_courses / "courses/c/course.yml"
    text = course.read_text(encoding="utf-8")
    course.write_text(text.replace("title: ", "title: 修订版", 1), encoding="utf-8")
    counted["planned"].clear(), counted["placed"].clear()
    assert build(two_courses) == 0
    assert counted == {"planned": [], "placed": []}
    assert media_tree(two_courses) == cold_tree(two_courses)

    course.write_text(course.read_text(encoding="utf-8") + "title_cards:\n  mark: true\n", encoding="utf-8")
    assert build(two_courses) == 0
    text = course.read_text(encoding="utf-8")
    name = re.search(r"^  name: (.*)$", text, re.MULTILINE)[1]
    course.write_text(text.replace(f"  name: {name}\n", f"  name: {name}分校\n", 1), encoding="utf-8")
    counted["planned"].clear(), counted["placed"].clear(), examined.clear()
    assert build(two_courses) == 0
    assert counted["planned"] == [f"c/{n:02d}-lecture-{n}" for n in range(1, 11)]
    assert media_tree(two_courses) == cold_tree(two_courses)
