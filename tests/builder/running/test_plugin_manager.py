"""Plugin discovery: built-ins, entry points, the repository's own plugins/, failures by name."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from weike.builder.cli import main
from weike.builder.running.checking import StageCrash, run_check
from weike.builder.running.plugin_manager import PluginLoadError, get_plugin_manager
from weike.builder.running.project import Project
from tests.conftest import install_entry_point_plugin

LOCAL_PLUGIN = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Diagnostic, Severity

@hookimpl
def weike_check_course(course, config):
    if course.title and "禁止" in course.title:
        return [Diagnostic(code="X901", severity=Severity.ERROR, location=course.where("title"),
                           message="本县不允许“禁止”", message_en="local rule")]
"""


def test_builtin_rules_are_a_plugin():
    pm = get_plugin_manager(None)
    record = next(r for r in pm.records if r.name == "weike.plugins.rules.courses")
    assert record.origin == "built-in" and "weike_check_course" in record.hooks


def test_repository_plugins_folder_is_loaded(make_repo):
    root = make_repo({"plugins/county_rules.py": LOCAL_PLUGIN}, valid_courses=("c",))
    path = root / "courses/c/course.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("title: 测试课程", "title: 禁止课程"), encoding="utf-8")
    pm = get_plugin_manager(root)
    assert any(r.origin == "local" and r.location == "plugins/county_rules.py" for r in pm.records)
    codes = {(d.code, d.location.line) for d in run_check(root).diagnostics}
    assert ("X901", 1) in codes


def test_entry_point_plugin_is_loaded(tmp_path, monkeypatch):
    install_entry_point_plugin(tmp_path / "site-packages", monkeypatch, module="weike_demo_plugin",
                               source=LOCAL_PLUGIN, entry="demo")
    pm = get_plugin_manager(None)
    record = next(r for r in pm.records if r.name == "demo")
    assert record.origin == "entry point (weike-demo-plugin)"
    assert record.hooks == ("weike_check_course",)
    sys.modules.pop("weike_demo_plugin", None)


def test_broken_plugins_are_named_not_tracebacked(make_repo, capsys):
    root = make_repo({
        "plugins/syntax.py": "def broken(:\n",
        "plugins/typo.py": "from weike.builder.contracts.hookspecs import hookimpl\n\n@hookimpl\ndef weike_chek_course(course):\n    pass\n",
        "plugins/fine.py": LOCAL_PLUGIN,
    }, valid_courses=("c",))
    with pytest.raises(PluginLoadError) as info:
        get_plugin_manager(root)
    names = {f.name for f in info.value.failures}
    assert names == {"syntax", "local:typo"}
    assert main(["check", str(root)]) == 2
    err = capsys.readouterr().err
    assert "plugins/syntax.py" in err and "SyntaxError" in err and "weike_chek_course" in err
    assert "Traceback" not in err
    assert main(["plugins", str(root)]) == 2
    out = capsys.readouterr().out
    assert "FAILED" in out and "local:fine" in out


def test_crashing_plugin_is_blamed_by_name(make_repo, capsys):
    crash = textwrap.dedent("""
        from weike.builder.contracts.hookspecs import hookimpl

        @hookimpl
        def weike_check_course(course, config):
            return 1 / 0
    """)
    root = make_repo({"plugins/crashy.py": crash}, valid_courses=("c",))
    # Inside one course's check, the crash is that course's error (E901), naming the plugin.
    crashed = [d for d in run_check(root).diagnostics if d.code == "E901"]
    assert [d.location.file for d in crashed] == ["courses/c/course.yml"]
    assert "local:crashy" in crashed[0].message_en and "ZeroDivisionError" in crashed[0].message_en
    assert main(["check", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "local:crashy" in out and "Traceback" not in out + err


def test_crash_outside_per_course_work_still_names_the_plugin(make_repo, capsys):
    crash = textwrap.dedent("""
        from weike.builder.contracts.hookspecs import hookimpl

        @hookimpl
        def weike_check_repository(repository):
            return 1 / 0
    """)
    root = make_repo({"plugins/crashy.py": crash}, valid_courses=("c",))
    with pytest.raises(StageCrash) as info:
        run_check(root)
    assert info.value.plugin == "local:crashy"
    assert main(["check", str(root)]) == 2
    err = capsys.readouterr().err
    assert "local:crashy" in err and "ZeroDivisionError" in err and "Traceback" not in err


def test_weike_own_plugins_folder_is_not_loaded_twice():
    from tests.conftest import REPO_ROOT

    pm = get_plugin_manager(REPO_ROOT)
    assert [r.name for r in pm.records].count("weike.plugins.rules.courses") == 1
    assert not [r for r in pm.records if r.origin == "local"]


def test_plugins_can_add_commands(tmp_path, monkeypatch, capsys):
    install_entry_point_plugin(tmp_path / "site-packages", monkeypatch, module="weike_hello", entry="hello",
                               source=textwrap.dedent("""
        from weike.builder.contracts.hookspecs import hookimpl

        def cmd_hello(project, args):
            print("你好，" + args.name)
            return 0

        @hookimpl
        def weike_cli_commands(subparsers):
            parser = subparsers.add_parser("hello")
            parser.add_argument("name")
            parser.set_defaults(func=cmd_hello)
    """))
    assert main(["hello", "县城"]) == 0
    assert capsys.readouterr().out == "你好，县城\n"
    sys.modules.pop("weike_hello", None)




def test_weike_plugins_lists_the_settings_each_plugin_declares(capsys):
    from tests.conftest import REPO_ROOT

    assert main(["plugins", str(REPO_ROOT)]) == 0
    out = capsys.readouterr().out
    media = out.split("weike.plugins.media  [built-in]", 1)[1].split("\nweike.", 1)[0]
    assert "    profile  [weike.yml]  text = default\n" in media
    assert "    title_cards.opening_seconds  [weike.yml, course.yml]  number > 0 ≤ 10 = 4\n        片头秒数" in media
    assert main(["plugins", str(REPO_ROOT), "--format", "json"]) == 0
    records = {record["name"]: record for record in json.loads(capsys.readouterr().out)}
    rules = records["weike.plugins.rules.courses"]["settings"]
    assert [setting["name"] for setting in rules] == ["created_after", "min_lectures", "max_summary_chars",
                                                      "max_bio_chars"]
    assert rules[1] | {"description": ""} == {
        "name": "min_lectures", "file": "weike.yml", "course": False, "type": "integer ≥ 1", "default": 10,
        "description": "", "description_en": "fewest microlectures a course must have (E108)",
        "schema": {"type": "integer", "minimum": 1}}


def test_a_repository_plugin_that_is_also_installed_runs_once(make_repo, monkeypatch):
    """A county installs its own repository (pip install -e) with plugins/county.py as an entry
    point: discovery finds the file twice, and its rule must still report once."""
    root = make_repo(valid_courses=("c",))
    course_yml = root / "courses/c/course.yml"
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("title: 测试课程", "title: 禁止的课程"),
                          encoding="utf-8")
    install_entry_point_plugin(root / "plugins", monkeypatch, module="county_rule", entry="county",
                               source=LOCAL_PLUGIN)
    try:
        pm = get_plugin_manager(root)
        skipped = [r for r in pm.records if r.skipped]
        assert [(r.location, r.origin) for r in skipped] == [("plugins/county_rule.py", "local")]
        assert [d.code for d in run_check(Project.open(root, plugin_manager=pm)).diagnostics].count("X901") == 1
    finally:
        sys.modules.pop("county_rule", None)


#: What a stage, a command or a rule needs, never the registration every command pays for
#: (the no-change rebuild included): codecs and pictures, the notes' sanitiser, weike share's server.
STAGE_ONLY_MODULES = ("PIL", "ffmpeg", "nh3", "http.server", "ssl", "weike.plugins.media.encoding",
                      "weike.plugins.media.stage", "weike.plugins.media.cards", "weike.plugins.media.checks",
                      "weike.plugins.site.share", "weike.plugins.site.catalogue", "weike.plugins.site.contributed")

REGISTRATION_ONLY = """
import json, sys
from weike.builder.running.project import Project
project = Project.open(sys.argv[1])
pm = project.plugin_manager
pm.hook.weike_output_stages()
pm.hook.weike_build_inputs(root=project.root, config=project.config)
print(json.dumps(sorted(sys.modules)))
"""


def test_registering_the_builtin_plugins_imports_no_stage_code(make_repo):
    """Every command opens the project (its plugins registered, weike.yml read against their
    settings) and a build asks them what they read and which stages they run, before it knows
    whether anything changed; the heavy modules come in only when a stage, a rule or a command
    uses them."""
    import subprocess

    root = make_repo(valid_courses=("aa",))
    done = subprocess.run([sys.executable, "-c", REGISTRATION_ONLY, str(root)], capture_output=True, text=True,
                          cwd=root, check=True)
    imported = set(json.loads(done.stdout))
    assert "weike.plugins.media" in imported and "weike.plugins.site" in imported
    assert sorted(name for name in STAGE_ONLY_MODULES if name in imported) == []


def test_the_plugins_public_names_are_there_when_asked_for():
    import weike.plugins.media as media
    import weike.plugins.site as site
    from weike.plugins.media import DATA_SAVER, DEFAULT_PROFILE, SaverRecipe, run_ffmpeg
    from weike.plugins.media.runner import run
    from weike.plugins.site import ShareRoute, SitePage, site_url

    assert run_ffmpeg is run and isinstance(DATA_SAVER, SaverRecipe) and DEFAULT_PROFILE.name == "default"
    assert {"DATA_SAVER", "plan_lecture", "dask_checks"} <= set(dir(media))
    assert {"ShareRoute", "SitePage", "study_hours"} <= set(dir(site)) and callable(site_url)
    assert ShareRoute.__module__ == "weike.plugins.site.share" and SitePage.__module__ == "weike.plugins.site.contributed"
    with pytest.raises(AttributeError):
        media.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        from weike.plugins.site import no_such_name  # noqa: F401
