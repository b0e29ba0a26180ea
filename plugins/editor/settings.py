"""The ``weike.yml`` keys the editor reads (declared with ``weike_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from weike.builder.model import Setting, WeikeConfig
from weike.builder.reading import FieldReader

EDITOR_KEYS = ("commit",)


@dataclass(frozen=True, kw_only=True)
class EditorSettings:
    #: Each save is one Git commit (when the repository is a Git repository).
    commit: bool = True


def read_editor(reader: FieldReader, node, path: str) -> EditorSettings:
    fields = reader.mapping(node, path, EDITOR_KEYS)
    commit = reader.boolean(fields.get("commit"), f"{path}.commit")
    return EditorSettings(commit=True if commit is None else commit)


SETTINGS = (
    Setting(name="editor", read=read_editor,
            help="weike edit: commit: false stops the one Git commit per save (default true)"),
)


def editor_settings(config: WeikeConfig) -> EditorSettings:
    return config.plugin_settings.get("editor") or EditorSettings()
