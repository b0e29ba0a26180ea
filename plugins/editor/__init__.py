"""The editor capability: ``weike edit``, Decap CMS on the repository through weike's own backend.

This module is the plugin's face. Hooks:

- ``weike_settings``: ``settings.py`` (the ``editor`` block of ``weike.yml``).
- ``weike_cli_commands``: ``command.py`` (``weike edit``).
- ``weike_new_repository``: ``launchers.py`` (double-click launchers for Windows and macOS).

Beneath them: ``server.py`` (HTTP on 127.0.0.1, Host/Origin checks, size caps, the streamed
upload), ``protocol.py`` (Decap's local-backend actions), ``files.py`` (containment, atomic
writes, conflicts), ``folders.py`` (pinyin folder names), ``history.py`` (one Git commit per
save), ``config.py`` (Decap's configuration from the schemas), ``checks.py`` (the rules after a
save); ``page/`` holds weike's part of the page, ``vendor/`` the unchanged Decap bundle.
"""

from __future__ import annotations

from weike.builder.hookspecs import hookimpl
from weike.builder.model import Setting
from weike.plugins.editor import settings


@hookimpl
def weike_settings() -> tuple[Setting, ...]:
    return settings.SETTINGS


@hookimpl
def weike_cli_commands(subparsers) -> None:
    from weike.plugins.editor.command import add_edit_command

    add_edit_command(subparsers)


@hookimpl
def weike_new_repository(folder) -> None:
    from weike.plugins.editor.launchers import write_launchers

    write_launchers(folder)
