"""The weike command: output formats, exit status, no tracebacks."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from weike.builder.cli import main
from tests.conftest import COURSE_YML


@pytest.fixture
def bad_repo(make_repo):
    return make_repo({"courses/bad/course.yml": COURSE_YML.replace("theme: 老年智慧生活", "theme: 无此主题")
                      .replace("title: 测试课程", "title: 另一门课")},
                     valid_courses=("good",))


def test_json_output_shape(bad_repo, capsys):
    assert main(["check", str(bad_repo), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"diagnostics", "summary"}
    first = next(d for d in payload["diagnostics"] if d["code"] == "E104")
    assert set(first) == {"code", "severity", "file", "line", "column", "message", "message_en", "hint"}
    assert first["file"] == "courses/bad/course.yml"  # relative, POSIX
    assert (first["line"], first["column"], first["severity"]) == (3, 8, "error")
    lineless = next(d for d in payload["diagnostics"] if d["code"] == "E108")
    assert lineless["line"] == 1
    assert payload["summary"]["courses"] == 2 and payload["summary"]["ok"] is False
    assert payload["summary"]["errors"] == sum(d["severity"] == "error" for d in payload["diagnostics"])


def test_json_null_line_for_folder_problems(make_repo, capsys):
    root = make_repo({"courses/c/13-empty/x.txt": "x"}, valid_courses=("c",))
    main(["check", str(root), "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    folder = next(d for d in payload["diagnostics"] if d["code"] == "E008")
    assert folder["file"] == "courses/c/13-empty" and folder["line"] is None and folder["column"] is None


def test_github_annotations(bad_repo, capsys):
    main(["check", str(bad_repo), "--format", "github"])
    lines = capsys.readouterr().out.splitlines()
    assert "::error file=courses/bad/course.yml,line=3,col=8,title=E104::" in "\n".join(lines)
    assert all(line.startswith("::") for line in lines[:-1])


def test_text_output_also_annotates_under_github_actions(bad_repo, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    main(["check", str(bad_repo)])
    out = capsys.readouterr().out
    assert "courses/bad/course.yml:3:8: error E104" in out and "::error file=courses/bad/course.yml" in out


def test_warnings_fail_only_when_strict(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("public_good: true", "public_good: false"),
                    encoding="utf-8")
    assert main(["check", str(root)]) == 0
    assert main(["check", str(root), "--strict"]) == 1


def test_not_a_repository_is_a_usage_error(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "courses/" in err and "Traceback" not in err


def test_internal_errors_never_show_a_traceback(make_repo, capsys, monkeypatch):
    import weike.builder.running.checking

    def explode(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(weike.builder.running.checking, "check_repository", explode)
    assert main(["check", str(make_repo())]) == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "--format", "yaml"])
    assert info.value.code == 2


def test_console_script_is_installed():
    # From another folder: the installed package, not a source tree that happens to be the cwd.
    completed = subprocess.run([sys.executable, "-m", "weike.builder", "--help"], capture_output=True, text=True,
                               check=True, cwd="/")
    for command in ("check", "build", "plugins", "new"):
        assert command in completed.stdout


def test_build_runs_check_and_reports_failures(bad_repo, capsys):
    assert main(["build", str(bad_repo), "--only", "reports", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "courses/bad" in out and "E104" in out


def test_codequality_format(bad_repo, capsys):
    assert main(["check", str(bad_repo), "--format", "codequality"]) == 1
    issues = json.loads(capsys.readouterr().out)
    first = next(i for i in issues if i["check_name"] == "E104")
    assert first["location"] == {"path": "courses/bad/course.yml", "lines": {"begin": 3}}
    assert first["severity"] == "major"
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_missing_ffmpeg_names_the_fix_not_a_plugin(make_repo, capsys, monkeypatch, tmp_path):
    from weike.plugins.media import runner as ffmpeg

    root = make_repo(valid_courses=("c",))
    monkeypatch.setenv("WEIKE_CACHE_DIR", str(tmp_path / "fresh-cache"))  # nothing memoised yet
    monkeypatch.setenv("WEIKE_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    ffmpeg.find_binaries.cache_clear()
    try:
        assert main(["check", str(root)]) == 2
    finally:
        ffmpeg.find_binaries.cache_clear()
    err = capsys.readouterr().err
    assert "WEIKE_FFMPEG" in err and "crashed" not in err and "Traceback" not in err


#: Characters a terminal or a reviewer must never receive raw from a course's text.
_HIDDEN = ("\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\u200b", "\r")


@pytest.mark.parametrize("fmt", ["text", "json", "github", "codequality"])
def test_no_output_format_prints_control_or_bidi_characters(make_repo, capfd, fmt):
    # An unknown key is quoted back in W006 as written; a lecture folder name in every location.
    hostile_key = '"\\e[2J\\e[1;32m检查通过 all OK\\e]52;c;ZWNobyBoaQ==\\a\\x9b\\x7f\\u202e\\u200b\\r"'
    root = make_repo({"courses/c/course.yml": COURSE_YML + f"{hostile_key}: 1\ncolour\\u202e: 2\n",
                      "courses/c/01-a\x1b[2J\u202e/lecture.md": "---\ntitle: 一\nknowledge_point: 二\n---\n"})
    done = subprocess.run([sys.executable, "-m", "weike.builder", "check", str(root), "--format", fmt],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert not [c for c in _HIDDEN if c in done.stdout + done.stderr], done.stdout
    assert "\\x1b" in done.stdout or "\\u001b" in done.stdout  # shown, as an escape
    if fmt in ("json", "codequality"):
        json.loads(done.stdout)


def test_core_commands_are_the_ones_the_core_parser_has():
    from weike.builder.cli import CORE_COMMANDS, build_parser

    parser = build_parser(plugin_commands=False)
    (commands,) = (action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert set(commands.choices) == CORE_COMMANDS
    everything = build_parser()
    (all_commands,) = (action for action in everything._actions if isinstance(action, argparse._SubParsersAction))
    assert {"serve", "edit", "probe"} <= set(all_commands.choices)  # the plugins' come with the rest


def test_a_core_command_imports_no_plugin_command_module_nor_output_library(make_repo):
    """`weike check` (and build) reads no plugin's command line: the editor's, with its pinyin
    tables, is not imported; nor are the libraries that only writing an output or showing
    progress needs (the spreadsheets', the Word forms', the ffmpeg wheel's downloader, Rich).
    A plugin's command still runs, and --help still lists them all."""
    root = make_repo(valid_courses=("c",))
    unneeded = ("weike.plugins.editor.command", "pypinyin", "weike.plugins.site.serve", "openpyxl", "docx",
                "requests", "rich")  # rich: no progress display is shown when the output is no terminal
    script = ("import sys; from weike.builder.cli import main; code = main(sys.argv[1:]); "
              f"print(sorted(m for m in {unneeded!r} if m in sys.modules)); sys.exit(code)")
    check = subprocess.run([sys.executable, "-c", script, "check", str(root)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[-1] == "[]"
    helped = subprocess.run([sys.executable, "-c", script, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "serve" in helped.stdout and "edit" in helped.stdout
    plugin = subprocess.run([sys.executable, "-c", script, "bundles", str(root)], capture_output=True, text=True)
    assert plugin.returncode == 0, plugin.stderr
