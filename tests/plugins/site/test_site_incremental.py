"""The site is rebuilt incrementally: only pages whose inputs changed are rendered, unchanged files
are not rewritten, and the result equals a cold build file by file."""

from __future__ import annotations

import collections
import json
import os
import shutil
from pathlib import Path

from weike.builder.contracts.context import BuildPaths
from tests.conftest import lecture_md
from tests.plugins.site.conftest import build_site, deliver_long_clip

STAMP = ".weike-site.json"


def tree(site: Path) -> dict[str, bytes]:
    """Every file of a built site but its stamp (which records file times) by relative path."""
    return {path.relative_to(site).as_posix(): path.read_bytes()
            for path in sorted(site.rglob("*")) if path.is_file() and path.name != STAMP}


def identities(site: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every page: a page rewritten gets a new pair."""
    return {path.relative_to(site).as_posix(): (path.stat().st_ino, path.stat().st_mtime_ns)
            for path in site.rglob("index.html")}


def assert_equals_cold(built) -> None:
    """Build the same repository from nothing (no site, no site cache: no remembered course) into
    the same place and compare every file."""
    incremental = tree(built.site)
    kept = built.site.with_name("site-incremental")
    cache = BuildPaths.for_root(built.root).cache / "site"
    kept_cache = cache.with_name("site-incremental")
    os.replace(built.site, kept)
    os.replace(cache, kept_cache)
    try:
        build_site(built.root, built.delivered)
        cold = tree(built.site)
    finally:
        shutil.rmtree(built.site)
        os.replace(kept, built.site)
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(kept_cache, cache)
    assert sorted(incremental) == sorted(cold)
    different = [rel for rel in cold if incremental[rel] != cold[rel]]
    assert different == []



def count_copies(monkeypatch, site: Path) -> list[str]:
    """The files MkDocs (or weike's copy of its step) copies into the site from now on (their paths
    in the site), as a list."""
    from mkdocs import utils

    from weike.plugins.site import engine

    copied: list[str] = []
    real_copy, real_recorded = utils.copy_file, engine.copy_recorded

    def counted(source_path: str, output_path: str) -> None:
        copied.append(Path(output_path).relative_to(site.parent).as_posix().split("/", 1)[1])
        return real_copy(source_path, output_path)

    def counted_recorded(source: str, rel: str, written) -> list:
        copied.append(rel)
        return real_recorded(source, rel, written)

    monkeypatch.setattr(utils, "copy_file", counted)
    monkeypatch.setattr(engine, "copy_recorded", counted_recorded)
    return copied


def test_incremental_builds_equal_a_cold_build_after_every_edit(built_site):
    about = {"site/about.md": "# 关于我们\n\n社区学院的介绍。\n"}
    built = built_site(about, site_url="https://weike.example.gov.cn/")
    photo = built.root / "courses/photo"
    parked = built.root.parent / "parked-photo"
    shutil.move(photo, parked)  # the "new course" of a later step
    built.rebuild()
    assert not (built.site / "courses/photo").exists()

    # A lecture's notes: that lecture's page is rendered again, other pages are not rewritten.
    before = identities(built.site)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()
    after = identities(built.site)
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    rewritten = sorted(rel for rel in after if after[rel] != before.get(rel))
    assert rewritten == ["courses/demo/01-lecture-1/index.html"]
    assert_equals_cold(built)

    # A title that appears in the navigation.
    (built.root / "site/about.md").write_text("# 学院简介\n\n社区学院的介绍。\n", encoding="utf-8")
    built.rebuild()
    assert "学院简介" in built.html("courses/demo")
    assert_equals_cold(built)

    # A new course, then a course deleted.
    shutil.move(parked, photo)
    built.rebuild()
    assert (built.site / "courses/photo/index.html").is_file()
    assert_equals_cold(built)
    shutil.rmtree(built.root / "courses/demo")
    built.rebuild()
    assert not (built.site / "courses/demo").exists()
    assert_equals_cold(built)

    # A theme change.
    (built.root / "mkdocs.yml").write_text(
        "site_name: 社区教育微课\ntheme:\n  name: material\n  palette:\n    primary: red\n", encoding="utf-8")
    built.rebuild()
    assert 'data-md-color-primary="red"' in built.html("courses/photo")
    assert_equals_cold(built)

    # A lecture retitled: its course page lists it, the others stay as they were.
    before = identities(built.site)
    lecture = built.root / "courses/photo/01-lecture-1/lecture.md"
    lecture.write_text(lecture_md(title="新的微课标题", knowledge_point="构图的三分法"), encoding="utf-8")
    built.rebuild()
    after = identities(built.site)
    rewritten = {rel for rel in after if after[rel] != before.get(rel)}
    assert {"courses/photo/index.html", "courses/photo/01-lecture-1/index.html"} <= rewritten
    assert "index.html" not in rewritten and "about/index.html" not in rewritten
    assert_equals_cold(built)


def test_an_edit_to_the_navigation_renders_every_page_that_shows_it(built_site):
    built = built_site({"site/about.md": "# 关于我们\n\n介绍。\n"})
    before = identities(built.site)
    (built.root / "site/about.md").write_text("# 学院简介\n\n介绍。\n", encoding="utf-8")
    built.rebuild()
    after = identities(built.site)
    assert sorted(after) == sorted(before)
    # Every page (the 404 page too) shows the sidebar with the new title.
    stale = [rel for rel in after if after[rel] == before[rel]]
    assert stale == []
    for rel in after:
        assert "学院简介" in (built.site / rel).read_text(encoding="utf-8"), rel
    assert "学院简介" in (built.site / "404.html").read_text(encoding="utf-8")


def test_a_course_added_or_removed_renders_its_own_pages_and_the_catalogues_only(built_site):
    """The sidebar names themes and levels, not how many courses each has: a course joining a theme
    and level that have courses already changes no other course's page."""
    from tests.plugins.site.conftest import OTHER_COURSE_YML

    same_shelf = (OTHER_COURSE_YML.replace("theme: 科学素质与互联网学习", "theme: 老年智慧生活")
                  .replace("level: 村(社区)", "level: 县(市、区)"))
    built = built_site({"courses/photo/course.yml": same_shelf})
    photo, parked = built.root / "courses/photo", built.root.parent / "parked-photo"
    catalogue_pages = {"index.html", "themes/laonian-zhihui/index.html", "levels/county/index.html"}
    shutil.move(photo, parked)
    built.rebuild()
    for step in ("added", "removed"):
        before = identities(built.site)
        if step == "added":
            shutil.move(parked, photo)
        else:
            shutil.rmtree(photo)
        built.rebuild()
        after = identities(built.site)
        changed = {rel for rel in after.keys() | before.keys() if after.get(rel) != before.get(rel)}
        assert {rel for rel in changed if not rel.startswith("courses/photo/")} == catalogue_pages, step
        own = {rel for rel in after if rel.startswith("courses/photo/")}
        assert own == (set() if step == "removed" else changed - catalogue_pages), step
        assert_equals_cold(built)


def test_a_defaced_page_is_rendered_again(built_site):
    built = built_site()
    page = built.site / "courses/demo/01-lecture-1/index.html"
    good = page.read_bytes()
    page.write_bytes(b"defaced")
    built.rebuild()
    assert page.read_bytes() == good
    page.unlink()
    built.rebuild()
    assert page.read_bytes() == good


def test_a_hand_written_link_to_a_kept_page_resolves_as_in_a_cold_build(built_site):
    built = built_site({"site/about.md": "# 关于我们\n\n先看[手机课程](courses/demo/index.md)。\n"})
    assert 'href="../courses/demo/"' in built.html("about")
    notes = built.root / "courses/photo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()  # the course page is kept, the hand-written page that links to it rendered again
    assert 'href="../courses/demo/"' in built.html("about")
    assert_equals_cold(built)


# --------------------------------------------------------------------------------------------
# What each course makes (pages, files, search entries) is remembered: an edit makes one course again
# --------------------------------------------------------------------------------------------


CENTRE_YML = """name: 清河村社区教学站
level: 村(社区)
region: 江苏省示范市示范县清河镇清河村
contact:
  name: 王站长
  phone: 0519-88886666
  email: qinghe@example.edu.cn
foundation: 教学站设在村文化礼堂。
team: 站长 1 名、兼职教师 6 名。
activities: 每月开设智能手机课。
sustainability: 300 多位村民学会用手机办事。
highlights: 把课堂搬到田间地头。
promotion: 能手当老师。
courses:
  - photo
"""


class CourseWork:
    """Counts, by course, the pages and search entries made (the functions still run)."""

    def __init__(self, monkeypatch) -> None:
        import weike.plugins.site.sources as sources

        self.counts: collections.Counter = collections.Counter()
        for name in ("course_page", "lecture_page", "course_entry_inputs"):
            original = getattr(sources, name)

            def counted(item, *args, _name=name, _original=original, **kwargs):
                self.counts[(_name, item.slug)] += 1
                return _original(item, *args, **kwargs)

            monkeypatch.setattr(sources, name, counted)

    def rebuild(self, built) -> set[str]:
        """Rebuild ``built``; the courses whose pages or entries that build made."""
        self.counts.clear()
        built.rebuild()
        return {slug for _, slug in self.counts}


def test_an_edit_makes_only_the_edited_course_again_and_equals_a_cold_build(built_site, monkeypatch, media):
    built = built_site({"centres/qinghe/centre.yml": CENTRE_YML}, site_url="https://weike.example.gov.cn/")
    assert "清河村社区教学站" in built.html("courses/photo")
    work = CourseWork(monkeypatch)

    # A lecture's notes: that course's pages and entries are made, the other course is remembered.
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    assert work.rebuild(built) == {"demo"}
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    # One page rendered: the navigation's pages (home, themes, levels, centres) are as they were.
    assert "本次渲染 1 个" in "\n".join(built.result.summary_lines)
    assert_equals_cold(built)

    # A course's title, shown on the home page, the theme and level pages and in the search index.
    course = built.root / "courses/photo/course.yml"
    course.write_text(course.read_text(encoding="utf-8").replace("title: 手机摄影入门", "title: 手机拍照入门"),
                      encoding="utf-8")
    assert work.rebuild(built) == {"photo"}
    assert "手机拍照入门" in built.html("") and "手机摄影入门" not in built.html("")
    assert "手机拍照入门" in (built.site / "search/search_index.json").read_text(encoding="utf-8")
    assert_equals_cold(built)

    # A delivered video replaced (another length and size): its lecture page and course page say so.
    video = deliver_long_clip(built, media)
    assert work.rebuild(built) == {"demo"}
    assert "时长 0:12" in built.html("courses/demo/01-lecture-1")
    assert (built.site / "media/demo/01-lecture-1.mp4").read_bytes() == video.read_bytes()
    assert_equals_cold(built)

    # A learning centre renamed: the course page that links to it is made again.
    centre = built.root / "centres/qinghe/centre.yml"
    centre.write_text(CENTRE_YML.replace("清河村社区教学站", "清河村老年学习点"), encoding="utf-8")
    assert work.rebuild(built) == {"photo"}
    assert "清河村老年学习点" in built.html("courses/photo")
    assert_equals_cold(built)


def test_a_damaged_course_memo_is_no_memo(built_site, monkeypatch):
    built = built_site({"site/about.md": "# 关于我们\n\n介绍。\n"})
    memo = BuildPaths.for_root(built.root).cache / "site/build/course-memo"
    # Not JSON; empty or cut short, as a power cut leaves a file written without fsync.
    for number, path in enumerate(sorted(memo.glob("*.json"))):
        data = path.read_bytes()
        path.write_bytes([b"{not json", b"", data[:len(data) // 2], data[:-1]][number % 4])
    # A frame change renders every page again: the remembered bodies are needed, and are made anew.
    (built.root / "site/about.md").write_text("# 学院简介\n\n介绍。\n", encoding="utf-8")
    work = CourseWork(monkeypatch)
    assert work.rebuild(built) == {"demo", "photo"}
    assert "学院简介" in built.html("courses/demo/01-lecture-1")
    assert_equals_cold(built)


def test_remembered_pages_gone_are_made_again_when_rendered(built_site, monkeypatch):
    built = built_site({"site/about.md": "# 关于我们\n\n介绍。\n"})
    memo = BuildPaths.for_root(built.root).cache / "site/build/course-memo"
    for path in memo.glob("*.json"):  # the summary (first line) kept, the pages gone
        path.write_bytes(path.read_bytes().partition(b"\n")[0] + b"\n")
    (built.root / "site/about.md").write_text("# 学院简介\n\n介绍。\n", encoding="utf-8")
    work = CourseWork(monkeypatch)
    assert work.rebuild(built) == {"demo", "photo"}
    assert "学院简介" in built.html("courses/photo/01-lecture-1")
    assert_equals_cold(built)


def test_a_media_file_deleted_or_replaced_in_the_site_is_placed_again(built_site):
    built = built_site()
    video = built.site / "media/demo/01-lecture-1.mp4"
    source = built.delivered["demo/01-lecture-1"].path
    video.unlink()
    poster = next((built.site / "media/photo").glob("01-lecture-1.*[!4t]"))
    poster.unlink()  # (written through the hard link, the delivered poster itself would change)
    poster.write_bytes(b"not the poster")
    built.rebuild()
    assert video.stat().st_ino == source.stat().st_ino
    assert poster.read_bytes() != b"not the poster"
    assert_equals_cold(built)


def test_a_forced_build_makes_every_course_again(built_site, monkeypatch):
    built = built_site()
    work = CourseWork(monkeypatch)
    # (Built as the fixture builds: the check's course keys, and so the site's, cover the plugins'
    # code, and pytest may import the stand-in media plugin's conftest under two module names.)
    built.rebuild(force=True)
    assert {slug for _, slug in work.counts} == {"demo", "photo"}
    assert work.rebuild(built) == set()


def _counting_compiles(monkeypatch) -> list[str]:
    """The names of the templates Jinja compiles from now on, in order."""
    import jinja2

    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counted(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return original(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    return compiled


def test_a_rebuild_in_the_same_process_compiles_no_template_again(built_site, monkeypatch, tmp_path):
    """weike serve builds again on every edit: the theme's templates are compiled once per process,
    and again only when one changes."""
    from weike.plugins.site import generated

    # (Compiled templates of this test alone: none from other builds of this user.)
    monkeypatch.setattr(generated, "COMPILED_TEMPLATES", generated.CompiledTemplates(tmp_path / "compiled"))
    built = built_site({"site/overrides/partials/copyright.html": "<p>社区学院</p>\n"})
    compiled = _counting_compiles(monkeypatch)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    # (The empty template of the kept navigation pages is new to this process; Material's search
    # plugin's language partials, read in environments of its own, are not compiled again.)
    assert compiled == ["weike-kept.html"]
    compiled.clear()
    (built.root / "site/overrides/partials/copyright.html").write_text("<p>社区老年学院</p>\n", encoding="utf-8")
    built.rebuild()
    assert compiled == ["partials/copyright.html"]
    assert "社区老年学院" in built.html("courses/demo")
    assert_equals_cold(built)


def test_a_new_repository_compiles_none_of_the_templates_another_compiled(built_site, monkeypatch, tmp_path):
    """A repository without ``site/overrides`` has its theme read where weike ships it: Jinja names a
    compiled template by its file's path, so another repository's first build (a new clone, a cold
    build) compiles none of weike's templates again. Overrides of its own, added, are merged in the
    repository's work folder (and compiled there); removed, weike's are read where shipped again;
    each rebuild equals a cold build."""

    from tests.plugins.site.conftest import BuiltSite
    from weike.plugins.site import generated

    # (Compiled templates of this test alone: none from other builds of this user.)
    monkeypatch.setattr(generated, "COMPILED_TEMPLATES", generated.CompiledTemplates(tmp_path / "compiled"))
    built = built_site()
    compiled = _counting_compiles(monkeypatch)
    root = tmp_path / "another"
    shutil.copytree(built.root, root, ignore=shutil.ignore_patterns(".weike", "dist"))
    other = BuiltSite(root=root, site=root / "dist" / "site", delivered=built.delivered,
                      result=build_site(root, built.delivered))
    assert not other.result.failed
    assert compiled == []
    assert tree(other.site) == tree(built.site)
    copyright_html = root / "site/overrides/partials/copyright.html"
    copyright_html.parent.mkdir(parents=True)
    copyright_html.write_text("<p>社区学院</p>\n", encoding="utf-8")
    other.rebuild()
    assert "partials/copyright.html" in compiled and "main.html" in compiled
    assert "社区学院" in other.html("courses/demo") and "社区学院" in other.html("courses/demo/01-lecture-1")
    assert_equals_cold(other)
    shutil.rmtree(root / "site/overrides")
    other.rebuild()
    assert "社区学院" not in other.html("courses/demo") and "社区学院" not in other.html("courses/demo/01-lecture-1")
    assert tree(other.site) == tree(built.site)
    assert_equals_cold(other)


def test_a_rebuild_writes_only_the_search_files_whose_bytes_changed(built_site, monkeypatch):
    """One lecture's knowledge point edited: the shards its words fall in, its store chunk and the
    manifest are written; the other files of the sharded index are left in the site as they are."""
    from weike.plugins.site import manifest, website

    built = built_site()
    made: list[set[str]] = []

    def publishing(made_dir: Path, folder: Path, **given):
        made.append({rel for rel in manifest.present_files(made_dir, stamp_file="") if rel.startswith("search/")})
        return real_publish(made_dir, folder, **given)

    real_publish = manifest.publish
    monkeypatch.setattr(website.manifest, "publish", publishing)
    before = {rel: data for rel, data in tree(built.site).items() if rel.startswith("search/")}
    lecture = built.root / "courses/demo/01-lecture-1/lecture.md"
    lecture.write_text(lecture.read_text(encoding="utf-8").replace("knowledge_point: 知识点1", "knowledge_point: 蓝牙耳机配对"),
                       encoding="utf-8")
    built.rebuild()
    after = {rel: data for rel, data in tree(built.site).items() if rel.startswith("search/")}
    changed = {rel for rel in after if after[rel] != before.get(rel)}
    shards = {rel for rel in after if rel.startswith(("search/p/", "search/d/"))}
    assert changed & shards and shards - changed
    # The site's publishing (the offline edition's comes after it): Material's index is written
    # by MkDocs on every build; of weike's files, only those whose bytes changed.
    assert made[0] == changed | {"search/search_index.json"}
    assert_equals_cold(built)


def test_a_rebuild_copies_only_the_theme_files_that_changed(built_site, monkeypatch):
    """The theme's static files (Material's bundles, weike's assets, the repository's overrides)
    the site holds as made are not copied again; an override edited is, and the site shows it."""
    built = built_site({"site/overrides/assets/local.css": "body { color: black; }\n"})
    copied = count_copies(monkeypatch, built.site)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()
    # What weike rewrites after the render (the search reader gets the index's manifest; the
    # engine's sitemap gives way to weike's) is copied on every build; nothing else.
    assert sorted(copied) == ["assets/weike/search.js", "sitemap.xml"]
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")

    copied.clear()
    (built.root / "site/overrides/assets/local.css").write_text("body { color: navy; }\n", encoding="utf-8")
    built.rebuild()
    assert "assets/local.css" in copied
    assert (built.site / "assets/local.css").read_text(encoding="utf-8") == "body { color: navy; }\n"
    assert_equals_cold(built)

    # A theme file defaced in the site is copied again.
    bundle = next((built.site / "assets/javascripts").glob("bundle.*.min.js"))
    original = bundle.read_bytes()
    bundle.write_bytes(b"alert(1)")
    copied.clear()
    built.rebuild()
    assert bundle.relative_to(built.site).as_posix() in copied
    assert bundle.read_bytes() == original


def test_a_kept_page_costs_no_mkdocs_file_of_its_own(built_site, monkeypatch):
    """One lecture's notes edited: MkDocs' File is made for the pages rendered (and the theme's
    files), none for a page of another course, which the site keeps."""
    from mkdocs.structure.files import File

    from weike.plugins.site import generated

    built = built_site()
    made: list[str] = []
    real_init, real_generated = File.__init__, generated.generated_file

    def counted(self, path, *args, **kwargs):
        made.append(path)
        real_init(self, path, *args, **kwargs)

    def counted_generated(src_uri, **kwargs):
        made.append(src_uri)
        return real_generated(src_uri, **kwargs)

    monkeypatch.setattr(File, "__init__", counted)
    monkeypatch.setattr(generated, "generated_file", counted_generated)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    assert "courses/demo/01-lecture-1.md" in made
    assert [path for path in made if path.startswith("courses/photo")] == []
    assert (built.site / "courses/photo/01-lecture-1/index.html").is_file()


def test_a_plugins_file_is_copied_again_only_when_its_bytes_change(built_site, monkeypatch):
    """A plugin's site files (the records' facts of each course) are written beside the docs only
    when their bytes change, so the site keeps those of the courses not edited; the edited course's
    file is copied, and the site shows its new facts."""
    built = built_site()
    facts = built.site / "assets/records/courses/demo.js"
    assert facts.is_file() and (built.site / "assets/records/courses/photo.js").is_file()
    copied = count_copies(monkeypatch, built.site)
    lecture = built.root / "courses/demo/01-lecture-1/lecture.md"
    lecture.write_text(lecture_md(title="蓝牙耳机怎样配对", knowledge_point="蓝牙配对"), encoding="utf-8")
    built.rebuild()
    assert "蓝牙耳机怎样配对" in facts.read_text(encoding="utf-8")
    assert [rel for rel in copied if rel.startswith("assets/records/")] == ["assets/records/courses/demo.js"]


def test_the_search_shards_are_computed_only_when_the_index_they_are_made_from_changed(built_site, monkeypatch):
    """A rebuild whose merged index is the one the published shards were made from keeps them
    without computing; an edit of what the index holds, or a shard file gone or defaced, computes
    them again, equal to a cold build's."""
    from weike.plugins.site import search_shards, sources

    built = built_site()
    computed: list[int] = []
    real_shard_files = search_shards.shard_files

    def counted(docs, **given):
        computed.append(len(docs))
        return real_shard_files(docs, **given)

    monkeypatch.setattr(search_shards, "shard_files", counted)
    segmented: list[str] = []  # the courses whose entries were made (jieba run), not taken from their memo
    real_entries_from = sources.entries_from

    def counted_entries(inputs, **given):
        inputs = list(inputs)
        segmented.append(inputs[0][0])
        return real_entries_from(inputs, **given)

    monkeypatch.setattr(sources, "entries_from", counted_entries)

    def rebuild() -> int:
        computed.clear()
        segmented.clear()
        built.rebuild()
        return len(computed)

    # The notes' body is not in the index (search_notes is off): the page changes, the entries
    # (the course's, from its memo) and the shards do not.
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    assert rebuild() == 0
    assert segmented == []
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    assert_equals_cold(built)

    # A knowledge point is in the index: computed again.
    notes.write_text(notes.read_text(encoding="utf-8").replace("knowledge_point: 知识点1", "knowledge_point: 蓝牙耳机配对"),
                     encoding="utf-8")
    assert rebuild() == 1
    assert segmented == ["courses/demo/"]
    assert_equals_cold(built)
    assert rebuild() == 0  # (nothing changed: the site is kept whole)

    # A shard deleted, a store chunk defaced, the manifest defaced: each computed again.
    for rel, deface in (("search/p/0.js", Path.unlink), ("search/d/0.js", lambda p: p.write_bytes(b"alert(1);\n")),
                        ("search/manifest.js", lambda p: p.write_bytes(p.read_bytes().replace(b'"shards"', b'"shard"')))):
        deface(built.site / rel)
        assert rebuild() == 1, rel
        assert_equals_cold(built)


def test_the_search_shards_make_only_the_edited_courses_entries_again(built_site, monkeypatch):
    """A course's title edit, a course added and a course deleted compute the shards again (the
    entries are numbered anew), but each entry's store form and keys are remembered: only the
    entries of the edited or added course are made again. A damaged memo is no memo. The files
    always equal a cold build's."""
    from weike.plugins.site import search_shards
    from weike.plugins.site.search_shards import PARTS_FILE

    built = built_site()
    photo, parked = built.root / "courses/photo", built.root.parent / "parked-photo"
    shutil.move(photo, parked)
    built.rebuild()
    made: list[str] = []  # the location of every entry whose parts were made, not remembered
    real_entry_parts = search_shards.entry_parts

    def counted(doc):
        made.append(doc["location"])
        return real_entry_parts(doc)

    monkeypatch.setattr(search_shards, "entry_parts", counted)

    def rebuild() -> set[str]:
        made.clear()
        built.rebuild()
        return {location.split("/")[1] if location.startswith("courses/") else location for location in made}

    course_yml = built.root / "courses/demo/course.yml"
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("title: 测试课程", "title: 智能手机入门"),
                          encoding="utf-8")
    assert rebuild() == {"demo"}  # the course's page and its lectures' (whose text names the course)
    assert len(made) == 1 + len(list((built.root / "courses/demo").glob("*/lecture.md")))
    assert "智能手机入门" in (built.site / "search/d/0.js").read_text(encoding="utf-8")
    assert_equals_cold(built)

    shutil.move(parked, photo)
    assert rebuild() == {"photo"}
    assert_equals_cold(built)
    shutil.rmtree(photo)
    assert rebuild() == set()
    assert_equals_cold(built)

    # A memo cut short is no memo: every entry is made again.
    memo = BuildPaths.for_root(built.root).cache / "site" / "build" / PARTS_FILE
    memo.write_bytes(memo.read_bytes()[:-10])
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("智能手机入门", "智能手机"), encoding="utf-8")
    rebuild()
    entries = json.loads((built.site / "search/manifest.js").read_text(encoding="utf-8")
                         .strip()[len("__weikeSearch.manifest("):-2])["entries"]
    assert len(made) == entries
    assert_equals_cold(built)


def test_a_course_is_keyed_by_the_checks_key_and_one_without_is_hashed_as_before(built_site, monkeypatch):
    """The check's key of a course folder (every entry below it) stands for the course and its
    notes' pictures: such a course is not hashed again. A course the check keys not (a symbolic
    link in its folder) is hashed by its parts. Either way an edit is seen, equal to a cold build."""
    from PIL import Image

    from weike.plugins.site import course_memo

    built = built_site()
    hashed: list[str] = []
    real_course_key = course_memo.course_key

    def counted(item, **given):
        hashed.append(item.slug)
        return real_course_key(item, **given)

    monkeypatch.setattr(course_memo, "course_key", counted)
    work = CourseWork(monkeypatch)
    (built.root / "courses/photo/links").mkdir()
    (built.root / "courses/photo/links/notes.md").symlink_to("../01-lecture-1/lecture.md")
    built.rebuild()  # (the check keys photo no more: its key is now of another kind)
    picture = built.root / "courses/demo/01-lecture-1/diagram.png"
    Image.new("RGB", (64, 48), "red").save(picture)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n![示意图](diagram.png)\n", encoding="utf-8")
    hashed.clear()
    assert work.rebuild(built) == {"demo"}
    assert hashed == ["photo"]
    assert_equals_cold(built)

    # A picture of the notes replaced (the notes as they were): the check's key changes, the page is made again.
    published = sorted(p for p in (built.site / "courses/demo").rglob("*") if p.suffix in {".png", ".jpg", ".webp"})
    before = {p: p.read_bytes() for p in published}
    Image.new("RGB", (64, 48), "blue").save(picture)
    hashed.clear()
    assert work.rebuild(built) == {"demo"}
    assert hashed == ["photo"]
    assert any(p.read_bytes() != data for p, data in before.items())
    assert_equals_cold(built)

    # The course without a key: its notes edited, it alone is made again.
    other = built.root / "courses/photo/01-lecture-1/lecture.md"
    other.write_text(other.read_text(encoding="utf-8") + "\n拍照前先擦镜头。\n", encoding="utf-8")
    hashed.clear()
    assert work.rebuild(built) == {"photo"}
    assert hashed == ["photo"]
    assert "拍照前先擦镜头" in built.html("courses/photo/01-lecture-1")
    assert_equals_cold(built)


def test_a_plugins_unchanged_file_is_not_written_again(built_site):
    """The records plugin's file of a course another course's edit leaves alone keeps its identity
    in the build's work folder, so the site keeps its copy; the edited course's file is written."""
    built = built_site()
    work = BuildPaths.for_root(built.root).cache / "site/build/plugin-files/assets/records/courses"
    before = {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in work.glob("*.js")}
    assert set(before) == {"demo.js", "photo.js"}
    course = built.root / "courses/demo/course.yml"
    course.write_text(course.read_text(encoding="utf-8").replace("title: ", "title: 新版", 1), encoding="utf-8")
    built.rebuild()
    after = {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in work.glob("*.js")}
    assert after["photo.js"] == before["photo.js"]
    assert after["demo.js"] != before["demo.js"]
    assert_equals_cold(built)


def test_a_plugins_file_a_killed_build_left_torn_is_written_whole_again(built_site):
    """A cold build writes a plugin's file in place (no temporary file): one a killed build left
    torn or empty differs from the bytes, so the next build writes it whole and publishes that."""
    built = built_site()
    work = BuildPaths.for_root(built.root).cache / "site/build/plugin-files/assets/records/courses"
    whole = (work / "demo.js").read_bytes()
    published = (built.site / "assets/records/courses/demo.js").read_bytes()
    (work / "demo.js").write_bytes(whole[: len(whole) // 2])
    (work / "photo.js").write_bytes(b"")
    (built.site / ".weike-site.json").unlink()  # (the site built again: nothing kept from it)
    built.rebuild()
    assert (work / "demo.js").read_bytes() == whole and (work / "photo.js").stat().st_size > 0
    assert (built.site / "assets/records/courses/demo.js").read_bytes() == published
    assert_equals_cold(built)


def test_material_search_cuts_only_text_no_earlier_build_cut(built_site, monkeypatch):
    """Material's search cuts the hand-written pages' Han runs with jieba on every build, the
    first cut loading jieba's dictionary: an edit to no indexed text (a lecture's notes) cuts
    nothing, an edit to a hand-written page cuts its new runs alone, and the index equals a cold
    build's either way (a damaged memo too)."""
    import jieba

    from weike.plugins.site.search import CUTS_FILE

    built = built_site({"site/about.md": "# 关于我们\n\n社区学院的介绍，欢迎居民来学习。\n"})
    cut: list[str] = []
    real_cut = jieba.cut

    def counted(sentence, *args, **kwargs):
        cut.append(sentence.decode("utf-8") if isinstance(sentence, bytes) else sentence)
        return real_cut(sentence, *args, **kwargs)

    monkeypatch.setattr(jieba, "cut", counted)

    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    built.rebuild()
    assert "补充一段新的讲义内容" in built.html("courses/demo/01-lecture-1")
    assert cut == []
    assert_equals_cold(built)

    cut.clear()
    (built.root / "site/about.md").write_text("# 关于我们\n\n社区学院的介绍，周末开放阅览室。\n", encoding="utf-8")
    built.rebuild()
    assert cut and "周末开放阅览室" in "".join(cut)
    assert "关于我们" not in cut  # the title's run, unchanged, was remembered
    assert_equals_cold(built)

    # A memo altered in the cache: words that are not the run's are cut again, a file of another
    # key is no memo; the index is a cold build's either way.
    memo = BuildPaths.for_root(built.root).cache / "site/build" / CUTS_FILE
    altered = json.loads(memo.read_text(encoding="utf-8"))
    altered["cuts"]["关于我们"] = ["<img src=x onerror=alert(1)>"]
    memo.write_text(json.dumps(altered, ensure_ascii=False), encoding="utf-8")
    cut.clear()
    notes.write_text(notes.read_text(encoding="utf-8") + "\n再补充一段。\n", encoding="utf-8")
    built.rebuild()
    assert cut == ["关于我们"]
    assert b"onerror" not in (built.site / "search/search_index.json").read_bytes()
    assert_equals_cold(built)
    memo.write_text('{"format": 1, "key": "x", "cuts": {"关于我们": ["假"]}}', encoding="utf-8")
    notes.write_text(notes.read_text(encoding="utf-8") + "\n第三段。\n", encoding="utf-8")
    built.rebuild()
    assert_equals_cold(built)


def test_a_repositorys_own_jieba_dictionary_is_never_answered_from_the_memo():
    from weike.plugins.site.search import cuts_allowed

    assert cuts_allowed(["search"]) and cuts_allowed([{"search": {"lang": "zh"}}, "tags"])
    assert not cuts_allowed([{"search": {"jieba_dict_user": "words.txt"}}])
    assert not cuts_allowed([{"material/search": {"jieba_dict": "dict.txt"}}])


def test_a_rebuild_in_a_new_process_compiles_no_template_again(built_site, monkeypatch, tmp_path):
    """``weike build`` after an edit is a new process: the templates compiled by an earlier one are
    read from the user's own folder, an edited override is compiled again, a damaged file is
    compiled again, and the pages equal a cold build's."""
    import jinja2

    from weike.plugins.site import generated

    folder = tmp_path / "compiled"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(generated, "COMPILED_TEMPLATES", generated.CompiledTemplates(folder))
    built = built_site({"site/overrides/partials/copyright.html": "<p>社区学院</p>\n"})
    built.rebuild(force=True)  # (every template the build uses is compiled, "weike-kept.html" aside)
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counted(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return original(self, source, name, filename, *args, **kwargs)

    def rebuild_in_new_process() -> list[str]:
        compiled.clear()
        monkeypatch.setattr(generated, "COMPILED_TEMPLATES", generated.CompiledTemplates(folder))
        built.rebuild()
        return [name for name in compiled if not name.startswith(("partials/language", "partials/languages/"))]

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    notes = built.root / "courses/demo/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一段新的讲义内容。\n", encoding="utf-8")
    assert rebuild_in_new_process() in ([], ["weike-kept.html"])
    notes.write_text(notes.read_text(encoding="utf-8") + "\n再补充一段。\n", encoding="utf-8")
    assert rebuild_in_new_process() == []
    assert "再补充一段" in built.html("courses/demo/01-lecture-1")

    (built.root / "site/overrides/partials/copyright.html").write_text("<p>社区老年学院</p>\n", encoding="utf-8")
    assert rebuild_in_new_process() == ["partials/copyright.html"]
    assert "社区老年学院" in built.html("courses/demo")
    for cached in folder.iterdir():
        cached.write_bytes(b"j2" + b"\x00" * 64)
    notes.write_text(notes.read_text(encoding="utf-8") + "\n第三段。\n", encoding="utf-8")
    assert "partials/copyright.html" in rebuild_in_new_process()
    assert_equals_cold(built)


def test_compiled_templates_are_kept_only_in_a_folder_of_this_users_alone(tmp_path, monkeypatch):
    import tempfile

    from weike.plugins.site.generated import private_template_folder

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    folder = private_template_folder()
    assert folder is not None and folder.parent == tmp_path and (folder.stat().st_mode & 0o777) == 0o700
    folder.chmod(0o777)  # another user could put code there: not read
    assert private_template_folder() is None


def test_compiled_templates_of_another_set_unused_for_a_month_are_removed(tmp_path, monkeypatch):
    import os

    from weike.plugins.site import generated

    folder = tmp_path / "compiled"
    folder.mkdir(mode=0o700)
    current = generated._compiled_with()
    month = generated.UNUSED_COMPILATIONS_SECONDS
    old = {"mine": f"{'a' * 40}-{current}.cache", "stale": f"{'b' * 40}-{'0' * 24}.cache",
           "recent": f"{'c' * 40}-{'1' * 24}.cache", "other": "notes.txt"}
    for name in old.values():
        (folder / name).write_bytes(b"j2")
    for key in ("mine", "stale", "other"):  # untouched for longer than a month
        os.utime(folder / old[key], (0, os.stat(folder / old[key]).st_mtime - month - 60))
    monkeypatch.setattr(generated, "COMPILED_TEMPLATES", generated.CompiledTemplates(folder))
    assert generated.COMPILED_TEMPLATES._on_disk() is not None
    # Another weike's set, unused for a month, goes; this one's, a recent other set's and a file
    # weike does not name stay.
    assert sorted(path.name for path in folder.iterdir()) == \
        sorted([old["mine"], old["recent"], old["other"], generated.SWEPT_FILE])


def test_the_compiled_templates_folder_is_swept_at_most_once_a_day(tmp_path):
    """A sweep stats every file of every set (thousands where weike's code changes often): a build
    within a day of the last one's does not sweep again."""
    import os

    from weike.plugins.site import generated

    folder = tmp_path / "compiled"
    folder.mkdir(mode=0o700)
    current = generated._compiled_with()
    stale = folder / f"{'b' * 40}-{'0' * 24}.cache"

    def unused_for_a_month() -> None:
        stale.write_bytes(b"j2")
        os.utime(stale, (0, os.stat(stale).st_mtime - generated.UNUSED_COMPILATIONS_SECONDS - 60))

    unused_for_a_month()
    assert generated.remove_unused_compilations(folder, current) == 1
    unused_for_a_month()
    assert generated.remove_unused_compilations(folder, current) == 0  # swept an hour ago or less
    assert stale.exists()
    swept = folder / generated.SWEPT_FILE
    day_ago = os.stat(swept).st_mtime - generated.SWEEP_SECONDS - 60
    os.utime(swept, (day_ago, day_ago))
    assert generated.remove_unused_compilations(folder, current) == 1
    assert not stale.exists()


def test_page_digests_of_a_catalogue_are_each_page_s_own_digest():
    """The page digests a build takes at once (the frame's part hashed once) are those taken one
    page at a time, which the site's stamp records: hostile and non-ASCII paths and contents too."""
    from weike.plugins.site.incremental import page_digest, page_digests, page_file

    engine = "e" * 64
    contents = {"index.md": "", "courses/电脑/01-开机.md": "a" * 64, "courses/x\0y/index.md": "'\"\\\n",
                "levels/省级.md": "\ud800"}
    assert page_digests(engine, list(contents), contents) == {page_file(rel): page_digest(engine, rel, content)
                                                             for rel, content in contents.items()}
    assert len(set(page_digests(engine, contents, contents).values())) == len(contents)
