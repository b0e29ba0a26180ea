"""weike new: skeletons that pass once media is added, and say what is left to fill in."""

from __future__ import annotations

import re
import shutil

import yaml

from weike.builder.cli import main
from weike.builder.repository.loading import load_repository
from weike.builder.running.checking import run_check


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


def _git(repo, *args) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def _git_without_identity(tmp_path, monkeypatch) -> None:
    """A machine where git knows no name or e-mail (a fresh account): no global or system config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


def test_new_repo_is_a_git_repository_with_a_first_commit(tmp_path, monkeypatch, capsys):
    if shutil.which("git") is None:
        import pytest

        pytest.skip("no git on this machine")
    _git_without_identity(tmp_path, monkeypatch)
    assert main(["new", "repo", str(tmp_path / "mine")]) == 0
    repo = tmp_path / "mine"
    assert _git(repo, "rev-list", "--count", "HEAD") == "1"
    assert _git(repo, "status", "--porcelain") == ""  # everything made is committed...
    committed = set(_git(repo, "ls-files").splitlines())
    assert {"weike.yml", ".gitignore", ".vscode/settings.json", ".weike/schemas/course.schema.json"} <= committed
    assert _git(repo, "log", "-1", "--format=%an <%ae>") == "weike <weike@localhost>"  # ... by a fallback name
    err = capsys.readouterr().err
    assert "git config --global user.name" in err and "Traceback" not in err

    assert main(["new", "repo", str(tmp_path / "plain"), "--no-git"]) == 0
    assert not (tmp_path / "plain/.git").exists() and (tmp_path / "plain/weike.yml").is_file()


def test_new_repo_without_git_installed_says_so_and_still_works(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["new", "repo", str(tmp_path / "mine")]) == 0
    assert not (tmp_path / "mine/.git").exists() and (tmp_path / "mine/weike.yml").is_file()
    err = capsys.readouterr().err
    assert "没有找到 git" in err and "git init" in err


def test_new_repo_weike_yml_holds_the_provinces_keys_ready_to_uncomment(tmp_path):
    from weike.builder.repository.centre import DEPARTMENT_KEYS, STATISTICS_KEYS

    assert main(["new", "repo", str(tmp_path / "mine"), "--no-git"]) == 0
    config = tmp_path / "mine/weike.yml"
    text = config.read_text(encoding="utf-8")
    assert run_check(tmp_path / "mine").diagnostics == []  # commented out: nothing to fill in yet
    # An officer removes the "# " of the setting lines (a key, or a list item, after it).
    uncommented = "\n".join(line[2:] if re.match(r"# ( *)(- |[a-z_]+:)", line) else line
                            for line in text.splitlines())
    data = yaml.safe_load(uncommented)
    assert data["province"] and data["recommendation_order"]
    assert set(data["department"]) == set(DEPARTMENT_KEYS)
    assert list(data["statistics"]) == list(STATISTICS_KEYS)  # every 附件5 column, in the form's order
    config.write_text(uncommented, encoding="utf-8")
    codes = {d.code for d in run_check(tmp_path / "mine").diagnostics}
    assert not codes & {"W006", "E005", "E801", "E802", "E804"}, codes
