"""The README's quick start works when followed literally, in a folder of the teacher's own."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from weike.builder.cli import main
from weike.builder.running.checking import run_check
from tests.conftest import REPO_ROOT


def _quickstart() -> tuple[list[str], str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- quickstart:.*?-->\s*```bash\n(.*?)```\s*<!-- /quickstart -->(.*?)\n## ", readme, re.S)
    assert block, "README.md lost its marked quick start"
    return [line for line in block.group(1).splitlines() if line.strip()], block.group(2)


def _demo_state() -> dict[str, tuple[int, int]]:
    return {path.relative_to(REPO_ROOT).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in (REPO_ROOT / "courses").rglob("*")}


def test_quickstart_followed_literally(tmp_path, monkeypatch, capsys):
    commands, explanation = _quickstart()
    demo_before = _demo_state()
    monkeypatch.chdir(tmp_path)
    exit_codes = []
    for line in commands:
        words = shlex.split(line, comments=True)
        if words[0] == "cd":
            monkeypatch.chdir(words[1])
            continue
        assert words[0] == "weike", line
        exit_codes.append((line, main(words[1:])))
    out = capsys.readouterr().out
    assert "Traceback" not in out
    *creating, (last, check_exit) = exit_codes
    assert last == "weike check"
    assert all(code == 0 for _, code in creating), creating
    # check runs and lists what is left to do, exactly what the README says it will.
    assert check_exit == 1
    errors = {d.code for d in run_check(tmp_path / "wode-kecheng").diagnostics if d.is_error}
    assert errors == {"E108", "E209"}
    for code in errors | {"W115", "W116"}:
        assert code in explanation, f"the quick start does not explain {code}"
    assert _demo_state() == demo_before  # weike's own demo courses untouched


def test_new_repo_makes_a_repository_of_ones_own(tmp_path, capsys):
    assert main(["new", "repo", str(tmp_path / "mine")]) == 0
    repo = tmp_path / "mine"
    assert (repo / "courses").is_dir() and (repo / "weike.yml").is_file()
    settings = json.loads((repo / ".vscode/settings.json").read_text(encoding="utf-8"))
    for schema, globs in settings["yaml.schemas"].items():
        assert (repo / schema).is_file(), schema
    ignored = (repo / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/dist/" in ignored and "!/.weike/schemas/" in ignored  # cache ignored, schemas committed
    assert run_check(repo).diagnostics == []  # weike.yml is valid as written
    # An existing folder with files is never overwritten.
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/notes.txt").write_text("mine", encoding="utf-8")
    assert main(["new", "repo", str(tmp_path / "taken")]) == 2
    assert "已经存在" in capsys.readouterr().err
    assert (tmp_path / "taken/notes.txt").read_text(encoding="utf-8") == "mine"


def test_new_help_is_chinese_first(capsys):
    with pytest.raises(SystemExit):
        main(["new", "--help"])
    out = capsys.readouterr().out
    for kind in ("repo", "course", "lecture", "centre", "ci"):
        line = next(line for line in out.splitlines() if line.strip().startswith(kind + " "))
        described = line.strip()[len(kind):].strip()
        assert re.match(r"[\u4e00-\u9fff]", described), line  # Chinese first, English alongside
        assert re.search(r"\([A-Za-z]", out)
