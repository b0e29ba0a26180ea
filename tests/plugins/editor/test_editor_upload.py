"""The editor's streamed video upload and its checks after a save, through the real server."""

from __future__ import annotations

import os
import socket
import time

import pytest

from tests.conftest import lecture_md
from tests.plugins.editor.conftest import git, git_repository

FOLDER = "courses/demo/03-lecture-3"


@pytest.fixture
def repo(make_repo):
    return git_repository(make_repo(valid_courses=("demo",)))


@pytest.fixture
def editor(repo, start_editor):
    return start_editor(repo)


def upload(editor, path: str, data: bytes, *, entry: str | None = None, **headers):
    from urllib.parse import quote

    folder, _, name = path.rpartition("/")
    entry = entry or f"{folder}/lecture.md"
    return editor.request("POST", f"/api/upload?entry={quote(entry)}&name={quote(name)}", data,
                          headers={"Content-Type": "application/octet-stream", **headers})


def test_a_video_is_streamed_into_the_lecture_folder_and_probed(editor, repo, media):
    video = media("landscape.mp4").read_bytes()
    reply = upload(editor, f"{FOLDER}/手机拍的.mp4", video)
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert (repo / FOLDER / "手机拍的.mp4").read_bytes() == video
    assert answer["size"] == len(video)
    assert answer["probe"]["summary"].startswith("可以")  # weike probe's plain sentence
    assert "上传视频" in git(repo, "log", "-1", "--format=%s")
    assert sorted(os.listdir(repo / FOLDER)) == ["lecture.md", "video.mp4", "手机拍的.mp4"]


def test_a_file_that_is_no_video_gets_probes_cannot_be_used(editor, repo):
    reply = upload(editor, f"{FOLDER}/broken.mp4", b"not a video at all" * 100)
    assert reply.status == 200
    assert reply.json()["probe"]["summary"].startswith("不能使用")


@pytest.mark.parametrize("path, status", [
    ("courses/demo/cover2.mp4", 403),             # not a lecture folder
    ("courses/demo/99-none/video.mp4", 403),      # no saved lecture there
    (f"{FOLDER}/../../../evil.mp4", 403),
    ("/tmp/evil.mp4", 403),
    (f"{FOLDER}/notes.html", 415),
    (f"{FOLDER}/.hidden.mp4", 403),
    (f"{FOLDER}/sub/x.mp4", 403),
    (f"{FOLDER}/video.mp4", 409),                 # exists: replaced only when asked
])
def test_uploads_are_refused_outside_lecture_folders_and_for_other_files(editor, repo, path, status):
    before = (repo / FOLDER / "video.mp4").read_bytes()
    assert upload(editor, path, b"x" * 10).status == status
    assert (repo / FOLDER / "video.mp4").read_bytes() == before
    assert not (repo.parent / "evil.mp4").exists()


def test_a_new_lectures_video_goes_to_the_folder_made_for_it(editor, repo, media):
    """The editor still calls a new lecture courses/<course>/lecture.md; its folder is 11-…."""
    editor.api("persistEntry", {"dataFiles": [{"slug": "x", "path": "courses/demo/lecture.md",
                                               "raw": lecture_md(title="晨练")}],
                                "assets": [], "options": {"newEntry": True}})
    reply = upload(editor, "courses/demo/v.mp4", media("landscape.mp4").read_bytes(), entry="courses/demo/lecture.md")
    assert reply.status == 200, reply.body
    assert reply.json()["path"] == "courses/demo/11-chen-lian/v.mp4"
    assert (repo / "courses/demo/11-chen-lian/v.mp4").is_file()


def test_a_cross_origin_upload_is_refused(editor, repo):
    assert upload(editor, f"{FOLDER}/new.mp4", b"x", Origin="http://evil.example").status == 403
    assert not (repo / FOLDER / "new.mp4").exists()


def test_an_interrupted_upload_leaves_nothing_behind(editor, repo):
    with socket.create_connection(("127.0.0.1", editor.port), timeout=30) as client:
        client.sendall(f"POST /api/upload?entry={FOLDER}/lecture.md&name=half.mp4 HTTP/1.1\r\nHost: 127.0.0.1:{editor.port}\r\n"
                       f"Origin: {editor.origin}\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: 10000000\r\n\r\n".encode() + b"x" * 100_000)
    # The server notices the closed connection; then the folder holds only what it held before.
    editor.api("info")  # a request after it, answered once the upload's thread is done with it
    # The upload's thread removes its temp file once its read fails: wait for that (a generous bound
    # on a loaded machine, not a timing claim).
    deadline = time.monotonic() + 60
    while sorted(os.listdir(repo / FOLDER)) != ["lecture.md", "video.mp4"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(os.listdir(repo / FOLDER)) == ["lecture.md", "video.mp4"]


def test_after_a_save_the_courses_problems_come_back_with_their_field(editor, repo):
    path = f"{FOLDER}/lecture.md"
    editor.api("getEntry", {"path": path})
    editor.api("persistEntry", {"dataFiles": [{"slug": "x", "path": path, "raw": "---\ntitle: 第3讲\n---\n\n讲义\n"}],
                                "assets": [], "options": {}})
    reply = editor.request("POST", "/api/check", b'{"path": "%s"}' % path.encode(),
                           headers={"Content-Type": "application/json"})
    problems = reply.json()["problems"]
    missing = [p for p in problems if p["code"] == "E202"]
    assert missing and missing[0]["file"] == path
    assert missing[0]["field"] == "knowledge_point" and missing[0]["field_label"] == "这个微课聚焦的一个知识点"
    assert all(p["file"].startswith("courses/demo/") for p in problems)
    # Fixed: the course has no problem left.
    editor.api("getEntry", {"path": path})
    editor.api("persistEntry", {"dataFiles": [{"slug": "x", "path": path, "raw": lecture_md(title="第3讲")}],
                                "assets": [], "options": {}})
    reply = editor.request("POST", "/api/check", b'{"path": "%s"}' % path.encode(),
                           headers={"Content-Type": "application/json"})
    assert reply.json()["problems"] == []


def test_a_check_without_path_checks_what_was_saved_last(editor, repo):
    """Decap's postSave event of a new entry has no path yet."""
    editor.api("persistEntry", {"dataFiles": [{"slug": "x", "path": "courses/demo/lecture.md",
                                               "raw": "---\ntitle: 晨练\n---\n"}],
                                "assets": [], "options": {"newEntry": True}})
    reply = editor.request("POST", "/api/check", b'{"path": ""}', headers={"Content-Type": "application/json"})
    assert reply.json()["path"] == "courses/demo/11-chen-lian/lecture.md"
    assert "E202" in {p["code"] for p in reply.json()["problems"]}


def test_the_check_refuses_paths_outside(editor):
    reply = editor.request("POST", "/api/check", b'{"path": "../x"}', headers={"Content-Type": "application/json"})
    assert reply.status == 403


@pytest.mark.slow
def test_an_upload_streams_to_disk_in_constant_memory(capsys):
    """256 MiB through `weike edit`'s own process: its peak memory stays far below the upload
    (benchmarks/editor_upload.py measures 2 GiB the same way)."""
    from benchmarks.editor_upload import main

    assert main(["--mib", "256"]) == 0
    out = capsys.readouterr().out
    peak = float(out.split("MiB before the upload, ")[1].split(" MiB")[0])
    assert peak < 200, out
