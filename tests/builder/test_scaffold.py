"""weike new: skeletons that pass once media is added, and say what is left to fill in."""

from __future__ import annotations

import shutil

import yaml

from weike.builder.cli import main
from weike.builder.loading import load_repository
from weike.builder.checking import run_check


def test_scaffold_course_passes_once_media_is_added(tmp_path, media, capsys):
    root = tmp_path / "county"
    root.mkdir()
    assert main(["new", "course", "shouji-rumen", "--title", "手机入门", "--path", str(root)]) == 0
    for name in ("kaiji", "wifi", "zihao", "yuyin", "tonghua", "saoma", "gongjiao", "zhapian", "guahao", "paizhao"):
        assert main(["new", "lecture", "shouji-rumen", name, "--path", str(root)]) == 0
    lectures = sorted(p.name for p in (root / "courses/shouji-rumen").iterdir() if p.is_dir())
    assert lectures[0] == "01-kaiji" and lectures[-1] == "10-paizhao"

    before = run_check(root)
    assert {d.code for d in before.diagnostics if d.is_error} == {"E209"}  # only media missing

    for folder in lectures:
        shutil.copyfile(media("landscape.mp4"), root / "courses/shouji-rumen" / folder / "video.mp4")
    capsys.readouterr()
    assert main(["check", str(root)]) == 0  # passes: only warnings remain
    out = capsys.readouterr().out
    assert "W115" in out and "W111" in out  # placeholders and unattested rights are pointed out
    level_line = next(n for n, line in enumerate((root / "courses/shouji-rumen/course.yml").read_text(
        encoding="utf-8").splitlines(), 1) if line.strip().startswith("level:"))
    assert f"courses/shouji-rumen/course.yml:{level_line}:" in out  # the level is not guessed either
    assert main(["check", str(root), "--strict"]) == 1


def test_scaffold_files_are_commented_and_schema_linked(tmp_path):
    root = tmp_path / "county"
    (root / "courses").mkdir(parents=True)
    main(["new", "course", "c1", "--path", str(root)])
    text = (root / "courses/c1/course.yml").read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (root / "courses/c1" / first.split("=", 1)[1]).resolve()
    assert schema.is_file()
    assert "# 课程简介：100 字以内" in text
    course = load_repository(root).course("c1")
    assert course.rights.public_good is False  # attesting is the teacher's decision


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path, capsys):
    root = tmp_path / "county"
    (root / "courses").mkdir(parents=True)
    assert main(["new", "course", "手机课", "--path", str(root)]) == 2
    assert main(["new", "course", "ok", "--path", str(root)]) == 0
    assert main(["new", "course", "ok", "--path", str(root)]) == 2
    assert main(["new", "lecture", "missing", "x", "--path", str(root)]) == 2
    assert main(["new", "lecture", "ok", "Bad Name", "--path", str(root)]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert sorted(p.name for p in (root / "courses").iterdir()) == ["ok"]  # nothing half-made


def test_lecture_template_is_valid_yaml(tmp_path):
    root = tmp_path / "county"
    (root / "courses").mkdir(parents=True)
    main(["new", "course", "c1", "--path", str(root)])
    main(["new", "lecture", "c1", "x", "--path", str(root)])
    text = (root / "courses/c1/01-x/lecture.md").read_text(encoding="utf-8")
    front = text.split("---")[1]
    assert set(yaml.safe_load(front)) == {"title", "knowledge_point"}


def test_scaffold_centre_is_commented_schema_linked_and_valid(tmp_path, capsys):
    import json

    import jsonschema

    root = tmp_path / "county"
    root.mkdir()  # no courses/ yet: a province may start with its centres
    assert main(["new", "centre", "qinghe", "--name", "清河镇社区学校", "--path", str(root)]) == 0
    text = (root / "centres/qinghe/centre.yml").read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema_path = (root / "centres/qinghe" / first.split("=", 1)[1]).resolve()
    assert schema_path.name == "centre.schema.json" and schema_path.is_file()
    assert "# 特色和经验：字数不超过 1000 字" in text and "# 学校名称：准确填写全称" in text
    validator = jsonschema.Draft7Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    # The editor flags the placeholder e-mail and level; every other skeleton value is schema-valid as it is.
    assert sorted(error.path[-1] for error in validator.iter_errors(yaml.safe_load(text))) == ["email", "level"]
    validator.validate(yaml.safe_load(text.replace("【待填写】电子邮箱", "qinghe@example.edu.cn")
                                      .replace("【待填写】所处层级", "乡镇(街道)")))
    centre = load_repository(root).centres[0]
    assert centre.name == "清河镇社区学校" and centre.publish is True
    diagnostics = run_check(root).diagnostics
    assert {d.code for d in diagnostics} == {"W712"}  # only what is left to fill in
    # No level is guessed for the officer: it is a placeholder, pointed out at its line.
    level_line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("level:"))
    assert centre.level is not None and "【待填写】" in centre.level
    assert ("W712", level_line) in {(d.code, d.location.line) for d in diagnostics}
    assert main(["new", "centre", "qinghe", "--path", str(root)]) == 2
    assert main(["new", "centre", "清河", "--path", str(root)]) == 2
    assert "Traceback" not in capsys.readouterr().err
