"""Centre rules (E7xx) and the province's facts in weike.yml (E8xx): codes and lines, as authors see them."""

from __future__ import annotations

import json

import jsonschema
import yaml

from weike.builder.repository.centre import CENTRE_KEYS, CONTACT_KEYS, STATISTICS_KEYS
from weike.plugins.province import STATISTIC_FIELDS
from weike.builder.cli import main
from weike.builder.contracts.model import PROVIDER_LEVELS
from weike.builder.repository.loading import load_repository
from weike.builder.running.checking import run_check
from tests.conftest import REPO_ROOT

GOOD = """\
name: 测试县清河镇社区学校
level: 乡镇(街道)
region: 测试省测试县清河镇
contact:
  name: 王老师
  phone: 0571-88886666
  email: qinghe@example.edu.cn
foundation: 设施和经费。
team: 教师和志愿者。
activities: 课程和活动。
sustainability: 成效和影响。
highlights: 特色和经验。
promotion: 可复制的做法。
"""


def found(root) -> set[tuple[str, str, int | None]]:
    return {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}


def test_a_good_centre_passes(make_repo):
    root = make_repo({"centres/qinghe/centre.yml": GOOD})
    assert found(root) == set()


def test_a_short_level_is_read_as_the_forms_label_as_in_course_yml(make_repo):
    root = make_repo({"centres/qinghe/centre.yml": GOOD.replace("level: 乡镇(街道)", "level: 街道")})
    assert found(root) == {("W015", "centres/qinghe/centre.yml", 2)}
    assert load_repository(root).centres[0].level == "乡镇(街道)"
    root = make_repo({"centres/qinghe/centre.yml": GOOD.replace("level: 乡镇(街道)", "level: 省级")})
    assert found(root) == {("E704", "centres/qinghe/centre.yml", 2)}


def test_missing_fields_wrong_contact_and_counted_characters(make_repo):
    text = (GOOD.replace("region: 测试省测试县清河镇\n", "")
            .replace("0571-88886666", "请打电话")
            .replace("qinghe@example.edu.cn", "qinghe-at-example")
            .replace("promotion: 可复制的做法。", "promotion: " + "推" * 301)
            .replace("team: 教师和志愿者。\n", ""))
    # 1000 characters spread over lines: line breaks are not counted.
    text = text.replace("highlights: 特色和经验。", "highlights: |\n" + ("  " + "特" * 100 + "\n") * 10)
    root = make_repo({"centres/qinghe/centre.yml": text})
    assert found(root) == {
        ("E701", "centres/qinghe/centre.yml", 1),   # region missing: the file's first line
        ("E701", "centres/qinghe/centre.yml", 1),   # team missing
        ("E705", "centres/qinghe/centre.yml", 5),
        ("E706", "centres/qinghe/centre.yml", 6),
        ("E703", "centres/qinghe/centre.yml", 22),
    }
    messages = [d.message for d in run_check(root).diagnostics if d.code == "E701"]
    assert any("region" in m for m in messages) and any("team" in m for m in messages)


def test_photos_must_be_real_images_inside_the_folder(make_repo, cover_jpeg):
    text = GOOD + "photos:\n  - ok.jpg\n  - missing.jpg\n  - ../../outside.jpg\n  - fake.png\n"
    root = make_repo({"centres/qinghe/centre.yml": text, "centres/qinghe/ok.jpg": cover_jpeg,
                      "centres/qinghe/fake.png": b"not a picture", "outside.jpg": cover_jpeg})
    assert found(root) == {("E708", "centres/qinghe/centre.yml", line) for line in (16, 17, 18)}


def test_folder_without_centre_yml_bad_slug_and_wrong_types(make_repo):
    root = make_repo({"centres/empty/notes.txt": "x",
                      "centres/Qing He/centre.yml": GOOD,
                      "centres/typed/centre.yml": GOOD.replace("team: 教师和志愿者。", "team: [a, b]")
                      + "publish: 也许\n"})
    assert found(root) == {("E710", "centres/empty", None), ("E709", "centres/Qing He", None),
                           ("E005", "centres/typed/centre.yml", 9), ("E005", "centres/typed/centre.yml", 14)}


def test_scaffold_placeholders_are_warnings(make_repo):
    root = make_repo()
    assert main(["new", "centre", "xin", "--path", str(root)]) == 0
    codes = {d.code for d in run_check(root).diagnostics}
    assert codes == {"W712"}


def test_statistics_must_be_non_negative_and_parts_within_their_totals(make_repo):
    weike = ("department:\n  contact: 钱处长\n  phone: 不知道\n"
             "statistics:\n"
             "  higher_vocational_colleges: 10\n"
             "  higher_vocational_colleges_in_community_education: 11\n"
             "  towns: -3\n"
             "  secondary_vocational_schools: 5\n"
             "  secondary_vocational_schools_in_community_education: 5\n"
             "  villages: 10\n"
             "  village_learning_points: 12\n"
             "  trainings: 12.5\n"
             "  funding_per_capita: 3.5\n")
    root = make_repo({"weike.yml": weike}, valid_courses=("ok",))
    assert found(root) == {("E804", "weike.yml", 3), ("E802", "weike.yml", 6), ("E801", "weike.yml", 7),
                           ("W803", "weike.yml", 11), ("E801", "weike.yml", 12)}


def test_recommendation_order_may_name_centres(make_repo):
    root = make_repo({"weike.yml": "recommendation_order: [qinghe, centres/qinghe, nowhere, centres/ok, ok]\n",
                      "centres/qinghe/centre.yml": GOOD, "centres/ok/centre.yml": GOOD},
                     valid_courses=("ok",))
    assert {(d.code, d.location.line) for d in run_check(root).diagnostics} == {("W602", 1), ("W604", 1)}


# --------------------------------------------------------------------------------------------
# The schema editors use, and the demo centres
# --------------------------------------------------------------------------------------------


def centre_schema():
    return json.loads((REPO_ROOT / "builder/repository/schemas/centre.schema.json").read_text(encoding="utf-8"))


def test_schema_matches_the_loader():
    schema = centre_schema()
    assert tuple(schema["properties"]) == CENTRE_KEYS
    assert tuple(schema["properties"]["contact"]["properties"]) == CONTACT_KEYS
    assert tuple(schema["properties"]["level"]["enum"]) == PROVIDER_LEVELS
    assert len(STATISTICS_KEYS) == 1 + len(STATISTIC_FIELDS) == 15


def test_demo_centres_pass_check_and_validate_against_the_schema():
    repository = load_repository(REPO_ROOT)
    assert len(repository.centres) == 2
    assert [d for d in run_check(REPO_ROOT).diagnostics if d.location.file.startswith("centres")] == []
    validator = jsonschema.Draft7Validator(centre_schema())
    for path in sorted((REPO_ROOT / "centres").glob("*/centre.yml")):
        validator.validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert {c.publish for c in repository.centres} == {True, False}  # the demo shows both
    assert repository.config.statistics is not None and repository.config.department is not None


def test_centre_files_and_folders_linked_from_outside_are_not_read(make_repo, tmp_path):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "centre.yml").write_text(GOOD.replace("测试县清河镇社区学校", "机密学校"), encoding="utf-8")
    root = make_repo({"centres/qinghe/centre.yml": GOOD})
    (root / "centres/linkfile").mkdir()
    (root / "centres/linkfile/centre.yml").symlink_to(secret / "centre.yml")
    (root / "centres/wholefolder").symlink_to(secret, target_is_directory=True)

    diagnostics = run_check(root).diagnostics
    assert sorted(str(d.location) for d in diagnostics if d.code == "E206") == [
        "centres/linkfile/centre.yml:1:1", "centres/wholefolder"]
    assert all(centre.name != "机密学校" for centre in load_repository(root).centres)


def test_photos_pass_the_same_pixel_cap_and_full_decode_as_covers(make_repo, cover_jpeg):
    """A picture bomb, a 100-megapixel PNG and a truncated JPEG are each E708 at their line: check
    and build finish (exit 1, no traceback) and the courses are still built."""
    from tests.conftest import bomb_png

    truncated = cover_jpeg.read_bytes()
    text = GOOD + "photos:\n  - bomb.png\n  - huge.png\n  - cut.jpg\n  - ok.jpg\n"
    root = make_repo({"centres/qinghe/centre.yml": text, "centres/qinghe/bomb.png": bomb_png(20_000, 20_000),
                      "centres/qinghe/huge.png": bomb_png(10_000, 10_000),
                      "centres/qinghe/cut.jpg": truncated[: len(truncated) // 2],
                      "centres/qinghe/ok.jpg": cover_jpeg}, valid_courses=("a",))
    assert len(bomb_png(20_000, 20_000)) < 100_000
    assert found(root) == {("E708", "centres/qinghe/centre.yml", line) for line in (15, 16, 17)}
    assert main(["check", str(root)]) == 1
    assert main(["build", str(root), "--only", "media"]) == 1
    assert (root / "dist/media/a").is_dir()


def test_text_longer_than_its_box_or_broken_over_lines_is_E713_at_its_line(make_repo):
    text = (GOOD.replace("name: 测试县清河镇社区学校", "name: " + "清" * 240)
            .replace("region: 测试省测试县清河镇", 'region: "测试省\\n测试县"')
            .replace("  name: 王老师", "  name: " + "王" * 21)
            .replace("foundation: 设施和经费。", "foundation: " + "设" * 2001)
            .replace("team: 教师和志愿者。", "team: |\n  " + "教" * 1000 + "\n  " + "师" * 1000))
    root = make_repo({"centres/qinghe/centre.yml": text})
    assert found(root) == {("E713", "centres/qinghe/centre.yml", line) for line in (1, 3, 5, 8)}
    message = next(d for d in run_check(root).diagnostics if d.location.line == 1).message
    assert "240" in message and "50" in message and "清" * 30 not in message  # the limit, not the whole name
