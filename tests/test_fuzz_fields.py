"""Fuzz: generated hostile values in every field of course.yml, lecture.md, centre.yml and weike.yml.

The fields come from the project's own declarations (the JSON Schemas editors use, the keys the
loaders accept, the settings plugins declare), so a new field is fuzzed without touching this file;
:func:`test_every_declared_field_is_fuzzed` fails when the enumeration misses a field the loaders,
the schemas or the ``weike new`` skeletons know.

One ``weike check`` covers hundreds of cases at once: a repository with one course (or one centre)
per hostile value, beside an untouched control course. A few real ``weike build`` runs (tiny lavfi
clips) then carry hostile values through every stage. Either way: never exit 2, never a traceback,
never a plugin crash (E901), and the control course is checked clean and delivered (its MP4, its
page, its zips, its row in 附件3).

A case that once stopped a stage (a centre photo bomb, a centre name longer than a document
property may be, a line break in what a title card draws, card text that cannot fit) is also built
on its own, so a regression names it.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from weike.builder import cli
from weike.builder.repository.centre import CENTRE_FILE, CENTRE_KEYS, CONTACT_KEYS, DEPARTMENT_KEYS, STATISTICS_KEYS
from weike.builder.repository.loading import (
    CONFIG_KEYS,
    COURSE_KEYS,
    INSTRUCTOR_KEYS,
    LECTURE_KEYS,
    PROVIDER_KEYS,
    RIGHTS_KEYS,
)
from weike.builder.repository.schema import SHIPPED_SCHEMA_DIR as SCHEMA_DIR
from weike.builder.running.plugin_manager import declared_settings, get_plugin_manager
from tests.conftest import COURSE_YML, bomb_png

#: Every run draws the same cases: a failure reproduces with the same command.
SEED = 20
#: Hostile values per field in the batched check (rotated so that every value lands in several fields).
VALUES_PER_FIELD = 10
#: ...fewer for course.yml, whose every case is a course with a lecture to probe (about 60 ms each).
PER_FIELD = {"course.yml": 5, "lecture.md": VALUES_PER_FIELD, "centre.yml": VALUES_PER_FIELD}

# --------------------------------------------------------------------------------------------
# The fields, from the project's declarations
# --------------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Field:
    """One place an author writes a value: ``file`` is course.yml, lecture.md, centre.yml or weike.yml."""

    file: str
    path: Path_
    picture: bool = False

    @property
    def name(self) -> str:
        return f"{self.file}:{'.'.join(str(p) for p in self.path) or '<body>'}"


NOTES = ("<notes>",)  # the Markdown body of lecture.md (the notes), beside its front matter


def _schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def _is_picture(schema: dict) -> bool:
    return "png" in schema.get("pattern", "").lower()


def schema_fields(file: str, schema: dict, path: Path_ = ()) -> list[Field]:
    """Every property of ``schema`` at any depth (an object or list is a field too; a list's items are index 0)."""
    found: list[Field] = []
    if path:
        found.append(Field(file, path, picture=_is_picture(schema)))
    for key, sub in schema.get("properties", {}).items():
        found += schema_fields(file, sub, (*path, key))
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        found += schema_fields(file, schema["items"], (*path, 0))
    return found


def _plugin_settings():
    return declared_settings(get_plugin_manager(None))


def enumerate_fields() -> list[Field]:
    """Every field of the four authored files weike reads, from the schemas, the loaders and the plugins."""
    course_schema = _schema("course.schema.json")
    fields = schema_fields("course.yml", course_schema)
    fields += schema_fields("lecture.md", _schema("lecture.schema.json"))
    fields.append(Field("lecture.md", NOTES))
    fields += schema_fields("centre.yml", _schema("centre.schema.json"))
    settings = _plugin_settings()
    # course.yml keys plugins declare and the schema does not know yet
    known = {f.path[0] for f in fields if f.file == "course.yml"}
    fields += [Field("course.yml", (s.name,)) for s in settings if s.course and s.name not in known]
    # weike.yml: the core's keys (with the province facts' own keys) and every plugin setting; a
    # setting a course may override too has the course schema's sub-fields.
    nested = {"department": DEPARTMENT_KEYS, "statistics": STATISTICS_KEYS}
    for key in (*CONFIG_KEYS, *(s.name for s in settings)):
        fields.append(Field("weike.yml", (key,)))
        fields += [Field("weike.yml", (key, sub)) for sub in nested.get(key, ())]
        if key in course_schema["properties"]:
            fields += schema_fields("weike.yml", course_schema["properties"][key], (key,))
    unique = list(dict.fromkeys(fields))
    return unique


# --------------------------------------------------------------------------------------------
# The hostile values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """A value as YAML text for one field (a single line: a flow or quoted scalar), or a picture file."""

    name: str
    fragment: str
    #: For picture values: the file written beside the YAML, named by ``fragment``.
    picture: bytes | None = None
    #: The text a Markdown body carries for this value (None: same as the YAML value's text).
    notes: str | None = None


def _quoted(text: str) -> str:
    """``text`` as one YAML double-quoted line (escapes for every control and line break)."""
    return yaml.safe_dump(text, allow_unicode=True, default_style='"', width=1 << 30).removesuffix("\n...\n").rstrip("\n")


#: Text values (each also goes into the notes, as Markdown).
TEXTS: dict[str, str] = {
    "newline": "第一行\n第二行",
    "crlf": "第一行\r\n第二行",
    "cr": "第一行\r第二行",
    "tab": "\t前\t后\t",
    "line-separators": "一\u2028二\u2029三\x85四",
    "10k-cjk": "长" * 10_000,
    "10k-latin": "W" * 10_000,
    "10k-words": "word " * 2_000,
    "nul": "空\x00字符",
    "c0": "\x1b[2J\x1b[1;32m检查通过\x1b[0m\x07\x08",
    "c1": "\x9b31m\x90\x9f",
    "osc52": "\x1b]52;c;ZWNobyBoaQ==\x07",
    "del": "删\x7f除",
    "bidi-override": "发票\u202egpj.exe",
    "bidi-isolates": "\u2066左\u2067右\u2068中\u2069\u200e\u200f\u061c",
    "zero-width": "零\u200b宽\u200c字\u200d符\ufeff\u2060",
    "emoji": "😀🎉📱",
    "emoji-zwj": "👨\u200d👩\u200d👧\u200d👦👩🏽\u200d💻🏳️\u200d🌈🇨🇳",
    "cjk-ext-b": "𠀀𠀁𪚥𫝀𰀀",
    "combining": "Z\u0335\u0321\u0322a\u0336\u0317l\u0338\u031bg\u0334o" + "\u0301" * 50,
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "mixed-rtl": "课程 שלום 123 مرحبا",
    "devanagari-thai": "नमस्ते สวัสดี",
    "private-use": "\ue000\uf8ff\U000f0000",
    "noncharacters": "\ufffe\uffff\U0010ffff",
    "lone-surrogate": "\ud800半个",
    "replacement": "\ufffd\ufffd",
    "formula-cmd": "=cmd|' /C calc'!A0",
    "formula-plus": "+1+1",
    "formula-minus": "-2+3",
    "formula-at": "@SUM(1,1)",
    "formula-hyperlink": '=HYPERLINK("http://evil.example/","点我")',
    "formula-tab": "\t=1+1",
    "html-script": "<script>alert('x')</script>",
    "html-img": "<img src=x onerror=alert(1)>",
    "html-close": "</textarea></title></script><!--",
    "html-entities": "&lt;b&gt;&amp;&#0;&#x202e;",
    "markdown": "# 标题\n\n* [点我](javascript:alert(1)) ![x](https://evil.example/t.png) `code` | a | b |",
    "markdown-specials": "*_`[]()#+-.!|\\<>~^",
    "jinja": "{{ config.extra }}{% include 'x' %}{# c #}{{ 7*7 }}",
    "yaml-specials": ": # - ? | > ! & * % @ ` ' \" { } [ ] ,",
    "yaml-doc-markers": "---\n...\n%YAML 1.1",
    "path-traversal": "../../../../etc/passwd",
    "absolute-path": "/etc/passwd",
    "windows-path": "C:\\Windows\\system32\\..\\x.png",
    "home-path": "~/secret.png",
    "url": "https://evil.example/x.png",
    "file-url": "file:///etc/passwd",
    "empty": "",
    "spaces": "   ",
    "ideographic-space": "\u3000\u3000",
    "quotes": "“中文引号”'\"‘’「」",
    "fullwidth": "ＡＢＣ１２３：；，",
    "sql": "'; DROP TABLE courses; --",
    "shell": "$(touch /tmp/pwned) `id` ; rm -rf ~",
    "printf": "%s%s%n%x{0}{}",
    "long-line-mixed": ("长" * 300 + " W" * 300 + "😀" * 100),
}


def _bomb_alias() -> str:
    levels = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        levels.append(f"&a{level} [{refs}]")
    return "[" + ", ".join(levels) + "]"


#: Values of the wrong type, and YAML that is hostile as YAML.
RAW: dict[str, str] = {
    "list": "[第一, 第二]",
    "mapping": "{a: 1, b: [2]}",
    "empty-list": "[]",
    "empty-mapping": "{}",
    "huge-int": "9" * 400,
    "huge-float": "1.0e+400",
    "huge-int-5k": "9" * 5000,
    "negative": "-1",
    "zero": "0",
    "float": "3.75",
    "nan": ".nan",
    "inf": "-.inf",
    "true": "true",
    "false": "false",
    "yes": "yes",
    "null": "null",
    "tilde": "~",
    "date": "2023-09-01",
    "impossible-date": "2023-02-30",
    "ancient-date": "0001-01-01",
    "timestamp": "2023-09-01T25:61:00",
    "sexagesimal": "12:30:00",
    "octal-hex": "0o17",
    "binary-tag": "!!binary aGVsbG8=",
    "python-tag": '!!python/object/apply:os.system ["echo pwned"]',
    "custom-tag": "!include /etc/passwd",
    "set-tag": "!!set {a, b}",
    "str-tag-int": "!!int '12'",
    "anchor": "&anchor 值",
    "alias-bomb": _bomb_alias(),
    "deep-nesting": "[" * 200 + "]" * 200,
    "deep-mapping": "{a: " * 100 + "1" + "}" * 100,
    "merge-key": "{<<: {a: 1}}",
    "long-key": "{" + "k" * 2000 + ": v}",
}

#: Raw bytes that only a file can carry (not escaped: the reader meets them as they are).
RAW_BYTES: dict[str, str] = {
    "raw-nul": "a\x00b",
    "raw-esc": "a\x1b[2Jb",
    "raw-bom": "a\ufeffb",
    "raw-c1": "a\x85b",
}


def _png(width: int, height: int, *, truncate: int | None = None) -> bytes:
    data = bomb_png(width, height)
    return data[:truncate] if truncate else data


def _jpeg(size: tuple[int, int] = (320, 180)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def _png_chunky_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size but whose pixel data is missing."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def picture_values() -> dict[str, tuple[str, bytes]]:
    """name -> (file name, bytes) of the hostile pictures."""
    jpeg = _jpeg()
    return {
        "png-bomb": ("bomb.png", _png(20_000, 20_000)),
        "png-100mpx": ("huge.png", _png(10_000, 10_000)),
        "jpeg-truncated": ("truncated.jpg", jpeg[: len(jpeg) // 2]),
        "zero-byte": ("empty.jpg", b""),
        "not-an-image": ("notes.jpg", "这不是图片 <script>alert(1)</script>\n".encode()),
        "png-named-jpg": ("png.jpg", _png(64, 64)),
        "png-no-pixels": ("nopixels.png", _png_chunky_header(640, 360)),
        "png-tiny-1x1": ("one.png", _png(1, 1)),
        "png-very-wide": ("wide.png", _png(30_000, 1)),
    }


def hostile_values() -> list[Hostile]:
    values = [Hostile(f"text:{name}", _quoted(text), notes=text) for name, text in TEXTS.items()]
    values += [Hostile(f"raw:{name}", fragment, notes=fragment) for name, fragment in RAW.items()]
    values += [Hostile(f"bytes:{name}", f'"{text}"', notes=text) for name, text in RAW_BYTES.items()]
    return values


def picture_hostiles() -> list[Hostile]:
    return [Hostile(f"picture:{name}", file, picture=data, notes=f"![图]({file})\n\n<img src=\"{file}\">")
            for name, (file, data) in picture_values().items()]


# --------------------------------------------------------------------------------------------
# Valid documents the values are planted in
# --------------------------------------------------------------------------------------------

MARK = "FUZZ_VALUE_7f3a"


def base_course() -> dict:
    doc = yaml.safe_load(COURSE_YML)
    doc["tags"] = ["标签"]  # title_cards: none, so weike.yml's hold (a case writes one key of its own)
    return doc


def base_lecture() -> dict:
    return {"title": "第一讲", "knowledge_point": "一个知识点"}


def base_centre() -> dict:
    return {
        "name": "测试街道社区学校", "level": "乡镇(街道)", "region": "测试省测试县测试街道",
        "contact": {"name": "王老师", "phone": "0571-88886666", "email": "wang@example.cn"},
        "foundation": "有教室。", "team": "有老师。", "activities": "有活动。", "sustainability": "有成效。",
        "highlights": "有特色。", "promotion": "值得推广。", "courses": ["control"], "photos": ["photo.jpg"],
        "publish": True,
    }


def base_config() -> dict:
    from weike.builder.repository.centre import STATISTIC_FIELDS

    return {
        "min_lectures": 1, "created_after": "2022-06-01", "max_summary_chars": 100, "max_bio_chars": 100,
        "jobs": 2, "drop_stale": False, "profile": "default", "province": "测试省",
        "site_url": "https://weike.example.gov.cn/", "publish_centres": True, "recommendation_order": ["control"],
        "title_cards": {"opening": False, "closing": False, "opening_seconds": 1, "closing_seconds": 1, "mark": False},
        "department": {"name": "测试省教育厅", "contact": "赵老师", "phone": "0571-88880000"},
        "statistics": {"centre_name": "测试省社区教育指导中心", **{f.key: 1 for f in STATISTIC_FIELDS}},
    }


BASES = {"course.yml": base_course, "lecture.md": base_lecture, "centre.yml": base_centre, "weike.yml": base_config}


def _plant(doc: dict, path: Path_, mark: str) -> None:
    """Put ``mark`` at ``path`` in ``doc``, making the containers on the way."""
    node = doc
    for step, nxt in zip(path, (*path[1:], None)):
        if nxt is None:
            if isinstance(node, list):
                node[step:step + 1] = [mark]
            else:
                node[step] = mark
            return
        child = node[step] if isinstance(node, list) and step < len(node) else (
            node.get(step) if isinstance(node, dict) else None)
        if not isinstance(child, (dict, list)):
            child = [] if isinstance(nxt, int) else {}
            if isinstance(node, list):
                node[step:step + 1] = [child]
            else:
                node[step] = child
        node = child


def render(file: str, plants: list[tuple[Path_, str]] = (), **overrides) -> str:
    """The YAML text of ``file``'s valid document (with ``overrides``), each ``(path, fragment)`` of
    ``plants`` putting that YAML text at that path."""
    doc = {**BASES[file](), **overrides}
    plants = [(path, fragment) for path, fragment in plants if path != NOTES]
    for index, (path, _) in enumerate(plants):
        _plant(doc, path, f"{MARK}{index:02d}")
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1 << 30)
    for index, (_, fragment) in enumerate(plants):
        assert text.count(f"{MARK}{index:02d}") == 1, text
        text = text.replace(f"{MARK}{index:02d}", fragment)
    return text


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    field: Field
    value: Hostile

    @property
    def id(self) -> str:
        return f"{self.field.name}={self.value.name}"


def _card_text(field: Field) -> bool:
    """Fields a title card draws (course title, lecture title, teachers, provider name)."""
    return field.file in ("course.yml", "lecture.md") and field.path in (
        ("title",), ("provider", "name"), ("instructors", 0, "name"))


_LINE_BREAKS = ("text:newline", "text:crlf", "text:cr", "text:line-separators", "text:markdown",
                "text:yaml-doc-markers")


def cases_for(files: tuple[str, ...], *, per_field: int = VALUES_PER_FIELD, seed: int = SEED) -> list[Case]:
    """Each field of ``files`` with ``per_field`` hostile values, rotated so that every value is used;
    picture fields (and the notes) get every hostile picture as well."""
    rng = random.Random(seed)
    values = hostile_values()
    rng.shuffle(values)
    pictures = picture_hostiles()
    cases = []
    fields = [f for f in enumerate_fields() if f.file in files]
    for index, field in enumerate(fields):
        for offset in range(per_field):
            cases.append(Case(field, values[(index * per_field + offset) % len(values)]))
        if field.picture or field.path == NOTES:
            cases += [Case(field, picture) for picture in pictures]
    return cases


# --------------------------------------------------------------------------------------------
# A repository of cases
# --------------------------------------------------------------------------------------------

CONTROL = "control"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


def lecture_text(front: str, notes: str = "讲义正文。") -> str:
    return f"---\n{front}---\n\n{notes}\n"


def write_course(root: Path, slug: str, *, media: Path, cover: bytes, cases: tuple[Case, ...] = ()) -> None:
    """A valid one-lecture course with each of ``cases`` planted in it (its pictures written beside)."""
    folder = root / "courses" / slug
    lecture = folder / "01-yi"
    lecture.mkdir(parents=True, exist_ok=True)
    notes = "讲义正文。"
    for case in cases:
        if case.field.path == NOTES:
            notes = case.value.notes
        if case.value.picture is not None:
            target = folder if case.field.file == "course.yml" else lecture
            (target / case.value.fragment).write_bytes(case.value.picture)
    plants = {file: [(c.field.path, c.value.fragment) for c in cases if c.field.file == file]
              for file in ("course.yml", "lecture.md")}
    # one title each: W130 (two courses share a title) is no case's business
    _write(folder / "course.yml", render("course.yml", plants["course.yml"], title=f"课程 {slug}"))
    (folder / "cover.jpg").write_bytes(cover)
    _write(lecture / "lecture.md", lecture_text(render("lecture.md", plants["lecture.md"]), notes))
    (lecture / "video.mp4").hardlink_to(media)


def write_centre(root: Path, slug: str, *, photo: bytes, case: Case | None = None) -> None:
    folder = root / "centres" / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photo.jpg").write_bytes(photo)
    if case is not None and case.value.picture is not None:
        (folder / case.value.fragment).write_bytes(case.value.picture)
    plants = [(case.field.path, case.value.fragment)] if case else []
    _write(folder / CENTRE_FILE, render("centre.yml", plants, name=f"测试街道社区学校 {slug}"))


def write_repository(root: Path, cases: list[Case | tuple[Case, ...]], *, media: Path, cover: bytes,
                     config: Case | None = None) -> dict[str, Case | tuple[Case, ...]]:
    """A repository with the control course and centre, and one course or centre per case (a
    tuple of course and lecture cases shares one course); returns folder (``courses/x`` or
    ``centres/x``) -> case."""
    root.mkdir(parents=True, exist_ok=True)
    _write(root / "weike.yml", render("weike.yml", [(config.field.path, config.value.fragment)] if config else []))
    write_course(root, CONTROL, media=media, cover=cover)
    write_centre(root, CONTROL, photo=cover)
    where: dict[str, Case | tuple[Case, ...]] = {}
    for index, case in enumerate(cases):
        slug = f"case-{index:04d}"
        if isinstance(case, Case) and case.field.file == "centre.yml":
            write_centre(root, slug, photo=cover, case=case)
            where[f"centres/{slug}"] = case
        else:
            write_course(root, slug, media=media, cover=cover, cases=case if isinstance(case, tuple) else (case,))
            where[f"courses/{slug}"] = case
    return where


# --------------------------------------------------------------------------------------------
# Running weike
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    status: int
    output: str
    stdout: str

    @property
    def diagnostics(self) -> list[dict]:
        return json.loads(self.stdout)["diagnostics"]


def run_weike(*args: str) -> Run:
    """``weike ARGS`` in this process (so hundreds of cases cost one start-up); stdout and stderr together."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(list(args))
        except SystemExit as exc:  # argparse
            status = exc.code if isinstance(exc.code, int) else 2
    return Run(status=status, output=out.getvalue() + err.getvalue(), stdout=out.getvalue())


#: Characters that must never reach a terminal raw (the same set tests/test_hostile_repository.py uses).
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u2028\u2029]")


def assert_no_internal_error(run: Run) -> None:
    assert run.status in (0, 1), run.output[-3000:]
    for sign in ("Traceback", "内部错误", "internal error", "在 check 阶段出错", "阶段出错"):
        assert sign not in run.output, run.output[-3000:]


def folder_of(diagnostic: dict) -> str:
    parts = diagnostic["file"].split("/")
    return "/".join(parts[:2]) if parts[0] in ("courses", "centres") else parts[0]


#: What a repository of hundreds of cases is told about itself (more than 5 centres, 20 courses).
BATCH_ONLY = frozenset({"W711", "W601"})


def check_batch(root: Path, where: dict[str, Case]) -> list[dict]:
    """``weike check`` of a repository of cases; on a failure, the cases that cause it, one by one."""
    try:
        return _check_once(root, where)
    except AssertionError:
        if len(where) <= 1:
            raise
    culprits = []
    for folder, case in where.items():
        single = root.parent / "single"
        shutil.rmtree(single, ignore_errors=True)
        shutil.copytree(root, single, ignore=shutil.ignore_patterns("case-*", "dist", ".weike"))
        shutil.copytree(root / folder, single / folder)
        try:
            _check_once(single, {folder: case})
        except AssertionError as exc:
            culprits.append(f"{case.id}: {str(exc)[:300]}")
    pytest.fail("cases that fail weike check on their own:\n" + "\n".join(culprits or ["(only together)"]))


def _check_once(root: Path, where: dict[str, Case]) -> list[dict]:
    run = run_weike("check", str(root), "--format", "json")
    assert_no_internal_error(run)
    diagnostics = run.diagnostics
    crashes = [d for d in diagnostics if d["code"] == "E901"]
    assert not crashes, [(where.get(folder_of(d), d["file"]), d["message"]) for d in crashes]
    about_control = [d for d in diagnostics if folder_of(d) in (f"courses/{CONTROL}", f"centres/{CONTROL}")]
    assert not about_control, about_control
    stray = [d for d in diagnostics if folder_of(d) not in where and folder_of(d) != "weike.yml"
             and d["code"] not in BATCH_ONLY]
    assert not stray, stray
    return diagnostics


# --------------------------------------------------------------------------------------------
# The enumeration is not empty and covers what weike reads
# --------------------------------------------------------------------------------------------


def test_every_declared_field_is_fuzzed(tmp_path):
    fields = enumerate_fields()
    paths = {(f.file, f.path) for f in fields}
    expected = {("course.yml", (k,)) for k in COURSE_KEYS}
    expected |= {("course.yml", ("instructors", 0, k)) for k in INSTRUCTOR_KEYS}
    expected |= {("course.yml", ("provider", k)) for k in PROVIDER_KEYS}
    expected |= {("course.yml", ("rights", k)) for k in RIGHTS_KEYS}
    expected |= {("lecture.md", (k,)) for k in LECTURE_KEYS} | {("lecture.md", NOTES)}
    expected |= {("centre.yml", (k,)) for k in CENTRE_KEYS} | {("centre.yml", ("contact", k)) for k in CONTACT_KEYS}
    expected |= {("centre.yml", ("photos", 0)), ("centre.yml", ("courses", 0)), ("course.yml", ("tags", 0))}
    expected |= {("weike.yml", (k,)) for k in CONFIG_KEYS}
    expected |= {("weike.yml", ("department", k)) for k in DEPARTMENT_KEYS}
    expected |= {("weike.yml", ("statistics", k)) for k in STATISTICS_KEYS}
    for setting in _plugin_settings():
        expected.add(("weike.yml", (setting.name,)))
        if setting.course:
            expected.add(("course.yml", (setting.name,)))
    # the title-card keys, spelled out: a plugin setting's own keys are fuzzed in both files
    for key in ("opening", "closing", "opening_seconds", "closing_seconds", "mark"):
        expected |= {("course.yml", ("title_cards", key)), ("weike.yml", ("title_cards", key))}
    assert expected - paths == set()
    assert {f.path for f in fields if f.picture} >= {("cover",), ("image",), ("photos", 0)}
    assert len(fields) >= 80

    # Every key the ``weike new`` skeletons write (and the lecture skeleton's commented-out ones)
    from weike.builder.running.scaffold import new_centre, new_course, new_lecture, new_repository

    root = new_repository(tmp_path / "repo")
    new_course(root, "a", plugin_manager=get_plugin_manager(None))
    new_lecture(root, "a", "01-b")
    new_centre(root, "c")
    written = {"course.yml": root / "courses/a/course.yml", "lecture.md": root / "courses/a/01-b/lecture.md",
               "centre.yml": root / "centres/c/centre.yml", "weike.yml": root / "weike.yml"}
    for file, path in written.items():
        text = path.read_text(encoding="utf-8")
        if file == "lecture.md":
            text = text.split("---")[1]
            text += "".join(f"{m.group(1)}: x\n" for m in re.finditer(r"^# (\w+): ", text, re.M))
        for key_path in _key_paths(yaml.safe_load(text)):
            assert (file, key_path) in paths, (file, key_path)


def _key_paths(value, path: Path_ = ()):
    if isinstance(value, dict):
        for key, sub in value.items():
            yield (*path, key)
            yield from _key_paths(sub, (*path, key))
    elif isinstance(value, list):
        for sub in value[:1]:
            yield from _key_paths(sub, (*path, 0))


def test_every_hostile_value_is_used():
    used = {c.value.name for file in PER_FIELD for c in _batched((file,))}
    assert used >= {v.name for v in hostile_values()} | {v.name for v in picture_hostiles()}


# --------------------------------------------------------------------------------------------
# weike check: hundreds of cases in a few runs
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(media) -> Path:
    return media("landscape.mp4")


@pytest.fixture(scope="module")
def cover_bytes(cover_jpeg) -> bytes:
    return cover_jpeg.read_bytes()


def _batched(files: tuple[str, ...]) -> list[Case]:
    return cases_for(files, per_field=PER_FIELD[files[0]])


@pytest.mark.parametrize("files", [("course.yml",), ("lecture.md",), ("centre.yml",)])
def test_check_survives_every_hostile_value(files, tmp_path, clip, cover_bytes):
    cases = _batched(files)
    assert len(cases) > 50
    where = write_repository(tmp_path / "repo", cases, media=clip, cover=cover_bytes)
    check_batch(tmp_path / "repo", where)
    # What the terminal shows quotes every value: nothing hidden reaches it (probes are remembered now).
    text = run_weike("check", str(tmp_path / "repo"))
    assert_no_internal_error(text)
    assert not _HIDDEN.findall(text.output.replace("\n", "")), sorted(set(_HIDDEN.findall(text.output)))


def _config_cases() -> list[Case]:
    return cases_for(("weike.yml",), per_field=3)


@pytest.fixture(scope="module")
def config_repository(tmp_path_factory, clip, cover_bytes) -> Path:
    root = tmp_path_factory.mktemp("config") / "repo"
    write_repository(root, [], media=clip, cover=cover_bytes)
    return root


def test_check_survives_every_hostile_weike_yml_value(config_repository):
    """weike.yml holds for the whole repository: one run per value, on a repository of one course."""
    failures = []
    for case in _config_cases():
        _write(config_repository / "weike.yml", render("weike.yml", [(case.field.path, case.value.fragment)]))
        run = run_weike("check", str(config_repository), "--format", "json")
        try:
            assert_no_internal_error(run)
            assert not [d for d in run.diagnostics if d["code"] == "E901"]
        except AssertionError as exc:
            failures.append((case.id, str(exc)[:500]))
    assert failures == []


# --------------------------------------------------------------------------------------------
# weike build: every stage, with real ffmpeg, MkDocs, zips and forms
# --------------------------------------------------------------------------------------------

#: Title cards on for the whole repository, as short as a card may be: what a card draws is fuzzed too.
CARDS_ON = {"opening": True, "closing": True, "opening_seconds": 0.2, "closing_seconds": 0.2, "mark": True}


def _card_fields() -> list[Field]:
    return [f for f in enumerate_fields() if _card_text(f)]


def build_groups() -> dict[str, tuple[list[Case], dict]]:
    """name -> (cases, weike.yml overrides) of each real build: hostile text in every field (cards
    off: one encode serves every course), what the cards draw (cards on), and every hostile picture
    in every picture field and in the notes."""
    rng = random.Random(SEED)
    every = cases_for(("course.yml", "lecture.md", "centre.yml"), per_field=2, seed=SEED + 1)
    text = [c for c in every if c.value.picture is None]
    pictures = [c for c in cases_for(("course.yml", "lecture.md", "centre.yml"), per_field=0) if c.value.picture]
    # Long text is refused in check (E225) before a card is drawn: short values reach the drawing.
    # Each course carries one value in every field its cards draw: one card encode for several.
    values = [v for v in hostile_values() if v.name.startswith("text:") and "10k" not in v.name
              and not v.name.startswith("text:long")]
    cards = [tuple(Case(field, value) for field, value in zip(_card_fields(), rng.sample(values, 3)))
             for _ in range(2)]
    return {
        "text": (text, {}),
        "cards": (cards, {"title_cards": CARDS_ON}),
        "pictures": (pictures, hostile_config_text(rng)),
    }


def hostile_config_text(rng: random.Random) -> dict:
    """weike.yml with a hostile text in every text it prints on the forms and the site (the province,
    the department, the 附件5 centre). Not what legitimately stops every course: an error in
    weike.yml does (a control character, E013; an address that is none, E413; no such ``profile``;
    no course new enough for ``created_after``)."""
    from weike.builder.repository.reading import CONTROL_RE

    config = base_config()
    texts = [t for name, t in TEXTS.items() if "10k" not in name and not CONTROL_RE.search(t)]
    for field in enumerate_fields():
        if field.file != "weike.yml" or field.path[0] in ("profile", "created_after", "site_url"):
            continue
        parent = config
        for step in field.path[:-1]:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(field.path[-1]), str):
            parent[field.path[-1]] = rng.choice(texts)
    return config


def _group_params():
    params = []
    for name, (cases, config) in build_groups().items():
        params.append(pytest.param(name, cases, config, id=name))
    # One build for each case that once stopped a stage, on its own.
    fields = {f.name: f for f in enumerate_fields()}
    values = {v.name: v for v in hostile_values()}
    once = [(Case(fields["centre.yml:name"], values["text:10k-cjk"]), {}),
            (Case(fields["lecture.md:title"], values["text:newline"]), {"title_cards": CARDS_ON}),
            (Case(fields["course.yml:title"], values["text:long-line-mixed"]), {"title_cards": CARDS_ON})]
    for case, config in once:
        params.append(pytest.param(f"once:{case.id}", [case], config, id=f"once-{case.id}"))
    return params


def assert_control_delivered(root: Path) -> None:
    dist = root / "dist"
    assert (dist / "media" / CONTROL / "01-yi.mp4").stat().st_size > 0
    assert (dist / "site" / "courses" / CONTROL / "index.html").is_file()
    zips = {p.parent.name for p in (dist / "bundles").glob(f"*/{CONTROL}.zip")}
    assert {"smartedu", "ouchn", "scorm"} <= zips, zips
    from openpyxl import load_workbook

    (table,) = (dist / "reports").glob("*汇总表*.xlsx")
    cells = [cell for row in load_workbook(table).active.iter_rows(values_only=True) for cell in row]
    assert f"课程 {CONTROL}" in cells
    assert list((dist / "submission").glob(f"附件4-*{CONTROL}.docx")), "the control centre's 附件4"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "cases", "config"), _group_params())
def test_build_survives_hostile_values(name, cases, config, tmp_path, clip, cover_bytes):
    """A real build: never exit 2, never a traceback or a plugin crash, the control course delivered."""
    root = tmp_path / "repo"
    where = write_repository(root, cases, media=clip, cover=cover_bytes)
    if config:
        _write(root / "weike.yml", yaml.safe_dump({**base_config(), **config}, allow_unicode=True, sort_keys=False))
    run = run_weike("build", str(root), "--quiet")
    assert_no_internal_error(run)
    assert "E901" not in run.output, run.output[-3000:]
    assert_control_delivered(root)
    built = len(list((root / "dist/media").glob("case-*/01-yi.mp4")))
    assert built or len(where) <= 1  # the cases that passed check were delivered too
