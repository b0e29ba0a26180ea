"""The hosted editor: with ``editor.backend`` in weike.yml, ``weike build`` publishes Decap in the
site's ``admin/``, configured for the county's Git host, through real MkDocs builds."""

from __future__ import annotations

import html
import re
import zipfile
from urllib.parse import urlsplit

import pytest
import yaml

from weike.builder.running.checking import run_check
from tests.plugins.site.conftest import build_site

pytestmark = pytest.mark.slow

GITEA = """\
site_url: https://weike.example.gov.cn/
editor:
  backend: gitea
  repo: county-edu/weike-courses
  branch: main
  base_url: https://git.example.gov.cn
  app_id: 8c6f2a1e-weike
"""


@pytest.fixture
def built_site(delivered_repo):
    """The catalogue of the course "demo", built with ``files`` in the repository."""

    def make(files):
        repository, delivered, dist = delivered_repo(valid_courses=("demo",), files=files)
        result = build_site(repository.root, delivered)
        return repository.root, dist, result, delivered

    return make


def test_the_build_publishes_the_hosted_editor_for_the_git_host(built_site):
    root, dist, result, _ = built_site({"weike.yml": GITEA})
    assert not [d for d in result.diagnostics if d.is_error], result.diagnostics
    admin = dist / "site" / "admin"
    assert {p.name for p in admin.iterdir()} >= {"index.html", "config.yml", "decap-cms.js", "weike-preview.js",
                                                  "weike.css", "decap-cms-license.txt"}
    config = yaml.safe_load((admin / "config.yml").read_text(encoding="utf-8"))
    assert config["backend"] == {"name": "gitea", "repo": "county-edu/weike-courses", "branch": "main",
                                 "base_url": "https://git.example.gov.cn",
                                 "api_root": "https://git.example.gov.cn/api/v1", "app_id": "8c6f2a1e-weike"}
    lectures = next(c for c in config["collections"] if c["name"] == "lectures")
    # No local-only widget: the video is a file name, the lecture's folder is typed.
    widgets = {f["name"]: f["widget"] for f in lectures["fields"]}
    assert widgets["media"] == "string" and "weike-video" not in (admin / "config.yml").read_text(encoding="utf-8")
    assert lectures["meta"]["path"]["widget"] == "string"
    assert next(f for f in lectures["fields"] if f["name"] == "body")["sanitize_preview"] is True
    page = (admin / "index.html").read_text(encoding="utf-8")
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    # The page may talk to itself and to the Git host, nothing else.
    outside = set(re.findall(r"https?://[^\s;]+", policy))
    assert outside == {"https://git.example.gov.cn"}
    assert "connect-src 'self' blob: data: https://git.example.gov.cn;" in policy
    assert not re.search(r'(src|href)="(https?:)?//', page)
    # The editor is no page of the catalogue: not in the search index, the sitemap or the navigation.
    assert "admin/" not in (dist / "site" / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "admin/" not in (dist / "site" / "sitemap.xml").read_text(encoding="utf-8")
    assert "admin/" not in (dist / "site" / "index.html").read_text(encoding="utf-8")

    # The offline edition is opened from a USB stick: no editor there, in the folder or the zip.
    offline = dist / "offline"
    assert (offline / "index.html").is_file() and not (offline / "admin").exists()
    from weike.builder.cli import main

    assert main(["offline", str(root)]) == 0  # the zip is packed on request
    with zipfile.ZipFile(next(offline.glob("*.zip"))) as archive:
        assert not [name for name in archive.namelist() if "/admin/" in name]


def test_the_editor_is_off_by_default_and_goes_when_the_block_goes(built_site):
    root, dist, _, delivered = built_site({})
    assert not (dist / "site" / "admin").exists()
    (root / "weike.yml").write_text(GITEA, encoding="utf-8")
    build_site(root, delivered)
    assert (dist / "site" / "admin" / "index.html").is_file()
    (root / "weike.yml").write_text("site_url: https://weike.example.gov.cn/\n", encoding="utf-8")
    build_site(root, delivered)
    assert (dist / "site" / "index.html").is_file() and not (dist / "site" / "admin").exists()


@pytest.mark.parametrize(("backend", "expected"), [
    ("  backend: gitlab\n  repo: county/sub/courses\n  base_url: https://gitlab.example.org\n  app_id: abc123\n",
     {"name": "gitlab", "repo": "county/sub/courses", "branch": "main", "base_url": "https://gitlab.example.org",
      "api_root": "https://gitlab.example.org/api/v4", "app_id": "abc123", "auth_type": "pkce"}),
    ("  backend: github\n  repo: county/courses\n  branch: content\n  base_url: https://oauth.example.org\n",
     {"name": "github", "repo": "county/courses", "branch": "content", "base_url": "https://oauth.example.org",
      "api_root": "https://api.github.com"}),
])
def test_each_git_host_gets_its_own_backend_and_login(tmp_path, backend, expected):
    from weike.builder.running.project import Project
    from weike.plugins.editor.config import editor_config
    from weike.plugins.editor.hosted import content_security_policy
    from weike.plugins.editor.settings import editor_settings

    (tmp_path / "courses").mkdir()
    (tmp_path / "weike.yml").write_text("editor:\n" + backend, encoding="utf-8")
    project = Project.open(tmp_path)
    assert not [d for d in run_check(tmp_path).diagnostics if d.code in ("E005", "E414")]
    hosted = editor_settings(project.config).hosted
    assert editor_config(settings=project.settings, hosted=hosted)["backend"] == expected
    policy = content_security_policy(hosted)
    origins = {"{0.scheme}://{0.netloc}".format(urlsplit(expected[key])) for key in ("api_root", "base_url")}
    assert set(re.findall(r"https?://[^\s;]+", policy)) == origins


def test_a_wrong_editor_block_is_reported_at_its_lines(tmp_path):
    (tmp_path / "courses").mkdir()
    (tmp_path / "weike.yml").write_text(
        "editor:\n"
        "  backend: gitea\n"                        # 2: gitea needs app_id (base_url given)
        "  repo: county/courses\n"
        "  base_url: \"https://git.example.org; script-src *\"\n"  # 4: no address
        "  api_root: ftp://git.example.org\n", encoding="utf-8")    # 5: no web address
    found = {(d.code, d.location.file, d.location.line) for d in run_check(tmp_path).diagnostics}
    assert {("E414", "weike.yml", 2), ("E414", "weike.yml", 4), ("E414", "weike.yml", 5)} <= found

    # No such Git host (2), no owner/name (3): each at its line, once.
    (tmp_path / "weike.yml").write_text("editor:\n  backend: gitee\n  repo: county\n  app_id: x\n",
                                        encoding="utf-8")
    found = [(d.code, d.location.line) for d in run_check(tmp_path).diagnostics if d.location.file == "weike.yml"]
    assert sorted(found) == [("E005", 2), ("E005", 3)]

    (tmp_path / "weike.yml").write_text("editor:\n  commit: false\n  repo: county/courses\n", encoding="utf-8")
    found = {(d.code, d.location.line) for d in run_check(tmp_path).diagnostics}
    assert ("E414", 3) in found  # a Git host's details without the host


def test_a_wrong_block_publishes_no_editor(built_site):
    root, dist, result, _ = built_site({"weike.yml": "editor:\n  backend: gitea\n  repo: county/courses\n"})
    assert ("E414", "weike.yml", 2) in {(d.code, d.location.file, d.location.line) for d in result.diagnostics}
    assert (dist / "site" / "index.html").is_file() and not (dist / "site" / "admin").exists()
