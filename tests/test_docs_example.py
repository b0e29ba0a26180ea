"""docs/plugins.md's worked example is a fixture: the county's five plugins in docs/examples/plugins/,
shown verbatim in the page, run in a real repository (local ``plugins/``) and as an installed package.

The page cannot drift from the files (the first test), and the files cannot stop working (the
build test): what a newcomer copies is what ran here.
"""

from __future__ import annotations

import ast
import csv
import importlib
import io
import json
import re
import shutil
import sys
import zipfile

import pytest

from weike.builder.cli import main
from weike.builder.running.plugin_manager import get_plugin_manager
from weike.plugins.media import DEFAULT_PROFILE
from weike.plugins.media.probe import probe_media
from weike.plugins.media.profile import conforms, failed_rules, loudness_ok, resolve_profile, verify_media
from weike.plugins.records.statements import EXT_LENGTH, lecture_iri
from tests.conftest import COURSE_YML, REPO_ROOT, lecture_md
from tests.plugins.media_sources import assert_delivery_spec

DOCS = REPO_ROOT / "docs"
EXAMPLES = DOCS / "examples" / "plugins"
MODULES = ("county_activities", "county_portal", "county_profile", "county_report", "county_rules")
#: A link to the example file on its own line, then the file in a fenced block.
_SHOWN_RE = re.compile(r"^\[`[^`\n]+`\]\((examples/plugins/[\w.]+\.py)\):?\n\n```python\n(.*?)^```$", re.S | re.M)
#: Names the docs import that weike does not have yet. While one is
#: missing its import is not checked; once it exists, test_a_pending_import_is_still_pending
#: asks for its entry to go, so that it is checked like every other import.
PENDING_IMPORTS: set[tuple[str, str]] = set()


def shown_examples() -> dict[str, str]:
    """Example file (relative to docs/) -> the fenced block that follows its link in docs/plugins.md."""
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    shown: dict[str, str] = {}
    for match in _SHOWN_RE.finditer(text):
        assert match.group(1) not in shown, f"{match.group(1)} is shown twice"
        shown[match.group(1)] = match.group(2)
    return shown


def test_the_page_shows_every_example_file_verbatim():
    shown = shown_examples()
    assert set(shown) == {f"examples/plugins/{name}.py" for name in MODULES}
    assert {path.stem for path in EXAMPLES.glob("*.py")} == set(MODULES)
    for rel, block in shown.items():
        assert block == (DOCS / rel).read_text(encoding="utf-8"), f"docs/plugins.md's copy of {rel} differs from the file"


def _python_blocks(path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_every_weike_import_in_the_docs_exists():
    """Snippets name real modules: a renamed module (``builder.profile``) fails here, not in a reader's hands."""
    stale = set()
    for document in (REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))):
        for block in _python_blocks(document):
            for node in ast.walk(ast.parse(block)):
                if isinstance(node, ast.Import):
                    names = [(alias.name, None) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [(node.module, alias.name) for alias in node.names]
                else:
                    continue
                for module_name, name in names:
                    if module_name.split(".")[0] in ("builder", "plugins"):
                        stale.add(f"{document.name}: {module_name} (now weike.{module_name})")
                        continue
                    if module_name.split(".")[0] != "weike":
                        continue
                    module = importlib.import_module(module_name)
                    if name is None or hasattr(module, name):
                        continue
                    if (module_name, name) in PENDING_IMPORTS:
                        continue
                    try:
                        importlib.import_module(f"{module_name}.{name}")
                    except ModuleNotFoundError:
                        stale.add(f"{document.name}: from {module_name} import {name}")
    assert not stale, sorted(stale)


def test_a_pending_import_is_still_pending():
    """PENDING_IMPORTS holds only names that do not exist yet (else the docs' import goes unchecked)."""
    for module_name, name in PENDING_IMPORTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        assert not hasattr(module, name), f"{module_name}.{name} exists now: remove it from PENDING_IMPORTS"


# --------------------------------------------------------------------------------------------
# The five plugins in a course repository's plugins/ folder, through a real `weike build`
# --------------------------------------------------------------------------------------------

#: Course text that must be escaped: a comma and quotes for the CSV, markup for the HTML report.
AWKWARD_TITLE = '手机入门, <b>微信</b> & "支付"'
NOTE = "本清单供县教育局 <审核> & 存档。"


def county_repo(make_repo):
    """Two courses: ``aa`` with awkward text, ``bb`` whose lecture 3 has a banned word at line 2."""
    awkward = COURSE_YML.replace("title: 测试课程", f"title: '{AWKWARD_TITLE}'")
    return make_repo({
        **{f"plugins/{name}.py": EXAMPLES / f"{name}.py" for name in MODULES},
        "weike.yml": "profile: county-portal\ncounty_banned_title_words: [速成, 包教包会]\n",
        "county-note.txt": NOTE + "\n",
        "courses/aa/course.yml": awkward,
        "courses/aa/01-lecture-1/lecture.md": lecture_md(title="第1讲", knowledge_point='"=1+1 算式"'),
        "courses/bb/03-lecture-3/lecture.md": lecture_md(title="速成第3讲", knowledge_point="知识点3"),
    }, valid_courses=("aa", "bb"))


def read_zip(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.slow
def test_the_worked_example_builds_in_a_repository(make_repo, capsys):
    root = county_repo(make_repo)

    assert main(["plugins", str(root)]) == 0
    listed = capsys.readouterr().out
    for name in MODULES:
        assert f"local:{name}  [local]  plugins/{name}.py" in listed

    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 1  # bb's title is refused
    out = capsys.readouterr().out
    # The rule, at the title's line of lecture.md; its setting is declared, so no W006.
    assert "courses/bb/03-lecture-3/lecture.md:2:8: error X301" in out
    assert "X301" not in out.replace("courses/bb/03-lecture-3/lecture.md:2:8: error X301", "")
    assert "W006" not in out

    # The bundle target: only the course that passed, with its CSV index.
    bundles = root / "dist/bundles/county-portal"
    assert sorted(p.name for p in bundles.iterdir()) == ["aa.zip"]
    files = read_zip(bundles / "aa.zip")
    assert set(files) == {"SHA256SUMS", "index.csv", *(f"videos/{n:02d}-lecture-{n}.mp4" for n in range(1, 11))}
    rows = list(csv.reader(io.StringIO(files["index.csv"].decode("utf-8-sig"))))
    assert rows[0] == ["序号", "课程名称", "微课名称", "知识点", "时长（秒）", "视频文件"]
    assert len(rows) == 11 and {row[1] for row in rows[1:]} == {AWKWARD_TITLE}
    assert rows[1][3] == "'=1+1 算式" and rows[1][5] == "videos/01-lecture-1.mp4"
    assert files["index.csv"].count(b"\r\n") == 11

    # The report: every piece of authored text escaped, bb (failed, never published) left out.
    report = (root / "dist/reports/county-courses.html").read_text(encoding="utf-8")
    assert "<p>本清单供县教育局 &lt;审核&gt; &amp; 存档。</p>" in report
    assert "<td>手机入门, &lt;b&gt;微信&lt;/b&gt; &amp; &quot;支付&quot;</td>" in report
    assert "<b>" not in report and report.count("<tr><td>") == 1

    # The output of its own kind: every delivered lecture of the published course, under the ids
    # the lecture pages' statements use, its authored text as written.
    activities = json.loads((root / "dist/activities/activities.json").read_text(encoding="utf-8"))
    assert [a["id"] for a in activities] == [lecture_iri(None, "aa", f"{n:02d}-lecture-{n}") for n in range(1, 11)]
    assert activities[0]["definition"]["name"] == {"zh-CN": "第1讲"}
    assert activities[0]["definition"]["description"] == {"zh-CN": "=1+1 算式"}
    assert activities[0]["definition"]["extensions"][EXT_LENGTH] > 0
    assert "学习活动清单：10 个微课写入 dist/activities/activities.json" in out

    # The delivered media meets the county's profile (not merely the default one), as weike's
    # rules and as MediaInfo read it.
    profile = resolve_profile(get_plugin_manager(root), "county-portal")
    delivered = root / "dist/media/aa/01-lecture-1.mp4"
    info = probe_media(delivered, packets=True, loudness=True)
    checks = verify_media(info, profile)
    assert conforms(checks), failed_rules(checks)
    assert loudness_ok(info.loudness, profile) and not loudness_ok(info.loudness, DEFAULT_PROFILE)
    manifest = json.loads((root / "dist/media/manifest.json").read_text(encoding="utf-8"))
    assert manifest["profile"]["name"] == "county-portal"
    assert_delivery_spec(delivered)

    # Fixed, the build passes; then the county's note alone changes: named in weike_build_inputs,
    # it makes the next build run (not replay the last one) and the report shows the new text.
    lecture = root / "courses/bb/03-lecture-3/lecture.md"
    lecture.write_text(lecture.read_text(encoding="utf-8").replace("速成第3讲", "第3讲"), encoding="utf-8")
    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 0
    assert sorted(p.name for p in bundles.iterdir()) == ["aa.zip", "bb.zip"]
    capsys.readouterr()
    (root / "county-note.txt").write_text("第二版说明。\n", encoding="utf-8")
    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 0
    assert "nothing changed" not in capsys.readouterr().out
    assert "<p>第二版说明。</p>" in (root / "dist/reports/county-courses.html").read_text(encoding="utf-8")
    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 0
    assert "nothing changed" in capsys.readouterr().out

    # `--only` takes the new kind's name from the plugin: it and the media it needs, nothing else.
    (root / "dist/activities/activities.json").unlink()
    (root / "dist/reports/county-courses.html").unlink()
    assert main(["build", str(root), "--quiet", "--jobs", "2", "--only", "activities"]) == 0
    assert len(json.loads((root / "dist/activities/activities.json").read_text(encoding="utf-8"))) == 20
    assert not (root / "dist/reports/county-courses.html").exists()
    assert main(["build", str(root), "--quiet", "--only", "nothing-of-the-kind"]) == 2
    assert "activities" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The same five modules as an installed package (entry points in the `weike` group)
# --------------------------------------------------------------------------------------------


def install_county_package(site, monkeypatch) -> None:
    """An installed distribution ``weike-county`` 1.0: the package ``weike_county`` holding the five
    example modules, each declared as a ``weike`` entry point, importable for this test."""
    package = site / "weike_county"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A county\'s weike plugins."""\n', encoding="utf-8")
    for name in MODULES:
        shutil.copyfile(EXAMPLES / f"{name}.py", package / f"{name}.py")
    dist = site / "weike_county-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: weike-county\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[weike]\n" + "".join(f"{name} = weike_county.{name}\n" for name in MODULES), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def test_the_worked_example_as_an_installed_package(tmp_path, make_repo, monkeypatch, capsys):
    install_county_package(tmp_path / "site-packages", monkeypatch)
    try:
        outside = tmp_path / "anywhere"
        outside.mkdir()
        assert main(["plugins", str(outside)]) == 0
        listed = capsys.readouterr().out
        for name in MODULES:
            assert f"{name}  [entry point (weike-county)]  weike_county.{name}" in listed
        assert main(["bundles", str(outside)]) == 0
        assert re.search(r"^county-portal  示范县终身学习网$", capsys.readouterr().out, flags=re.M)
        assert resolve_profile(get_plugin_manager(None), "county-portal").loudness == -23.0

        # The rule and its setting work from the package as they do from plugins/.
        root = make_repo({
            "weike.yml": "county_banned_title_words: [速成]\n",
            "courses/bb/03-lecture-3/lecture.md": lecture_md(title="速成第3讲", knowledge_point="知识点3"),
        }, valid_courses=("bb",))
        assert main(["check", str(root)]) == 1
        out = capsys.readouterr().out
        assert "courses/bb/03-lecture-3/lecture.md:2:8: error X301" in out and "W006" not in out
    finally:
        for name in [name for name in sys.modules if name == "weike_county" or name.startswith("weike_county.")]:
            del sys.modules[name]
