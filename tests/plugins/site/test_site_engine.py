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


def _theme_config(tmp_path, overrides: dict[str, str]):
    from mkdocs.config import load_config

    from weike.plugins.site.engine import THEME_DIR

    custom = tmp_path / "overrides"
    for rel, text in overrides.items():
        (custom / rel).parent.mkdir(parents=True, exist_ok=True)
        (custom / rel).write_text(text, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# 首页\n", encoding="utf-8")
    (tmp_path / "docs" / "assets").mkdir()
    (tmp_path / "docs" / "assets" / "weike").mkdir()
    (tmp_path / "docs" / "assets" / "weike" / "weike.css").write_text("body {}\n", encoding="utf-8")
    return load_config(config_file=str(THEME_DIR / "mkdocs.yml"), docs_dir=str(tmp_path / "docs"),
                       site_dir=str(tmp_path / "site"), theme={"name": "material", "custom_dir": str(custom)})


def test_the_theme_files_are_listed_as_mkdocs_lists_them(tmp_path):
    """weike's listing of the theme's static files (which skips Material's 14,000 icons without
    testing each) gives the files MkDocs' own gives, from the same folders, in the same order."""
    from mkdocs.structure.files import Files, get_files

    from weike.plugins.site.engine import add_theme_files

    config = _theme_config(tmp_path, {
        "assets/local.css": "a {}\n", "assets/Local-ReadMe.txt": "x\n", ".hidden/x.css": "x\n",
        "assets/.dot/y.js": "y\n", "assets/z/.z.js": "z\n", "locales/zh.txt": "x\n", "Locales/zh.txt": "x\n",
        "hook.py": "x\n", "notes.md": "x\n", "Page.HTML": "x\n", "main.html": "{% extends 'base.html' %}\n",
        "sub/mkdocs_theme.yml": "x\n", "404.html": "x\n", "assets/images/favicon.png": "png\n",
        "sitemap.xml": "x\n"})
    config.theme.static_templates.discard("sitemap.xml")  # as weike's plugin does before the listing
    theirs, ours = get_files(config), get_files(config)
    theirs.add_files_from_theme(config.theme.get_env(), config)
    add_theme_files(ours, config)

    def listed(files: Files) -> list[tuple[str, str | None, str]]:
        return [(f.src_uri, f.abs_src_path, f.dest_uri) for f in files]

    assert listed(ours) == listed(theirs)
    uris = {f.src_uri for f in ours}
    assert {"assets/local.css", "assets/images/favicon.png", "sitemap.xml"} <= uris
    assert any(uri.startswith("assets/javascripts/") for uri in uris)
    assert not any("/." in uri or uri.startswith(".") for uri in uris)
    # site/'s files take precedence over the theme's.
    assert ours.get_file_from_path("assets/weike/weike.css").abs_src_path.startswith(str(tmp_path / "docs"))


def test_a_kept_page_is_where_mkdocs_would_write_it():
    """A kept file is made without MkDocs' constructor: its destination and URL are still MkDocs'."""
    from mkdocs.structure.files import File

    from weike.plugins.site.generated import KeptFile

    for directory_urls in (True, False):
        for uri in ("index.md", "README.md", "courses/demo/index.md", "courses/demo/01-lecture-1.md",
                    "courses/demo/README.md", "about.md", "themes/手机使用.md"):
            theirs = File(uri, None, "/site", directory_urls)
            ours = KeptFile(uri, dest_dir="/site", use_directory_urls=directory_urls, page=True)
            assert (ours.dest_uri, ours.url, ours.abs_dest_path) == (theirs.dest_uri, theirs.url, theirs.abs_dest_path)
            assert not ours.is_documentation_page()
        static = KeptFile("assets/cover 1.jpg", dest_dir="/site", use_directory_urls=directory_urls, page=False)
        theirs = File("assets/cover 1.jpg", None, "/site", directory_urls)
        assert (static.dest_uri, static.url) == (theirs.dest_uri, theirs.url)


def test_a_generated_file_is_the_file_mkdocs_makes():
    """weike's pages and files join MkDocs' list without File's constructor: the same File, with
    the same attributes, destination, URL and content, as :meth:`File.generated` makes."""
    from types import SimpleNamespace

    from mkdocs.structure.files import File

    from weike.plugins.site.generated import generated_file

    for directory_urls in (True, False):
        config = SimpleNamespace(site_dir="/site", use_directory_urls=directory_urls,
                                 plugins=SimpleNamespace(_current_plugin="weike/generated"))
        for uri, source in (("index.md", None), ("courses/demo/index.md", None), ("courses/demo/01-lecture-1.md", None),
                            ("themes/手机使用.md", None), ("courses/demo/cover 1.jpg", "/cache/ab/cover.jpg")):
            content = "" if source is None else None
            theirs = File.generated(config, uri, content=content, abs_src_path=source)
            ours = generated_file(uri, dest_dir="/site", use_directory_urls=directory_urls,
                                  generated_by="weike/generated", content=content, abs_src_path=source)
            assert type(ours) is File and vars(ours) == vars(theirs)
            assert (ours.dest_uri, ours.url, ours.abs_dest_path, ours.is_documentation_page(), ours.edit_uri) == \
                   (theirs.dest_uri, theirs.url, theirs.abs_dest_path, theirs.is_documentation_page(), theirs.edit_uri)


def test_no_template_of_material_reads_every_page():
    """Why a worker need not set up the pages other processes render: no template of Material (nor
    of MkDocs, but its sitemap, which weike's replaces) reads ``pages``, MkDocs' list of every page;
    an override that does is found."""
    from pathlib import Path

    import material
    import mkdocs

    from weike.plugins.site.engine import THEME_DIR, reads_every_page

    templates = [path for folder in (Path(material.__file__).parent / "templates", Path(mkdocs.__file__).parent / "templates",
                                     THEME_DIR / "overrides")
                 for path in folder.rglob("*") if path.suffix in (".html", ".xml")]
    assert len(templates) > 50
    assert [path.name for path in templates if reads_every_page(str(path))] == ["sitemap.xml"]


def test_a_template_reading_every_page_is_found(tmp_path):
    from weike.plugins.site.engine import reads_every_page

    cases = {"{% for f in pages %}{{ f.page.title }}{% endfor %}": True, "{{ pages|length }}": True,
             "{{ page.title }} {{ nav_item.pages }}": False, "{# pages #}<p>pages</p>": False, "{% if %}": True}
    for number, (text, reads) in enumerate(cases.items()):
        path = tmp_path / f"t{number}.html"
        path.write_text(text, encoding="utf-8")
        assert reads_every_page(str(path)) is reads, text


def _config_in(tmp_path, **settings):
    from mkdocs.config import load_config

    from weike.plugins.site.engine import THEME_DIR

    (tmp_path / "docs").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("# 首页\n", encoding="utf-8")
    return load_config(config_file=str(THEME_DIR / "mkdocs.yml"), docs_dir=str(tmp_path / "docs"),
                       site_dir=str(tmp_path / "site"), **settings)


def test_a_page_set_up_where_it_is_rendered_is_the_page_mkdocs_makes(tmp_path):
    """A worker's page is made without a urljoin per page: every attribute is MkDocs' own, for
    site addresses with a path, dot segments, a port or a query, without one, with edit links."""
    from mkdocs.structure.pages import Page

    from weike.plugins.site.generated import SiteAddress, generated_file, set_up_page

    variants = [{}, {"site_url": "https://weike.example.gov.cn/"}, {"site_url": "https://h.example:8443/a/b"},
                {"site_url": "https://h.example/a/./c/../d/?q=1#top"}, {"site_url": "http://h.example"},
                {"site_url": "https://h.example/课程/"},
                {"site_url": "https://h.example/", "repo_url": "https://git.example/r/", "edit_uri": "edit/main/"},
                {"use_directory_urls": False, "site_url": "https://h.example/x/"}]
    uris = ["courses/demo/index.md", "courses/demo/01-lecture-1.md", "courses/demo/README.md",
            "courses/de mo/01.md", "courses/课程/01-第一讲.md", "courses/a/../b.md", "courses/.x/y.md",
            "courses/a~b_c-d.e/f.md", "index.md", "about.md", "courses/x/a.b.md", "courses/x/..md",
            "courses/x/.y.md", "courses//x.md", "/x.md"]
    for number, settings in enumerate(variants):
        config = _config_in(tmp_path / str(number), **settings)
        address = SiteAddress(config.get("site_url", None))
        for uri in uris:
            def made() -> object:
                return generated_file(uri, dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls,
                                      generated_by="weike/generated", content="")
            theirs_file, ours_file = made(), made()
            theirs = Page(None, theirs_file, config)
            ours = set_up_page(ours_file, config, build_date=theirs.update_date, address=address)
            assert type(ours) is Page and ours_file.page is ours
            assert {**vars(ours), "file": None} == {**vars(theirs), "file": None}, (settings, uri)
            assert (ours.url, ours.canonical_url, ours.abs_url, ours.edit_url, ours_file.dest_uri, ours_file.url,
                    ours_file.name) == \
                   (theirs.url, theirs.canonical_url, theirs.abs_url, theirs.edit_url, theirs_file.dest_uri,
                    theirs_file.url, theirs_file.name), (settings, uri)
            assert {**vars(ours_file), "page": None} == {**vars(theirs_file), "page": None}, (settings, uri)


def test_a_page_populated_where_it_is_rendered_is_the_page_mkdocs_populates(tmp_path):
    """With weike's handlers the only ones of the page events, a page is populated without running
    them one by one: every attribute as MkDocs' ``_populate_page`` leaves it, for a page of the
    navigation's kept pages too. Another plugin's or a hook's handler makes MkDocs run them."""
    from mkdocs.commands.build import _populate_page

    from weike.plugins.site.generated import GeneratedPages, SiteAddress, generated_file, set_up_page
    from weike.plugins.site.pages import GeneratedPage

    meta = {"title": "第一讲", "description": "说明", "hide": ["toc"], "search": {"exclude": True}}
    pages = {"courses/demo/01-lecture-1.md": GeneratedPage(meta=meta, html='<h1 id="t">第一讲</h1><p>正文 😀</p>'),
             "courses/demo/index.md": GeneratedPage(meta=dict(meta, title="课程"), html="<p>课程</p>")}
    generated = GeneratedPages(pages, {}, kept_nav_pages=frozenset({"courses/demo/index.md"}))
    config = _config_in(tmp_path / "alone", site_url="https://weike.example.gov.cn/")
    config.plugins["weike/generated"] = generated
    assert generated.populates_alone(config)
    address = SiteAddress(config.get("site_url", None))
    for uri in pages:
        def made():
            file = generated_file(uri, dest_dir=config.site_dir, use_directory_urls=True,
                                  generated_by="weike/generated", content="")
            return set_up_page(file, config, build_date="2026-12-07", address=address)

        theirs, ours = made(), made()
        _populate_page(theirs, config, None, False)
        assert generated.populate(ours, config, None)
        assert ours.render.__func__ is theirs.render.__func__ and ours.render.__self__ is ours
        assert type(ours.toc) is type(theirs.toc) and list(ours.toc) == list(theirs.toc) == []
        assert {**vars(ours), "file": None, "render": None, "toc": None} == \
            {**vars(theirs), "file": None, "render": None, "toc": None}, uri
        assert (config._current_page, config.plugins._current_plugin) == (None, None)
    other = made()
    other.file._content = "# 别的\n"
    assert not generated.populate(other, config, None)  # (a page with a source of its own)

    hook = tmp_path / "hook.py"
    hook.write_text("def on_page_markdown(markdown, page, config, files):\n    return markdown\n", encoding="utf-8")
    hooked = _config_in(tmp_path / "hooked", hooks=[str(hook)])
    hooked.plugins["weike/generated"] = generated
    assert not generated.populates_alone(hooked)


def _excluded_page(config, content: str):
    from weike.plugins.site.generated import SiteAddress, generated_file, set_up_page

    file = generated_file("courses/demo/01-lecture-1.md", dest_dir=config.site_dir, use_directory_urls=True,
                          generated_by="weike/generated", content="")
    page = set_up_page(file, config, build_date="2026-12-07", address=SiteAddress(None))
    page.meta = {"title": "第一讲", "search": {"exclude": True}}
    page.content = content
    return page


def test_the_page_context_event_is_skipped_only_where_it_does_nothing(tmp_path):
    """The event is left out for a search-excluded page with Material's search its only handler:
    run anyway, it changes neither the page, its context nor the search index. A body with
    ``data-search-`` attributes (which the search takes out), a page the search indexes, another
    plugin's or a hook's handler each make it run."""
    from weike.plugins.site.engine import page_context_idle

    config = _config_in(tmp_path / "search", plugins=["search"])
    config = config.plugins.on_config(config)
    search = next(plugin for name, plugin in config.plugins.items() if name.endswith("search"))
    page = _excluded_page(config, '<h1 id="t">第一讲</h1><p data-x="1">正文 😀</p>')
    assert page_context_idle(config, page)
    context = {"page": page, "base_url": "../.."}
    before = (page.content, dict(page.meta), dict(context), list(search.search_index.entries))
    context = config.plugins.on_page_context(context, page=page, config=config, nav=None)
    assert (page.content, dict(page.meta), dict(context), list(search.search_index.entries)) == before

    marked = _excluded_page(config, '<p data-search-exclude="yes">正文</p>')
    assert not page_context_idle(config, marked)
    config.plugins.on_page_context({"page": marked}, page=marked, config=config, nav=None)
    assert marked.content == "<p>正文</p>"  # what the event does, so it runs
    indexed = _excluded_page(config, "<p>正文</p>")
    indexed.meta = {"title": "第一讲"}
    assert not page_context_idle(config, indexed)

    hook = tmp_path / "hook.py"
    hook.write_text("def on_page_context(context, page, config, nav):\n    page.content += '<!-- hook -->'\n",
                    encoding="utf-8")
    hooked = _config_in(tmp_path / "hooked", plugins=["search"], hooks=[str(hook)])
    hooked = hooked.plugins.on_config(hooked)
    assert not page_context_idle(hooked, _excluded_page(hooked, "<p>正文</p>"))
    other = _config_in(tmp_path / "other", plugins=["search", "tags"])
    other = other.plugins.on_config(other)
    assert not page_context_idle(other, _excluded_page(other, "<p>正文</p>"))


def test_a_page_context_made_once_per_depth_is_the_one_mkdocs_makes(tmp_path):
    """The stylesheets and scripts made relative to a page once per depth are MkDocs' own for
    every page, also where a path's first folder is the page's own (then made for the page)."""
    from mkdocs.commands.build import get_context

    from weike.plugins.site.engine import PageContexts
    from weike.plugins.site.generated import SiteAddress, generated_file, set_up_page

    scripts = ["assets/weike/weike.js", "courses/demo/x.js", "../up.js", "./here.js", "https://cdn.example/a.js",
               "/root.js", {"path": "courses/other/m.js", "type": "module", "async": True}, "themes/"]
    css = ["assets/weike/weike.css", "courses/demo/", "levels/x.css", "#frag"]
    config = _config_in(tmp_path, site_url="https://h.example/", extra_javascript=scripts, extra_css=css)
    contexts = PageContexts()
    uris = ["courses/demo/index.md", "courses/demo/01-lecture-1.md", "courses/other/02.md", "courses/other/index.md",
            "themes/手机使用.md", "levels/a/b/c.md", "assets/weike/page.md", "guide.md", "courses/demo/03.md",
            "centres/a/b.md", "centres/a/c.md", "learn/x.md", "learn/y/index.md"]
    for uri in uris * 2:
        file = generated_file(uri, dest_dir=config.site_dir, use_directory_urls=True, generated_by="weike/generated",
                              content="")
        page = set_up_page(file, config, build_date="2026-12-07", address=SiteAddress(config.site_url))
        ours, theirs = contexts.get("nav", ["pages"], config, page), get_context("nav", ["pages"], config, page)
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        assert {**ours, "build_date_utc": None} == {**theirs, "build_date_utc": None}, uri
    # Three depths made once each; the pages whose first folder a path names, each for itself.
    assert sorted(contexts._made) == [1, 2, 3]


def test_nothing_of_a_build_outlives_it_in_mkdocs_configuration(built_site, monkeypatch):
    """MkDocs' plugins option, part of its configuration class, keeps the last plugin collection
    for the life of the process: weike's pages plugin (and through it the build's pages and
    courses) must not stay in it once the build is over (a second of teardown at the end of a
    1,000-course build, and memory held between `weike serve`'s rebuilds)."""
    import gc
    import weakref

    from weike.plugins.site import generated

    made: list[weakref.ref] = []
    real_init = generated.GeneratedPages.__init__

    def recording(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(generated.GeneratedPages, "__init__", recording)
    built = built_site()
    assert not built.result.failed and made
    del built
    gc.collect()
    assert [ref for ref in made if ref() is not None] == []


def test_weike_s_overrides_as_shipped_are_not_parsed_and_an_edited_one_is(tmp_path, monkeypatch):
    """weike's own overrides, copied into the custom folder byte for byte, are known not to read
    every page (no parse on every build); one a repository replaced, or any other, is parsed."""
    import shutil

    from weike.plugins.site import engine
    from weike.plugins.site.engine import THEME_DIR

    custom = tmp_path / "overrides"
    shutil.copytree(THEME_DIR / "overrides", custom)
    config = _config_in(tmp_path / "site", theme={"name": "material", "custom_dir": str(custom)})
    parsed = []
    reads = engine.reads_every_page
    monkeypatch.setattr(engine, "reads_every_page", lambda path: parsed.append(path) or reads(path))
    assert engine._templates_read_every_page(config) is False
    assert parsed == []
    (custom / "partials" / "search.html").write_text(
        (THEME_DIR / "overrides/partials/search.html").read_text(encoding="utf-8") + "{{ pages|length }}", encoding="utf-8")
    assert engine._templates_read_every_page(config) is True
    (custom / "partials" / "search.html").write_bytes((THEME_DIR / "overrides/partials/search.html").read_bytes())
    (custom / "partials" / "footer.html").write_text("{% for f in pages %}{% endfor %}", encoding="utf-8")
    assert engine._templates_read_every_page(config) is True


def test_the_destination_of_a_page_a_worker_wrote_is_the_one_mkdocs_gives_it():
    """The build gathers the records of the pages a worker wrote under the destination MkDocs gives
    each file (computed as weike computes its own pages', or the one already kept on the file)."""
    from mkdocs.structure.files import File

    from weike.plugins.site.engine import _destination

    uris = ["index.md", "README.md", "courses/课程/README.md", "courses/课程/01-第一讲.md", "a/index.md",
            "about.markdown", "a b/c d.md", "..md", "a/.hidden.md", "x.md.md", "assets/cover.jpg", "robots.txt"]
    for directory_urls in (True, False):
        for uri in uris:
            assert _destination(File(uri, "/docs", "/site", directory_urls)) == \
                File(uri, "/docs", "/site", directory_urls).dest_uri, uri
    kept = File("courses/课程/01.md", "/docs", "/site", True)
    kept.dest_uri = "elsewhere/01.html"  # (a plugin's choice, kept on the file)
    assert _destination(kept) == "elsewhere/01.html"
