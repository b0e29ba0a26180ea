"""Brand learning centres (品牌社区学习中心典型案例, 附件4) and the province's own facts (附件3, 附件5).

A centre is authored like a course: ``centres/<slug>/centre.yml`` beside ``courses/``, read with
the same safe, size-limited YAML reader, every value remembering its file and line. The province's
facts live in ``weike.yml``: ``department`` (the education department's contact and phone, printed
in the headers of 附件3 and 附件4) and ``statistics`` (the one row of 附件5).

Loading never judges: a value of the wrong type is E005 here, everything else (required, length,
level, phone, courses, photos, "of which" ≤ total) belongs to :mod:`weike.plugins.province.centres`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

# The values themselves live with every other value, in the model; loading them is this module's.
from weike.builder.model import (
    Centre,
    CentreContact,
    Diagnostic,
    ProvinceDepartment,
    ProvinceStatistics,
    Severity,
    SourceLocation,
    repository_path,
)
from weike.builder.reading import FieldReader, file_error, outside_container, resolve_authored_path
from weike.builder.yamlfile import YamlFileError, compose_yaml, read_text_file, scalar_value

if TYPE_CHECKING:
    import yaml

CENTRES_DIR = "centres"
CENTRE_FILE = "centre.yml"
MAX_CENTRE_FILE_BYTES = 256 * 1024

CENTRE_KEYS = ("name", "level", "region", "contact", "foundation", "team", "activities", "sustainability",
               "highlights", "promotion", "courses", "photos", "publish")
CONTACT_KEYS = ("name", "phone", "email")
#: The four free-text rows of 附件4 in the form's order, with the form's own labels and guidance.
CENTRE_TEXTS: tuple[tuple[str, str, str], ...] = (
    ("foundation", "基础保障", "主要填写设施、经费保障情况等"),
    ("team", "队伍建设", "主要填写社区教育工作者、志愿者队伍情况等"),
    ("activities", "教育活动与服务",
     "主要填写教育活动、业务指导与服务、服务社区建设、实践研究、数字化学习平台与资源等情况"),
    ("sustainability", "可持续发展", "主要填写办学成效、社会影响等情况"),
    ("highlights", "特色和经验", "字数不超过 1000 字"),
    ("promotion", "重点宣传推介内容", "主要凝练可推广、可复制的典型做法和经验。字数不超过 300 字内"),
)

DEPARTMENT_KEYS = ("name", "contact", "phone")


@dataclass(frozen=True, kw_only=True)
class StatisticField:
    """One column of 附件5 (社区教育机构统计表)."""

    key: str
    label: str
    #: The column this one is a part of ("of which ... "), when the call implies one.
    part_of: str | None = None
    #: ``part_of`` is a hard limit (error) rather than a usual one (warning).
    strict: bool = True
    #: A money amount, which may have decimals (元/年/人); the others are counts.
    decimal: bool = False


#: 附件5's columns after the first (省级社区教育指导服务中心名称), in the call's order.
STATISTIC_FIELDS: tuple[StatisticField, ...] = (
    StatisticField(key="cities", label="地级市数 (个)"),
    # One guidance centre per city is the plan, not a law of counting: more is only a warning.
    StatisticField(key="city_guidance_centres", label="地级社区教育指导中心数 (个)", part_of="cities", strict=False),
    StatisticField(key="higher_vocational_colleges", label="高等职业院校数 (个)"),
    StatisticField(key="higher_vocational_colleges_in_community_education",
                   label="开展社区教育的高等职业院校数 (个)", part_of="higher_vocational_colleges"),
    StatisticField(key="county_cities", label="县级市数 (个)"),
    # Not "of" the county-level cities: counties and city districts have community colleges too.
    StatisticField(key="county_community_colleges", label="县级社区教育学院数 (个)"),
    StatisticField(key="secondary_vocational_schools", label="中等职业学校数(含职教中心) (个)"),
    StatisticField(key="secondary_vocational_schools_in_community_education",
                   label="开展社区的中等职业学校数(含职教中心) (个)", part_of="secondary_vocational_schools"),
    StatisticField(key="towns", label="镇(街道)数 (个)"),
    StatisticField(key="town_community_schools", label="乡镇(街道)社区教育学校数 (个)", part_of="towns"),
    StatisticField(key="villages", label="村(社区)数 (个)"),
    StatisticField(key="village_learning_points", label="村(社区)学习点数 (个)", part_of="villages", strict=False),
    StatisticField(key="funding_per_capita", label="县域社区教育人均投入经费 (元/年/人)", decimal=True),
    StatisticField(key="trainings", label="全省线上线下培训总数 (人次)"),
)
STATISTICS_NAME_KEY = "centre_name"
STATISTICS_NAME_LABEL = "省级社区教育指导服务中心名称"
STATISTICS_KEYS = (STATISTICS_NAME_KEY, *(f.key for f in STATISTIC_FIELDS))

#: Codes about the province's facts in weike.yml: they hold back 附件5 (or the form headers), never
#: a course, so the build does not treat them as repository-wide errors.
PROVINCE_FACT_CODES = frozenset({"E801", "E802", "W803", "E804"})


def centre_count_chars(text: str) -> int:
    """字数 as the form counts it: Unicode characters, line breaks not counted."""
    return len(text.replace("\r", "").replace("\n", ""))


def centre_of(diagnostic: Diagnostic) -> str | None:
    """The centre slug a diagnostic is about (from its ``centres/<slug>/...`` location)."""
    parts = PurePosixPath(diagnostic.location.file).parts
    if len(parts) >= 2 and parts[0] == CENTRES_DIR:
        return parts[1]
    return None


def is_province_fact(diagnostic: Diagnostic) -> bool:
    """A diagnostic about weike.yml's ``department`` or ``statistics`` (withholds 附件5, not courses)."""
    return diagnostic.code in PROVINCE_FACT_CODES


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def find_centre_folders(root: Path) -> list[Path]:
    """Every non-hidden folder directly under ``centres/``, sorted by name."""
    centres_dir = root / CENTRES_DIR
    if not centres_dir.is_dir():
        return []
    return sorted(Path(entry.path) for entry in os.scandir(centres_dir)
                  if entry.is_dir() and not entry.name.startswith((".", "_")))


def load_centre(folder: Path, *, root: Path) -> tuple[Centre, list[Diagnostic]]:
    """Load ``<folder>/centre.yml``; problems of type and syntax become diagnostics."""

    rel_file = repository_path(folder / CENTRE_FILE, root)
    base = dict(slug=folder.name, folder=folder, file=rel_file)
    # A centre folder, or its centre.yml, linked from outside would publish that text: the same
    # containment as for courses (E206).
    if escaped := (outside_container(folder, os.path.realpath(root / CENTRES_DIR), root=root, what="学习中心文件夹",
                                     what_en="the centre folder", container="centres/", container_en="centres/")
                   or outside_container(folder / CENTRE_FILE, os.path.realpath(folder), root=root,
                                        what="centre.yml", what_en="centre.yml", container="学习中心文件夹",
                                        container_en="the centre folder")):
        return Centre(**base, parsed=False, locations={"": escaped.location}), [escaped]
    if not (folder / CENTRE_FILE).is_file():
        where = SourceLocation(file=repository_path(folder, root))
        return Centre(**base, parsed=False, locations={"": where}), [Diagnostic.error(
            "E710", where, "学习中心文件夹中没有 centre.yml", "centre folder has no centre.yml",
            hint="用 weike new centre 创建学习中心，或在文件夹中添加 centre.yml。")]
    try:
        root_node = compose_yaml(read_text_file(folder / CENTRE_FILE, max_bytes=MAX_CENTRE_FILE_BYTES).text)
    except YamlFileError as exc:
        return Centre(**base, parsed=False), [file_error(exc, rel_file)]

    reader = FieldReader(file=rel_file)
    reader.locations[""] = SourceLocation(file=rel_file, line=1, column=1)
    fields = reader.mapping(root_node, "", CENTRE_KEYS)
    contact_fields = reader.mapping(fields.get("contact"), "contact", CONTACT_KEYS)
    contact = CentreContact(**{key: reader.text(contact_fields.get(key), f"contact.{key}") for key in CONTACT_KEYS})

    folder_real = os.path.realpath(folder)
    photos = []
    for index, item in enumerate(reader.sequence(fields.get("photos"), "photos")):
        path = f"photos.{index}"
        reader.locations[path] = reader.loc(item)
        declared = reader.text(item, path)
        if declared is not None:
            photos.append(resolve_authored_path(declared, base=folder, location=reader.locations[path],
                                                course_real=folder_real))
    publish = reader.boolean(fields.get("publish"), "publish")
    texts = {key: reader.text(fields.get(key), key) for key, _, _ in CENTRE_TEXTS}
    centre = Centre(
        **base,
        name=reader.text(fields.get("name"), "name"),
        level=reader.level(fields.get("level"), "level"),
        region=reader.text(fields.get("region"), "region"),
        contact=contact,
        **texts,
        courses=reader.text_list(fields.get("courses"), "courses"),
        photos=tuple(photos),
        publish=publish is not False,
        locations=dict(reader.locations),
        malformed=frozenset(reader.malformed),
        parsed="" not in reader.malformed,
    )
    return centre, reader.diagnostics


def load_centres(root: Path) -> tuple[tuple[Centre, ...], list[Diagnostic]]:
    """Every centre under ``root/centres`` (none when the folder is absent)."""
    centres, diagnostics = [], []
    for folder in find_centre_folders(root):
        centre, problems = load_centre(folder, root=root)
        centres.append(centre)
        diagnostics.extend(problems)
    return tuple(centres), diagnostics


def read_province_facts(reader, fields: Mapping[str, yaml.Node]) -> dict:
    """``department`` and ``statistics`` of weike.yml as WeikeConfig values (``reader`` is the
    config file's :class:`weike.builder.loading.FieldReader`, so locations and E005 work as for every key)."""
    values: dict = {}
    if "department" in fields:
        found = reader.mapping(fields["department"], "department", DEPARTMENT_KEYS)
        values["department"] = ProvinceDepartment(
            **{key: reader.text(found.get(key), f"department.{key}") for key in DEPARTMENT_KEYS})
    if "statistics" in fields:
        found = reader.mapping(fields["statistics"], "statistics", STATISTICS_KEYS)
        numbers: dict[str, int | float] = {}
        invalid: set[str] = set()
        for spec in STATISTIC_FIELDS:
            node = found.get(spec.key)
            if node is None:
                continue
            number = _statistic(reader, node, spec)
            if number is None:
                invalid.add(spec.key)
            else:
                numbers[spec.key] = number
        values["statistics"] = ProvinceStatistics(
            centre_name=reader.text(found.get(STATISTICS_NAME_KEY), f"statistics.{STATISTICS_NAME_KEY}"),
            values=numbers, invalid=frozenset(invalid))
    return values


def _statistic(reader, node: yaml.Node, spec: StatisticField) -> int | float | None:
    """A non-negative count (or amount, for money); anything else is E801 at its line."""
    import yaml as _yaml


    value = None
    if isinstance(node, _yaml.ScalarNode):
        try:
            value = scalar_value(node)
        except (YamlFileError, _yaml.YAMLError, ValueError):  # a bad tag or date: "not a number" here
            value = None
    allowed = (int, float) if spec.decimal else (int,)
    if isinstance(value, allowed) and not isinstance(value, bool) and value >= 0 and value == value:
        return value
    kind, kind_en = ("非负数", "a non-negative number") if spec.decimal else ("非负整数", "a non-negative whole number")
    reader.malformed.add(f"statistics.{spec.key}")
    reader.diagnostics.append(Diagnostic(
        code="E801", severity=Severity.ERROR, location=reader.loc(node),
        message=f"附件5“{spec.label}”应为{kind}，写的是“{getattr(node, 'value', '…')}”",
        message_en=f"statistics.{spec.key} must be {kind_en}",
        hint="只写阿拉伯数字，不要写单位、逗号或“约”，例如 12。"))
    return None
