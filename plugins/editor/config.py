"""Decap's ``config.yml``, generated from weike's own schemas and settings declarations.

The course, lecture, centre and weike.yml JSON Schemas drive the VS Code hints and are made from
the same typed declarations ``weike check`` reads with (:func:`weike.builder.repository.schema.editor_schemas`,
with the repository's plugins' ``weike_settings``); the editor's collections are made from them, so
a field added to a declaration appears in the editor with no other change. Keys the editor shows no
field for are kept as they are when Decap saves the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from weike.builder.contracts.settings import Setting
from weike.builder.repository.schema import editor_schemas
from weike.plugins.editor.settings import HostedEditor

#: A string at least this long (maxLength) gets a multi-line box.
_LONG_TEXT = 100
_PICTURE_PATTERN = re.compile(r"jpe\?g\|png", re.IGNORECASE)
#: Fields whose file goes through weike's streamed upload (weike-editor.js), not Decap's media
#: library: a phone video must not pass through base64 JSON.
UPLOAD_FIELDS = {"lecture": ("media",)}
#: A lecture's place, typed in the hosted editor (the local one chooses the course and names the
#: folder itself): ``<course folder>/<NN>-<pinyin>``.
HOSTED_LECTURE_PATH = r"^[a-z0-9][a-z0-9-]*/[0-9]{2}-[a-z0-9][a-z0-9-]*$"


def load_schemas(folder: Path) -> dict[str, dict]:
    """``{"course": {...}, "lecture": {...}, ...}`` from the ``<name>.schema.json`` files in ``folder``."""
    return {path.name.split(".")[0]: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(Path(folder).glob("*.schema.json"))}


def declared_schemas(settings: Iterable[Setting] = ()) -> dict[str, dict]:
    """``{"course": {...}, "lecture": {...}, "centre": {...}, "weike": {...}}`` made from the
    declarations, with the plugins' ``settings``."""
    return {name.split(".")[0]: schema for name, schema in editor_schemas(settings).items()}


def _label(name: str, schema: Mapping) -> str:
    description = str(schema.get("description") or name)
    return re.split(r"[：:，,（(]", description, maxsplit=1)[0].strip() or name


def schema_field(name: str, schema: Mapping, *, required: bool) -> dict:
    """One Decap field for the JSON Schema property ``name``."""
    field: dict = {"name": name, "label": _label(name, schema), "required": required}
    if schema.get("description"):
        field["hint"] = str(schema["description"])
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "enum" in schema:
        field.update(widget="select", options=list(schema["enum"]))
    elif kind == "boolean":
        field["widget"] = "boolean"
        field.setdefault("default", False) if required else None
    elif kinds & {"number", "integer"} and "string" not in kinds:
        field.update(widget="number", value_type="int" if kind == "integer" else "float")
        if "minimum" in schema:
            field["min"] = schema["minimum"]
        if "maximum" in schema:
            field["max"] = schema["maximum"]
    elif kind == "object":
        inner_required = set(schema.get("required") or ())
        field.update(widget="object", collapsed=False,
                     fields=[schema_field(key, value, required=key in inner_required)
                             for key, value in (schema.get("properties") or {}).items()])
    elif kind == "array":
        items = schema.get("items") or {}
        if items.get("type") == "object":
            inner_required = set(items.get("required") or ())
            field.update(widget="list", fields=[schema_field(key, value, required=key in inner_required)
                                                for key, value in (items.get("properties") or {}).items()])
        elif _is_picture(items):
            field.update(widget="list", field={"name": "photo", "label": "图片", "widget": "image"})
        else:
            field.update(widget="list", field={"name": "item", "label": _label(name, schema), "widget": "string",
                                               **_string_rules(items)})
        if schema.get("minItems"):
            field["min"] = schema["minItems"]
    elif schema.get("format") == "date":
        field.update(widget="datetime", format="YYYY-MM-DD", date_format="YYYY-MM-DD", time_format=False,
                     picker_utc=True)
    elif _is_picture(schema):
        field.update(widget="image", choose_url=False)
    else:
        long = (schema.get("maxLength") or 0) >= _LONG_TEXT
        field.update(widget="text" if long else "string", **_string_rules(schema))
    return field


def _is_picture(schema: Mapping) -> bool:
    return bool(_PICTURE_PATTERN.search(str(schema.get("pattern") or "")))


def _string_rules(schema: Mapping) -> dict:
    """Decap checks a field with one pattern: the length limit, else the schema's own pattern."""
    if schema.get("maxLength"):
        limit = schema["maxLength"]
        return {"pattern": [f"^[\\s\\S]{{0,{limit}}}$", f"不能超过 {limit} 字 (at most {limit} characters)"]}
    if schema.get("pattern"):
        return {"pattern": [schema["pattern"], "格式不对，请看下方的说明 (see the hint below)"]}
    return {}


def schema_fields(schema: Mapping, *, uploads: Iterable[str] = (), hosted: bool = False) -> list[dict]:
    """Decap's fields for a schema's properties; the ``uploads`` go through weike's streamed upload
    (``weike-video``), or, ``hosted``, are the file's name (the Git host takes no 2 GB video
    through its API: the file is added by Git or by the local editor)."""
    required = set(schema.get("required") or ())
    fields = [schema_field(name, value, required=name in required)
              for name, value in (schema.get("properties") or {}).items()]
    for field in fields:
        if field["name"] in uploads and hosted:
            field["widget"] = "string"
            field["hint"] = (f"{field.get('hint', '')}。在线编辑不能上传视频：用 weike edit 在自己电脑上上传，"
                             "或由管理员放进这个微课的文件夹（见 docs/editor.md“在线编辑”），这里只写文件名").lstrip("。")
        elif field["name"] in uploads:
            field["widget"] = "weike-video"
            field.pop("pattern", None)
    return fields


def field_labels(schemas: Mapping[str, dict] | None = None) -> dict[str, str]:
    """Every field name of the schemas -> its label in the editor (for problems after a save)."""
    labels: dict[str, str] = {}

    def walk(properties: Mapping) -> None:
        for name, value in properties.items():
            labels.setdefault(name, _label(name, value))
            walk(value.get("properties") or {})
            walk((value.get("items") or {}).get("properties") or {})

    for schema in (declared_schemas() if schemas is None else schemas).values():
        walk(schema.get("properties") or {})
    return labels


def hosted_backend(hosted: HostedEditor) -> dict:
    """Decap's ``backend`` for the Git host: its API, and its login in the browser (PKCE for gitea
    and gitlab, an OAuth service for github)."""
    backend = {"name": hosted.backend, "repo": hosted.repo, "branch": hosted.branch,
               "base_url": hosted.base_url, "api_root": hosted.api_root}
    if hosted.backend in ("gitea", "gitlab"):
        backend["app_id"] = hosted.app_id
    if hosted.backend == "gitlab":
        backend["auth_type"] = "pkce"
    if hosted.auth_endpoint and hosted.backend != "gitea":
        backend["auth_endpoint"] = hosted.auth_endpoint
    return backend


def editor_config(*, settings: Iterable[Setting] = (), schemas: Mapping[str, dict] | None = None,
                  branch: str = "main", hosted: HostedEditor | None = None) -> dict:
    """The whole ``config.yml``: for ``weike edit`` (the local backend on 127.0.0.1), or with
    ``hosted``, for the editor in the site's ``admin/`` (the Git host's backend and login, no
    streamed upload, the lecture's folder typed)."""
    schemas = declared_schemas(settings) if schemas is None else schemas
    lecture_path = ({"widget": "string", "label": "所属课程和文件夹", "index_file": "lecture",
                     "pattern": [HOSTED_LECTURE_PATH, "写成“课程文件夹/编号-拼音”，例如 shou-ji-zhi-fu/03-sao-ma-fu-kuan"],
                     "hint": "课程文件夹名/两位编号-微课名称的拼音（小写，用 - 连接），例如 shou-ji-zhi-fu/03-sao-ma-fu-kuan"}
                    if hosted else
                    {"widget": "weike-course", "label": "所属课程", "index_file": "lecture"})
    collections = [
        {"name": "courses", "label": "课程", "label_singular": "课程", "folder": "courses",
         "description": "每门课程一个文件夹：课程信息（course.yml）和首页图片。",
         "create": True, "delete": False, "extension": "yml", "format": "yml",
         "path": "{{slug}}/course", "slug": "{{title}}", "identifier_field": "title", "summary": "{{title}}",
         "media_folder": "", "public_folder": "", "fields": schema_fields(schemas["course"])},
        {"name": "lectures", "label": "微课", "label_singular": "微课", "folder": "courses",
         "description": "在课程下面新建微课：文件夹名和编号自动生成。",
         "create": True, "delete": False, "extension": "md", "format": "frontmatter",
         "nested": {"depth": 3, "summary": "{{title}}"},
         "meta": {"path": lecture_path},
         "identifier_field": "title", "summary": "{{title}}", "media_folder": "", "public_folder": "",
         "fields": [*schema_fields(schemas["lecture"], uploads=UPLOAD_FIELDS["lecture"], hosted=hosted is not None),
                    # The preview shows the notes through Decap's sanitiser: an entry is untrusted.
                    {"name": "body", "label": "讲义", "widget": "markdown", "required": False,
                     "sanitize_preview": True, "hint": "给学习者看的讲义正文（Markdown）"}]},
    ]
    if "centre" in schemas:
        collections.append(
            {"name": "centres", "label": "品牌社区学习中心", "label_singular": "学习中心", "folder": "centres",
             "description": "品牌社区学习中心典型案例（附件4）。",
             "create": True, "delete": False, "extension": "yml", "format": "yml",
             "path": "{{slug}}/centre", "slug": "{{name}}", "identifier_field": "name", "summary": "{{name}}",
             "media_folder": "", "public_folder": "", "fields": schema_fields(schemas["centre"])})
    project_fields = schema_fields(schemas["weike"]) if "weike" in schemas else []
    if project_fields:
        collections.append(
            {"name": "settings", "label": "项目设置", "editor": {"preview": False}, "delete": False,
             "files": [{"name": "weike", "label": "项目设置（weike.yml）", "file": "weike.yml",
                        "fields": project_fields}]})
    return {
        "backend": hosted_backend(hosted) if hosted else {"name": "proxy", "proxy_url": "/api/v1", "branch": branch},
        "locale": "zh_Hans",
        "publish_mode": "simple",
        "media_folder": "courses",
        "slug": {"encoding": "unicode", "clean_accents": False, "sanitize_replacement": "-"},
        "collections": collections,
    }


def editor_config_yaml(**kwargs) -> str:
    return yaml.safe_dump(editor_config(**kwargs), allow_unicode=True, sort_keys=False)
