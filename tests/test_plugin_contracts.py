"""What weike promises a plugin, checked with real plugin modules: a file in a repository's
``plugins/`` folder and, where installed plugins are concerned too, a real installed distribution
with a ``weike`` entry point. Each test broke in a review with third-party plugins before its fix.

1. build inputs: what a bundle target or a report reads is noticed by the next build;
2. settings: a plugin's own weike.yml / course.yml keys are its to read;
3. delivery profiles: what a profile asks is honoured or refused when it is selected;
4. two bundle targets with one name: one clear error naming both plugins;
5. a repository plugin named like a built-in runs beside it;
6. repository plugins share helpers; third-party packages named ``plugins`` or ``builder`` are
   no weike modules;
7. the public contract keeps its old paths: ``weike.builder.model``, ``hookspecs``, ``settings``
   and ``context`` give the same names as ``weike.builder.contracts.*``, and a plugin written
   against them runs.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
import textwrap
from pathlib import Path

import pytest

from weike.builder.cli import main
from weike.builder.keeping.fingerprint import code_location
from weike.builder.running.checking import run_check
from weike.builder.running.pipeline import BuildResult, build
from weike.builder.running.progress import Progress
from weike.builder.running.project import Project
from tests.plugins.conftest import install_delivered_media_plugin, read_zip
from tests.conftest import install_entry_point_plugin, write_tree

KINDS = ("local", "entry point")


@pytest.fixture
def install(tmp_path, monkeypatch):
    """``install(kind, root, name, source) -> plugin name``: the module ``source`` as the file
    ``plugins/<name>.py`` of the repository at ``root`` ("local"), or as an installed
    distribution whose ``weike`` entry point ``<name>`` is that module ("entry point")."""
    installed: list[str] = []

    def put(kind: str, root: Path, name: str, source: str) -> str:
        source = textwrap.dedent(source)
        if kind == "local":
            (root / "plugins").mkdir(exist_ok=True)
            (root / "plugins" / f"{name}.py").write_text(source, encoding="utf-8")
            return f"local:{name}"
        module = f"weike_contract_{name}"
        install_entry_point_plugin(tmp_path / "site-packages", monkeypatch, module=module, source=source, entry=name)
        installed.append(module)
        return name

    yield put
    for module in installed:
        sys.modules.pop(module, None)


def run_build(root: Path, only: str | None = None) -> BuildResult:
    return build(root, progress=Progress(), only=only)


def touch_later(path: Path) -> None:
    """A modification time one second on: an edit no clock granularity can hide."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# --------------------------------------------------------------------------------------------
# 1. Build inputs
# --------------------------------------------------------------------------------------------

#: A county's own target that reads a file of the course folder and declares nothing.
COURSE_FILE_TARGET = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.archive import ArchiveMember
from weike.plugins.bundles import BundleTarget


def pack(*, course, delivered, config):
    extra = course.folder / "portal.txt"
    return [ArchiveMember.from_bytes("portal.txt", extra.read_bytes() if extra.is_file() else b"-")]


@hookimpl
def weike_bundle_targets():
    return [BundleTarget(name="county-portal", title="县门户", description="县里的课程门户", pack=pack)]
"""


@pytest.fixture
def bundle_repo(delivered_repo):
    """A repository with one valid course ``c`` whose builds find delivered media."""
    repository, _, _ = delivered_repo(valid_courses=("c",))
    install_delivered_media_plugin(repository.root)
    return repository.root


@pytest.mark.parametrize("kind", KINDS)
def test_a_target_reading_a_course_file_repacks_when_that_file_is_added_or_edited(bundle_repo, install, kind):
    root = bundle_repo
    install(kind, root, "portal_target", COURSE_FILE_TARGET)
    bundle = root / "dist/bundles/county-portal/c.zip"
    assert not run_build(root, "bundles").failed_build()
    assert read_zip(bundle)["portal.txt"] == b"-"

    extra = root / "courses/c/portal.txt"
    extra.write_text("第一版", encoding="utf-8")
    assert not run_build(root, "bundles").failed_build()
    assert read_zip(bundle)["portal.txt"] == "第一版".encode()

    extra.write_text("第二版，改过了", encoding="utf-8")
    touch_later(extra)
    result = run_build(root, "bundles")
    assert not result.failed_build() and not result.replayed
    assert read_zip(bundle)["portal.txt"] == "第二版，改过了".encode()
    # Nothing changed: the zip is kept, not packed again.
    (root / ".weike/cache/build-stamp.json").unlink()
    written = bundle.stat().st_mtime_ns
    result = run_build(root, "bundles")
    assert any("(county-portal: 0 bundle(s) written, 1 unchanged)" in line for line in result.summary_lines)
    assert bundle.stat().st_mtime_ns == written


#: A target that reads a template at the repository root, outside every course folder: it names
#: it for its zips (``inputs``) and for the whole build (``weike_build_inputs``).
TEMPLATE_TARGET = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.archive import ArchiveMember
from weike.plugins.bundles import BundleTarget

TEMPLATE = "portal-header.txt"


def template_of(course):
    return course.folder.parents[1] / TEMPLATE


def pack(*, course, delivered, config):
    header = template_of(course).read_text(encoding="utf-8")
    return [ArchiveMember.from_bytes("index.txt", f"{header}\\n{course.title}".encode("utf-8"))]


def inputs(*, course, config):
    return [template_of(course)]


@hookimpl
def weike_bundle_targets():
    return [BundleTarget(name="county-portal", title="县门户", description="…", pack=pack, inputs=inputs)]


@hookimpl
def weike_build_inputs(root, config):
    return [root / TEMPLATE]
"""


@pytest.mark.parametrize("kind", KINDS)
def test_a_target_reading_a_file_outside_the_course_names_it_in_inputs(bundle_repo, install, kind):
    root = bundle_repo
    install(kind, root, "template_target", TEMPLATE_TARGET)
    template = root / "portal-header.txt"
    template.write_text("测试县", encoding="utf-8")
    bundle = root / "dist/bundles/county-portal/c.zip"
    assert not run_build(root, "bundles").failed_build()
    assert read_zip(bundle)["index.txt"].decode("utf-8") == "测试县\n测试课程"

    template.write_text("测试县社区教育", encoding="utf-8")
    touch_later(template)
    result = run_build(root, "bundles")
    assert not result.failed_build() and not result.replayed
    assert read_zip(bundle)["index.txt"].decode("utf-8") == "测试县社区教育\n测试课程"
    # The built-in targets read nothing of it: they keep their zips.
    assert any("(scorm: 0 bundle(s) written, 1 unchanged)" in line for line in result.summary_lines)


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_scorm_target_repacks_when_a_notes_picture_changes(bundle_repo):
    # The bundle stage no longer knows that SCORM pages show the notes' pictures: the course
    # folder's files are the inputs of every target.
    root = bundle_repo
    lecture = root / "courses/c/02-lecture-2"
    (lecture / "lecture.md").write_text("---\ntitle: 第2讲\nknowledge_point: 知识点2\n---\n\n![图](photo.png)\n",
                                        encoding="utf-8")
    (lecture / "photo.png").write_bytes(png_bytes((200, 30, 30), (40, 30)))
    assert not run_build(root, "bundles").failed_build()
    first = read_zip(root / "dist/bundles/scorm/c.zip")["02-lecture-2/photo.png"]

    (lecture / "photo.png").write_bytes(png_bytes((30, 30, 200), (80, 60)))
    assert not run_build(root, "bundles").failed_build()
    again = read_zip(root / "dist/bundles/scorm/c.zip")["02-lecture-2/photo.png"]
    from PIL import Image

    # SCORM carries the phone-sized copy of the picture (never the file as written): the new one's.
    assert again != first
    with Image.open(io.BytesIO(again)) as copy:
        assert copy.size == (80, 60) and copy.getpixel((40, 30))[:3] == (30, 30, 200)


#: A report that reads a file at the repository root and names it for the whole-build stamp.
PORTAL_REPORT = """
from weike.builder.contracts.context import StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.outputs import write_atomic


@hookimpl
def weike_build_inputs(root, config):
    return [root / "portal.csv"]


@hookimpl
def weike_report_stage(context, courses, delivered, centres):
    rows = (context.paths.root / "portal.csv").read_text(encoding="utf-8").splitlines()
    target = context.paths.reports / "portal.txt"
    write_atomic(target, f"{len(rows)} rows, {len(courses)} course(s)".encode("utf-8"))
    return StageOutcome(outputs=(target,), summary=(f"portal: {len(rows)} rows",))
"""


@pytest.mark.parametrize("kind", KINDS)
def test_a_report_that_declares_a_repository_file_runs_again_when_it_changes(make_repo, install, kind):
    root = make_repo(valid_courses=("c",))
    install(kind, root, "portal_report", PORTAL_REPORT)
    table = root / "portal.csv"
    table.write_text("课程,链接\n", encoding="utf-8")
    report = root / "dist/reports/portal.txt"
    assert not run_build(root, "reports").failed_build()
    assert report.read_text(encoding="utf-8") == "1 rows, 1 course(s)"
    assert run_build(root, "reports").replayed  # nothing changed

    table.write_text("课程,链接\nc,https://example.gov.cn/c\n", encoding="utf-8")
    touch_later(table)
    result = run_build(root, "reports")
    assert not result.replayed and not result.failed_build()
    assert report.read_text(encoding="utf-8") == "2 rows, 1 course(s)"


def test_the_site_names_mkdocs_yml_and_the_site_folder_as_inputs(bundle_repo):
    root = bundle_repo
    write_tree(root, {"mkdocs.yml": "site_name: 测试县微课\n", "site/about.md": "# 关于\n\n第一版\n"})
    assert not run_build(root, "site").failed_build()
    assert run_build(root, "site").replayed

    (root / "mkdocs.yml").write_text("site_name: 测试县社区微课\n", encoding="utf-8")
    touch_later(root / "mkdocs.yml")
    result = run_build(root, "site")
    assert not result.replayed and not result.failed_build()
    assert "测试县社区微课" in (root / "dist/site/index.html").read_text(encoding="utf-8")

    (root / "site/about.md").write_text("# 关于\n\n第二版，改过了\n", encoding="utf-8")
    touch_later(root / "site/about.md")
    result = run_build(root, "site")
    assert not result.replayed and not result.failed_build()
    assert "第二版" in (root / "dist/site/about/index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# 2. Settings
# --------------------------------------------------------------------------------------------

COUNTY_SETTINGS = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.settings import Setting, Text

AUDIENCES = ("老年人", "青少年", "外来务工人员")


def check_portal(reader, node, path, value):
    if not value.startswith("https://"):
        reader.report("X310", node, "门户地址应以 https:// 开头", f"'{path}' must start with https://")
        return None
    return value


def check_audience(reader, node, path, value):
    if value not in AUDIENCES:
        reader.report("X311", node, f"“{path}”应为 {'、'.join(AUDIENCES)} 之一", f"'{path}' is no known audience")
        return None
    return value


@hookimpl
def weike_settings():
    return [Setting(name="county_portal", type=Text(), check=check_portal,
                    description="县课程门户", description_en="the county's course portal"),
            Setting(name="audience", type=Text(), course=True, check=check_audience,
                    description="面向的人群", description_en="who the course is for")]
"""


def with_course_line(root: Path, slug: str, line: str) -> int:
    """Append ``line`` to the course's course.yml; returns its line number."""
    path = root / f"courses/{slug}/course.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, line]) + "\n", encoding="utf-8")
    return len(lines) + 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_plugin_reads_its_own_settings_and_reports_them_at_their_line(make_repo, install, kind, capsys):
    root = make_repo({"weike.yml": "province: 测试省\ncounty_portal: ftp://portal.example\n"},
                     valid_courses=("good", "bad"))
    install(kind, root, "county_settings", COUNTY_SETTINGS)
    with_course_line(root, "good", "audience: 老年人")
    bad_line = with_course_line(root, "bad", "audience: 儿童")

    found = {(d.code, d.location.file, d.location.line, d.location.column) for d in run_check(root).diagnostics}
    assert ("X310", "weike.yml", 2, 16) in found
    assert ("X311", "courses/bad/course.yml", bad_line, 11) in found
    assert not [entry for entry in found if entry[0] == "W006"]
    assert main(["check", str(root)]) == 1
    assert "weike.yml:2:16: error X310" in capsys.readouterr().out

    (root / "weike.yml").write_text("province: 测试省\ncounty_portal: https://portal.example\n", encoding="utf-8")
    repository = Project.open(root).load()
    assert repository.config.plugin_settings["county_portal"] == "https://portal.example"
    assert repository.course("good").plugin_settings["audience"] == "老年人"
    assert "audience" not in repository.course("bad").plugin_settings  # its reader refused the value


PLAIN_SETTING = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Setting


@hookimpl
def weike_settings():
    return [Setting(name="portal_columns", description="门户列表的栏目", description_en="columns of the county portal's list")]
"""


def test_a_setting_without_a_reader_arrives_as_plain_nested_data(make_repo, install):
    root = make_repo({"weike.yml": """\
        portal_columns:
          order: [title, theme]
          widths: {title: 20, theme: 8}
          since: 2024-03-01
          shown: true
        """}, valid_courses=("c",))
    install("local", root, "plain_setting", PLAIN_SETTING)
    result = run_check(root)
    assert result.repository.config.plugin_settings["portal_columns"] == {
        "order": ["title", "theme"], "widths": {"title": 20, "theme": 8},
        "since": datetime.date(2024, 3, 1), "shown": True}
    assert not [d for d in result.diagnostics if d.code == "W006"]


def declaring(key: str) -> str:
    return f"""
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Setting


@hookimpl
def weike_settings():
    return [Setting(name="{key}", description="自己的键", description_en="a key of its own")]
"""


@pytest.mark.parametrize(("second_kind", "key", "first"), [
    ("local", "county_portal", "local:first_claim"),
    ("entry point", "county_portal", "local:first_claim"),
    ("local", "title", "weike (core)"),
    ("local", "profile", "weike.plugins.media"),
])
def test_a_setting_declared_twice_stops_the_command_naming_both(make_repo, install, capsys, second_kind, key, first):
    root = make_repo(valid_courses=("c",))
    if first.startswith("local:"):
        install("local", root, "first_claim", declaring(key))
    second = install(second_kind, root, "second_claim", declaring(key))
    assert main(["check", str(root)]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1, err
    assert f"'{key}'" in err and first in err and second in err
    assert "Traceback" not in out + err and "internal error" not in err


# --------------------------------------------------------------------------------------------
# 3. Delivery profiles
# --------------------------------------------------------------------------------------------


def profile_plugin(field: str, value: object) -> str:
    return f"""
import dataclasses

from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.media.profile import DEFAULT_PROFILE


@hookimpl
def weike_media_profiles():
    return [dataclasses.replace(DEFAULT_PROFILE, name="hevc-profile", {field}={value!r})]
"""


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("local", "video_codec", "hevc"),
    ("entry point", "video_codec", "hevc"),
    ("local", "container", "mkv"),
    ("local", "pixel_format", "yuv422p10le"),
    ("local", "audio_sample_rate", 47000),
    ("local", "audio_codec", "opus"),
])
def test_a_profile_the_media_stage_cannot_make_is_e216_and_nothing_is_encoded(make_repo, install, capsys,
                                                                              kind, field, value):
    root = make_repo({"weike.yml": "province: 测试省\nprofile: hevc-profile\n"}, valid_courses=("c",))
    install(kind, root, "hevc_profile", profile_plugin(field, value))
    assert main(["build", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    e216 = [line for line in out.splitlines() if line.startswith("weike.yml:2:10: error E216")]
    assert len(e216) == 1 and f"{field} {value!r}" in e216[0], out
    assert "E215" not in out
    assert not list((root / "dist").rglob("*.mp4"))
    store = root / ".weike/cache/media"
    assert not store.exists() or not [p for p in store.rglob("*") if p.is_file()]


def test_probe_refuses_such_a_profile_as_a_usage_error(make_repo, install, media, capsys, monkeypatch):
    root = make_repo({"weike.yml": "province: 测试省\n"})
    install("local", root, "hevc_profile", profile_plugin("video_codec", "hevc"))
    clip = media("conforming.mp4")
    monkeypatch.chdir(root)  # weike probe works with the plugins of the current folder's repository
    assert main(["probe", str(clip), "--profile", "hevc-profile", "--no-loudness"]) == 2
    err = capsys.readouterr().err
    assert "video_codec 'hevc'" in err and "Traceback" not in err
    # The default profile is unaffected: a verdict (not measured loudness: no full pass), no usage error.
    assert main(["probe", str(clip), "--no-loudness"]) == 1
    assert "=> 不符合交付规格 (does not conform to) 'default'" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# 4. Two bundle targets with one name
# --------------------------------------------------------------------------------------------

SECOND_SCORM = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.archive import ArchiveMember
from weike.plugins.bundles import BundleTarget


@hookimpl
def weike_bundle_targets():
    return [BundleTarget(name="scorm", title="县里的 SCORM", description="…",
                         pack=lambda **_: [ArchiveMember.from_bytes("x.txt", b"x")])]
"""


@pytest.mark.parametrize("kind", KINDS)
def test_weike_bundles_names_both_plugins_of_a_duplicate_target(tmp_path, make_repo, install, capsys, kind):
    root = make_repo()
    name = install(kind, root, "second_scorm", SECOND_SCORM)
    assert main(["bundles", str(root)]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1, err
    assert "'scorm'" in err and "weike.plugins.scorm" in err and name in err
    assert "internal error" not in err and "Traceback" not in out + err


@pytest.mark.parametrize("kind", KINDS)
def test_a_duplicate_target_is_e505_and_the_other_targets_are_packed(bundle_repo, install, capsys, kind):
    root = bundle_repo
    name = install(kind, root, "second_scorm", SECOND_SCORM)
    assert main(["build", str(root), "--only", "bundles", "--quiet"]) == 1
    out, err = capsys.readouterr()
    e505 = [line for line in out.splitlines() if " E505 " in line]
    assert len(e505) == 1 and e505[0].startswith("dist/bundles/scorm: error E505"), out
    assert "weike.plugins.scorm" in e505[0] and name in e505[0]
    assert "在打包阶段失败" not in out and "plugins.bundles" not in err and "E901" not in out  # no course, no crash
    assert not (root / "dist/bundles/scorm").exists()
    assert (root / "dist/bundles/smartedu/c.zip").is_file() and (root / "dist/bundles/ouchn/c.zip").is_file()


# --------------------------------------------------------------------------------------------
# 5. A repository plugin named like a built-in
# --------------------------------------------------------------------------------------------

MEDIA_NAMED_RULE = """
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Diagnostic, Severity


@hookimpl
def weike_check_course(course, config):
    if len(course.lectures) > 5:
        return [Diagnostic(code="X501", severity=Severity.ERROR, location=course.where("title"),
                           message="本县每门课最多 5 个微课", message_en="at most 5 lectures per course here")]
"""


def test_a_repository_plugin_named_like_a_builtin_runs_beside_it(make_repo, install, capsys):
    root = make_repo(valid_courses=("c",))
    assert install("local", root, "media", MEDIA_NAMED_RULE) == "local:media"
    assert main(["check", str(root)]) == 1
    assert "courses/c/course.yml:1:8: error X501" in capsys.readouterr().out
    assert main(["plugins", str(root)]) == 0
    listed = capsys.readouterr().out
    assert "local:media  [local]  plugins/media.py\n    weike_check_course" in listed
    assert "weike.plugins.media  [built-in]" in listed


# --------------------------------------------------------------------------------------------
# 6. Shared helpers; packages named like weike's folders
# --------------------------------------------------------------------------------------------

SHARED_HELPER = """
BANNED = "禁止"


def banned(course, code, plugin):
    from weike.builder.contracts.model import Diagnostic, Severity

    if course.title and BANNED in course.title:
        return [Diagnostic(code=code, severity=Severity.ERROR, location=course.where("title"),
                           message=f"{plugin}：标题含有“{BANNED}”", message_en=f"{plugin}: banned word")]
    return []
"""


def test_repository_plugins_share_a_helper(make_repo, install):
    root = make_repo({"plugins/_shared.py": SHARED_HELPER}, valid_courses=("c",))
    install("local", root, "alpha", """
        from weike.builder.contracts.hookspecs import hookimpl

        from ._shared import banned


        @hookimpl
        def weike_check_course(course, config):
            return banned(course, "X601", "alpha")
    """)
    install("local", root, "beta", """
        from weike.builder.contracts.hookspecs import hookimpl
        from weike_repo_plugins._shared import banned


        @hookimpl
        def weike_check_course(course, config):
            return banned(course, "X602", "beta")
    """)
    path = root / "courses/c/course.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("title: 测试课程", "title: 禁止课程"), encoding="utf-8")
    project = Project.open(root)
    assert {r.name for r in project.plugin_manager.records if r.origin == "local"} == {"local:alpha", "local:beta"}
    found = {(d.code, d.location.line) for d in run_check(project).diagnostics}
    assert {("X601", 1), ("X602", 1)} <= found
    # Both use one module; and the code of a repository's plugin is its whole plugins/ folder,
    # helpers included, for every fingerprint of what a plugin's code made.
    assert sys.modules["weike_repo_plugins.alpha"].banned is sys.modules["weike_repo_plugins.beta"].banned
    assert code_location(sys.modules["weike_repo_plugins.alpha"]) == [(root / "plugins").resolve()]


@pytest.fixture
def forget_top_level(monkeypatch):
    """Top-level modules named ``plugins`` and ``builder`` (and below) leave ``sys.modules`` as they were."""
    names = ("plugins", "builder")
    for name in [n for n in sys.modules if n.split(".")[0] in names]:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in [n for n in sys.modules if n.split(".")[0] in names]:
        del sys.modules[name]  # the third-party ones; monkeypatch then puts back any earlier ones


def test_packages_named_plugins_and_builder_do_not_shadow_weike(make_repo, install, tmp_path, monkeypatch,
                                                                 forget_top_level, capsys):
    root = make_repo(valid_courses=("c",))
    # A distribution of its own with a package called "plugins" (and another called "builder"),
    # installed first on sys.path, and an entry-point plugin that imports its own "plugins".
    install_entry_point_plugin(tmp_path / "site-packages", monkeypatch, module="weike_contract_ownpkg",
                               entry="ownpkg", files={
                                   "plugins/__init__.py": 'OWNER = "ownpkg"\n',
                                   "plugins/media.py": 'def codec():\n    return "not weike"\n',
                                   "builder/__init__.py": 'raise ImportError("a third-party package called builder")\n',
                               }, source=textwrap.dedent("""
        from weike.builder.contracts.hookspecs import hookimpl
        from weike.builder.contracts.model import Diagnostic, Severity

        from plugins import OWNER
        from plugins.media import codec


        @hookimpl
        def weike_check_course(course, config):
            return [Diagnostic(code="X701", severity=Severity.WARNING, location=course.where("title"),
                               message=f"{OWNER} {codec()}", message_en=f"{OWNER} {codec()}")]
    """))
    try:
        assert main(["check", str(root)]) == 0
        out = capsys.readouterr().out
        assert "courses/c/course.yml:1:8: warning X701 ownpkg not weike" in out
        assert main(["plugins", str(root)]) == 0
        listed = capsys.readouterr().out
        assert "ownpkg  [entry point (weike-contract-ownpkg)]" in listed and "FAILED" not in listed
        assert sys.modules["plugins"].__file__ == str(tmp_path / "site-packages/plugins/__init__.py")
    finally:
        sys.modules.pop("weike_contract_ownpkg", None)


# --------------------------------------------------------------------------------------------
# 7. The public contract's old paths
# --------------------------------------------------------------------------------------------

#: What plugins written before the core's parts import from the old paths (docs/plugins.md).
PUBLIC_CONTRACT = {
    "model": ("Course", "Lecture", "Diagnostic", "Severity", "DeliveredMedia", "Repository", "WeikeConfig", "Setting"),
    "hookspecs": ("hookimpl", "hookspec"),
    "settings": ("Setting", "SettingType"),
    "context": ("BuildContext", "BuildPaths", "Made", "StageOutcome", "OutputStage"),
}


@pytest.mark.parametrize("stem", sorted(PUBLIC_CONTRACT))
def test_the_public_contract_imports_from_its_old_and_its_new_path(stem):
    import importlib

    new = importlib.import_module(f"weike.builder.contracts.{stem}")
    old = importlib.import_module(f"weike.builder.{stem}")
    public = {name for name in vars(new) if not name.startswith("_")}
    assert set(PUBLIC_CONTRACT[stem]) <= public
    assert {name for name in public if getattr(old, name, None) is not getattr(new, name)} == set()


OLD_PATHS_RULE = """
from weike.builder.context import BuildContext
from weike.builder.hookspecs import hookimpl
from weike.builder.model import Diagnostic, Severity
from weike.builder.settings import Setting


@hookimpl
def weike_check_course(course, config):
    return [Diagnostic(code="X702", severity=Severity.WARNING, location=course.where("title"),
                       message=f"{Setting.__name__} {BuildContext.__name__}", message_en="old paths")]
"""


@pytest.mark.parametrize("kind", KINDS)
def test_a_plugin_written_against_the_old_paths_runs(make_repo, install, capsys, kind):
    root = make_repo(valid_courses=("c",))
    install(kind, root, "old_paths", OLD_PATHS_RULE)
    assert main(["check", str(root)]) == 0
    assert "courses/c/course.yml:1:8: warning X702 Setting BuildContext" in capsys.readouterr().out
