"""The course memo's entries: read back equal to what was kept, cheaply, and only while every fact
the check took from a file memo still holds."""

from __future__ import annotations

import dataclasses
import pathlib

from weike.builder.contracts.model import Diagnostic, SourceLocation
from weike.builder.keeping.course_memo import CourseMemo, RememberedCourse, facts_still_hold, latest_facts
from weike.builder.keeping.memo import _UNPARSED, FileMemo, facts_consulted, shared_file_memo
from weike.builder.repository.loading import load_course
from tests.conftest import COURSE_YML, lecture_md, write_tree


def a_course(root: pathlib.Path):
    write_tree(root, {"courses/a/course.yml": COURSE_YML,
                      "courses/a/01-one/lecture.md": lecture_md(title="第1讲", knowledge_point="知识点1")})
    (root / "courses/a/01-one/video.mp4").write_bytes(b"not a video, never read here")
    course, problems = load_course(root / "courses/a", root=root)
    assert problems == [] and course.lectures[0].media.path is not None
    return course


def test_an_entry_reads_back_equal_with_its_paths_as_paths(tmp_path):
    course = a_course(tmp_path)
    memo = CourseMemo(tmp_path / "cache", context="c")
    key = memo.key(course.folder)
    finding = Diagnostic.warning("W100", SourceLocation(file="courses/a/course.yml", line=3), "中", "en")
    kept = RememberedCourse(course=course, loaded=(), checked=(finding,),
                            made=(("probe", "a/01-one", {"path": course.lectures[0].media.path}),), handed_on=True)
    memo.keep("a", key, kept)
    back = CourseMemo(tmp_path / "cache", context="c").recall("a", key, handed_on=True)
    assert back == kept
    assert back.course.locations == course.locations  # not compared by ==, kept all the same
    for path in (back.course.folder, back.course.lectures[0].media.path, back.made[0][2]["path"]):
        assert type(path) is pathlib.PosixPath
    assert back.course.lectures[0].media.path == course.lectures[0].media.path
    # Another context (weike.yml, the code) or another key: no entry.
    other = CourseMemo(tmp_path / "cache", context="other")
    assert other.key(course.folder) != key and other.recall("a", other.key(course.folder), handed_on=True) is None
    assert CourseMemo(tmp_path / "cache", context="c").recall("a", "0" * 64, handed_on=True) is None


def test_facts_hold_by_their_text_without_parsing_them_and_not_once_told_otherwise(tmp_path):
    source = tmp_path / "video.mp4"
    source.write_bytes(b"bytes")
    memo_file = tmp_path / "cache" / "memo.sqlite"
    with FileMemo(memo_file) as writer, facts_consulted() as facts:
        writer.put("probe", source, {"duration": 61.5, "codec": "h264"})
        writer.put("probe", source, {"duration": 62.0, "codec": "h264"})  # told again: the last one counts
    facts = latest_facts(facts)
    assert len(facts) == 1 and isinstance(facts[0][4], str)

    memo = shared_file_memo(memo_file)  # as a later process first reads it
    assert facts_still_hold(facts)
    assert all(row[5] is _UNPARSED for row in memo._kind_rows("probe").values())  # no JSON parsed to tell

    memo.put("probe", source, {"duration": 900.0, "codec": "h264"})  # same file, the memo says otherwise now
    assert not facts_still_hold(facts)
    memo.put("probe", source, {"duration": 62.0, "codec": "h264"})
    assert facts_still_hold(facts)
    source.write_bytes(b"other bytes")  # the file changed: the memo's row is of another identity
    memo.put("probe", source, {"duration": 62.0, "codec": "h264"})
    assert not facts_still_hold(facts)


def test_an_entry_imports_only_weikes_own_modules_and_rebuilds_only_values(tmp_path):
    """A value type of weike's that no module imported yet comes back (a plugin imports it when its
    stage runs); a function, a module outside weike, or ``python -m weike.builder``'s ``__main__``
    (which would run weike) are refused, and nothing is run or imported for them."""
    import pickle
    import subprocess
    import sys

    script = """
import pickle, sys
from weike.builder.keeping.course_memo import _values_only
from weike.plugins.media.checks import ProbedSource  # only to write the pickle, in this process
assert ProbedSource.__module__ == "weike.plugins.media.checks"
print(pickle.dumps(ProbedSource).hex())
"""
    written = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    read = subprocess.run([sys.executable, "-c", f"""
import sys
from weike.builder.keeping.course_memo import _values_only
assert "weike.plugins.media.checks" not in sys.modules
print(_values_only(bytes.fromhex("{written.strip()}")).__name__)
"""], capture_output=True, text=True, check=True).stdout
    assert read.strip() == "ProbedSource"

    from weike.builder.keeping.course_memo import _values_only

    witness = tmp_path / "ran"
    refused = [b"cweike.builder.__main__\nmain\n(tR.", b"cweike.plugins.media.runner\nrun\n(tR.",
               b"cos\nsystem\n(S'touch " + str(witness).encode() + b"'\ntR.", b"cweike.plugins.nothing_here\nX\n."]
    for data in refused:
        try:
            _values_only(data)
        except pickle.UnpicklingError:
            continue
        raise AssertionError(f"{data!r} was read")
    assert "weike.builder.__main__" not in sys.modules and not witness.exists()


def test_a_path_is_rebuilt_from_its_text_equal_to_one_parsed():
    from weike.builder.keeping.course_memo import path_from_text

    for kind in (pathlib.PosixPath, pathlib.PurePosixPath):
        for text in ("/", "//", "///srv", "//srv/courses", "/tmp/课程/01-一/video.mp4", "courses/a/01-one",
                     "a", ".", "..", "../up/./x", "a//b", "a/b/", "/a/./b", " spaced /name.", "a/.hidden"):
            parsed = kind(text)
            rebuilt = path_from_text(kind, str(parsed))
            assert type(rebuilt) is kind
            assert (str(rebuilt), rebuilt.parts, rebuilt.anchor, rebuilt.name, hash(rebuilt)) == \
                   (str(parsed), parsed.parts, parsed.anchor, parsed.name, hash(parsed))
            assert rebuilt == parsed and rebuilt.parent == parsed.parent and rebuilt / "x" == parsed / "x"
            assert path_from_text(kind, text) == parsed  # text that is not normalised is parsed


def test_a_recalled_course_equals_the_course_loaded_again(tmp_path):
    course = a_course(tmp_path)
    memo = CourseMemo(tmp_path / "cache", context="c")
    key = memo.key(course.folder)
    memo.keep("a", key, RememberedCourse(course=course, loaded=(), checked=(), made=(), handed_on=True))
    back = CourseMemo(tmp_path / "cache", context="c").recall("a", key, handed_on=True)
    fresh, problems = load_course(tmp_path / "courses/a", root=tmp_path)
    assert problems == [] and back.course == fresh and back.course.locations == fresh.locations
    for recalled, loaded in ((back.course.folder, fresh.folder),
                             (back.course.lectures[0].media.path, fresh.lectures[0].media.path),
                             (back.course.lectures[0].folder, fresh.lectures[0].folder)):
        assert (type(recalled), str(recalled), recalled.parts, hash(recalled)) == \
               (type(loaded), str(loaded), loaded.parts, hash(loaded))


def test_a_type_judged_once_is_taken_again_only_while_its_module_holds_it(monkeypatch):
    """Types are judged once per run, yet a module reloaded (as `weike serve` reloads plugins)
    gives its new type, and what was refused stays refused."""
    import dataclasses
    import io
    import pickle

    from weike.builder.contracts import model
    from weike.builder.keeping.course_memo import _ValuesOnly

    def found(name):
        return _ValuesOnly(io.BytesIO(b"")).find_class("weike.builder.contracts.model", name)

    assert found("SourceLocation") is model.SourceLocation
    assert found("SourceLocation") is model.SourceLocation
    reloaded = dataclasses.make_dataclass("SourceLocation", ["file"], frozen=True)
    monkeypatch.setattr(model, "SourceLocation", reloaded)
    assert found("SourceLocation") is reloaded
    for _ in range(2):
        try:
            found("dataclass")  # a function the module imported
        except pickle.UnpicklingError:
            continue
        raise AssertionError("a function was taken")


_READ_BACK: list[str] = []


@dataclasses.dataclass(frozen=True)
class _CountedProduct:
    """A product that says when it is unpickled."""

    name: str

    def __setstate__(self, state: dict) -> None:
        _READ_BACK.append(state["name"])
        self.__dict__.update(state)


def test_what_a_check_made_is_read_back_only_when_a_stage_asks_for_it(tmp_path):
    from weike.builder.contracts.context import Made

    course = a_course(tmp_path)
    memo = CourseMemo(tmp_path / "cache", context="c")
    key = memo.key(course.folder)
    made = (("notes", "a/01-one", _CountedProduct("notes")), ("probe", "a/01-one", _CountedProduct("probe")))
    memo.keep("a", key, RememberedCourse(course=course, loaded=(), checked=(), made=made, handed_on=True))
    _READ_BACK.clear()
    back = CourseMemo(tmp_path / "cache", context="c").recall("a", key, handed_on=True)
    assert back is not None and back.course == course and _READ_BACK == []
    handed = Made()
    handed.add_later(back.made)
    assert _READ_BACK == []
    assert handed.get("probe", "a/01-one") == _CountedProduct("probe")
    assert sorted(_READ_BACK) == ["notes", "probe"]  # the course's products, read back together, once
    assert handed.get("notes", "a/01-one") == _CountedProduct("notes") and len(_READ_BACK) == 2
    assert back.made == made
