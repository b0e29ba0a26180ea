"""The ``weike.yml`` keys the editor reads (declared with ``weike_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from weike.builder.model import WeikeConfig
from weike.builder.settings import Boolean, Fields, Setting

EDITOR = Setting(
    name="editor",
    description="浏览器编辑器（weike edit）的设置", description_en="weike edit, the browser editor",
    type=Fields(fields=(
        Setting(name="commit", type=Boolean(), default=True,
                description="每次保存记一次 Git 提交，便于找回以前的版本（默认是）",
                description_en="each save is one Git commit, so any earlier version can be brought back (default true)"),
    )))
SETTINGS = (EDITOR,)
EDITOR_KEYS = EDITOR.type.names()


@dataclass(frozen=True, kw_only=True)
class EditorSettings:
    #: Each save is one Git commit (when the repository is a Git repository).
    commit: bool = True


def editor_settings(config: WeikeConfig) -> EditorSettings:
    values = EDITOR.value_in(config.plugin_settings) or {}
    return EditorSettings(commit=values.get("commit", True) is not False)
