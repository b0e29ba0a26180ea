"""The CI templates are valid YAML, installable with weike new ci, and their weike steps run."""

from __future__ import annotations

import shlex

import pytest
import yaml

from weike.builder.cli import main
from weike.builder.running.scaffold import CI_TEMPLATE_DIR, CI_TEMPLATES


def load(system):
    return yaml.safe_load((CI_TEMPLATE_DIR / CI_TEMPLATES[system][0]).read_text(encoding="utf-8"))


def weike_commands(system) -> list[str]:
    """Every shell line of the template that runs weike, in order."""
    doc = load(system)
    lines = []
    if system == "github":
        for job in doc["jobs"].values():
            lines += [step["run"] for step in job.get("steps", []) if "run" in step]
    else:
        for job in doc.values():
            if isinstance(job, dict) and "script" in job:
                lines += job["script"]
    return [line for line in lines if line.lstrip().startswith("weike ")]


def test_github_workflow_shape():
    doc = load("github")
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    assert "v*" in triggers["push"]["tags"]
    for name, job in doc["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        for step in job["steps"]:
            if "uses" in step:
                assert "@v" in step["uses"], step  # pinned to a major version
    uses = [s.get("uses", "") for job in doc["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/cache@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)


def test_gitlab_pipeline_shape():
    doc = load("gitlab")
    stages = doc["stages"]
    jobs = {k: v for k, v in doc.items() if isinstance(v, dict) and "script" in v}
    assert {"check", "build", "pages"} <= set(jobs)
    for name, job in jobs.items():
        assert job["stage"] in stages, name
    assert doc["check"]["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert ".weike/cache" in str(doc["build"]["cache"])


@pytest.mark.parametrize("system", sorted(CI_TEMPLATES))
def test_new_ci_writes_the_template_once(tmp_path, system, capsys):
    (tmp_path / "courses").mkdir()
    assert main(["new", "ci", system, "--path", str(tmp_path)]) == 0
    target = tmp_path / CI_TEMPLATES[system][1]
    assert target.read_bytes() == (CI_TEMPLATE_DIR / CI_TEMPLATES[system][0]).read_bytes()
    assert main(["new", "ci", system, "--path", str(tmp_path)]) == 2  # never overwritten


@pytest.mark.slow
@pytest.mark.parametrize("system", sorted(CI_TEMPLATES))
def test_weike_steps_run_locally(make_repo, monkeypatch, capsys, system):
    """Run each template's weike lines, as CI would, in a small course repository."""
    root = make_repo(valid_courses=("c",))
    monkeypatch.chdir(root)
    monkeypatch.setenv("WEIKE_CACHE_DIR", str(root / ".weike" / "cache"))
    commands = weike_commands(system)
    assert any(" check" in c for c in commands) and any(" build" in c for c in commands)
    for line in commands:
        shell = line.split("||")[0]
        command, _, redirect = shell.partition(">")
        status = main(shlex.split(command)[1:])
        out = capsys.readouterr().out
        if redirect.strip():
            (root / redirect.strip()).write_text(out, encoding="utf-8")
        assert status == 0, (line, out)
    if system == "gitlab":
        assert (root / "gl-code-quality-report.json").read_text(encoding="utf-8").strip() == "[]"


def test_check_step_fails_and_annotates_on_errors(make_repo, monkeypatch, capsys):
    root = make_repo({"courses/c/course.yml": "title: 只有名称\n"})
    monkeypatch.chdir(root)
    check = next(c for c in weike_commands("github") if " check" in c)
    assert main(shlex.split(check)[1:]) == 1
    assert "::error file=courses/c/course.yml" in capsys.readouterr().out
