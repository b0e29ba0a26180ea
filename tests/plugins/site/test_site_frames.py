"""Pages filled into Material's frame rendered once per shape are byte for byte what MkDocs and
Material render for them: every page of the test demo and of a synthetic catalogue, with hostile
titles and descriptions, built both ways and compared file by file; a shape a filter would change is
rendered by Jinja, and so is a value longer than the frame was proven for."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import pytest

from benchmarks.catalogue import write_repository
from tests.conftest import COURSE_YML, lecture_md
from tests.plugins.site.conftest import BuiltSite, build_site, site_files
from tests.plugins.site.test_site_incremental import tree
from tests.plugins.site.test_site_workers import FILES, forks, serial_tree  # noqa: F401 (a fixture)
from weike.plugins.site import engine, frames

#: Values every filter of Material's templates would change (weike escapes titles for the meta).
HOSTILE_TITLES = ['A < B & C "引号" \'单\'', "</script><script>alert(1)</script>", "  前后有空格  ",
                  "{{ 不是模板 }} %s \\ 反斜杠", "😀 表情课程 🎉", "很长" * 19 + "。"]
HOSTILE_TEXTS = ["第一行\n第二行\n\n  缩进的第三行", "</script>&amp;<!-- -->\u2028 😀", " " + "非常长的说明，" * 600]


def yaml_text(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (line breaks and U+2028 escaped)."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return f'"{escaped}"'


def hostile_courses() -> dict[str, str]:
    """Three courses' texts replaced by hostile titles, summaries (at most 100 characters: E102) and
    knowledge points."""
    files = {}
    for number, slug in enumerate(("h1", "h2", "h3")):
        title = HOSTILE_TITLES[number * 2 % len(HOSTILE_TITLES)]
        files[f"courses/{slug}/course.yml"] = (
            COURSE_YML.replace("title: 测试课程", f"title: {yaml_text(title)}")
            .replace("summary: 一门用于测试的课程。", f"summary: {yaml_text(HOSTILE_TEXTS[number % 2])}"))
        for lecture in range(1, 11):
            lecture_title = HOSTILE_TITLES[(number + lecture) % len(HOSTILE_TITLES)]
            point = HOSTILE_TEXTS[(number + lecture) % len(HOSTILE_TEXTS)]
            files[f"courses/{slug}/{lecture:02d}-lecture-{lecture}/lecture.md"] = lecture_md(
                title=yaml_text(lecture_title), knowledge_point=yaml_text(point),
                notes="</script> & 讲义\u2028正文 😀\n\n# 标题\n\n<b>粗</b>")
    return files


@pytest.fixture
def hostile_site(delivered_repo):
    """``hostile_site(files) -> BuiltSite``: courses "demo", "photo" and the hostile h1, h2, h3."""

    def make(files: dict, *, site_url: str | None = None) -> BuiltSite:
        repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo", "h1", "h2", "h3"),
                                                     files=site_files({**files, **hostile_courses()},
                                                                      site_url=site_url))
        return BuiltSite(root=repository.root, site=dist / "site", delivered=delivered,
                         result=build_site(repository.root, delivered))

    return make


@pytest.fixture
def framed(caplog):
    """How many pages the builds so far filled into frames (the count the build logs)."""
    caplog.set_level(logging.INFO, logger=engine.FRAMES_LOG)

    def count() -> list[int]:
        return [int(record.getMessage().split()[0]) for record in caplog.records if record.name == engine.FRAMES_LOG]

    return count


@pytest.fixture
def from_model(caplog):
    """How many pages the builds so far filled into frames straight from the site model."""
    caplog.set_level(logging.INFO, logger=engine.FRAMES_LOG)

    def count() -> list[int]:
        return [int(re.search(r"(\d+) straight from the site model", record.getMessage()).group(1))
                for record in caplog.records if record.name == engine.FRAMES_LOG]

    return count


def test_the_demo_filled_into_frames_equals_every_page_rendered_by_jinja(hostile_site, forks,  # noqa: F811
                                                                         framed, monkeypatch):
    built = hostile_site(FILES, site_url="https://weike.example.gov.cn/")
    assert not built.result.failed
    assert sorted(built.result.built) == ["demo", "h1", "h2", "h3", "photo"]
    parallel = tree(built.site)
    # Every course and lecture page (5 x 11) but those whose description is longer than a frame
    # is proven for (ten hostile lectures) went through a frame.
    assert len(HOSTILE_TEXTS[2]) > frames.HOSTILE_LENGTH[frames.DESCRIPTION]
    filled = framed()[-1]
    assert filled == 5 * 11 - 10
    page = parallel["courses/h1/01-lecture-1/index.html"].decode("utf-8")
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; - " in page
    assert "\u2028" in parallel["courses/h2/02-lecture-2/index.html"].decode("utf-8")
    # The same repository with every page rendered by Jinja, in one process.
    monkeypatch.setattr(engine, "FRAMES", False)
    serial = serial_tree(built, monkeypatch)
    assert framed()[-1:] == [filled]  # a serial build logs no count
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_a_filter_on_a_spliced_value_renders_the_shape_by_jinja(hostile_site, forks, framed,  # noqa: F811
                                                                 monkeypatch):
    # The repository's footer shows the title through striptags: no frame can be proven for it.
    override = {"site/overrides/partials/copyright.html":
                '<div class="md-copyright">{% if page and page.meta %}{{ page.meta.title | striptags | truncate(30) }}'
                '{% endif %}</div>\n'}
    built = hostile_site(override)
    assert not built.result.failed and not [d for d in built.result.diagnostics if d.is_error]
    assert framed()[-1] == 0
    parallel = tree(built.site)
    assert '<div class="md-copyright">A &lt; B &amp; C' not in parallel["courses/h1/index.html"].decode("utf-8")
    monkeypatch.setattr(engine, "FRAMES", False)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def synthetic_site(root: Path, site_dir: Path):
    """The site of a synthetic catalogue (benchmarks/catalogue.py), built alone, every lecture's
    video the catalogue's tiny clip."""
    from weike.builder.contracts.model import DeliveredMedia
    from weike.builder.repository.loading import load_repository
    from weike.plugins.site.website import build_website

    repository = load_repository(root)
    clip = root / "shared" / "clip.mp4"
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    delivered = {lecture.key: DeliveredMedia(course_slug=course.slug, lecture_slug=lecture.slug, path=clip,
                                             duration=200.0 + number, size=clip.stat().st_size, sha256=digest,
                                             source_sha256=digest, profile="default")
                 for course in repository.courses for number, lecture in enumerate(course.lectures)}
    return build_website(root=root, site_url="https://weike.example.gov.cn/", courses=repository.courses,
                         delivered=delivered, site_dir=site_dir, work_dir=root / ".weike/site/build",
                         cache_dir=root / ".weike/site", force=True)


def test_a_synthetic_catalogue_filled_into_frames_equals_it_rendered_by_jinja(tmp_path, forks, framed,  # noqa: F811
                                                                              monkeypatch):
    root = tmp_path / "catalogue"
    write_repository(root, 8)
    # Half the courses' and lectures' texts made hostile.
    for number, course in enumerate(sorted((root / "courses").iterdir())[::2]):
        yml = course / "course.yml"
        text = yml.read_text(encoding="utf-8")
        title, summary = yaml_text(HOSTILE_TITLES[number]), yaml_text(HOSTILE_TEXTS[number % 2])
        text = re.sub(r"^title: .*$", lambda _: f"title: {title}", text, count=1, flags=re.M)
        text = re.sub(r"^summary: .*$", lambda _: f"summary: {summary}", text, count=1, flags=re.M)
        yml.write_text(text, encoding="utf-8")
        for index, lecture in enumerate(sorted(course.glob("*/lecture.md"))):
            notes = lecture.read_text(encoding="utf-8").split("---\n", 2)[2]
            lecture.write_text(lecture_md(title=yaml_text(HOSTILE_TITLES[(number + index) % 6]),
                                          knowledge_point=yaml_text(HOSTILE_TEXTS[index % 2]), notes=notes),
                               encoding="utf-8")
    result = synthetic_site(root, tmp_path / "framed")
    assert result.rebuilt and result.pages > 8 * 13 and len(result.published) == 8
    filled = framed()[-1]
    assert filled == 8 * 13  # every course and lecture page: no value here is longer than proven
    monkeypatch.setattr(engine, "FRAMES", False)
    result = synthetic_site(root, tmp_path / "rendered")
    assert framed()[-1] == 0
    framed_tree, rendered_tree = tree(tmp_path / "framed"), tree(tmp_path / "rendered")
    assert sorted(framed_tree) == sorted(rendered_tree)
    assert [rel for rel in rendered_tree if framed_tree[rel] != rendered_tree[rel]] == []



def test_pages_filled_straight_from_the_site_model_equal_them_rendered_by_jinja(tmp_path, forks, framed,  # noqa: F811
                                                                                from_model, monkeypatch):
    """weike's own renderer: a course or lecture page of a model shape another page was filled into
    a frame of is filled straight from its metadata and body (no MkDocs page, context or event),
    byte for byte what Jinja renders for it; a value that answers a template's question otherwise
    (the course page of one course, here) still has that page rendered by Jinja."""
    root = tmp_path / "catalogue"
    write_repository(root, 8)
    overrides = root / "site" / "overrides"
    overrides.mkdir(parents=True)
    (overrides / "main.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n'
        '{% if page.url == "courses/' + sorted((root / "courses").iterdir())[3].name + '/" %}'
        '<p class="only-here">这一页</p>{% endif %}\n{{ super() }}\n{% endblock %}\n', encoding="utf-8")
    result = synthetic_site(root, tmp_path / "framed")
    assert result.rebuilt and len(result.published) == 8
    # Every course and lecture page but the one the question tells apart went through a frame; all
    # but the first of each model shape in each of the three processes straight from the model.
    assert framed()[-1] == 8 * 13 - 1
    straight = from_model()[-1]
    assert 8 * 13 - 1 - 3 * 4 <= straight < 8 * 13 - 1
    framed_tree = tree(tmp_path / "framed")
    assert sum(b'class="only-here"' in data for data in framed_tree.values()) == 1
    monkeypatch.setattr(engine, "FRAMES", False)
    synthetic_site(root, tmp_path / "rendered")
    assert framed()[-1] == from_model()[-1] == 0  # (every page by Jinja)
    rendered_tree = tree(tmp_path / "rendered")
    assert sorted(framed_tree) == sorted(rendered_tree)
    assert [rel for rel in rendered_tree if framed_tree[rel] != rendered_tree[rel]] == []


def test_a_question_a_template_asks_of_a_page_is_asked_again_of_each_page(hostile_site, forks, framed,  # noqa: F811
                                                                          monkeypatch):
    # A template that shows something on one page only: the frame was made for a page that is not
    # it, so that page (only) is rendered by Jinja.
    override = ('{% extends "base.html" %}\n{% block content %}\n'
                '{% if page.url == "courses/h1/03-lecture-3/" %}<p class="only-here">这一页</p>{% endif %}\n'
                '{{ super() }}\n{% endblock %}\n')
    built = hostile_site({"site/overrides/main.html": override})
    assert not built.result.failed and not [d for d in built.result.diagnostics if d.is_error]
    assert framed()[-1] == 5 * 11 - 10 - 1
    parallel = tree(built.site)
    assert 'class="only-here"' in parallel["courses/h1/03-lecture-3/index.html"].decode("utf-8")
    assert 'class="only-here"' not in parallel["courses/h1/04-lecture-4/index.html"].decode("utf-8")
    monkeypatch.setattr(engine, "FRAMES", False)
    serial = serial_tree(built, monkeypatch)
    assert sorted(parallel) == sorted(serial)
    assert [rel for rel in serial if parallel[rel] != serial[rel]] == []


def test_a_shape_tells_apart_every_metadata_value_json_tells_apart():
    """A page's shape is a tuple, not its JSON: two pages share a frame only if everything but the
    spliced values is the same, each value of the same type (``True`` is not ``1``, ``"1"`` is not
    ``1``), whatever the order of their keys."""
    import json
    from types import SimpleNamespace

    def page(**meta):
        meta = {"title": "标题", **meta}
        return SimpleNamespace(meta=meta, title="标题", url="courses/demo/01/", canonical_url=None, abs_url=None,
                               content="<p>x</p>")

    context = {"base_url": "../../..", "extra_css": ["../../../a.css"], "extra_javascript": ["../../../a.js"],
               "page": None}
    values = [True, 1, 1.0, "1", None, [1], [1, 1], ["toc"], {"exclude": True}, {"exclude": 1},
              {"exclude": True, "boost": 2}, {"a": [1, {"b": None}]}, {"a": [1, {"b": False}]}, "很长" * 50]
    keys = [frames._shape_key(page(search=value), context, "main.html") for value in values]
    assert None not in keys
    for (one, key_one), (other, key_other) in [(a, b) for a in zip(values, keys) for b in zip(values, keys)]:
        if json.dumps(one, sort_keys=True) != json.dumps(other, sort_keys=True):
            assert key_one != key_other, (one, other)
    assert len(set(keys)) == len(values)  # and each type on its own
    # The order of the keys is no part of the shape; a key of another type makes none.
    assert frames._shape_key(page(search={"exclude": True, "boost": 2}), context, "main.html") == \
        frames._shape_key(page(search={"boost": 2, "exclude": True}), context, "main.html")
    assert frames._shape_key(page(search={1: "a", "b": 2}), context, "main.html") is None
    assert frames._shape_key(page(hide=["toc"]), context, "main.html") != \
        frames._shape_key(page(hide=["toc"]), dict(context, extra_css=["../../../b.css"]), "main.html")


def test_a_hook_on_the_page_events_reaches_every_filled_page(hostile_site, forks, framed, monkeypatch):  # noqa: F811
    """The page_context event left out and the frame's bytes written as they are hold only while
    no plugin or hook handles those events: a hook's (here in a build forced to share its pages,
    which a repository with hooks never is) reaches every page, filled into a frame or not."""
    from weike.plugins.site import website

    monkeypatch.setattr(website, "renders_incrementally", lambda settings: True)
    hook = ("def on_page_context(context, page, config, nav):\n"
            "    page.content += '<p>hook-context</p>'\n"
            "    return context\n\n"
            "def on_post_page(output, page, config):\n"
            "    return output.replace('</body>', '<!-- hook-post-page -->\\n</body>')\n")
    built = hostile_site({"mkdocs.yml": "site_name: 测试站点\nnav:\n  - 首页: index.md\nhooks:\n  - hooks.py\n",
                          "hooks.py": hook})
    assert not built.result.failed and not [d for d in built.result.diagnostics if d.is_error]
    assert framed()[-1] == 5 * 11 - 10
    pages = {rel: data for rel, data in tree(built.site).items()
             if rel.startswith("courses/") and rel.endswith("index.html")}
    assert len(pages) == 5 * 11
    assert [rel for rel, data in pages.items() if b"<p>hook-context</p>" not in data] == []
    assert [rel for rel, data in pages.items() if b"<!-- hook-post-page -->" not in data] == []
