"""Typed settings: one declaration gives the read at file:line, the editors' schemas, the listing and the docs."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tests.conftest import REPO_ROOT
from weike.builder.cli import main
from weike.builder.contracts.settings import setting_rows
from weike.builder.repository.centre import CENTRE_FIELDS
from weike.builder.repository.loading import COURSE_FIELDS, CONFIG_FIELDS, LECTURE_FIELDS
from weike.builder.repository.schema import SHIPPED_SCHEMA_DIR, editor_schemas, schema_text
from weike.builder.running.checking import run_check
from weike.builder.running.project import Project
from weike.plugins.province.centres import CENTRE_TEXT_LIMITS
from weike.plugins.rules.courses import COURSE_TEXT_LIMITS, INSTRUCTOR_NAME_LIMIT, LECTURE_TITLE_LIMIT


def found(root) -> set[tuple[str, str, int | None]]:
    return {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}


# --------------------------------------------------------------------------------------------
# Reading: each type reports a wrong value at its line
# --------------------------------------------------------------------------------------------


def test_every_declared_type_reports_a_wrong_value_at_its_line(make_repo):
    root = make_repo({"weike.yml": """\
        created_after: 明年
        min_lectures: 0
        max_bio_chars: 十
        profile: [a, b]
        publish_centres: 也许
        recommendation_order: courses/a
        title_cards:
          opening: 是
          opening_seconds: 12
          closing_seconds: 四秒
          colour: red
        """}, valid_courses=("a",))
    assert {entry for entry in found(root) if entry[1] == "weike.yml"} == {
        ("E005", "weike.yml", 1), ("E005", "weike.yml", 2), ("E005", "weike.yml", 3), ("E005", "weike.yml", 4),
        ("E005", "weike.yml", 5), ("E005", "weike.yml", 6), ("E222", "weike.yml", 9), ("E005", "weike.yml", 10),
        ("W006", "weike.yml", 11)}
    config = Project.open(root).load().config
    # Only the one good value arrives; every other key keeps its declared default.
    assert config.plugin_settings == {"title_cards": {"opening": True}}


def test_values_read_by_their_declarations_and_defaults_where_silent(make_repo):
    from weike.plugins.media.settings import profile_name
    from weike.plugins.rules.courses import CallLimits
    from weike.plugins.province.settings import recommendation_order

    root = make_repo({"weike.yml": "min_lectures: 3\nrecommendation_order: [b, a]\n"
                                   "title_cards: {opening: true, opening_seconds: 2.51}\n"}, valid_courses=("a",))
    config = Project.open(root).load().config
    limits = CallLimits.of(config)
    assert (limits.min_lectures, limits.max_summary_chars, str(limits.created_after)) == (3, 100, "2022-06-01")
    assert recommendation_order(config) == ("b", "a") and profile_name(config) == "default"
    assert config.plugin_settings["title_cards"] == {"opening": True, "opening_seconds": 2.52}  # whole frames


# --------------------------------------------------------------------------------------------
# The editors' schemas: made from the declarations, the committed ones equal them
# --------------------------------------------------------------------------------------------


def shipped_settings():
    return Project.open(REPO_ROOT).settings


@pytest.mark.parametrize("name", ["course.schema.json", "lecture.schema.json", "centre.schema.json",
                                  "weike.schema.json"])
def test_committed_schemas_are_what_the_declarations_make(name):
    made = schema_text(editor_schemas(shipped_settings())[name])
    committed = (SHIPPED_SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert committed == made, f"run: weike schema . --out builder/repository/schemas ({name} differs from the declarations)"
    jsonschema.Draft7Validator.check_schema(json.loads(committed))


def test_schema_lengths_are_the_rules_lengths():
    """One number per field: the editor flags exactly what E118, E224 and E713 refuse."""
    schemas = editor_schemas(shipped_settings())

    def schema_max(name, key):
        node = schemas[name]
        for part in key.replace(".N.", ".").split("."):
            node = node["properties"][part] if "properties" in node else node["items"]["properties"][part]
        return node["maxLength"]

    for limit in COURSE_TEXT_LIMITS + (INSTRUCTOR_NAME_LIMIT,):
        assert schema_max("course.schema.json", limit.key.replace("instructors.N.", "instructors.")) == limit.chars
    assert schema_max("lecture.schema.json", LECTURE_TITLE_LIMIT.key) == LECTURE_TITLE_LIMIT.chars
    for limit in CENTRE_TEXT_LIMITS:
        assert schema_max("centre.schema.json", limit.key) == limit.chars
    assert schema_max("course.schema.json", "summary") == 100 and schema_max("centre.schema.json", "promotion") == 300


def test_a_title_one_over_the_limit_is_refused_by_the_editor_and_by_check(make_repo):
    from weike.builder.contracts.settings import max_length

    chars = max_length(COURSE_FIELDS, "title")
    validator = jsonschema.Draft7Validator(editor_schemas(())["course.schema.json"]["properties"]["title"])
    root = make_repo(valid_courses=("a", "b"))
    for slug, length in (("a", chars), ("b", chars + 1)):
        path = root / f"courses/{slug}/course.yml"
        path.write_text(path.read_text(encoding="utf-8").replace("title: 测试课程", "title: " + "课" * length),
                        encoding="utf-8")
    codes = {(d.code, d.location.file) for d in run_check(root).diagnostics}
    assert ("E118", "courses/b/course.yml") in codes and ("E118", "courses/a/course.yml") not in codes
    assert validator.is_valid("课" * chars) and not validator.is_valid("课" * (chars + 1))


def test_demo_weike_yml_validates_against_its_schema():
    validator = jsonschema.Draft7Validator(editor_schemas(shipped_settings())["weike.schema.json"],
                                           format_checker=jsonschema.FormatChecker())
    data = json.loads(json.dumps(yaml.safe_load((REPO_ROOT / "weike.yml").read_text(encoding="utf-8")), default=str))
    validator.validate(data)
    assert not validator.is_valid({**data, "min_lectures": 0}) and not validator.is_valid({**data, "nosuch": 1})


PORTAL_SETTING = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.settings import Choice, Setting, Text


@hookimpl
def weike_settings():
    return [Setting(name="county_portal", type=Text(max_length=60), description="县课程门户地址",
                    description_en="the county's course portal"),
            Setting(name="audience", type=Choice(choices=("老年人", "青少年")), course=True,
                    description="面向的人群", description_en="who the course is for")]
"""


def test_weike_schema_writes_the_repository_plugins_keys(make_repo, capsys):
    root = make_repo(valid_courses=("a",))
    (root / "plugins").mkdir(exist_ok=True)
    (root / "plugins/county.py").write_text(PORTAL_SETTING, encoding="utf-8")
    assert main(["schema", str(root)]) == 0
    course = json.loads((root / ".weike/schemas/course.schema.json").read_text(encoding="utf-8"))
    config = json.loads((root / ".weike/schemas/weike.schema.json").read_text(encoding="utf-8"))
    assert course["properties"]["audience"]["enum"] == ["老年人", "青少年"]
    assert course["properties"]["audience"]["description"] == "面向的人群 (who the course is for)"
    assert config["properties"]["county_portal"]["maxLength"] == 60 and "audience" in config["properties"]
    assert "county_portal" not in course["properties"]
    capsys.readouterr()
    assert main(["schema", str(root)]) == 0
    assert "已是最新" in capsys.readouterr().out  # a second run changes nothing
    # The same declaration reads the files: a value the schema refuses is E005 at its line.
    (root / "weike.yml").write_text("county_portal: " + "a" * 61 + "\n", encoding="utf-8")
    assert ("E005", "weike.yml", 1) in found(root)


# --------------------------------------------------------------------------------------------
# The listing and the docs
# --------------------------------------------------------------------------------------------


def test_docs_list_every_declared_setting(capsys):
    assert main(["plugins", str(REPO_ROOT), "--format", "markdown"]) == 0
    made = capsys.readouterr().out
    text = (REPO_ROOT / "docs/settings.md").read_text(encoding="utf-8")
    assert text == made, "run: weike plugins . --format markdown > docs/settings.md"
    for setting in (*shipped_settings(), *CONFIG_FIELDS):
        for row in setting_rows(setting):
            assert f"| `{row.key}` | {row.files} | {row.type} |" in text, row.key


def test_core_fields_are_declared_with_both_languages():
    for fields in (COURSE_FIELDS, LECTURE_FIELDS, CENTRE_FIELDS, CONFIG_FIELDS, shipped_settings()):
        for setting in fields:
            for row in setting_rows(setting):
                assert row.description and row.description_en, row.key


def test_the_declared_rights_are_the_models_attestations():
    """course.yml's ``rights`` fields (declared for the schema) and the model's RIGHTS_KEYS are one list."""
    from weike.builder.contracts.model import RIGHTS_KEYS
    from weike.builder.contracts.settings import nested_field
    from weike.builder.repository.loading import COURSE_FIELDS

    assert tuple(s.name for s in nested_field(COURSE_FIELDS, "rights").type.fields) == RIGHTS_KEYS
