"""The site's weike.yml keys: a site_url MkDocs would refuse is named at its line by weike check."""

from __future__ import annotations

import pytest

from weike.builder.checking import run_check
from weike.builder.project import Project
from weike.plugins.site.settings import site_url


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
