"""``weike edit``'s local backend: every Decap action, and every request it must refuse.

Real sockets on 127.0.0.1 (the server of ``weike edit`` on a free port), real files, real Git.
Requests are sent with :mod:`http.client`, which sends paths and headers exactly as written, like a
hostile page or client would.
"""

from __future__ import annotations

import base64
import json
import os
import socket

import pytest

from tests.conftest import lecture_md
from tests.plugins.editor.conftest import git, git_repository
from weike.plugins.editor.server import MAX_JSON_BODY

LECTURE = "courses/demo/03-lecture-3/lecture.md"


@pytest.fixture
def repo(make_repo):
    return git_repository(make_repo(valid_courses=("demo",)))


@pytest.fixture
def editor(repo, start_editor):
    return start_editor(repo)


def persist(editor, path: str, raw: str, *, new_entry: bool = False):
    return editor.api("persistEntry", {
        "dataFiles": [{"slug": "x", "path": path, "raw": raw}], "assets": [],
        "options": {"commitMessage": "Update", "useWorkflow": False, "status": "", "newEntry": new_entry}})


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def test_info_names_the_repository(editor):
    reply = editor.api("info")
    assert reply.status == 200
    assert reply.json() == {"repo": "repo", "publish_modes": ["simple"], "type": "local_fs"}


def test_entries_by_folder_lists_the_courses_and_lectures(editor, repo):
    courses = editor.api("entriesByFolder", {"folder": "courses", "extension": "yml", "depth": 2}).json()
    assert [entry["file"]["path"] for entry in courses] == ["courses/demo/course.yml"]
    assert courses[0]["data"] == (repo / "courses/demo/course.yml").read_text(encoding="utf-8")
    lectures = editor.api("entriesByFolder", {"folder": "courses", "extension": "md", "depth": 3}).json()
    assert [entry["file"]["path"] for entry in lectures] == [
        f"courses/demo/{n:02d}-lecture-{n}/lecture.md" for n in range(1, 11)]


def test_entries_by_files_and_get_entry(editor, repo):
    (repo / "weike.yml").write_text("province: 示范省\n", encoding="utf-8")
    found = editor.api("entriesByFiles", {"files": [{"path": "weike.yml", "label": "项目设置"},
                                                    {"path": "centres/none/centre.yml"}]}).json()
    assert found[0]["data"] == "province: 示范省\n" and found[0]["file"]["label"] == "项目设置"
    assert found[1]["data"] is None
    entry = editor.api("getEntry", {"path": LECTURE}).json()
    assert entry["data"].startswith("---\ntitle: 第3讲")
    assert entry["file"]["path"] == LECTURE and len(entry["file"]["id"]) == 64


def test_media_library_lists_pictures_and_never_a_video(editor, repo):
    media = editor.api("getMedia", {"mediaFolder": "courses/demo"}).json()
    assert [item["name"] for item in media] == ["cover.jpg"]
    assert base64.b64decode(media[0]["content"]) == (repo / "courses/demo/cover.jpg").read_bytes()
    lecture_folder = editor.api("getMedia", {"mediaFolder": "courses/demo/01-lecture-1"}).json()
    assert lecture_folder == []  # its video.mp4 is not sent as base64
    single = editor.api("getMediaFile", {"path": "courses/demo/cover.jpg"}).json()
    assert single["path"] == "courses/demo/cover.jpg" and single["encoding"] == "base64"


# ---------------------------------------------------------------------------------------------
# Writing: files, Git history, folder names
# ---------------------------------------------------------------------------------------------


def test_persist_entry_writes_and_commits_naming_course_and_lecture(editor, repo):
    editor.api("getEntry", {"path": LECTURE})
    raw = lecture_md(title="第3讲", knowledge_point="改过的知识点")
    reply = persist(editor, LECTURE, raw)
    assert reply.status == 200, reply.body
    assert (repo / LECTURE).read_text(encoding="utf-8") == raw
    assert git(repo, "log", "-1", "--format=%s") == "编辑器：保存 课程《测试课程》第 3 讲《第3讲》\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [LECTURE]
    assert git(repo, "status", "--porcelain") == ""


def test_the_comments_opening_a_yaml_file_are_kept(editor, repo):
    course = repo / "courses/demo/course.yml"
    header = "# yaml-language-server: $schema=../../.weike/schemas/course.schema.json\n# 演示课程\n\n"
    course.write_text(header + course.read_text(encoding="utf-8"), encoding="utf-8")
    editor.api("getEntry", {"path": "courses/demo/course.yml"})
    assert persist(editor, "courses/demo/course.yml", "title: 新名字\n").status == 200
    assert course.read_text(encoding="utf-8") == header.rstrip("\n") + "\n\ntitle: 新名字\n"


def test_a_save_leaves_what_the_teacher_staged_alone(editor, repo):
    (repo / "notes.txt").write_text("mine", encoding="utf-8")
    git(repo, "add", "notes.txt")
    editor.api("getEntry", {"path": LECTURE})
    persist(editor, LECTURE, lecture_md(title="第3讲", knowledge_point="新"))
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [LECTURE]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["notes.txt"]


def test_commits_can_be_turned_off(repo, start_editor):
    editor = start_editor(repo, commit=False)
    editor.api("getEntry", {"path": LECTURE})
    assert persist(editor, LECTURE, lecture_md(title="第3讲", knowledge_point="新")).status == 200
    assert git(repo, "log", "-1", "--format=%s") == "start\n"
    assert git(repo, "status", "--porcelain").strip() == f"M {LECTURE}"


def test_the_commit_setting_is_read_from_weike_yml(repo, start_editor):
    (repo / "weike.yml").write_text("editor:\n  commit: false\n", encoding="utf-8")
    git(repo, "add", "weike.yml")
    git(repo, "commit", "-qm", "settings")
    editor = start_editor(repo)
    editor.api("getEntry", {"path": LECTURE})
    persist(editor, LECTURE, lecture_md(title="第3讲", knowledge_point="新"))
    assert git(repo, "log", "-1", "--format=%s") == "settings\n"


def test_a_new_course_gets_its_folder_in_pinyin(editor, repo):
    raw = "title: 手机支付入门\nsummary: 学会用手机付款。\n"
    reply = persist(editor, "courses/手机支付入门/course.yml", raw, new_entry=True)
    assert reply.status == 200, reply.body
    assert (repo / "courses/shou-ji-zhi-fu-ru-men/course.yml").read_text(encoding="utf-8") == raw
    assert not (repo / "courses/手机支付入门").exists()
    # Decap asks for the entry where it asked to write it: the answer comes from the real folder.
    assert editor.api("getEntry", {"path": "courses/手机支付入门/course.yml"}).json()["data"] == raw
    assert "《手机支付入门》" in git(repo, "log", "-1", "--format=%s")


def test_a_new_lecture_gets_the_next_number_and_a_pinyin_folder(editor, repo):
    raw = lecture_md(title="左右开弓", knowledge_point="动作要领")
    reply = persist(editor, "courses/demo/左右开弓/lecture.md", raw, new_entry=True)
    assert reply.status == 200, reply.body
    assert (repo / "courses/demo/11-zuo-you-kai-gong/lecture.md").read_text(encoding="utf-8") == raw
    assert git(repo, "log", "-1", "--format=%s") == "编辑器：保存 课程《测试课程》第 11 讲《左右开弓》\n"


def test_new_lectures_asked_for_at_the_course_folder_each_get_their_own(editor, repo):
    """Decap's nested collection asks for ``courses/<course>/lecture.md`` for every new lecture."""
    for title in ("晨练拉伸", "睡前放松"):
        reply = persist(editor, "courses/demo/lecture.md", lecture_md(title=title), new_entry=True)
        assert reply.status == 200, reply.body
    assert (repo / "courses/demo/11-chen-lian-la-shen/lecture.md").is_file()
    assert (repo / "courses/demo/12-shui-qian-fang-song/lecture.md").is_file()
    assert not (repo / "courses/demo/lecture.md").exists()
    # Decap checks the path is free before each new lecture: it stays free.
    assert editor.api("getEntry", {"path": "courses/demo/lecture.md"}).json()["data"] is None
    # A save through the path it asked for goes to the lecture made last.
    editor.api("getEntry", {"path": "courses/demo/12-shui-qian-fang-song/lecture.md"})
    saved = persist(editor, "courses/demo/lecture.md", lecture_md(title="睡前放松", knowledge_point="改"))
    assert saved.status == 200
    assert "改" in (repo / "courses/demo/12-shui-qian-fang-song/lecture.md").read_text(encoding="utf-8")


def test_the_editor_never_moves_a_folder(editor, repo):
    editor.api("getEntry", {"path": LECTURE})
    reply = editor.api("persistEntry", {"dataFiles": [{"slug": "x", "path": LECTURE, "raw": "x",
                                                       "newPath": "courses/other/lecture.md"}],
                                        "assets": [], "options": {}})
    assert reply.status == 422
    assert not (repo / "courses/other").exists()


def test_a_new_entry_never_overwrites_an_existing_file(editor, repo):
    before = (repo / LECTURE).read_bytes()
    reply = persist(editor, LECTURE, lecture_md(title="另一个"), new_entry=True)
    assert reply.status == 409
    assert (repo / LECTURE).read_bytes() == before


def test_media_persist_and_delete(editor, repo, cover_jpeg):
    content = base64.b64encode(cover_jpeg.read_bytes()).decode("ascii")
    reply = editor.api("persistMedia", {"asset": {"path": "courses/demo/photo.jpg", "content": content,
                                                  "encoding": "base64"}, "options": {"commitMessage": "x"}})
    assert reply.status == 200 and reply.json()["name"] == "photo.jpg"
    assert (repo / "courses/demo/photo.jpg").read_bytes() == cover_jpeg.read_bytes()
    assert "添加图片" in git(repo, "log", "-1", "--format=%s")
    assert editor.api("deleteFile", {"path": "courses/demo/photo.jpg", "options": {"commitMessage": "x"}}).status == 200
    assert not (repo / "courses/demo/photo.jpg").exists()
    assert git(repo, "status", "--porcelain") == ""
    (repo / "courses/demo/a.png").write_bytes(b"a")
    (repo / "courses/demo/b.png").write_bytes(b"b")
    reply = editor.api("deleteFiles", {"paths": ["courses/demo/a.png", "courses/demo/b.png"],
                                       "options": {"commitMessage": "x"}})
    assert reply.status == 200
    assert not (repo / "courses/demo/a.png").exists() and not (repo / "courses/demo/b.png").exists()


def test_writes_are_atomic_and_leave_no_temp_files(editor, repo):
    editor.api("getEntry", {"path": LECTURE})
    persist(editor, LECTURE, lecture_md(title="第3讲", knowledge_point="新"))
    assert sorted(os.listdir(repo / "courses/demo/03-lecture-3")) == ["lecture.md", "video.mp4"]


# ---------------------------------------------------------------------------------------------
# Nothing is lost: a file changed on disk since the editor read it
# ---------------------------------------------------------------------------------------------


def test_a_file_changed_on_disk_is_kept_and_the_editors_version_saved_beside_it(editor, repo):
    editor.api("getEntry", {"path": LECTURE})
    theirs = lecture_md(title="第3讲", knowledge_point="别的程序改的")
    (repo / LECTURE).write_text(theirs, encoding="utf-8")
    mine = lecture_md(title="第3讲", knowledge_point="编辑器里改的")
    reply = persist(editor, LECTURE, mine)
    assert reply.status == 409
    kept = reply.json()["conflict"]["kept"]
    assert kept.startswith("courses/demo/03-lecture-3/lecture.编辑器版本-") and kept.endswith(".md")
    assert kept in reply.json()["error"]
    assert (repo / LECTURE).read_text(encoding="utf-8") == theirs
    assert (repo / kept).read_text(encoding="utf-8") == mine
    assert git(repo, "log", "-1", "--format=%s") == "start\n"  # nothing committed over it
    # Once the editor has read the new version, saving works again.
    editor.api("getEntry", {"path": LECTURE})
    assert persist(editor, LECTURE, mine).status == 200


def test_a_file_the_editor_never_read_is_not_overwritten(editor, repo):
    reply = persist(editor, LECTURE, lecture_md(title="盲写"))
    assert reply.status == 409
    assert "盲写" not in (repo / LECTURE).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Refused paths
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "courses/../../secret.txt", "courses/demo/../../../secret.txt", "../secret.txt", "/etc/passwd",
    "C:/Windows/win.ini", "C:\\Windows\\win.ini", "courses\\..\\..\\secret.txt", "~/secret.txt",
    "site/index.md", "mkdocs.yml", ".git/config", "courses/demo/.git/config", "courses/demo\x00.yml", "",
])
def test_paths_outside_the_editable_folders_are_refused(editor, repo, path):
    (repo.parent / "secret.txt").write_text("secret", encoding="utf-8")
    for action, params in [("getEntry", {"path": path}), ("getMediaFile", {"path": path}),
                           ("entriesByFolder", {"folder": path, "extension": "yml", "depth": 1})]:
        reply = editor.api(action, params)
        assert reply.status == 403, (action, reply.body)
    reply = persist(editor, path, "x")
    assert reply.status == 403
    reply = editor.api("persistMedia", {"asset": {"path": path, "content": "eA==", "encoding": "base64"}})
    assert reply.status == 403
    assert editor.api("deleteFile", {"path": path}).status == 403
    assert editor.api("deleteFiles", {"paths": ["courses/demo/cover.jpg", path]}).status == 403
    assert (repo / "courses/demo/cover.jpg").exists()  # nothing deleted when one path is refused
    assert (repo.parent / "secret.txt").read_text(encoding="utf-8") == "secret"


def test_symlinks_leading_out_are_refused(editor, repo):
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "secret.yml").write_text("secret: 1\n", encoding="utf-8")
    os.symlink(outside / "secret.yml", repo / "courses/demo/linked.yml")
    os.symlink(outside, repo / "courses/demo/linked-folder")
    os.symlink(outside / "secret.yml", repo / "weike.yml")
    for path in ("courses/demo/linked.yml", "courses/demo/linked-folder/secret.yml", "weike.yml"):
        assert editor.api("getEntry", {"path": path}).status == 403
        assert persist(editor, path, "x: 2\n").status == 403
    assert editor.api("entriesByFolder", {"folder": "courses/demo/linked-folder", "extension": "yml",
                                          "depth": 1}).status == 403
    listed = editor.api("entriesByFolder", {"folder": "courses", "extension": "yml", "depth": 3}).json()
    assert [entry["file"]["path"] for entry in listed] == ["courses/demo/course.yml"]
    assert (outside / "secret.yml").read_text(encoding="utf-8") == "secret: 1\n"


def test_a_symlinked_courses_folder_leading_out_is_refused(tmp_path, start_editor):
    outside = tmp_path / "outside"
    (outside / "x").mkdir(parents=True)
    (outside / "x" / "course.yml").write_text("title: 外面\n", encoding="utf-8")
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "courses")
    editor = start_editor(root)
    assert editor.api("getEntry", {"path": "courses/x/course.yml"}).status == 403


# ---------------------------------------------------------------------------------------------
# Refused requests: Host, Origin, size, shape, slow clients
# ---------------------------------------------------------------------------------------------


def test_a_foreign_host_is_refused_dns_rebinding(editor):
    for host in ("evil.example:%d" % editor.port, "127.0.0.1.evil.example", "127.0.0.1:1", None):
        assert editor.request("GET", "/config.yml", headers={"Host": host}).status in (400, 421)
        reply = editor.api("getEntry", {"path": LECTURE}, headers={"Host": host})
        assert reply.status in (400, 421)
        assert b"title" not in reply.body
    assert editor.request("GET", "/config.yml", headers={"Host": f"localhost:{editor.port}"}).status == 200


def test_a_cross_origin_post_is_refused(editor, repo):
    before = (repo / LECTURE).read_bytes()
    editor.api("getEntry", {"path": LECTURE})
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{editor.port + 1}", None):
        reply = editor.api("persistEntry", {"dataFiles": [{"slug": "x", "path": LECTURE, "raw": "hacked"}],
                                            "assets": [], "options": {}}, headers={"Origin": origin})
        assert reply.status == 403
    reply = editor.api("getEntry", {"path": LECTURE}, headers={"Sec-Fetch-Site": "cross-site"})
    assert reply.status == 403
    assert (repo / LECTURE).read_bytes() == before


def test_a_form_post_is_refused(editor):
    body = b"action=info"
    reply = editor.request("POST", "/api/v1", body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 415


def test_an_oversized_json_body_is_refused_before_it_is_read(editor):
    reply = editor.request("POST", "/api/v1", b"", headers={"Content-Type": "application/json",
                                                         "Content-Length": str(MAX_JSON_BODY + 1)})
    assert reply.status == 413


def test_a_body_without_length_is_refused(editor):
    reply = editor.request("POST", "/api/v1", b"", headers={"Content-Type": "application/json",
                                                         "Transfer-Encoding": "chunked", "Content-Length": None})
    assert reply.status == 411


@pytest.mark.parametrize("body", [b"{not json", json.dumps({"action": "rm -rf"}).encode(),
                                  json.dumps({"action": "persistEntry", "params": []}).encode(),
                                  json.dumps({"action": "entriesByFolder", "params": {"folder": "courses",
                                                                                      "depth": 99}}).encode(),
                                  json.dumps([1, 2]).encode(), json.dumps({"action": "__init__"}).encode()])
def test_malformed_requests_are_answered_not_crashed(editor, body):
    reply = editor.request("POST", "/api/v1", body, headers={"Content-Type": "application/json"})
    assert reply.status in (400, 422)
    assert "error" in reply.json()


def test_a_client_that_stops_sending_is_dropped(repo, start_editor, monkeypatch):
    from weike.plugins.editor import server as server_module

    monkeypatch.setattr(server_module.EditorHandler, "timeout", 1)
    editor = start_editor(repo)
    with socket.create_connection(("127.0.0.1", editor.port), timeout=30) as client:
        client.sendall(f"POST /api/v1 HTTP/1.1\r\nHost: 127.0.0.1:{editor.port}\r\nOrigin: {editor.origin}\r\n"
                       "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode())
        # The server gives up on the missing 99 bytes and closes the connection (no answer).
        assert client.recv(100) == b""


def test_the_server_listens_on_loopback_only(editor):
    assert editor.server.server_address[0] == "127.0.0.1"


def test_saves_arriving_together_are_each_committed(editor, repo):
    from concurrent.futures import ThreadPoolExecutor

    paths = [f"courses/demo/{n:02d}-lecture-{n}/lecture.md" for n in range(1, 11)]
    for path in paths:
        editor.api("getEntry", {"path": path})

    def save(path):
        return persist(editor, path, lecture_md(title=path.split("/")[2], knowledge_point="同时保存")).status

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(save, paths)) == [200] * 10
    assert len(git(repo, "log", "--format=%s").splitlines()) == 11
    assert git(repo, "status", "--porcelain") == ""
