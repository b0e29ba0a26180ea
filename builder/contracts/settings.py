"""Typed settings: one declaration per key, read at its line, described for editors and the docs.

A :class:`Setting` names a key, its :class:`SettingType` (text, whole number, number, true/false,
date, one of a list, a list of values, a block of nested settings), its default and what it
changes, in Chinese and in English. From that one declaration (as tox's ``ConfigSet.add_config``
and Material's ``config.py`` do):

* loading reads the key's YAML node with :meth:`SettingType.read`, through the file's
  :class:`weike.builder.repository.reading.FieldReader`, so a wrong value is reported at its line (E005) and
  every problem of the file is collected;
* :mod:`weike.builder.repository.schema` writes the JSON Schema editors check the files with;
* ``weike plugins`` and ``docs/settings.md`` list the key with its type, default and description.

The core declares its own files' fields the same way (``COURSE_FIELDS``, ``CENTRE_FIELDS``...),
so the editors' schema and the rules' length limits share one number.

This module is pure declaration: a type reads through the reader it is given and imports no
loading code, so :mod:`weike.builder.contracts.model` and every plugin may import it.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

#: A :class:`weike.builder.repository.reading.FieldReader` (not imported: reading imports these declarations'
#: users, and a type reads only through the methods it is given).
FieldReader = Any

#: Where a setting is written: ``weike.yml`` (and, with ``course=True``, each ``course.yml``), or
#: under ``extra: weike:`` in the site's ``mkdocs.yml``.
WEIKE_YML = "weike.yml"
MKDOCS_YML = "mkdocs.yml"
SETTING_FILES = (WEIKE_YML, MKDOCS_YML)


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------


class SettingType:
    """How a setting's value is written. Subclasses read a YAML node, describe themselves as JSON
    Schema (draft-07) and name themselves in a few words for listings."""

    def read(self, reader: FieldReader, node: yaml.Node, path: str) -> Any:
        """The value ``node`` holds, or ``None`` when nothing usable was written (``reader`` has
        reported why, at the node's line)."""
        raise NotImplementedError

    def json_schema(self) -> dict:
        raise NotImplementedError

    def label(self) -> str:
        """``text ≤ 40``, ``integer ≥ 1``, ``list of text``... (``weike plugins``, the docs)."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Anything(SettingType):
    """Any YAML value, stored as plain data (its tags resolved where it stands)."""

    def read(self, reader, node, path):
        import yaml

        return yaml.constructor.SafeConstructor().construct_document(node)

    def json_schema(self) -> dict:
        return {}

    def label(self) -> str:
        return "any"


@dataclass(frozen=True, kw_only=True)
class Text(SettingType):
    """A sentence or a name (numbers and dates kept as typed). ``max_length`` counts characters
    as the forms do (line breaks not counted); ``pattern`` is a regular expression the whole
    text must match (the schema's ``pattern`` too); ``numbers`` lets editors accept an unquoted
    number (a phone number)."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    #: Says in Chinese what ``pattern`` asks for (the E005 hint).
    pattern_hint: str = ""
    numbers: bool = False

    def read(self, reader, node, path):
        value = reader.text(node, path)
        if value is None:
            return None
        count = len(value.replace("\r", "").replace("\n", ""))
        if self.max_length is not None and count > self.max_length:
            reader.wrong_type(node, path, f"“{path}”有 {count} 字，超过 {self.max_length} 字上限",
                          f"'{path}' has {count} characters, limit {self.max_length}")
            return None
        if self.pattern is not None and not re.search(self.pattern, value):
            reader.wrong_type(node, path, f"“{path}”的写法不对", f"'{path}' is not written as expected",
                          hint=self.pattern_hint)
            return None
        return value

    def json_schema(self) -> dict:
        schema: dict = {"type": ["string", "integer"] if self.numbers else "string"}
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        return schema

    def label(self) -> str:
        return "text" + (f" ≤ {self.max_length}" if self.max_length is not None else "")


def _bounds_label(name: str, minimum, maximum, exclusive_minimum=None) -> str:
    parts = [name]
    if exclusive_minimum is not None:
        parts.append(f"> {exclusive_minimum:g}")
    if minimum is not None:
        parts.append(f"≥ {minimum:g}")
    if maximum is not None:
        parts.append(f"≤ {maximum:g}")
    return " ".join(parts)


@dataclass(frozen=True, kw_only=True)
class Integer(SettingType):
    """A whole number, within ``minimum`` and ``maximum`` when given."""

    minimum: int | None = None
    maximum: int | None = None

    def read(self, reader, node, path):
        number = reader.integer(node, path)
        if number is None:
            return None
        if self.minimum == 1 and self.maximum is None and number < 1:
            reader.wrong_type(node, path, f"“{path}”应为正整数", f"'{path}' must be a positive number")
            return None
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            reader.wrong_type(node, path, f"“{path}”应在 {self._range()} 之间",
                          f"'{path}' must be within {self._range()}")
            return None
        return number

    def _range(self) -> str:
        low = "" if self.minimum is None else str(self.minimum)
        high = "" if self.maximum is None else str(self.maximum)
        return f"{low}–{high}"

    def json_schema(self) -> dict:
        schema: dict = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema

    def label(self) -> str:
        return _bounds_label("integer", self.minimum, self.maximum)


@dataclass(frozen=True, kw_only=True)
class Number(SettingType):
    """A number (decimals allowed) within its bounds; a value outside them is reported with
    ``code`` (E005 unless the plugin has its own) and ``hint``."""

    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    code: str | None = None
    hint: str = ""
    #: The unit the number counts, in Chinese (秒), for the messages.
    unit: str = ""

    def read(self, reader, node, path):
        import yaml

        value = reader.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            example = f"，例如 4{self.unit}" if self.unit else ""
            reader.wrong_type(node, path, f"“{path}”应为数字{example}", f"'{path}' must be a number")
            return None
        try:
            finite = math.isfinite(float(value))
        except OverflowError:  # an integer of hundreds of digits: beyond any float
            finite = False
        if (not finite or (self.minimum is not None and value < self.minimum)
                or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
                or (self.maximum is not None and value > self.maximum)):
            # A number of 400 digits is named by its size, not printed whole (nor formatted as a float).
            written = str(value) if not finite else f"{value:g}"
            shown = written if len(written) <= 12 else f"{written[:8]}…（{len(written)} 位）"
            message = f"“{path}”的 {shown}{self.unit}不可用：应{self._bounds_zh()}"
            message_en = f"'{path}' {shown} is refused: it must be {self._bounds_en()}"
            if self.code is None:
                reader.wrong_type(node, path, message, message_en, self.hint)
            else:
                reader.report(self.code, node, message, message_en, hint=self.hint)
            return None
        return value

    def _bounds_zh(self) -> str:
        parts = []
        if self.exclusive_minimum is not None:
            parts.append(f"大于 {self.exclusive_minimum:g}")
        if self.minimum is not None:
            parts.append(f"不小于 {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"不超过 {self.maximum:g}{self.unit}")
        return "、".join(parts)

    def _bounds_en(self) -> str:
        parts = []
        if self.exclusive_minimum is not None:
            parts.append(f"above {self.exclusive_minimum:g}")
        if self.minimum is not None:
            parts.append(f"at least {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"at most {self.maximum:g}")
        return " and ".join(parts)

    def json_schema(self) -> dict:
        schema: dict = {"type": "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.exclusive_minimum is not None:
            schema["exclusiveMinimum"] = self.exclusive_minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema

    def label(self) -> str:
        return _bounds_label("number", self.minimum, self.maximum, self.exclusive_minimum)


@dataclass(frozen=True, kw_only=True)
class Boolean(SettingType):
    """true or false (是/否 too)."""

    def read(self, reader, node, path):
        return reader.boolean(node, path)

    def json_schema(self) -> dict:
        return {"type": "boolean"}

    def label(self) -> str:
        return "true/false"


@dataclass(frozen=True, kw_only=True)
class Date(SettingType):
    """A day: 2023-09-01 (or 2023/9/1, 2023年9月1日)."""

    def read(self, reader, node, path):
        return reader.date(node, path)

    def json_schema(self) -> dict:
        return {"type": "string", "format": "date"}

    def label(self) -> str:
        return "date"


@dataclass(frozen=True, kw_only=True)
class Choice(SettingType):
    """One of ``choices`` (text)."""

    choices: tuple[str, ...]

    def read(self, reader, node, path):
        value = reader.text(node, path)
        if value is not None and value not in self.choices:
            reader.wrong_type(node, path, f"“{path}”写的“{value}”不是可选的值", f"'{path}': '{value}' is no choice",
                          hint="可选：" + "、".join(self.choices))
            return None
        return value

    def json_schema(self) -> dict:
        return {"enum": list(self.choices)}

    def label(self) -> str:
        return "one of " + ", ".join(self.choices)


@dataclass(frozen=True, kw_only=True)
class ListOf(SettingType):
    """A list (``- `` items, or ``[a, b]``) of values of ``item``; items that are unusable (or
    empty) are left out, each reported at its own line."""

    item: SettingType
    min_items: int | None = None

    def read(self, reader, node, path):
        import yaml

        items = reader.sequence(node, path)
        if not isinstance(node, yaml.SequenceNode):
            return None  # no list (reported as E005): the default holds, not an empty list
        values = []
        for index, item_node in enumerate(items):
            reader.locations[f"{path}.{index}"] = reader.loc(item_node)
            value = self.item.read(reader, item_node, f"{path}.{index}")
            if value is not None:
                values.append(value)
        return tuple(values)

    def json_schema(self) -> dict:
        schema: dict = {"type": "array", "items": self.item.json_schema()}
        if self.min_items is not None:
            schema["minItems"] = self.min_items
        return schema

    def label(self) -> str:
        return f"list of {self.item.label()}"


@dataclass(frozen=True, kw_only=True)
class Fields(SettingType):
    """A block of nested settings (``key: value`` lines indented below the key). Its value is a
    dict of the keys written (each read by its own type); an unknown key is W006."""

    fields: tuple[Setting, ...]

    def read(self, reader, node, path):
        return read_settings(reader, reader.mapping(node, path, self.names()), self.fields, prefix=path)

    def names(self) -> tuple[str, ...]:
        return tuple(setting.name for setting in self.fields)

    def json_schema(self) -> dict:
        return object_schema(self.fields)

    def label(self) -> str:
        return "block"

    def field(self, name: str) -> Setting:
        return next(setting for setting in self.fields if setting.name == name)

    def defaults(self) -> dict[str, object]:
        """Each nested key's default (what a block that says nothing means)."""
        return {setting.name: setting.default for setting in self.fields}


# --------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One key: its name, type, default and what it changes.

    Plugins offer theirs with the ``weike_settings`` hook: loading then accepts the key (no W006
    "unknown key"), reads its node with ``type`` (a wrong value is E005 at its line) and stores
    the result under ``name`` in ``WeikeConfig.plugin_settings`` (and, with ``course=True``,
    ``Course.plugin_settings``); a key the file does not set is absent there and
    :meth:`value_in` gives the default. The value is part of what every skip layer fingerprints.
    The core declares its own files' fields with the same class (nested in :class:`Fields`).
    """

    name: str
    type: SettingType = field(default_factory=Anything)
    #: The value when the key is not written (``None``: no value; shown in listings and docs).
    default: object = None
    #: What the key changes: Chinese for teachers and editors, English beside it.
    description: str
    description_en: str
    #: Also a key of each ``course.yml`` (the course's value is laid over weike.yml's).
    course: bool = False
    #: ``weike.yml`` or ``mkdocs.yml`` (under ``extra: weike:``).
    file: str = WEIKE_YML
    #: The file is incomplete without it (editors flag it; the rules report it, with their code).
    required: bool = False
    #: After the typed read: ``check(reader, node, path, value)`` returns the value to keep (or
    #: ``None``, having reported why with ``reader.report`` and the plugin's own code).
    check: Callable[..., object] | None = None

    def read(self, reader: FieldReader, node: yaml.Node, path: str | None = None) -> object:
        """The value ``node`` holds (``None``: nothing usable, already reported)."""
        path = path or self.name
        value = self.type.read(reader, node, path)
        if value is not None and self.check is not None:
            value = self.check(reader, node, path, value)
        return value

    def value_in(self, values: Mapping[str, object]) -> object:
        """This key's value in ``values`` (``plugin_settings``), else its default."""
        value = values.get(self.name)
        return self.default if value is None else value

    def default_text(self) -> str:
        """The default as a YAML author would write it ("" when there is none)."""
        return yaml_text(self.default)


def yaml_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.date, int, float, str)):
        return value.isoformat() if isinstance(value, _dt.date) else (f"{value:g}" if isinstance(value, float)
                                                                       else str(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {yaml_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, Iterable):
        return "[" + ", ".join(yaml_text(item) for item in value) + "]"
    return str(value)


def read_settings(reader: FieldReader, fields: Mapping[str, yaml.Node], settings: Iterable[Setting], *,
                  prefix: str = "") -> dict[str, object]:
    """The values of the ``settings`` written in ``fields`` (a mapping's key -> node), each read
    by its own declaration; a key not written, or written with nothing usable, is absent."""
    values: dict[str, object] = {}
    for setting in settings:
        node = fields.get(setting.name)
        if node is None:
            continue
        if (value := setting.read(reader, node, f"{prefix}.{setting.name}" if prefix else setting.name)) is not None:
            values[setting.name] = value
    return values


def object_schema(settings: Iterable[Setting]) -> dict:
    """The JSON Schema of a block holding ``settings`` (no other key)."""
    settings = tuple(settings)
    schema: dict = {"type": "object", "additionalProperties": False}
    if required := [setting.name for setting in settings if setting.required]:
        schema["required"] = required
    schema["properties"] = {setting.name: setting_schema(setting) for setting in settings}
    return schema


def setting_schema(setting: Setting) -> dict:
    """One key's JSON Schema: its type's, with the description (Chinese, then English) and default."""
    schema = {"title": re.split(r"[：，（(]", setting.description, maxsplit=1)[0].strip(),
              "description": f"{setting.description} ({setting.description_en})", **setting.type.json_schema()}
    if setting.default is not None:
        schema["default"] = _json_value(setting.default)
    return schema


def _json_value(value: object) -> object:
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_json_value(item) for item in value]
    return value


def nested_field(fields: Iterable[Setting], path: str) -> Setting:
    """The declaration at ``path`` (``provider.name``, ``instructors.name``) among ``fields``:
    list items are looked into as if the list were their block."""
    head, _, rest = path.partition(".")
    setting = next(setting for setting in fields if setting.name == head)
    if not rest:
        return setting
    kind = setting.type
    while isinstance(kind, ListOf):
        kind = kind.item
    if not isinstance(kind, Fields):
        raise KeyError(path)
    return nested_field(kind.fields, rest)


def max_length(fields: Iterable[Setting], path: str) -> int:
    """The declared ``max_length`` of the text at ``path``: the one number the editors' schema
    and the rules' length checks share."""
    kind = nested_field(fields, path).type
    if not isinstance(kind, Text) or kind.max_length is None:
        raise KeyError(f"{path} declares no max_length")
    return kind.max_length


# --------------------------------------------------------------------------------------------
# Listing: weike plugins, docs/settings.md
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SettingRow:
    """One key as listings show it; a block's keys follow it as ``block.key``."""

    key: str
    files: str
    type: str
    default: str
    description: str
    description_en: str


def setting_rows(setting: Setting, prefix: str = "", files: str | None = None) -> list[SettingRow]:
    """``setting`` and, for a block, each nested key (``title_cards.opening``), as listing rows."""
    if files is None:
        files = "mkdocs.yml extra.weike" if setting.file == MKDOCS_YML else (
            "weike.yml, course.yml" if setting.course else setting.file)
    key = f"{prefix}{setting.name}"
    rows = [SettingRow(key=key, files=files, type=setting.type.label(), default=setting.default_text(),
                       description=setting.description, description_en=setting.description_en)]
    if isinstance(setting.type, Fields):
        for nested in setting.type.fields:
            rows.extend(setting_rows(nested, f"{key}.", files))
    return rows


def setting_dict(setting: Setting) -> dict:
    """``setting`` as plain data (``weike plugins --format json``)."""
    found = {"name": setting.name, "file": setting.file, "course": setting.course, "type": setting.type.label(),
             "default": _json_value(setting.default), "description": setting.description,
             "description_en": setting.description_en, "schema": setting.type.json_schema()}
    if isinstance(setting.type, Fields):
        found["fields"] = [setting_dict(nested) for nested in setting.type.fields]
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_markdown(owners: Iterable[tuple[str, Iterable[Setting]]]) -> str:
    """The settings reference (``docs/settings.md``): one table per owner (the core, each plugin)."""
    lines = [
        "# 设置 Settings",
        "",
        "<!-- Made by `weike plugins --format markdown`; tests/builder/contracts/test_settings.py checks it matches. -->",
        "",
        "Every key weike reads from `weike.yml` (the repository's settings), from each `course.yml`",
        "(keys marked so; a course's value is laid over `weike.yml`'s) and from `extra: weike:` in the",
        "site's `mkdocs.yml`, with its type and default. Each is declared once (`Setting`, see",
        "[plugins.md](plugins.md#weike_settings)); the same declaration reads the value (a wrong one is",
        "reported at its line), makes the editors' JSON Schema (`weike schema`) and this page.",
        "所有键都可以不写，不写就用默认值。",
        "",
    ]
    for owner, settings in owners:
        rows = [row for setting in settings for row in setting_rows(setting)]
        if not rows:
            continue
        lines += [f"## `{owner}`", "", "| 键 key | 写在 file | 类型 type | 默认 default | 说明 description |",
                  "|---|---|---|---|---|"]
        for row in rows:
            default = f"`{_cell(row.default)}`" if row.default else ""
            lines.append(f"| `{row.key}` | {row.files} | {_cell(row.type)} | {default} | "
                         f"{_cell(row.description)} ({_cell(row.description_en)}) |")
        lines.append("")
    return "\n".join(lines)
