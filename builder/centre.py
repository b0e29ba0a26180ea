"""Brand learning centres (品牌社区学习中心典型案例, 附件4) and the province's own facts (附件3, 附件5),
read as values; what the forms call them and what the call requires of them are
:mod:`weike.plugins.province`'s.

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
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

# The values themselves live with every other value, in the model; loading them is this module's.
from weike.builder.model import (
    Centre,
    CentreContact,
    Diagnostic,
    ProvinceDepartment,
    ProvinceStatistics,
    SourceLocation,
    WeikeConfig,
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
#: The free-text rows of 附件4, in the form's order (their labels are the province's forms').
CENTRE_TEXT_KEYS = ("foundation", "team", "activities", "sustainability", "highlights", "promotion")

DEPARTMENT_KEYS = ("name", "contact", "phone")
#: The figures of 附件5, in the form's order (their labels and limits are the province's forms').
STATISTIC_KEYS = ("cities", "city_guidance_centres", "higher_vocational_colleges",
                  "higher_vocational_colleges_in_community_education", "county_cities", "county_community_colleges",
                  "secondary_vocational_schools", "secondary_vocational_schools_in_community_education", "towns",
                  "town_community_schools", "villages", "village_learning_points", "funding_per_capita", "trainings")
STATISTICS_NAME_KEY = "centre_name"
STATISTICS_KEYS = (STATISTICS_NAME_KEY, *STATISTIC_KEYS)
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
    config file's :class:`weike.builder.reading.FieldReader`, so locations and E005 work as for every
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
