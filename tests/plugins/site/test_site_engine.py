"""The site engine as a contract: `weike doctor` names it and its versions; pyproject.toml pins them."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import tomllib

from weike.builder.cli import main
from weike.plugins.site.doctor import ENGINE_PACKAGES, engine_range, site_engine_check
from tests.conftest import REPO_ROOT


def engine_line(capsys) -> dict:
    capsys.readouterr()
    main(["doctor", "--format", "json"])
    checks = json.loads(capsys.readouterr().out)
    return next(check for check in checks if check["section"] == "site" and check["name"] == "site engine")


def test_doctor_names_the_site_engine_and_the_versions_in_use(capsys):
    line = engine_line(capsys)
    assert line["status"] == "ok", line
    assert "MkDocs + Material for MkDocs" in line["detail"]
    for name in ENGINE_PACKAGES:
        assert f"{name} {importlib.metadata.version(name)}" in line["detail"]
        assert engine_range(name) in line["detail"]  # and the range it is tested in


def test_an_engine_release_outside_the_tested_range_is_a_warning_naming_the_fix(tmp_path, monkeypatch, capsys):
    # An installed MkDocs 2.0 pre-release (the one that drops plugins), found first on the path.
    dist = tmp_path / "site-packages" / "mkdocs-2.0.0a1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mkdocs\nVersion: 2.0.0a1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(dist.parent))
    importlib.invalidate_caches()
    check = site_engine_check()
    assert check.status.value == "warning"
    assert "mkdocs 2.0.0a1" in check.detail and "untested: mkdocs" in check.detail
    assert "'mkdocs>=1.6,<1.7'" in check.fix
    assert engine_line(capsys)["status"] == "warning"  # and `weike doctor` says so


def test_pyproject_pins_the_engine_to_the_tested_ranges():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {requirement.split(">")[0].split("<")[0].split("=")[0]: requirement.replace(" ", "")
            for requirement in pyproject["project"]["dependencies"]}
    assert {name: pins[name] for name in ENGINE_PACKAGES} == {name: engine_range(name) for name in ENGINE_PACKAGES}


def test_the_frame_parts_made_once_are_those_each_page_would_make(built_site, monkeypatch):
    """The sidebar, configuration script and search dialog are rendered once and reused on the course
    and lecture pages: every page is byte for byte what rendering each part for it makes."""
    import os

    from tests.plugins.site.conftest import build_site
    from tests.plugins.site.test_site_incremental import tree
    from weike.plugins.site.generated import GeneratedPages, NavigationCache

    made: list[str] = []
    remember = NavigationCache.set

    def counted(self, key, html):
        made.append(key)
        return remember(self, key, html)

    monkeypatch.setattr(NavigationCache, "set", counted)
    built = built_site({"site/about.md": "# 关于我们\n\n介绍。\n"}, site_url="https://weike.example.gov.cn/")
    assert "search-dialog" in made and {key for key in made if key.startswith("config|")} == {"config|../..",
                                                                                              "config|../../.."}
    reused = tree(built.site)

    def without_cache(self, env, *, config, files):
        return env

    monkeypatch.setattr(GeneratedPages, "on_env", without_cache)
    os.rename(built.site, built.site.with_name("site-reused"))
    made.clear()
    build_site(built.root, built.delivered)
    assert made == []
    each = tree(built.site)
    assert sorted(each) == sorted(reused)
    assert [rel for rel in each if each[rel] != reused[rel]] == []
