"""Trustworthy outputs: never publish less because of an error, outputs
that repair themselves, true messages for disk faults, published files anyone can read.

Every assertion reads the outputs back independently: catalogue.json parsed, the summary table
reopened with openpyxl, zips compared byte for byte with the earlier good build's, files hashed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from weike.builder.cli import main

pytestmark = pytest.mark.slow  # real builds (every lecture shares one tiny source: one encode)

TABLE = "dist/reports/社区教育品牌项目汇总表.xlsx"
TARGETS = ("ouchn", "scorm", "smartedu")


def catalogue_titles(root: Path) -> dict[str, str]:
    catalogue = json.loads((root / "dist/site/catalogue.json").read_text(encoding="utf-8"))
    return {course["slug"]: course["title"] for course in catalogue["courses"]}


def table_courses(root: Path) -> list[str]:
    """Course names listed in the summary table's 附件3 sheet (column B below the header row)."""
    sheet = openpyxl.load_workbook(root / TABLE).worksheets[0]
    names = []
    for row in sheet.iter_rows(min_row=5, values_only=True):
        if isinstance(row[0], int):
            names.append(row[1])
    return names


def bundle_bytes(root: Path, slug: str) -> dict[str, bytes]:
    found = {}
    for target in TARGETS:
        path = root / "dist/bundles" / target / f"{slug}.zip"
        if path.exists():
            found[target] = path.read_bytes()
    return found


def retitle_and_break(root: Path, slug: str, *, title: str = "改过的名称", extra: str = "") -> None:
    """A teacher renames the course and, in the same edit, writes a summary over 100 characters (E102)."""
    course_yml = root / "courses" / slug / "course.yml"
    text = course_yml.read_text(encoding="utf-8")
    text = text.replace("title: 测试课程", f"title: {title}").replace(
        "summary: 一门用于测试的课程。", "summary: " + "很长的简介" * 30) + extra
    course_yml.write_text(text, encoding="utf-8")


@pytest.fixture
def two_courses(make_repo, capsys):
    """A repository with courses aa and bb (distinct titles), built once, cleanly."""
    root = make_repo(valid_courses=("aa", "bb"))
    course_yml = root / "courses/bb/course.yml"
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("title: 测试课程", "title: 第二门课"),
                          encoding="utf-8")
    assert main(["build", str(root), "--quiet"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    return root


# --------------------------------------------------------------------------------------------
# Defect 5: never publish less because of an error
# --------------------------------------------------------------------------------------------


def test_a_broken_published_course_keeps_its_last_good_version_everywhere(two_courses, capsys):
    root = two_courses
    assert catalogue_titles(root) == {"aa": "测试课程", "bb": "第二门课"}
    good_zips = bundle_bytes(root, "aa")
    assert sorted(good_zips) == list(TARGETS)

    retitle_and_break(root, "aa")
    assert main(["build", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    # The error is reported, and the course is named as stale with that error.
    assert "E102" in out and "W304" in out, out
    stale_lines = [line for line in out.splitlines() if "W304" in line]
    assert stale_lines and all("courses/aa/" in line for line in stale_lines) and "E102" in stale_lines[0]
    assert "构建完成：" not in out and "stale" in out.splitlines()[-1] and "aa" in out.splitlines()[-1], out
    # The site, the summary table and the bundles still hold the last good version (old title).
    assert catalogue_titles(root) == {"aa": "测试课程", "bb": "第二门课"}
    assert sorted(table_courses(root)) == ["测试课程", "第二门课"]
    assert bundle_bytes(root, "aa") == good_zips
    page = (root / "dist/site/courses/aa/index.html").read_text(encoding="utf-8")
    assert "测试课程" in page and "改过的名称" not in page
    with zipfile.ZipFile(root / "dist/site/../bundles/smartedu/aa.zip") as bundle:
        assert bundle.testzip() is None

    # Fixed: the new version is published.
    course_yml = root / "courses/aa/course.yml"
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("很长的简介" * 30, "短简介。"),
                          encoding="utf-8")
    assert main(["build", str(root), "--quiet"]) == 0
    assert catalogue_titles(root)["aa"] == "改过的名称"
    assert "改过的名称" in table_courses(root)


def test_a_broken_course_can_be_dropped_on_purpose(two_courses, capsys):
    root = two_courses
    retitle_and_break(root, "aa")
    assert main(["build", str(root), "--quiet", "--drop-stale"]) == 1
    capsys.readouterr()
    assert catalogue_titles(root) == {"bb": "第二门课"}
    assert table_courses(root) == ["第二门课"]
    assert bundle_bytes(root, "aa") == {}
    assert sorted(bundle_bytes(root, "bb")) == list(TARGETS)


def test_drop_stale_in_weike_yml_drops_it_too(two_courses, capsys):
    root = two_courses
    (root / "weike.yml").write_text("drop_stale: true\n", encoding="utf-8")
    retitle_and_break(root, "aa")
    assert main(["build", str(root), "--quiet"]) == 1
    capsys.readouterr()
    assert catalogue_titles(root) == {"bb": "第二门课"}
    assert bundle_bytes(root, "aa") == {}


def test_withdrawn_rights_leave_the_national_bundles_and_the_table_at_once(two_courses, capsys):
    root = two_courses
    good_scorm = bundle_bytes(root, "aa")["scorm"]
    course_yml = root / "courses/aa/course.yml"
    retitle_and_break(root, "aa")
    course_yml.write_text(course_yml.read_text(encoding="utf-8").replace(
        "share_to_national_platforms: true", "share_to_national_platforms: false"), encoding="utf-8")
    assert main(["build", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "E501" in out
    # Out of the national bundles and the table at once; the site and SCORM keep the last good version.
    assert bundle_bytes(root, "aa") == {"scorm": good_scorm}
    assert table_courses(root) == ["第二门课"]
    assert catalogue_titles(root) == {"aa": "测试课程", "bb": "第二门课"}


NATIONAL = ("ouchn", "smartedu")


def break_course_yml(course_yml: Path, how: str) -> None:
    """Make ``course.yml`` unreadable the way a hurried teacher does."""
    if how == "yaml-error":
        course_yml.write_text(course_yml.read_text(encoding="utf-8").replace("title: ", "title: [", 1),
                              encoding="utf-8")
    elif how == "deleted":
        course_yml.unlink()
    else:  # saved by an old editor in the Windows code page
        course_yml.write_bytes(course_yml.read_text(encoding="utf-8").encode("gbk"))


def national_zips(root: Path, slug: str) -> list[str]:
    """The national targets that hold a zip of ``slug``, each zip re-opened whole."""
    found = []
    for target in NATIONAL:
        path = root / "dist/bundles" / target / f"{slug}.zip"
        if path.exists():
            with zipfile.ZipFile(path) as bundle:
                assert bundle.testzip() is None
            found.append(target)
    return found


def submission_courses(root: Path) -> list[str]:
    sheet = openpyxl.load_workbook(root / "dist/submission/附件3-社区教育品牌项目汇总表.xlsx").worksheets[0]
    return [row[1] for row in sheet.iter_rows(values_only=True) if isinstance(row[0], int)]


@pytest.mark.parametrize("how", ["yaml-error", "deleted", "gbk"])
def test_a_withdrawn_right_outlives_every_snapshot_until_granted_again(two_courses, capsys, how):
    from weike.builder.contracts.context import BuildPaths
    from weike.builder.keeping.publication import PublishedCourses

    root = two_courses
    course_yml = root / "courses/aa/course.yml"
    good = course_yml.read_text(encoding="utf-8")
    course_yml.write_text(good.replace("public_good: true", "public_good: false"), encoding="utf-8")
    assert main(["build", str(root), "--quiet"]) == 1
    assert "E501" in capsys.readouterr().out
    assert national_zips(root, "aa") == [] and table_courses(root) == ["第二门课"]
    # The withdrawal is recorded with the snapshot: nothing read from the cache says "true" any more.
    assert PublishedCourses(BuildPaths.for_root(root).cache).load("aa").course.rights.public_good is False

    break_course_yml(course_yml, how)
    assert main(["build", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "W304" in out, out
    # Still withdrawn: no national bundle, no row in 附件3 (dist/reports and dist/submission) ...
    assert national_zips(root, "aa") == []
    assert table_courses(root) == ["第二门课"] and submission_courses(root) == ["第二门课"]
    # ... while the catalogue keeps the last good version and the other course is untouched.
    assert catalogue_titles(root) == {"aa": "测试课程", "bb": "第二门课"}
    assert national_zips(root, "bb") == list(NATIONAL)

    # Granted again in a file that parses: back everywhere.
    course_yml.write_text(good, encoding="utf-8")
    assert main(["build", str(root), "--quiet"]) == 0, capsys.readouterr().out
    assert national_zips(root, "aa") == list(NATIONAL)
    assert sorted(table_courses(root)) == ["测试课程", "第二门课"]
    assert PublishedCourses(BuildPaths.for_root(root).cache).load("aa").course.rights.public_good is True


@pytest.mark.parametrize("how", ["yaml-error", "deleted", "gbk"])
def test_rights_that_cannot_be_read_keep_a_stale_course_off_the_national_platforms(two_courses, capsys, how):
    root = two_courses
    good_scorm = bundle_bytes(root, "aa")["scorm"]
    break_course_yml(root / "courses/aa/course.yml", how)
    assert main(["build", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "W304" in out and "E501" in out, out
    # W304 names what broke the file, not the refusal that follows from it.
    cause = {"yaml-error": "E001", "deleted": "E007", "gbk": "E010"}[how]
    assert f"（{cause} courses/aa" in next(line for line in out.splitlines() if "W304" in line)
    # Consent cannot be read now: the national bundles and 附件3 go; the site and SCORM keep the stand-in.
    assert national_zips(root, "aa") == []
    assert table_courses(root) == ["第二门课"] and submission_courses(root) == ["第二门课"]
    assert catalogue_titles(root) == {"aa": "测试课程", "bb": "第二门课"}
    assert bundle_bytes(root, "aa")["scorm"] == good_scorm
    assert national_zips(root, "bb") == list(NATIONAL)


def test_a_site_wide_error_never_empties_the_reports_or_the_site(two_courses, capsys):
    root = two_courses
    index = (root / "dist/site/index.html").read_bytes()
    (root / "mkdocs.yml").write_text("site_name: [unclosed\n", encoding="utf-8")
    assert main(["build", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "E401" in out
    assert sorted(table_courses(root)) == ["测试课程", "第二门课"]
    assert (root / "dist/site/index.html").read_bytes() == index
    assert sorted(bundle_bytes(root, "aa")) == list(TARGETS)


# --------------------------------------------------------------------------------------------
# Defect 6: outputs repair themselves
# --------------------------------------------------------------------------------------------


def test_deleted_or_defaced_site_files_are_restored(two_courses, capsys):
    root = two_courses
    site = root / "dist/site"
    originals = {rel: (site / rel).read_bytes()
                 for rel in ("index.html", "catalogue.json", "courses/aa/index.html", "courses/bb/01-lecture-1/index.html")}
    (site / "index.html").unlink()
    (site / "courses/aa/index.html").unlink()
    defaced = site / "catalogue.json"
    defaced.write_bytes(b"{}" + b" " * (len(originals["catalogue.json"]) - 2))
    assert main(["build", str(root), "--quiet"]) == 0
    capsys.readouterr()
    for rel, data in originals.items():
        assert (site / rel).read_bytes() == data, rel

    # Defaced keeping size and mtime, nothing else touched: a rebuild checks the site by stat alone
    # (hashing every file made a no-change rebuild cost many stat walks), so --force repairs it.
    lecture_page = site / "courses/bb/01-lecture-1/index.html"
    kept = lecture_page.stat()
    lecture_page.write_bytes(b"x" * kept.st_size)
    os.utime(lecture_page, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    assert main(["build", str(root), "--quiet", "--force"]) == 0
    capsys.readouterr()
    assert lecture_page.read_bytes() == originals["courses/bb/01-lecture-1/index.html"]


def test_force_remakes_a_cache_entry_corrupted_with_size_and_mtime_kept(two_courses, capsys):
    root = two_courses
    delivered = root / "dist/media/aa/01-lecture-1.mp4"
    good = delivered.read_bytes()
    good_sha = hashlib.sha256(good).hexdigest()
    # The cache entry is the same inode as the delivered file (and the site's copy).
    entry = next(p for p in (root / ".weike/cache/media").rglob("video.mp4"))
    assert os.path.samefile(entry, delivered)
    before = entry.stat()
    entry.chmod(0o644)
    with entry.open("r+b") as handle:
        handle.seek(len(good) // 2)
        handle.write(b"\0" * 4096)
    entry.chmod(before.st_mode)
    os.utime(entry, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert hashlib.sha256(delivered.read_bytes()).hexdigest() != good_sha

    assert main(["build", str(root), "--quiet", "--force"]) == 0
    out = capsys.readouterr().out
    assert "输入没有变化" not in out  # --force re-runs the site too
    for path in (delivered, root / "dist/site/media/aa/01-lecture-1.mp4"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == good_sha, path


def test_orphan_temp_files_in_the_cache_are_cleaned(two_courses, capsys):
    root = two_courses
    orphans = [root / ".weike/cache/bundles/.tmp-0123456789ab-smartedu.json",
               root / ".weike/cache/.tmp-0123456789ab-build-stamp.json"]
    for orphan in orphans:
        orphan.write_text("{}", encoding="utf-8")
    assert main(["build", str(root), "--quiet", "--force"]) == 0
    capsys.readouterr()
    assert [orphan for orphan in orphans if orphan.exists()] == []


# --------------------------------------------------------------------------------------------
# Defect 7: disk faults get true messages
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str):
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        # .ci/run sets WEIKE_REQUIRE_MOUNT (CI runs as root): there a failed mount fails the test.
        if os.environ.get("WEIKE_REQUIRE_MOUNT") == "1" or os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs in CI: {done.stderr!r}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_dist_is_a_true_message_not_a_crash(make_repo, capsys):
    root = make_repo(valid_courses=("aa",))
    with mounted_tmpfs(root / "dist", "ro,size=1m"):
        code = main(["build", str(root), "--quiet"])
        captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == 1, out
    assert "E302" in out and "Traceback" not in out and "internal error" not in out, out
    assert "报告给维护者" not in out and "mkdocs.yml" not in out, out


def test_a_full_disk_keeps_the_site_and_the_reports_and_says_so(make_repo, capsys, monkeypatch):
    root = make_repo(valid_courses=("aa",))
    disk = root.parent / "disk"
    with mounted_tmpfs(disk, "size=24m"):
        # dist and the cache on one small disk (delivered files are hard links to the cache).
        monkeypatch.setenv("WEIKE_CACHE_DIR", str(disk / "cache"))
        (disk / "dist").mkdir()
        (root / "dist").symlink_to(disk / "dist")
        assert main(["build", str(root), "--quiet"]) == 0, capsys.readouterr().out
        capsys.readouterr()
        index = (disk / "dist/site/index.html").read_bytes()
        filler = disk / "filler"
        # Fill the disk up to its last few blocks. Unbuffered: a buffered file keeps what the full
        # disk refused and fails again when closed, depending on how much space the build left.
        with filler.open("wb", buffering=0) as handle:
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 65536)
        filler.write_bytes(filler.read_bytes()[:-40_000])
        code = main(["build", str(root), "--quiet", "--force"])
        out = capsys.readouterr().out
        assert code == 1, out
        assert "E301" in out and "E403" not in out and "删掉 mkdocs.yml" not in out, out
        assert (disk / "dist/site/index.html").read_bytes() == index
        assert table_courses(root) == ["测试课程"]

        # A transcode on the full disk: E301, never E215's "report to the maintainer".
        shutil.rmtree(disk / "cache/media")
        code = main(["build", str(root), "--quiet", "--force"])
        out = capsys.readouterr().out
        assert code == 1 and "E301" in out and "报告给维护者" not in out, out
        assert table_courses(root) == ["测试课程"]
        filler.unlink()


# --------------------------------------------------------------------------------------------
# Defect 8: published folders and files get the usual modes
# --------------------------------------------------------------------------------------------


def test_published_folders_and_files_are_readable_by_a_web_server(two_courses):
    root = two_courses
    umask = os.umask(0)
    os.umask(umask)
    assert umask == 0o022  # what the expected modes below assume
    for base in ("dist/site", "dist/media", "dist/bundles", "dist/reports"):
        folder = root / base
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, base
        for path in folder.rglob("*"):
            mode = stat.S_IMODE(path.stat().st_mode)
            if path.is_dir():
                assert mode == 0o755, path
            elif "media" in path.relative_to(root).parts:
                # Videos and posters are hard links to the read-only cache entries.
                assert mode in (0o644, 0o444), (path, oct(mode))
            else:
                assert mode == 0o644, (path, oct(mode))


def test_a_snapshot_reads_back_the_same_course_and_runs_no_code(delivered_repo, tmp_path):
    from weike.builder.keeping.publication import PublishedCourses, decode

    repository, delivered, _ = delivered_repo(valid_courses=("aa",))
    course = repository.course("aa")
    published = PublishedCourses(tmp_path / "cache")
    assert published.record(course, delivered) is True
    assert published.record(course, delivered) is False  # unchanged: nothing rewritten
    kept = PublishedCourses(tmp_path / "cache").load("aa")
    # Equal but for the cover, which now points at the snapshot's own copy.
    assert kept.course == dataclasses.replace(course, cover=kept.course.cover)
    assert kept.course.cover.path.read_bytes() == course.cover.path.read_bytes()
    for lecture in course.lectures:
        media = kept.delivered[lecture.key]
        assert media.path.read_bytes() == delivered[lecture.key].path.read_bytes()
        assert media.sha256 == delivered[lecture.key].sha256
    # Only the model's own classes are rebuilt: anything else is refused, never imported or run.
    with pytest.raises(KeyError):
        decode({"$class": "Popen", "fields": {"args": ["true"]}})


def test_a_withdrawal_record_is_read_with_its_snapshot_and_never_grants_more(delivered_repo, tmp_path):
    from weike.builder.contracts.model import Rights
    from weike.builder.keeping.publication import RIGHTS_FILE, PublishedCourses

    repository, delivered, _ = delivered_repo(valid_courses=("aa",))
    course = repository.course("aa")
    assert course.rights == Rights(public_good=True, no_copyright_dispute=True, share_to_national_platforms=True)
    published = PublishedCourses(tmp_path / "cache")
    published.record(course, delivered)
    withdrawn = dataclasses.replace(course, rights=dataclasses.replace(course.rights, public_good=False))
    published.note_rights(withdrawn)
    assert PublishedCourses(tmp_path / "cache").load("aa").course.rights == withdrawn.rights
    # A damaged record confirms nothing (it never falls back to the snapshot's "true").
    (tmp_path / "cache/published/aa" / RIGHTS_FILE).write_text("{not json", encoding="utf-8")
    assert PublishedCourses(tmp_path / "cache").load("aa").course.rights == Rights()
    # Granted again in a course.yml that parses: the record goes, the snapshot speaks for itself.
    published.note_rights(course)
    assert not (tmp_path / "cache/published/aa" / RIGHTS_FILE).exists()
    assert PublishedCourses(tmp_path / "cache").load("aa").course.rights == course.rights
    # A course never published leaves no record behind.
    published.note_rights(dataclasses.replace(withdrawn, slug="never"))
    assert not (tmp_path / "cache/published/never").exists()


def test_a_course_filed_under_its_key_is_not_compared_again_until_something_changes(delivered_repo, tmp_path):
    """The snapshots cost what changed: a course whose check key and delivered media are as they
    were is one look at its snapshot; a snapshot gone from under the index, or a damaged index,
    is compared (and restored) the long way, never trusted."""
    from weike.builder.keeping.publication import INDEX_FILE, PublishedCourses

    repository, delivered, _ = delivered_repo(valid_courses=("aa",))
    course = repository.course("aa")
    cache = tmp_path / "cache"

    def record(key: str, media=delivered) -> tuple[bool, int]:
        published = PublishedCourses(cache)
        written = published.record(course, media, course_key=key)
        published.save()
        return written, published.compared

    assert record("k1") == (True, 1)
    assert record("k1") == (False, 0)  # filed under its key: not compared
    assert record("k2") == (False, 1)  # another key (an edit that changed nothing published): compared
    assert record("k2") == (False, 0)
    # Another delivered file for a lecture (its bytes' digest differs): compared and written.
    lecture = course.lectures[0].key
    changed = {**delivered, lecture: dataclasses.replace(delivered[lecture], sha256="0" * 64)}
    assert record("k2", changed) == (True, 1)
    assert record("k2", changed) == (False, 0)
    # The snapshot deleted under the index (a cache pruned by hand): recorded again, never lost.
    shutil.rmtree(cache / "published/aa")
    assert record("k2", changed) == (True, 1)
    assert PublishedCourses(cache).load("aa").delivered[lecture].sha256 == "0" * 64
    # A damaged index is no index.
    (cache / "published" / INDEX_FILE).write_text("{not json", encoding="utf-8")
    assert record("k2", changed) == (False, 1)
    assert record("k2", changed) == (False, 0)
    # Without a key (a symbolic link in the folder), always the long way; forgetting drops the entry.
    assert record(None, changed) == (False, 1)
    published = PublishedCourses(cache)
    published.forget("aa")
    published.save()
    assert "aa" not in json.loads((cache / "published" / INDEX_FILE).read_text(encoding="utf-8"))


def test_a_build_compares_only_the_snapshots_of_courses_that_changed(two_courses):
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    root = two_courses
    notes = root / "courses/aa/01-lecture-1/lecture.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n补充一句。\n", encoding="utf-8")
    result = build(root, progress=Progress())
    assert not result.failed_build() and result.snapshots_compared == 1
    snapshot = json.loads((root / ".weike/cache/published/aa" /
                           (root / ".weike/cache/published/aa/current").read_text(encoding="utf-8") /
                           "course.json").read_text(encoding="utf-8"))
    assert "补充一句" in json.dumps(snapshot, ensure_ascii=False)
    assert build(root, progress=Progress(), force=True).snapshots_compared == 0
