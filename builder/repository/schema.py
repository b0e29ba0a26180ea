"""The JSON Schemas (draft-07) editors check authored files with, made from the declarations.

Each file's schema is its fields as the core declares them (``COURSE_FIELDS``, ``LECTURE_FIELDS``,
``CENTRE_FIELDS``, ``CONFIG_FIELDS``) followed by the keys plugins declare for it
(``weike_settings``): one declaration gives the loader its keys, the rules their limits and the
editor its hints. ``weike schema`` writes them into a repository's ``.weike/schemas/`` (where
``weike new repo`` puts them and ``.vscode/settings.json`` points); ``builder/repository/schemas/`` holds the
ones weike's own demo repository uses, made the same way with the built-in plugins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from weike.builder.contracts.settings import WEIKE_YML, Setting, object_schema
from weike.builder.repository.centre import CENTRE_FIELDS
from weike.builder.repository.loading import COURSE_FIELDS, CONFIG_FIELDS, LECTURE_FIELDS

#: Where weike's own repository (its demo courses and centres) finds the schemas.
SHIPPED_SCHEMA_DIR = Path(__file__).parent / "schemas"
#: Where a course repository keeps them (committed, so every editor finds them).
REPOSITORY_SCHEMA_DIR = Path(".weike") / "schemas"

_DRAFT = "http://json-schema.org/draft-07/schema#"


def _schema(name: str, title: str, description: str, fields: Iterable[Setting]) -> dict:
    return {"$schema": _DRAFT, "$id": f"https://weike.invalid/schemas/{name}", "title": title,
            "description": description, **object_schema(fields)}


def editor_schemas(settings: Iterable[Setting]) -> dict[str, dict]:
    """File name -> JSON Schema of each authored file, with the plugins' declared ``settings``."""
    settings = tuple(setting for setting in settings if setting.file == WEIKE_YML)
    course_settings = tuple(setting for setting in settings if setting.course)
    return {
        "course.schema.json": _schema(
            "course.schema.json", "weike course.yml — 社区教育品牌课程信息",
            "一门品牌课程的基本信息（社区教育品牌课程申报要求，附件2）。weike check 按这些字段检查。",
            (*COURSE_FIELDS, *course_settings)),
        "lecture.schema.json": _schema(
            "lecture.schema.json", "weike lecture.md front matter — 微课信息",
            "lecture.md 开头 --- 之间的字段；正文是讲义（Markdown）。", LECTURE_FIELDS),
        "centre.schema.json": _schema(
            "centre.schema.json", "weike centre.yml — 品牌社区学习中心典型案例推介表",
            "一个品牌社区学习中心的推介表内容（附件4）。weike check 按这些字段检查。", CENTRE_FIELDS),
        "weike.schema.json": _schema(
            "weike.schema.json", "weike weike.yml — 课程仓库的设置",
            "整个课程仓库的设置：省里的信息、申报年份的要求、网站和视频的选项。都可以不写（用默认值）。",
            (*CONFIG_FIELDS, *settings)),
    }


def schema_text(schema: dict) -> str:
    """A schema as written to disk: stable, readable, Chinese as it is."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def write_schemas(folder: Path, settings: Iterable[Setting]) -> list[Path]:
    """Write every schema into ``folder``; returns the files that changed."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, schema in editor_schemas(settings).items():
        path = folder / name
        text = schema_text(schema)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
