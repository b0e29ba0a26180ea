"""The editor's Decap configuration is generated from weike's schemas and settings declarations,
and ``weike edit`` serves it with the vendored Decap page."""

from __future__ import annotations

import hashlib
from importlib import resources
import json
import shutil
import signal
import subprocess
import sys
import urllib.request

import yaml

from weike.builder.contracts.settings import Boolean, Fields, Setting, Text
from weike.builder.repository.schema import SHIPPED_SCHEMA_DIR as SCHEMA_DIR
from weike.builder.running.project import Project
from weike.plugins.editor.config import editor_config, load_schemas


def collection(config: dict, name: str) -> dict:
    return next(c for c in config["collections"] if c["name"] == name)


def field(fields: list[dict], name: str) -> dict:
    return next(f for f in fields if f["name"] == name)


def test_collections_in_chinese_with_the_schemas_rules(tmp_path):
    config = editor_config(settings=Project.open(tmp_path, require=False).settings)
    assert config["locale"] == "zh_Hans"
    assert config["backend"] == {"name": "proxy", "proxy_url": "/api/v1", "branch": "main"}
    assert [c["label"] for c in config["collections"]] == ["课程", "微课", "品牌社区学习中心", "项目设置"]
    course = collection(config, "courses")["fields"]
    assert field(course, "title")["required"] is True and field(course, "tags")["required"] is False
    summary = field(course, "summary")
    assert summary["label"] == "课程简介" and summary["widget"] == "text"
    assert summary["pattern"][0] == "^[\\s\\S]{0,100}$"
    theme = field(course, "theme")
    assert theme["widget"] == "select" and len(theme["options"]) == 10 and "老年智慧生活" in theme["options"]
    assert field(course, "created")["widget"] == "datetime" and field(course, "created")["format"] == "YYYY-MM-DD"
    assert field(course, "cover")["widget"] == "image"
    instructors = field(course, "instructors")
    assert instructors["widget"] == "list" and instructors["min"] == 1
    assert [f["name"] for f in instructors["fields"]] == ["name", "bio"]
    assert field(instructors["fields"], "bio")["pattern"][0] == "^[\\s\\S]{0,100}$"
    level = field(field(course, "provider")["fields"], "level")
    assert level["options"] == ["县(市、区)", "乡镇(街道)", "村(社区)"]
    assert field(field(course, "rights")["fields"], "public_good")["widget"] == "boolean"
    lectures = collection(config, "lectures")
    assert lectures["nested"]["depth"] == 3 and lectures["meta"]["path"]["index_file"] == "lecture"
    assert lectures["meta"]["path"]["widget"] == "weike-course"  # chosen from the courses, never typed
    assert field(lectures["fields"], "media")["widget"] == "weike-video"
    assert field(lectures["fields"], "body")["widget"] == "markdown"
    centre = collection(config, "centres")["fields"]
    assert field(centre, "promotion")["pattern"][0] == "^[\\s\\S]{0,300}$"
    assert field(centre, "photos")["field"]["widget"] == "image"
    settings = collection(config, "settings")["files"][0]
    assert settings["file"] == "weike.yml"
    assert field(settings["fields"], "publish_centres")["widget"] == "boolean"
    assert field(settings["fields"], "site_url")["widget"] == "string"


def test_a_field_added_to_a_schema_appears_in_the_editor(tmp_path):
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, folder)
    schema_file = folder / "lecture.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schema["properties"]["difficulty"] = {"enum": ["入门", "进阶"], "description": "难度：入门或进阶"}
    schema["required"].append("difficulty")
    schema_file.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    before = editor_config(schemas=load_schemas(SCHEMA_DIR))
    after = editor_config(schemas=load_schemas(folder))
    assert "difficulty" not in [f["name"] for f in collection(before, "lectures")["fields"]]
    added = field(collection(after, "lectures")["fields"], "difficulty")
    assert added == {"name": "difficulty", "label": "难度", "required": True, "hint": "难度：入门或进阶",
                     "widget": "select", "options": ["入门", "进阶"]}


def test_a_declared_setting_appears_under_project_settings():
    """A plugin's weike.yml key is a field of 项目设置 with no change to the editor, a block as an
    object of its own fields; a key for course.yml too appears in the course's form."""
    declared = [Setting(name="watermark", type=Boolean(), description="加水印：正片右上角显示机构标志",
                        description_en="add the watermark"),
                Setting(name="poster", type=Fields(fields=(Setting(name="slogan", type=Text(max_length=20),
                                                                   description="标语", description_en="slogan"),)),
                        description="海报", description_en="the poster"),
                Setting(name="difficulty", type=Text(), course=True, description="难度", description_en="level")]
    config = editor_config(settings=declared)
    settings = collection(config, "settings")["files"][0]["fields"]
    watermark = field(settings, "watermark")
    assert watermark["widget"] == "boolean" and watermark["label"] == "加水印"
    poster = field(settings, "poster")
    assert poster["widget"] == "object" and field(poster["fields"], "slogan")["pattern"][0] == "^[\\s\\S]{0,20}$"
    assert field(collection(config, "courses")["fields"], "difficulty")["widget"] == "string"
    assert "watermark" not in [f["name"] for f in field(settings, "poster")["fields"]]


def test_weike_edit_serves_the_page_config_and_bundle(make_repo):
    root = make_repo(valid_courses=("demo",))
    process = subprocess.Popen([sys.executable, "-m", "weike.builder", "edit", str(root), "--port", "0",
                                "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line + process.stderr.read()
        url = line[line.index("http://"):].strip()
        page = urllib.request.urlopen(url).read().decode("utf-8")
        assert '<script src="/decap-cms.js"></script>' in page
        config = yaml.safe_load(urllib.request.urlopen(url + "config.yml").read())
        assert config["locale"] == "zh_Hans"
        bundle = urllib.request.urlopen(url + "decap-cms.js").read()
        readme = resources.files("weike.plugins.editor").joinpath("vendor", "README.md").read_text(encoding="utf-8")
        assert hashlib.sha256(bundle).hexdigest() in readme
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "已停止编辑器" in out


def test_without_port_a_taken_default_port_gives_way_to_a_free_one(make_repo):
    import socket

    from weike.plugins.editor.command import start_server
    from weike.plugins.editor.server import DEFAULT_PORT

    root = make_repo(valid_courses=("demo",))
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", DEFAULT_PORT))
        blocker.listen()
    except OSError:
        pass  # taken already, by someone else: the same situation
    try:
        server = start_server(Project.open(root), port=None)
        assert server.server_address[1] not in (0, DEFAULT_PORT)
        server.server_close()
    finally:
        blocker.close()
