"""The bundle stage: every target for every course, identical bytes, failures kept to their course."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile

import pytest

from weike.plugins.bundles.target import BundleTarget
from weike.builder.cli import main
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.outputs import TEMP_PREFIX
from tests.plugins.conftest import read_zip, run_build, run_bundle_stage

TARGETS = ("ouchn", "scorm", "smartedu")


def test_weike_bundles_lists_every_target(capsys, tmp_path):
    assert main(["bundles", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name, title in (("smartedu", "国家智慧教育公共服务平台"), ("ouchn", "国家开放大学终身教育平台"),
                        ("scorm", "SCORM 1.2")):
        assert re.search(rf"^{name}  .*{re.escape(title)}", text, flags=re.M), text
        assert f"dist/bundles/{name}/<课程文件夹名>.zip" in text
    assert main(["bundles", str(tmp_path), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed] == list(TARGETS)
    assert all(entry["description"] and entry["output"].startswith("dist/bundles/") for entry in listed)


def test_build_only_bundles_writes_every_target_for_every_course(buildable_repo, capsys):
    root = buildable_repo(valid_courses=("aa", "bb"))
    assert main(["build", str(root), "--only", "bundles", "--quiet"]) == 0
    out = capsys.readouterr().out
    for target in TARGETS:
        assert sorted(p.name for p in (root / "dist/bundles" / target).iterdir()) == ["aa.zip", "bb.zip"]
        assert f"({target}: 2 bundle(s) written)" in out
    assert not (root / "dist/reports").exists()  # --only bundles writes bundles only


def build_outputs(dist):
    return {p.relative_to(dist): p.read_bytes()
            for folder in ("bundles", "reports") for p in (dist / folder).rglob("*") if p.is_file()}


def test_two_builds_give_identical_bytes_wherever_the_repository_is(buildable_repo, tmp_path):
    root = buildable_repo(valid_courses=("aa", "bb"))
    run_build(root, only=None)
    first = build_outputs(root / "dist")
    assert len(first) == len(TARGETS) * 2 + 2  # a zip per course and target, the summary table and its details

    run_build(root, only=None)  # again, in place
    assert build_outputs(root / "dist") == first
    other = tmp_path / "elsewhere" / "repository"
    shutil.copytree(root, other)
    for folder in ("bundles", "reports"):
        shutil.rmtree(other / "dist" / folder)
    run_build(other, only=None)  # and from another folder
    assert build_outputs(other / "dist") == first


def test_undelivered_lecture_refuses_the_course_everywhere(delivered_repo):
    repository, delivered, dist = delivered_repo(valid_courses=("aa", "bb"))
    stale = dist / "bundles/scorm/aa.zip"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier build")
    del delivered["aa/03-lecture-3"]
    outcome = run_bundle_stage(repository, delivered, dist)
    errors = [(d.code, d.location.file) for d in outcome.diagnostics if d.is_error]
    assert errors == [("E502", "courses/aa/03-lecture-3")]
    for target in TARGETS:
        assert not (dist / "bundles" / target / "aa.zip").exists()
        assert (dist / "bundles" / target / "bb.zip").is_file()


def test_a_zip_half_written_by_a_killed_build_is_removed(delivered_repo):
    repository, delivered, dist = delivered_repo(valid_courses=("aa",))
    half = dist / "bundles/scorm/.tmp-0123456789ab-aa.zip"  # the temp name weike.builder.keeping.outputs gives
    half.parent.mkdir(parents=True)
    half.write_bytes(b"PK half a zip")
    run_bundle_stage(repository, delivered, dist)
    assert sorted(p.name for p in half.parent.iterdir()) == ["aa.zip"]


def test_without_any_delivered_media_the_stage_says_so_and_blames_no_course(delivered_repo):
    repository, _, dist = delivered_repo(valid_courses=("aa",))
    outcome = run_bundle_stage(repository, {}, dist)
    assert outcome.diagnostics == () and outcome.outputs == ()
    assert "the media stage did not run" in " ".join(outcome.summary)
    assert not (dist / "bundles").exists()


def test_a_file_gone_missing_is_an_error_for_its_course_only(delivered_repo):
    repository, delivered, dist = delivered_repo(valid_courses=("aa", "bb"))
    delivered["aa/02-lecture-2"].poster.unlink()
    outcome = run_bundle_stage(repository, delivered, dist)
    errors = {(d.code, d.location.file) for d in outcome.diagnostics if d.is_error}
    assert errors == {("E503", "courses/aa")}
    assert len([d for d in outcome.diagnostics if d.code == "E503"]) == len(TARGETS)
    assert sorted(p.relative_to(dist / "bundles").as_posix() for p in (dist / "bundles").rglob("*.zip")) == [
        f"{target}/bb.zip" for target in TARGETS]
    assert leftover_temps(dist / "bundles") == []


def leftover_temps(folder):
    """Temp files of an atomic write (weike.builder.keeping.outputs names them ``.tmp-<hex>-<name>``)."""
    return sorted(p.name for p in folder.rglob(f"{TEMP_PREFIX}*"))


def test_leftover_temps_sees_the_temp_names_atomic_writes_use(tmp_path):
    # The check above must be able to fail: a temp file named as weike.builder.keeping.outputs names
    # them is found (a check for names ending in ".tmp" never saw one).
    planted = tmp_path / "bundles/scorm" / f"{TEMP_PREFIX}0123456789ab-aa.zip"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"PK half a zip")
    assert leftover_temps(tmp_path / "bundles") == [planted.name]
    assert not planted.name.endswith(".tmp")


def test_zips_of_removed_courses_are_pruned(delivered_repo):
    repository, delivered, dist = delivered_repo(valid_courses=("aa",))
    renamed = dist / "bundles/smartedu/old-name.zip"
    renamed.parent.mkdir(parents=True)
    renamed.write_bytes(b"course folder was renamed since")
    outcome = run_bundle_stage(repository, delivered, dist)
    assert not renamed.exists() and (dist / "bundles/smartedu/aa.zip").is_file()
    assert any("removed 1 stale bundle(s)" in line for line in outcome.summary)


class DuplicateTarget:
    @hookimpl
    def weike_bundle_targets(self):
        return [BundleTarget(name="scorm", title="另一个 SCORM", description="…", pack=lambda **_: [])]


def test_two_targets_with_one_name_are_e505_and_the_other_targets_are_packed(delivered_repo):
    repository, delivered, dist = delivered_repo()
    outcome = run_bundle_stage(repository, delivered, dist, extra=[DuplicateTarget()])
    errors = [d for d in outcome.diagnostics if d.is_error]
    assert [(d.code, d.location.file) for d in errors] == [("E505", "dist/bundles/scorm")]
    assert "weike.plugins.scorm" in errors[0].message_en and "DuplicateTarget" in errors[0].message_en
    assert not (dist / "bundles/scorm").exists()
    assert (dist / "bundles/smartedu/demo.zip").is_file() and (dist / "bundles/ouchn/demo.zip").is_file()
    with pytest.raises(ValueError):
        BundleTarget(name="Bad Name", title="x", description="x", pack=lambda **_: [])


def test_target_crash_names_the_plugin_and_costs_only_that_target(buildable_repo):
    root = buildable_repo()
    (root / "plugins" / "broken_target.py").write_text(
        "from weike.plugins.bundles.target import BundleTarget\nfrom weike.builder.contracts.hookspecs import hookimpl\n\n"
        "def pack(**_):\n    raise KeyError('oops')\n\n"
        "@hookimpl\ndef weike_bundle_targets():\n"
        "    return [BundleTarget(name='broken', title='坏的', description='…', pack=pack)]\n", encoding="utf-8")
    result = run_build(root)
    crashed = [d for d in result.diagnostics if d.code == "E901"]
    assert [d.location.file for d in crashed] == ["courses/demo/course.yml"]
    assert "local:broken_target" in crashed[0].message_en and "'bundles'" in crashed[0].message_en
    assert result.failed == {"demo": "bundles"}
    assert not (root / "dist/bundles/broken/demo.zip").exists()
    assert (root / "dist/bundles/scorm/demo.zip").is_file()


def test_a_crash_in_a_targets_inputs_costs_only_that_target(buildable_repo):
    root = buildable_repo()
    (root / "plugins" / "broken_inputs.py").write_text(
        "from weike.builder.keeping.archive import ArchiveMember\n"
        "from weike.plugins.bundles import BundleTarget\nfrom weike.builder.contracts.hookspecs import hookimpl\n\n"
        "def inputs(**_):\n    raise KeyError('no template')\n\n"
        "@hookimpl\ndef weike_bundle_targets():\n"
        "    return [BundleTarget(name='broken', title='坏的', description='…', inputs=inputs,\n"
        "                         pack=lambda **_: [ArchiveMember.from_bytes('x.txt', b'x')])]\n", encoding="utf-8")
    result = run_build(root)
    crashed = [d for d in result.diagnostics if d.code == "E901"]
    assert [d.location.file for d in crashed] == ["courses/demo/course.yml"]
    assert "local:broken_inputs" in crashed[0].message_en and "KeyError" in crashed[0].message_en
    assert not (root / "dist/bundles/broken/demo.zip").exists()
    assert (root / "dist/bundles/scorm/demo.zip").is_file()


def test_unchanged_bundles_are_not_packed_again(buildable_repo, capsys):
    """At national scale re-packing every zip would dominate a rebuild: only changed courses are."""
    root = buildable_repo(valid_courses=("aa", "bb"))
    assert main(["build", str(root), "--only", "bundles", "--quiet"]) == 0
    zips = {p: p.stat().st_mtime_ns for p in (root / "dist/bundles").rglob("*.zip")}
    capsys.readouterr()

    (root / ".weike/cache/build-stamp.json").unlink()  # the stage runs (not the whole build replayed)
    assert main(["build", str(root), "--only", "bundles", "--quiet"]) == 0
    assert "(scorm: 0 bundle(s) written, 2 unchanged)" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in zips} == zips
    # --force trusts no ledger: every zip is packed again (to the same bytes).
    before = {p: p.read_bytes() for p in zips}
    assert main(["build", str(root), "--only", "bundles", "--quiet", "--force"]) == 0
    assert "(scorm: 2 bundle(s) written)" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in zips} == before

    # A changed lecture title repacks only its course; a zip deleted or touched by hand is rebuilt.
    lecture = root / "courses/aa/02-lecture-2/lecture.md"
    lecture.write_text(lecture.read_text(encoding="utf-8").replace("第2讲", "第二讲"), encoding="utf-8")
    (root / "dist/bundles/scorm/bb.zip").unlink()
    smartedu_bb = root / "dist/bundles/smartedu/bb.zip"
    smartedu_bb.write_bytes(b"damaged by hand")
    assert main(["build", str(root), "--only", "bundles", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "(scorm: 2 bundle(s) written)" in out
    assert "(smartedu: 2 bundle(s) written)" in out
    assert "(ouchn: 1 bundle(s) written, 1 unchanged)" in out
    assert "第二讲" in read_zip(root / "dist/bundles/ouchn/aa.zip")["manifest.json"].decode("utf-8")
    assert zipfile.is_zipfile(smartedu_bb)
    assert sorted(p.name for p in (root / "dist/bundles/scorm").iterdir()) == ["aa.zip", "bb.zip"]


def test_zips_written_by_the_pool_are_valid_and_the_bytes_one_writer_makes(delivered_repo, tmp_path):
    """The zips are written by a few threads while the next course is packed: each one is whole,
    valid for zipfile and for Info-ZIP, and byte for byte what one writer makes of its members."""
    import subprocess

    from weike.builder.contracts.context import BuildContext, BuildPaths, Made
    from weike.builder.keeping.archive import checksums_member, write_zip
    from weike.builder.running.plugin_manager import get_plugin_manager
    from weike.builder.running.progress import Progress
    from weike.plugins.bundles import declare_bundle_targets, takes_dated, takes_made
    from weike.plugins.bundles.inputs import CourseInputsMemo, course_inputs, newest_of

    repository, delivered, dist = delivered_repo(valid_courses=("aa", "bb", "cc", "dd"))
    outcome = run_bundle_stage(repository, delivered, dist)
    assert not [d for d in outcome.diagnostics if d.is_error]
    pm = get_plugin_manager(repository.root)
    context = BuildContext(config=repository.config, paths=BuildPaths.for_root(repository.root, dist=dist),
                           plugin_manager=pm, progress=Progress())
    for target in declare_bundle_targets(pm).targets:
        for course in repository.courses:
            path = dist / "bundles" / target.name / f"{course.slug}.zip"
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None
            if shutil.which("unzip"):
                assert subprocess.run(["unzip", "-tq", str(path)], capture_output=True).returncode == 0
            dated = course_inputs(course, delivered, config=context.config, key=None,
                                  config_newest_ns=newest_of(repository.root / "weike.yml"),
                                  memo=CourseInputsMemo(tmp_path / "memo")).dated
            members = list(target.pack(course=course, delivered=delivered, config=context.config,
                                       **({"made": Made()} if takes_made(target) else {}),
                                       **({"dated": dated} if takes_dated(target) else {})))
            alone = write_zip(tmp_path / target.name / path.name, [*members, checksums_member(members)], made=dated)
            assert path.read_bytes() == alone.read_bytes(), path


def test_every_weike_package_a_built_in_target_packs_with_is_in_its_packing_code():
    """A change to code that makes a zip's bytes (the national sheet's writer, the notes of a SCO,
    a cover's encoding) packs the zips again: each weike plugin package a target's pack module
    uses is among the modules its fingerprint hashes."""
    import importlib
    import types

    from weike.builder.keeping.fingerprint import code_location
    from weike.plugins import bundles
    from weike.plugins.national.ouchn import weike_bundle_targets as ouchn_targets
    from weike.plugins.national.smartedu import weike_bundle_targets as smartedu_targets
    from weike.plugins.scorm import weike_bundle_targets as scorm_targets

    def package(name: str) -> str:
        return ".".join(name.split(".")[:3])  # weike.plugins.<package>

    for target in [*ouchn_targets(), *smartedu_targets(), *scorm_targets()]:
        pack_module = bundles._code_module(target.pack)
        used: set[str] = set()
        for module_name in [name for name in list(importlib.sys.modules) if name.startswith(package(pack_module))]:
            for value in vars(importlib.sys.modules[module_name]).values():
                name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
                if isinstance(name, str) and name.startswith("weike.plugins."):
                    used.add(package(name))
        hashed = {tuple(code_location(importlib.import_module(module)))
                  for module in bundles.packing_modules(pack_module)}
        missing = [name for name in sorted(used)
                   if tuple(code_location(importlib.import_module(name))) not in hashed]
        assert not missing, f"{target.name}: packed with code the fingerprint does not hash: {missing}"


def test_a_target_whose_pack_takes_cache_gets_the_stages_folder_in_the_cache(delivered_repo):
    """The national targets keep there the sample sheets their writer is made from (written once,
    not by every build that packs a sheet); the sheets in the zips are openpyxl's bytes either way."""
    from weike.builder.contracts.context import BuildPaths
    from weike.builder.running.plugin_manager import get_plugin_manager
    from weike.plugins.bundles import LEDGER_FOLDER, declare_bundle_targets, takes_cache
    from weike.plugins.national import bundle as national

    repository, delivered, dist = delivered_repo(valid_courses=("aa",))
    targets = {target.name: target for target in declare_bundle_targets(get_plugin_manager(repository.root)).targets}
    assert takes_cache(targets["smartedu"]) and takes_cache(targets["ouchn"]) and not takes_cache(targets["scorm"])
    national.metadata_sheet_writer.cache_clear()  # as a new process
    assert not [d for d in run_bundle_stage(repository, delivered, dist).diagnostics if d.is_error]
    samples = BuildPaths.for_root(repository.root).cache / LEDGER_FOLDER / national.SHEET_SAMPLES_FILE
    assert samples.is_file()
    sheet = read_zip(dist / "bundles" / "smartedu" / "aa.zip")[national.SPREADSHEET_NAME]
    with zipfile.ZipFile(io.BytesIO(sheet)) as package:
        assert "xl/worksheets/sheet1.xml" in package.namelist()
