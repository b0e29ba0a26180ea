"""The site's settings: extra.weike in mkdocs.yml, read once by its declarations, with lines; a
site_url MkDocs would refuse is named at its line by weike check."""

from __future__ import annotations

import pytest

from weike.builder.running.checking import run_check
from weike.builder.running.project import Project
from weike.plugins.site.settings import site_url


# --------------------------------------------------------------------------------------------
# extra.weike in mkdocs.yml: one typed reader, every problem at its line (W408, never blocking)
# --------------------------------------------------------------------------------------------


def test_extra_weike_problems_are_warnings_at_their_lines(tmp_path):
    from weike.plugins.site.offline.edition import offline_settings
    from weike.plugins.site.engine import load_settings

    (tmp_path / "mkdocs.yml").write_text("""\
site_name: 社区教育微课
extra:
  generator: false
  weike:
    search_notes: 对
    data_saver: sometimes
    colour: red
    offline:
      enabled: "yes"
      courses: photo
      name: 县/乡:微课
      size: 4
""", encoding="utf-8")
    settings = load_settings(tmp_path, None)
    assert sorted(((d.code, d.severity.value, str(d.location)) for d in settings.problems),
                  key=lambda entry: int(entry[2].split(":")[1])) == [
        ("W408", "warning", "mkdocs.yml:6:17"), ("W408", "warning", "mkdocs.yml:7:5"),
        ("W408", "warning", "mkdocs.yml:9:16"), ("W408", "warning", "mkdocs.yml:10:16"),
        ("W408", "warning", "mkdocs.yml:12:7")]
    assert "extra.weike.offline.enabled" in next(d.message for d in settings.problems if d.location.line == 9)
    assert settings.search_notes is True  # 对 is a yes, as in course.yml
    offline = offline_settings(settings.weike, site_name=settings.site_name)
    assert offline.enabled is True and offline.courses is None and offline.data_saver is False
    assert offline.name == "县／乡：微课"  # safe on Windows
    assert offline_settings({}, site_name="某县微课").name == "某县微课-离线版"


def test_mkdocs_tags_are_not_run_when_extra_weike_is_read(tmp_path):
    from weike.plugins.site.settings import read_weike_extra

    text = ("markdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:os.system\n"
            "extra:\n  weike:\n    data_saver: !ENV [WEIKE_SAVER, true]\n")
    values, problems = read_weike_extra(text)
    assert values == {} and [str(d.location) for d in problems] == ["mkdocs.yml:6:17"]


@pytest.mark.parametrize("value", ["点我", "weike.example.gov.cn/county/", "javascript:alert(1)", "http://",
                                   "ftp://weike.example.gov.cn/", '"http://[::1"', "https://例子 .cn/"])
def test_a_site_url_that_is_no_web_address_is_e413_at_its_line(make_repo, value):
    """MkDocs refuses such an address when the site is built (E401, the whole site not built, named
    at mkdocs.yml); weike check names it at weike.yml first, and the value is not used."""
    root = make_repo({"weike.yml": f"min_lectures: 1\nsite_url: {value}\n"}, valid_courses=("c",))
    found = {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}
    assert ("E413", "weike.yml", 2) in found
    assert site_url(Project.open(root).config) is None


@pytest.mark.parametrize("value", ["https://weike.example.gov.cn/county/", "http://127.0.0.1:8000"])
def test_a_web_address_is_taken_as_written(make_repo, value):
    root = make_repo({"weike.yml": f"site_url: {value}\n"}, valid_courses=("c",))
    assert not [d for d in run_check(root).diagnostics if d.code == "E413"]
    assert site_url(Project.open(root).config) == value
