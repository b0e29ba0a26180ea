"""Deterministic, atomic zips: fixed metadata, safe names, checked sources, nothing half-written."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import zipfile

import pytest

from weike.builder.keeping.archive import (
    CHECKSUMS_NAME,
    FIXED_DATE_TIME,
    ArchiveMember,
    DuplicateMember,
    MemberChanged,
    UnsafeMemberName,
    check_member_name,
    checksums_member,
    safe_name_component,
    write_zip,
    zip_bytes,
)


@pytest.fixture
def video(media):
    return media("landscape.mp4")


def test_entries_sorted_stored_with_fixed_time_and_permissions(tmp_path, video):
    members = [ArchiveMember.from_bytes("b/notes.txt", "讲义".encode()), ArchiveMember.from_file("a/视频.mp4", video),
               ArchiveMember.from_bytes("SHA", b"x")]
    path = write_zip(tmp_path / "out.zip", members)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["SHA", "a/视频.mp4", "b/notes.txt"]
        for info in infos:
            assert info.date_time == FIXED_DATE_TIME
            assert info.compress_type == zipfile.ZIP_STORED
            assert stat.S_IMODE(info.external_attr >> 16) == 0o644 and stat.S_ISREG(info.external_attr >> 16)
            assert info.flag_bits & 0x800 or info.filename.isascii()  # UTF-8 names are flagged as such
        assert archive.read("a/视频.mp4") == video.read_bytes()
        assert archive.testzip() is None


def test_same_members_same_bytes_whatever_the_order_or_source_file_times(tmp_path, video):
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(video.read_bytes())
    os.utime(copy, (1_000_000_000, 1_000_000_000))
    first = zip_bytes([ArchiveMember.from_file("v.mp4", video), ArchiveMember.from_bytes("a.txt", b"a")])
    second = zip_bytes([ArchiveMember.from_bytes("a.txt", b"a"), ArchiveMember.from_file("v.mp4", copy)])
    assert first == second
    assert write_zip(tmp_path / "x.zip", [ArchiveMember.from_bytes("a.txt", b"a")]).read_bytes() == \
        zip_bytes([ArchiveMember.from_bytes("a.txt", b"a")])


def test_unzip_restores_files_readable_by_everyone(tmp_path):
    path = write_zip(tmp_path / "out.zip", [ArchiveMember.from_bytes("dir/a.txt", b"hello")])
    target = tmp_path / "unzipped"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(target)
    assert (target / "dir/a.txt").read_bytes() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("name", [
    "/etc/passwd", "C:/Windows/x.txt", "c:x", "../escape.txt", "a/../../b", "a//b", "./a", "a\\b.txt",
    "a/", "", "con.txt", "sub/NUL", "LPT1.mp4", "what?.mp4", "a:b", 'q"uote', "pipe|x", "star*", "less<",
    "trailing.", "trailing ", "tab\tname", "new\nline",
])
def test_unsafe_member_names_are_refused(name):
    with pytest.raises(UnsafeMemberName):
        check_member_name(name)
    with pytest.raises(UnsafeMemberName):
        ArchiveMember.from_bytes(name, b"x")


@pytest.mark.parametrize("name", ["a.txt", "01_开机与关机.mp4", "01-kaiji/index.html", "console.txt", ".hidden"])
def test_ordinary_names_pass(name):
    check_member_name(name)


def test_duplicates_and_case_collisions_are_refused_before_writing(tmp_path):
    target = tmp_path / "out.zip"
    with pytest.raises(DuplicateMember):
        write_zip(target, [ArchiveMember.from_bytes("a.txt", b"1"), ArchiveMember.from_bytes("a.txt", b"2")])
    with pytest.raises(DuplicateMember):
        write_zip(target, [ArchiveMember.from_bytes("Cover.JPG", b"1"), ArchiveMember.from_bytes("cover.jpg", b"2")])
    assert list(tmp_path.iterdir()) == []


def test_a_source_that_changed_fails_and_keeps_the_previous_zip(tmp_path, video):
    target = tmp_path / "out.zip"
    write_zip(target, [ArchiveMember.from_bytes("old.txt", b"old")])
    before = target.read_bytes()
    source = tmp_path / "v.mp4"
    source.write_bytes(video.read_bytes())
    member = ArchiveMember.from_file("v.mp4", source)
    source.write_bytes(video.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    with pytest.raises(MemberChanged):
        write_zip(target, [member])
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip", "v.mp4"]  # no temporary file left


def test_a_wrong_known_digest_is_caught_while_copying(tmp_path, video):
    member = ArchiveMember.from_file("v.mp4", video, size=video.stat().st_size, sha256="0" * 64)
    with pytest.raises(MemberChanged):
        write_zip(tmp_path / "out.zip", [member])
    assert not (tmp_path / "out.zip").exists()


def test_a_missing_source_fails_without_output(tmp_path):
    member = ArchiveMember(name="gone.mp4", size=1, sha256="0" * 64, source=tmp_path / "gone.mp4")
    with pytest.raises(FileNotFoundError):
        write_zip(tmp_path / "out.zip", [member])
    assert list(tmp_path.iterdir()) == []


def test_member_needs_exactly_one_content():
    with pytest.raises(ValueError):
        ArchiveMember(name="a", size=0, sha256="")
    with pytest.raises(ValueError):
        ArchiveMember(name="a", size=0, sha256="", data=b"", source=__file__)


def test_checksums_verify_with_sha256sum(tmp_path, video):
    members = [ArchiveMember.from_file("01_视频 一.mp4", video), ArchiveMember.from_bytes("b/说明.txt", "说明".encode())]
    sums = checksums_member(members)
    assert sums.name == CHECKSUMS_NAME
    lines = sums.data.decode().splitlines()
    assert lines == [f"{hashlib.sha256(video.read_bytes()).hexdigest()}  01_视频 一.mp4",
                     f"{hashlib.sha256('说明'.encode()).hexdigest()}  b/说明.txt"]
    with zipfile.ZipFile(write_zip(tmp_path / "out.zip", [*members, sums])) as archive:
        archive.extractall(tmp_path / "x")
    done = subprocess.run(["sha256sum", "--check", "--strict", CHECKSUMS_NAME], cwd=tmp_path / "x",
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("title, expected", [
    ("开机与关机", "开机与关机"),
    ("问：怎么连 WiFi?", "问：怎么连 WiFi？"),
    ('A/B <测试> "引号" |管道| *星* \\反斜杠', 'A／B ＜测试＞ ＂引号＂ ｜管道｜ ＊星＊ ＼反斜杠'),
    ("  第一行\n第二行\t制表 ", "第一行 第二行 制表"),
    ("...隐藏.", "隐藏"),
    ("", "未命名"),
    ("CON", "_CON"),
    ("aux.txt", "_aux.txt"),
    ("长" * 80, "长" * 50),
    # Bidi controls and zero-width characters would make a name read as something else.
    ("发票\u202egpj.exe", "发票gpj.exe"),
    ("\u2066开机\u2069与\u200e关\u200f机\u200b\u200c\u200d\u2060\ufeff", "开机与关机"),
    ("\x1b[2J清屏", "[2J清屏"),
])
def test_safe_name_component(title, expected):
    result = safe_name_component(title)
    assert result == expected
    check_member_name(f"01_{result}.mp4")


@pytest.mark.parametrize("name", ["01_发票\u202egpj.exe.mp4", "a\u200b/b.txt", "a/\u2067b.txt", "\x9b1.txt"])
def test_member_names_with_invisible_characters_are_refused(name):
    with pytest.raises(UnsafeMemberName):
        check_member_name(name)


def test_safe_name_component_cut_never_ends_in_a_dot():
    assert safe_name_component("一二三四.五六", max_chars=5) == "一二三四"


def test_a_source_packed_into_several_zips_is_hashed_once(tmp_path, video, monkeypatch):
    """A poster or video goes into every target's zip: its bytes are hashed the first time only."""
    from weike.builder.keeping import archive

    hashed: list[int] = []
    real_sha256 = hashlib.sha256

    def counting_sha256(*args):
        hashed.append(len(args[0]) if args else 0)
        return real_sha256(*args)

    monkeypatch.setattr(archive.hashlib, "sha256", counting_sha256)
    source = tmp_path / "v.mp4"
    source.write_bytes(video.read_bytes())
    zips = []
    for number in range(3):
        write_zip(tmp_path / f"{number}.zip", [ArchiveMember.from_file("v.mp4", source)])
        zips.append((tmp_path / f"{number}.zip").read_bytes())
    assert len([size for size in hashed if size == 0]) == 1  # one streamed hash of the file, not four or six
    assert zips[0] == zips[1] == zips[2]
    with zipfile.ZipFile(tmp_path / "2.zip") as archive_file:
        assert archive_file.read("v.mp4") == source.read_bytes()


def test_a_source_rewritten_in_place_between_zips_is_hashed_again(tmp_path, video):
    """Same size and the old mtime put back: the ctime still moved, so the remembered hash is not trusted."""
    source = tmp_path / "v.mp4"
    source.write_bytes(video.read_bytes())
    member = ArchiveMember.from_file("v.mp4", source)
    write_zip(tmp_path / "first.zip", [member])
    before = os.stat(source)
    source.write_bytes(video.read_bytes()[:-10] + b"0123456789")
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(MemberChanged):
        write_zip(tmp_path / "second.zip", [member])
    assert not (tmp_path / "second.zip").exists()
    fresh = ArchiveMember.from_file("v.mp4", source)
    assert fresh.sha256 == hashlib.sha256(source.read_bytes()).hexdigest() != member.sha256


def test_bytes_the_kernel_copies_give_the_zip_python_writes(tmp_path, video, monkeypatch):
    """Once a file's bytes are known (SHA-256, CRC-32), the next zips get them copied file to file
    by the kernel: the zip is byte for byte the one written through zipfile."""
    copied = []
    real = os.copy_file_range
    monkeypatch.setattr(os, "copy_file_range", lambda *args: copied.append(args[2]) or real(*args))
    sources = {"01_第一讲.mp4": video.read_bytes(), "a/poster.jpg": b"\xff\xd8" + os.urandom(70_000),
               "empty.vtt": b"", "字幕.srt": "1\n00:00:00,000 --> 00:00:01,000\n你好\n".encode()}
    members = [ArchiveMember.from_bytes("manifest.json", b'{"x": 1}\n')]
    for number, (name, data) in enumerate(sources.items()):
        path = tmp_path / f"source-{number}"
        path.write_bytes(data)
        members.append(ArchiveMember.from_file(name, path))
    through_python = zip_bytes(members, made=_dt_made())
    write_zip(tmp_path / "first.zip", members, made=_dt_made())
    write_zip(tmp_path / "second.zip", members, made=_dt_made())
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes() == through_python
    assert sum(copied) == sum(len(data) for data in sources.values()) * 2  # from_file read them; both zips copied
    with zipfile.ZipFile(tmp_path / "second.zip") as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in sources} == sources


def test_a_file_changed_after_it_was_hashed_is_not_copied_by_the_kernel(tmp_path, video):
    source = tmp_path / "v.mp4"
    source.write_bytes(video.read_bytes())
    member = ArchiveMember.from_file("v.mp4", source)
    source.write_bytes(video.read_bytes()[:-10] + b"0123456789")  # same size: a new mtime and ctime
    with pytest.raises(MemberChanged):
        write_zip(tmp_path / "out.zip", [member])
    assert not (tmp_path / "out.zip").exists()


def _dt_made():
    import datetime

    return datetime.datetime(2024, 3, 5, 7, 9, 11)
