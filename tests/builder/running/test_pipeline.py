"""The build pipeline as a whole: what a build of one course folder may and may not touch."""

from __future__ import annotations

import collections
import importlib
import json
import re
import sys
import threading

import pytest

from weike.builder.cli import main

pytestmark = pytest.mark.slow  # real encodes (one: every lecture shares one tiny source)


def site_courses(root) -> list[str]:
    catalogue = json.loads((root / "dist/site/catalogue.json").read_text(encoding="utf-8"))
    return sorted(course["slug"] for course in catalogue["courses"])


def test_building_one_course_folder_keeps_the_other_courses_outputs(make_repo, capsys):
    root = make_repo(valid_courses=("aa", "bb"))
    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 0
    assert site_courses(root) == ["aa", "bb"]
    table = root / "dist/reports/社区教育品牌项目汇总表.xlsx"
    table_bytes = table.read_bytes()
    site_index = (root / "dist/site/index.html").read_bytes()
    capsys.readouterr()

    # A teacher edits and rebuilds only their course.
    notes = root / "courses/aa/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一句。\n", encoding="utf-8")
    assert main(["build", str(root / "courses/aa"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "site, offline and reports not updated" in out, out
    # The catalogue and the province table still describe both courses, untouched.
    assert site_courses(root) == ["aa", "bb"]
    assert (root / "dist/site/index.html").read_bytes() == site_index
    assert table.read_bytes() == table_bytes
    # The course's own outputs are there, and the other course's bundles were not removed.
    for target in ("ouchn", "scorm", "smartedu"):
        assert sorted(p.name for p in (root / "dist/bundles" / target).iterdir()) == ["aa.zip", "bb.zip"]
    manifest = json.loads((root / "dist/media/manifest.json").read_text(encoding="utf-8"))
    assert {record["course"] for record in manifest["lectures"].values()} == {"aa", "bb"}


@pytest.mark.parametrize("only", ["site", "offline", "reports"])
def test_whole_repository_outputs_asked_of_one_course_are_a_usage_error(make_repo, capsys, only):
    root = make_repo(valid_courses=("aa",))
    assert main(["build", str(root / "courses/aa"), "--only", only, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"--only {only} covers every course of the repository" in err and "Traceback" not in err
    assert not (root / "dist").exists()


def test_the_offline_edition_is_its_own_stage_after_the_site(make_repo, capsys):
    """``offline`` runs right after ``site``, which it needs; ``--only site`` leaves the edition
    alone, ``--only offline`` builds the site and the edition; each stage is timed on its own."""
    from weike.builder.running.pipeline import build, output_stages, stages_for
    from weike.builder.running.plugin_manager import get_plugin_manager
    from weike.builder.running.progress import Progress

    root = make_repo(valid_courses=("aa",))
    declared = output_stages(get_plugin_manager(root))
    names = [stage.name for stage in declared]
    assert names[names.index("site") + 1] == "offline"
    assert next(stage for stage in declared if stage.name == "offline").needs == ("site",)
    assert [stage.name for stage in stages_for("offline", declared)] == ["media", "site", "offline"]
    assert "offline" not in [stage.name for stage in stages_for("site", declared)]

    site_only = build(root, progress=Progress(), only="site")
    assert not site_only.failed_build() and list(site_only.stage_seconds) == ["check", "media", "site"]
    assert (root / "dist/site/index.html").is_file() and not (root / "dist/offline").exists()
    assert not [line for line in site_only.summary_lines if line.startswith("offline:")]

    edition = build(root, progress=Progress(), only="offline")
    assert not edition.failed_build() and list(edition.stage_seconds) == ["check", "media", "site", "offline"]
    assert (root / "dist/offline/index.html").is_file()
    assert edition.outputs[-2:] == [root.resolve() / "dist/site", root.resolve() / "dist/offline"]

    # A whole build names the edition's seconds in its closing line, after the site's.
    (root / "courses/aa/01-lecture-1/lecture.md").write_text(
        (root / "courses/aa/01-lecture-1/lecture.md").read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(root), "--quiet"]) == 0
    closing = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r"· site [0-9.]+ s · offline [0-9.]+ s · bundles", closing), closing


# --------------------------------------------------------------------------------------------
# Each product made once, passed forward
# --------------------------------------------------------------------------------------------


class Tally:
    """Counts calls of weike's own functions, by what each call makes (the functions still run)."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.lock = threading.Lock()

    def count(self, what: str, module: str, name: str, key) -> None:
        """Count ``module.name`` under ``what``, by ``key(*args, **kwargs)``, in every weike module
        that imported that very function."""
        original = getattr(importlib.import_module(module), name)

        def counted(*args, **kwargs):
            with self.lock:
                self.counts[what][key(*args, **kwargs)] += 1
            return original(*args, **kwargs)

        for loaded in list(sys.modules.values()):
            if getattr(loaded, "__name__", "").startswith("weike.") and getattr(loaded, name, None) is original:
                self.monkeypatch.setattr(loaded, name, counted)


def test_one_build_makes_each_product_once(make_repo, monkeypatch):
    """附件3 once (the report and the submission share it), each lecture's notes rendered once
    (the check renders them; the site, its offline edition and SCORM are handed them), each
    rendition encoded once (the delivered video, the 省流量 one)."""
    root = make_repo({"mkdocs.yml": "site_name: 社区教育微课\nextra:\n  weike:\n    data_saver: true\n"
                                    "    offline:\n      data_saver: true\n"},
                     valid_courses=("aa", "bb"))
    import weike.plugins.media.stage
    import weike.plugins.province
    import weike.plugins.scorm
    import weike.plugins.media.saver
    import weike.plugins.site.website  # noqa: F401 - loaded, so its imported names are counted too

    tally = Tally(monkeypatch)
    tally.count("附件3", "weike.plugins.province.summary_table", "summary_workbook", lambda items, config: "附件3")
    tally.count("notes", "weike.plugins.notes", "render_notes",
                lambda notes, *, lecture_folder, course_folder, **_: lecture_folder)
    tally.count("delivered", "weike.plugins.media.stage", "deliver_to_store", lambda job, *_: job.key)
    tally.count("saver", "weike.plugins.media.saver", "run_ffmpeg", lambda arguments, *_, **__: arguments[-1])

    assert main(["build", str(root), "--quiet", "--jobs", "2"]) == 0

    assert tally.counts["附件3"] == {"附件3": 1}
    assert (root / "dist/submission/附件3-社区教育品牌项目汇总表.xlsx").read_bytes() == \
        (root / "dist/reports/社区教育品牌项目汇总表.xlsx").read_bytes()
    lectures = {folder for folder in (root / "courses").glob("*/*") if (folder / "lecture.md").is_file()}
    rendered = {folder: n for folder, n in tally.counts["notes"].items() if folder is not None}
    assert set(rendered) == lectures and len(lectures) == 20
    assert set(rendered.values()) == {1}, {str(folder): n for folder, n in rendered.items() if n != 1}
    # Every lecture shares one source: one delivery, and one 省流量 rendition of it.
    assert len(tally.counts["delivered"]) == 1 and set(tally.counts["delivered"].values()) == {1}
    assert len(tally.counts["saver"]) == 1 and set(tally.counts["saver"].values()) == {1}
    assert list((root / "dist/offline").rglob("*.mp4"))
    assert "讲义正文" in (root / "dist/site/courses/aa/01-lecture-1/index.html").read_text(encoding="utf-8")


def test_the_check_of_a_build_is_given_the_builds_paths(make_repo, tmp_path):
    """A build into another dist folder (``build(dist=...)``) tells the check's hooks the same paths."""
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    root = make_repo({"plugins/seen_paths.py": (
        "from weike.builder.contracts.hookspecs import hookimpl\n\nSEEN = []\n\n\n"
        "@hookimpl\n"
        "def weike_check_prepare(paths):\n"
        "    SEEN.append(paths.dist)\n")}, valid_courses=("aa",))
    elsewhere = tmp_path / "elsewhere"
    assert not build(root, progress=Progress(), only="reports", dist=elsewhere).failed_build()
    assert sys.modules["weike_repo_plugins.seen_paths"].SEEN == [elsewhere.resolve()]


def test_a_build_after_an_edit_checks_that_course_alone_and_finds_what_a_cold_build_finds(
        make_repo, tmp_path, monkeypatch):
    from weike.builder.contracts.context import CACHE_DIR_ENV
    from weike.builder.keeping.course_memo import CHECKED_FOLDER
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    def findings(result) -> list[tuple]:
        return [(d.code, d.location.file, d.location.line, d.message_en) for d in result.diagnostics]

    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    root = make_repo(valid_courses=("aa", "bb", "cc"))
    first = build(root, progress=Progress(), only="media")
    entries = root / ".weike/cache" / CHECKED_FOLDER

    def written() -> dict[str, tuple[int, int]]:
        return {entry.name: (entry.stat().st_ino, entry.stat().st_mtime_ns) for entry in entries.iterdir()}

    before = written()
    assert sorted(before) == ["aa.pickle", "bb.pickle", "cc.pickle"]
    (root / "courses/bb/03-lecture-3/lecture.md").write_text("---\ntitle: 第3讲\nform: 电影\n---\n\n讲义。\n",
                                                              encoding="utf-8")
    after = build(root, progress=Progress(), only="media")
    assert [name for name, identity in written().items() if identity != before[name]] == ["bb.pickle"]
    with monkeypatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(tmp_path / "cold-cache"))
        cold = build(root, progress=Progress(), only="media", dist=tmp_path / "cold-dist")
    assert findings(after) == findings(cold) != findings(first)
    assert after.failed == cold.failed == {"bb": "check"}


FREEZE_WITNESS = '''
import gc

from weike.builder.contracts.context import OutputStage, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl

SEEN = []
CRASH = []


def _make(context, courses, **_):
    SEEN.append((gc.get_freeze_count(), [course.slug for course in courses]))
    if CRASH:
        raise RuntimeError("a bug in the witness")
    return StageOutcome()


@hookimpl
def weike_output_stages():
    return [OutputStage(name="witness", title="见证 witness", make=_make)]
'''


def test_the_stages_run_with_the_courses_models_out_of_the_collectors_way_and_the_build_leaves_none_so(make_repo):
    """The models the check loaded live until the build ends: no full collection during the stages
    walks them again (they are frozen); the build unfreezes them, so a process that builds again
    (weike serve) collects them as usual."""
    import gc

    from weike.builder.running.checking import StageCrash
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    root = make_repo({"plugins/witness.py": FREEZE_WITNESS}, valid_courses=("aa", "bb"))
    gc.unfreeze()
    assert not build(root, progress=Progress(), only="witness").failed_build()
    witness = sys.modules["weike_repo_plugins.witness"]
    [(frozen, courses)] = witness.SEEN
    assert courses == ["aa", "bb"] and frozen > 0
    assert gc.get_freeze_count() == 0
    # A stage that crashes ends the build with everything unfrozen too.
    witness.CRASH.append(True)
    with pytest.raises(StageCrash):
        build(root, progress=Progress(), only="witness", force=True)  # (not replayed: nothing changed)
    assert gc.get_freeze_count() == 0


HANDED_ON_WITNESS = '''
import gc
import weakref

from weike.builder.contracts.context import OutputStage, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl

KEPT = []
SEEN = []
CRASH = []


class Cycle:
    def __init__(self):
        self.me = self


def _hand_on(context, courses, **_):
    KEPT.append([[n] for n in range(1000)])  # what the stage hands on: lives until the build ends
    dropped = Cycle()  # garbage of the stage that reached the oldest generation before it died
    gc.collect()
    SEEN.append({"garbage": weakref.ref(dropped), "frozen_after_first": gc.get_freeze_count()})
    del dropped
    return StageOutcome()


def _look(context, courses, **_):
    SEEN[-1]["frozen_before_second"] = gc.get_freeze_count()
    SEEN[-1]["garbage_alive"] = SEEN[-1]["garbage"]() is not None
    if CRASH:
        raise RuntimeError("a bug in the witness")
    return StageOutcome()


@hookimpl
def weike_output_stages():
    return [OutputStage(name="hand-on", title="交出 hand-on", make=_hand_on),
            OutputStage(name="look", title="查看 look", make=_look, needs=("hand-on",))]
'''


def test_an_edits_build_freezes_what_each_stage_handed_on_a_cold_build_does_not_and_the_build_restores_the_collector(make_repo):
    """Between the stages of a build whose courses nearly all came back from the memo, what a stage
    left behind is frozen out of the cyclic collector's way (later stages' full collections do not
    walk it); a cold build's stages are left to the collector as they are. Either way the build
    ends with nothing frozen, the garbage it froze freed by the next collection, and the
    collector's state as it was, also when a stage crashes."""
    import gc

    from weike.builder.running.checking import StageCrash
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    root = make_repo({"plugins/witness.py": HANDED_ON_WITNESS}, valid_courses=("aa", "bb"))
    gc.unfreeze()
    state = (gc.isenabled(), gc.get_threshold())
    assert not build(root, progress=Progress(), only="look").failed_build()  # cold: every course read
    witness = sys.modules["weike_repo_plugins.witness"]
    cold = witness.SEEN[-1]
    assert cold["frozen_before_second"] == cold["frozen_after_first"]
    assert gc.get_freeze_count() == 0 and (gc.isenabled(), gc.get_threshold()) == state

    assert not build(root, progress=Progress(), only="look", force=True).failed_build()  # every course remembered
    edit = witness.SEEN[-1]
    assert edit["frozen_before_second"] >= edit["frozen_after_first"] + 1000  # the stage's lists, at least
    assert edit["garbage_alive"]  # frozen with them...
    assert gc.get_freeze_count() == 0 and (gc.isenabled(), gc.get_threshold()) == state
    gc.collect()
    assert edit["garbage"]() is None  # ...and freed once the build is over

    witness.CRASH.append(True)
    with pytest.raises(StageCrash):
        build(root, progress=Progress(), only="look", force=True)
    assert witness.SEEN[-1]["frozen_before_second"] > witness.SEEN[-1]["frozen_after_first"]
    assert gc.get_freeze_count() == 0 and (gc.isenabled(), gc.get_threshold()) == state
