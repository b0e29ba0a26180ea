"""The embedded demo courses and the shipped JSON Schemas."""

from __future__ import annotations

import json
import subprocess

import jsonschema
import yaml

from weike.builder.contracts.model import LECTURE_FORMS, PROVIDER_LEVELS, THEMES
from weike.builder.repository.loading import COURSE_KEYS, LECTURE_KEYS, INSTRUCTOR_KEYS, PROVIDER_KEYS, RIGHTS_KEYS, load_repository
from weike.builder.running.checking import run_check
from weike.builder.running.project import Project
from tests.conftest import REPO_ROOT

SCHEMAS = REPO_ROOT / "builder" / "repository" / "schemas"


def load_schema(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_demo_courses_pass_check():
    result = run_check(REPO_ROOT)
    assert result.diagnostics == []
    repo = result.repository
    assert len(repo.courses) == 2
    assert len({c.theme for c in repo.courses}) == 2
    assert all(len(c.lectures) >= 10 for c in repo.courses)


def test_demo_sources_exercise_the_media_stage():
    """Landscape, portrait, rotation flag, pure audio, silent animation, subtitles — and tiny."""
    repo = load_repository(REPO_ROOT)
    from weike.plugins.media import runner as ffmpeg

    kinds = set()
    for course in repo.courses:
        for lecture in course.lectures:
            path = lecture.media.path
            assert path.stat().st_size < 300_000, path
            info = ffmpeg.probe_json(path)
            video = [s for s in info["streams"] if s["codec_type"] == "video"
                     and not s.get("disposition", {}).get("attached_pic")]
            audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
            if not video:
                kinds.add("audio")
            elif not audio:
                kinds.add("silent")
            else:
                v = video[0]
                rotation = next((int(d.get("rotation", 0)) for d in v.get("side_data_list", [])
                                 if "rotation" in d), 0)
                if rotation:
                    kinds.add("rotated")
                kinds.add("portrait" if v["height"] > v["width"] else "landscape")
            if lecture.subtitles:
                kinds.add("subtitles")
    assert {"landscape", "portrait", "rotated", "audio", "silent", "subtitles"} <= kinds


def test_demo_media_script_lists_every_source():
    out = subprocess.run(["python", str(REPO_ROOT / "scripts/make_demo_media.py"), "--check"],
                         capture_output=True, text=True, check=True).stdout
    repo = load_repository(REPO_ROOT)
    for course in repo.courses:
        for lecture in course.lectures:
            assert str(lecture.media.path.relative_to(REPO_ROOT)) in out


def test_schema_matches_the_loader_and_vocabulary():
    course = load_schema("course.schema.json")
    # The core's keys, then the built-in plugins' declared course.yml settings (title_cards).
    declared = tuple(setting.name for setting in Project.open(REPO_ROOT).settings if setting.course)
    assert tuple(course["properties"]) == (*COURSE_KEYS, *declared)
    assert tuple(course["properties"]["instructors"]["items"]["properties"]) == INSTRUCTOR_KEYS
    assert tuple(course["properties"]["provider"]["properties"]) == PROVIDER_KEYS
    assert tuple(course["properties"]["rights"]["properties"]) == RIGHTS_KEYS
    assert tuple(course["properties"]["theme"]["enum"]) == THEMES
    assert tuple(course["properties"]["provider"]["properties"]["level"]["enum"]) == PROVIDER_LEVELS
    lecture = load_schema("lecture.schema.json")
    assert set(lecture["properties"]) == set(LECTURE_KEYS)
    assert tuple(lecture["properties"]["form"]["enum"]) == LECTURE_FORMS


def _yaml_for_schema(text):
    data = yaml.safe_load(text)
    return json.loads(json.dumps(data, default=str))  # dates as strings, as editors see them


def test_demo_files_validate_against_the_schemas():
    course_validator = jsonschema.Draft7Validator(load_schema("course.schema.json"),
                                                  format_checker=jsonschema.FormatChecker())
    lecture_validator = jsonschema.Draft7Validator(load_schema("lecture.schema.json"))
    for path in sorted((REPO_ROOT / "courses").glob("*/course.yml")):
        course_validator.validate(_yaml_for_schema(path.read_text(encoding="utf-8")))
    for path in sorted((REPO_ROOT / "courses").glob("*/*/lecture.md")):
        lecture_validator.validate(_yaml_for_schema(path.read_text(encoding="utf-8").split("---")[1]))


def test_schema_rejects_escaping_paths():
    validator = jsonschema.Draft7Validator(load_schema("lecture.schema.json"))
    base = {"title": "a", "knowledge_point": "b"}
    for bad in ("../../x.mp4", "/etc/passwd", "C:\\x.mp4", "a/../../b.mp4", "..\\x.mp4"):
        assert not validator.is_valid({**base, "media": bad}), bad
    assert validator.is_valid({**base, "media": "sub/video.mp4"})
