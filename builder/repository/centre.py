"""Brand learning centres (品牌社区学习中心典型案例, 附件4) and the province's own facts (附件3, 附件5),
read as values. The fields of centre.yml and of weike.yml's ``department`` and ``statistics`` are
declared here once (:class:`weike.builder.contracts.settings.Setting`), with the form's own labels as their
descriptions: the editors' schema, the forms' row and column labels (:mod:`weike.plugins.province.forms`
takes them from here) and the limits the rules check all come from these declarations. What the
call requires of the values (the rules and their codes) is :mod:`weike.plugins.province`'s.

A centre is authored like a course: ``centres/<slug>/centre.yml`` beside ``courses/``, read with
the same safe, size-limited YAML reader, every value remembering its file and line. The province's
facts live in ``weike.yml``: ``department`` (the education department's contact and phone, printed
in the headers of 附件3 and 附件4) and ``statistics`` (the one row of 附件5).

Loading never judges: a value of the wrong type is E005 here, everything else (required, length,
level, phone, courses, photos, a figure that is no count, "of which" ≤ total) belongs to
:mod:`weike.plugins.province.centres`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

# The values themselves live with every other value, in the model; loading them is this module's.
from weike.builder.contracts.model import (
    Centre,
    CentreContact,
    Diagnostic,
    PROVIDER_LEVELS,
    ProvinceDepartment,
    ProvinceStatistics,
    SourceLocation,
    WeikeConfig,
    repository_path,
)
from weike.builder.repository.reading import (
    PICTURE_PATH_PATTERN,
    FieldReader,
    file_error,
    outside_container,
    resolve_authored_path,
)
from weike.builder.contracts.settings import Boolean, Choice, Fields, Integer, ListOf, Number, Setting, Text, nested_field
from weike.builder.repository.yamlfile import YamlFileError, compose_yaml, read_text_file, scalar_value

if TYPE_CHECKING:
    import yaml

CENTRES_DIR = "centres"
CENTRE_FILE = "centre.yml"
MAX_CENTRE_FILE_BYTES = 256 * 1024

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

#: 特色和经验（字数不超过 1000 字）, 重点宣传推介内容（字数不超过 300 字内）: the call's limits (E702, E703).
MAX_HIGHLIGHTS_CHARS = 1000
MAX_PROMOTION_CHARS = 300
#: The four rows without a limit in the call: twice 特色和经验's (a form of a few pages, not a book; E713).
MAX_CENTRE_ROW_CHARS = 2 * MAX_HIGHLIGHTS_CHARS
_ROW_LIMITS = {"highlights": MAX_HIGHLIGHTS_CHARS, "promotion": MAX_PROMOTION_CHARS}

#: centre.yml's fields, declared once: the keys loading accepts, the editors' schema
#: (weike.builder.repository.schema) and the length limits the rules check (E713), by the boxes of 附件4 and
#: 附件3 they fill.
CENTRE_FIELDS: tuple[Setting, ...] = (
    Setting(name="name", type=Text(min_length=1, max_length=50), required=True,
            description="学校名称（准确填写全称）", description_en="the school's full official name"),
    Setting(name="level", type=Choice(choices=PROVIDER_LEVELS), required=True,
            description="所处层级", description_en="its level in the three-level network"),
    Setting(name="region", type=Text(min_length=1, max_length=40), required=True,
            description="所在地区", description_en="its region"),
    Setting(name="contact", required=True, description="申报学校联系方式（只用于申报材料，不上网站）",
            description_en="the school's contact (for the forms only, never on the site)", type=Fields(fields=(
                Setting(name="name", type=Text(min_length=1, max_length=20), required=True,
                        description="联系人", description_en="the contact person"),
                Setting(name="phone", type=Text(min_length=1, max_length=40, numbers=True), required=True,
                        description="联系电话：手机号或带区号的固定电话",
                        description_en="a mobile number or a landline with its area code"),
                Setting(name="email", type=Text(max_length=100, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
                        required=True, description="电子邮箱", description_en="e-mail address"),
            ))),
    *(Setting(name=key, type=Text(min_length=1, max_length=_ROW_LIMITS.get(key, MAX_CENTRE_ROW_CHARS)),
              required=True, description=f"{label}：{guidance}（weike check 按字符计，换行不计）",
              description_en=f"附件4's row {key}")
      for key, label, guidance in CENTRE_TEXTS),
    Setting(name="courses", type=ListOf(item=Text(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")),
            description="本学习中心开设的品牌课程：courses/ 下的课程文件夹名（可选）",
            description_en="the brand courses it runs: folder names under courses/ (optional)"),
    Setting(name="photos", type=ListOf(item=Text(pattern=PICTURE_PATH_PATTERN)),
            description="照片：本文件夹中的 JPG 或 PNG（相对路径，可选）",
            description_en="photos: JPG or PNG files in this folder (optional)"),
    Setting(name="publish", type=Boolean(), default=True,
            description="是否在课程网站上公开（false 时只报省里）",
            description_en="whether the centre appears on the site (false: for the province only)"),
)

#: weike.yml's ``department`` (附件3 and 附件4 headers) and ``statistics`` (附件5's one row).
DEPARTMENT_FIELD = Setting(
    name="department", description="省级教育主管部门：附件3、附件4 表头的联系人和电话",
    description_en="the province's education department, in the headers of 附件3 and 附件4", type=Fields(fields=(
        Setting(name="name", type=Text(), description="部门名称", description_en="the department's name"),
        Setting(name="contact", type=Text(), description="联系人", description_en="the contact person"),
        Setting(name="phone", type=Text(numbers=True), description="联系电话", description_en="the phone number"),
    )))
STATISTICS_FIELD = Setting(
    name="statistics", description="附件5 社区教育机构统计表的一行（不写就不生成附件5）",
    description_en="附件5's one row (no 附件5 without it)", type=Fields(fields=(
        Setting(name=STATISTICS_NAME_KEY, type=Text(), description=STATISTICS_NAME_LABEL,
                description_en="the province's guidance centre"),
        *(Setting(name=spec.key, type=Number(minimum=0) if spec.decimal else Integer(minimum=0),
                  description=spec.label, description_en=f"附件5's column {spec.key}")
          for spec in STATISTIC_FIELDS),
    )))

CENTRE_KEYS = tuple(setting.name for setting in CENTRE_FIELDS)
CONTACT_KEYS = nested_field(CENTRE_FIELDS, "contact").type.names()
DEPARTMENT_KEYS = DEPARTMENT_FIELD.type.names()

#: The free-text rows of 附件4, in the form's order.
CENTRE_TEXT_KEYS = tuple(key for key, _, _ in CENTRE_TEXTS)
#: The figures of 附件5, in the form's order.
STATISTIC_KEYS = tuple(spec.key for spec in STATISTIC_FIELDS)
#: The keys of weike.yml that hold the province's facts: a problem with them holds back the forms
#: that print them, never a course (:func:`is_province_fact`).
PROVINCE_FACT_KEYS = ("department", "statistics")


def centre_of(diagnostic: Diagnostic) -> str | None:
    """The centre slug a diagnostic is about (from its ``centres/<slug>/...`` location)."""
    parts = PurePosixPath(diagnostic.location.file).parts
    if len(parts) >= 2 and parts[0] == CENTRES_DIR:
        return parts[1]
    return None


def is_province_fact(diagnostic: Diagnostic, config: WeikeConfig) -> bool:
    """A diagnostic at one of the values under weike.yml's ``department`` or ``statistics``: it
    withholds the forms those values fill (附件3-5), no course."""
    return diagnostic.location in {where for key, where in config.locations.items()
                                   if key.partition(".")[0] in PROVINCE_FACT_KEYS and "." in key}


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
    texts = {key: reader.text(fields.get(key), key) for key in CENTRE_TEXT_KEYS}
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
    config file's :class:`weike.builder.repository.reading.FieldReader`, so locations and E005 work as for every
    key). A figure is kept as YAML reads it; whether it is one 附件5 can print is the province's rules'
    to say."""
    values: dict = {}
    if "department" in fields:
        found = reader.mapping(fields["department"], "department", DEPARTMENT_KEYS)
        values["department"] = ProvinceDepartment(
            **{key: reader.text(found.get(key), f"department.{key}") for key in DEPARTMENT_KEYS})
    if "statistics" in fields:
        found = reader.mapping(fields["statistics"], "statistics", STATISTICS_KEYS)
        values["statistics"] = ProvinceStatistics(
            centre_name=reader.text(found.get(STATISTICS_NAME_KEY), f"statistics.{STATISTICS_NAME_KEY}"),
            values={key: _written(found[key]) for key in STATISTIC_KEYS if key in found})
    return values


def _written(node: yaml.Node) -> object:
    """A figure as YAML reads it (a number, text, a date...), ``None`` for a list or mapping."""
    import yaml as _yaml

    if not isinstance(node, _yaml.ScalarNode):
        return None
    try:
        return scalar_value(node)
    except (YamlFileError, _yaml.YAMLError, ValueError):  # a bad tag or date: kept as the text written
        return node.value
