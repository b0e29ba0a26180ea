"""``weike_site_pages``: a plugin's own pages in the catalogue, through real MkDocs builds.

Every plugin here is a real file in the temporary repository's ``plugins/`` folder, discovered
and imported the way ``weike build`` finds a county's own plugin.
"""

from __future__ import annotations

import io
import json
import re

import pytest

from weike.builder.contracts.model import Severity
from weike.plugins.site import SitePage
from weike.plugins.site.contributed import path_problem

slow = pytest.mark.slow

#: The repository-local plugin of most tests: a portal page listing the courses, and a page
#: reached only by a link. Its body says where each course lives with a relative link.
COUNTY_PAGE = '''\
from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.site import SitePage


@hookimpl
def weike_site_pages(courses):
    listed = "\\n".join(f"- [{course.title}](../../courses/{course.slug}/)" for course in courses)
    return [
        SitePage(path="county/portal", title="示范县学习门户", markdown=f"## 本县课程\\n\\n{listed}\\n"),
        SitePage(path="county/notice", title="停课通知", markdown="周末停课。", in_nav=False),
    ]
'''


def page_plugin(pages: str, *, imports: str = "") -> str:
    """A plugin file whose ``weike_site_pages`` returns the Python expression ``pages``."""
    return (f"from weike.builder.contracts.hookspecs import hookimpl\nfrom weike.plugins.site import SitePage\n{imports}\n\n"
            f"@hookimpl\ndef weike_site_pages():\n    return {pages}\n")


def of_code(result, code: str) -> list:
    return [d for d in result.diagnostics if d.code == code]


@slow
def test_a_repository_plugin_adds_pages_to_the_site_and_its_navigation(built_site):
    built = built_site({"plugins/county_page.py": COUNTY_PAGE})
    assert not [d for d in built.result.diagnostics if d.is_error], built.result.diagnostics
    portal = built.html("county/portal")
    assert "<h1>示范县学习门户</h1>" in portal
    assert "<title>示范县学习门户" in portal
    assert re.search(r'<a href="../../courses/demo/"[^>]*>测试课程</a>', portal)
    assert re.search(r'<a href="../../courses/photo/"[^>]*>手机摄影入门</a>', portal)
    assert (built.site / "courses/demo/index.html").is_file()  # the links lead somewhere
    home = built.html("")
    # The navigation lists the portal with its title; the notice is reached by links only.
    assert 'href="county/portal/"' in home and "示范县学习门户" in home
    assert "停课通知" in built.html("county/notice")
    assert 'href="county/notice/"' not in home and "停课通知" not in home
    # Searchable like a hand-written page (Material indexes it, escaping its text).
    index = json.loads((built.site / "search/search_index.json").read_text(encoding="utf-8"))
    assert any(doc["location"] == "county/portal/" and doc["title"].replace("\u200b", "") == "示范县学习门户"
               for doc in index["docs"])
    # The offline edition is the same site, rewritten for file:// links.
    offline = (built.root / "dist/offline/county/portal/index.html").read_text(encoding="utf-8")
    assert "示范县学习门户" in offline and 'href="../../courses/demo/index.html"' in offline


@slow
def test_an_offline_edition_of_some_courses_builds_the_pages_too(built_site):
    built = built_site({"plugins/county_page.py": COUNTY_PAGE,
                        "mkdocs.yml": "site_name: 社区教育微课\nextra:\n  weike:\n    offline:\n      courses: [photo]\n"})
    offline = built.root / "dist/offline"
    assert not (offline / "courses/demo").exists()  # the edition built pages of its own
    assert "示范县学习门户" in (offline / "county/portal/index.html").read_text(encoding="utf-8")


@slow
def test_hostile_markdown_and_title_in_a_page_are_neutralised(built_site):
    body = ("开头。\n\n<script>alert('script-marker')</script>\n\n"
            "<img src=\"x.png\" onerror=\"alert('onerror-marker')\">\n\n"
            "[点我](javascript:jsMarker())\n\n"
            "<a href=\"JaVaScRiPt:alert('js2-marker')\">再点</a> <p onclick=\"alert('click-marker')\">段落</p>\n\n"
            "<style>body{display:none}</style>\n\n结尾。")
    title = "课程<img src=x onerror=alert('title-marker')>"
    plugin = page_plugin(f'[SitePage(path="county/hostile", title={title!r}, markdown={body!r})]')
    built = built_site({"plugins/county_page.py": plugin})
    page = built.html("county/hostile")
    assert "开头。" in page and "结尾。" in page and "段落" in page and "再点" in page
    # The title is shown as the text it is, in the heading, the browser title and the navigation.
    assert "<h1>课程&lt;img src=x onerror=alert(&#x27;title-marker&#x27;)&gt;</h1>" in page
    for html_file in sorted(built.site.rglob("*.html")):
        text = html_file.read_text(encoding="utf-8")
        for marker in ("script-marker", "jsMarker", "js2-marker", "click-marker", "display:none"):
            assert marker not in text, (html_file, marker)
        assert "<img src=x onerror" not in text and 'onerror="' not in text, html_file
        assert "javascript:" not in text.lower(), html_file
    index = json.loads((built.site / "search/search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        assert "<img src=x" not in doc["title"] + doc["text"], doc
    warning = of_code(built.result, "W412")
    assert len(warning) == 1 and warning[0].severity is Severity.WARNING
    assert warning[0].location.file == "plugins/county_page.py" and warning[0].location.line == 5
    assert "local:county_page" in warning[0].message_en and "<script>" in warning[0].message_en
    # Unsafe markup costs the markup only: the page is published and the build does not fail.
    assert not built.result.failed_build()


@slow
def test_a_page_path_that_leaves_the_site_or_is_taken_is_e410(built_site):
    pages = ('[SitePage(path="../escaped", title="逃出", markdown="x"),'
             ' SitePage(path="/tmp/absolute", title="绝对", markdown="x"),'
             ' SitePage(path="courses/demo", title="冒充课程", markdown="冒充的课程页"),'
             ' SitePage(path="themes", title="主题", markdown="x"),'
             ' SitePage(path="about", title="关于", markdown="x"),'
             ' SitePage(path="county/portal", title="抢门户", markdown="抢先"),'
             ' SitePage(path="county/ok", title="正常页面", markdown="正常。")]')
    built = built_site({"plugins/county_page.py": COUNTY_PAGE, "plugins/rival_page.py": page_plugin(pages),
                        "site/about.md": "# 关于本站\n\n手写的页面。\n"})
    errors = of_code(built.result, "E410")
    offenders = {error.message_en.split("'")[1]: error for error in errors}
    assert sorted(offenders) == ["../escaped", "/tmp/absolute", "about", "county/portal", "courses/demo", "themes"]
    for error in errors:
        assert error.severity is Severity.ERROR and "plugin local:rival_page" in error.message_en
        assert (error.location.file, error.location.line) == ("plugins/rival_page.py", 5)
    assert "clashes with a page of site/about.md" in offenders["about"].message_en
    assert "clashes with a page of plugin local:county_page" in offenders["county/portal"].message_en
    assert "clashes with a page of weike" in offenders["courses/demo"].message_en
    # Nothing was written outside the site, and every page kept its owner.
    assert not (built.root / "dist/escaped").exists() and not list(built.root.rglob("escaped*"))
    assert "冒充的课程页" not in built.html("courses/demo") and "<h1>测试课程</h1>" in built.html("courses/demo")
    assert "手写的页面" in built.html("about")
    assert "抢先" not in built.html("county/portal")
    assert "正常。" in built.html("county/ok")
    # The site's own problem: the build fails, no course is failed for it.
    assert built.result.failed == {} and built.result.failed_build()
    # Replayed as they were when nothing changed (the site's skip layer keeps its diagnostics).
    built.rebuild()
    assert any("inputs unchanged" in line for line in built.result.summary_lines)
    assert len(of_code(built.result, "E410")) == 6


@slow
def test_a_crashing_page_plugin_is_reported_and_the_site_still_builds(built_site):
    crashing = ("from weike.builder.contracts.hookspecs import hookimpl\n\n\n@hookimpl\ndef weike_site_pages(courses):\n"
                "    raise RuntimeError('county database is down')\n")
    built = built_site({"plugins/county_page.py": COUNTY_PAGE, "plugins/broken_page.py": crashing,
                        "plugins/wrong_page.py": page_plugin('["not a page"]'),
                        "plugins/typo_page.py": page_plugin('[SitePage(path="x", title="", markdown="")]')})
    errors = {error.location.file: error for error in of_code(built.result, "E411")}
    assert sorted(errors) == ["plugins/broken_page.py", "plugins/typo_page.py", "plugins/wrong_page.py"]
    broken = errors["plugins/broken_page.py"]
    assert broken.location.line == 4 and broken.severity is Severity.ERROR
    assert "plugin local:broken_page" in broken.message_en
    assert "RuntimeError: county database is down" in broken.message_en
    assert "str 'not a page'" in errors["plugins/wrong_page.py"].message_en
    assert "ValueError" in errors["plugins/typo_page.py"].message_en
    # The rest of the site, the other plugin's pages included, is built.
    assert "示范县学习门户" in built.html("county/portal")
    assert sorted(built.result.built) == ["demo", "photo"] and built.result.failed == {}
    assert (built.site / "courses/demo/01-lecture-1/index.html").is_file()
    assert built.result.failed_build()


@slow
def test_changing_a_page_rebuilds_the_site(built_site):
    # The page's body comes from a file of the repository (a plugin reading data names it in
    # weike_build_inputs, for the whole-build stamp; the site's own skip layer must see it too).
    reading = '''\
from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.site import SitePage


@hookimpl
def weike_site_pages(context):
    text = (context.paths.root / "county.md").read_text(encoding="utf-8")
    return [SitePage(path="county", title="本县", markdown=text)]


@hookimpl
def weike_build_inputs(root):
    return [root / "county.md"]
'''
    built = built_site({"plugins/county_page.py": reading, "county.md": "第一版通知。\n"})
    assert "第一版通知。" in built.html("county")
    built.rebuild()
    assert any("inputs unchanged" in line for line in built.result.summary_lines)

    (built.root / "county.md").write_text("第二版通知。\n", encoding="utf-8")
    built.rebuild()
    assert not any("inputs unchanged" in line for line in built.result.summary_lines)
    assert "第二版通知。" in built.html("county") and "第一版" not in built.html("county")


@pytest.mark.parametrize("path", ["../x", "a/../../x", "./x", "/x", "C:/x", "a\\b", "a//b", "", "County/x",
                                  "a b", "a/index", "index", "x.md", "a/.hidden"])
def test_paths_that_cannot_name_a_page(path):
    assert path_problem(path) is not None


@pytest.mark.parametrize("path", ["county", "county/portal", "county/portal/", "a_b-1/2024"])
def test_paths_that_name_a_page(path):
    assert path_problem(path) is None


def test_a_page_is_checked_where_the_plugin_makes_it():
    with pytest.raises(TypeError, match="SitePage.markdown"):
        SitePage(path="x", title="x", markdown=None)
    with pytest.raises(ValueError, match="empty title"):
        SitePage(path="x", title=" ", markdown="")


@slow
def test_the_preview_of_weike_serve_has_the_pages_and_their_problems(delivered_repo):
    from weike.builder.running.project import Project
    from weike.plugins.site.serve import PreviewBuilder

    crashing = ("from weike.builder.contracts.hookspecs import hookimpl\n\n\n@hookimpl\ndef weike_site_pages():\n"
                "    raise RuntimeError('county database is down')\n")
    repository, _, _ = delivered_repo(valid_courses=("demo",), files={"plugins/county_page.py": COUNTY_PAGE,
                                                                      "plugins/broken_page.py": crashing})
    stream = io.StringIO()
    preview = PreviewBuilder(Project.open(repository.root), stream=stream)
    preview()
    assert "示范县学习门户" in (preview.site_dir / "county/portal/index.html").read_text(encoding="utf-8")
    # The browser's banner lists the plugin's failure, as the terminal does.
    assert [d.location.file for d in preview.problems if d.code == "E411"] == ["plugins/broken_page.py"]
    assert "plugins/broken_page.py:4: error E411" in stream.getvalue()
