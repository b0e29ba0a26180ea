"""The editor capability: ``weike edit``, Decap CMS on the repository through weike's own backend.

This module is the plugin's face. Hooks:

- ``weike_settings``: ``settings.py`` (the ``editor`` block of ``weike.yml``).
- ``weike_cli_commands``: ``command.py`` (``weike edit``).
- ``weike_new_repository``: ``launchers.py`` (double-click launchers for Windows and macOS).
- ``weike_site_assets``: ``hosted.py`` (with ``editor.backend`` in ``weike.yml``, the hosted
  editor in the site's ``admin/``, editing the shared repository through the Git host).

Beneath them: ``server.py`` (HTTP on 127.0.0.1, Host/Origin checks, size caps, the streamed
upload), ``protocol.py`` (Decap's local-backend actions), ``files.py`` (containment, atomic
writes, conflicts), ``folders.py`` (pinyin folder names), ``history.py`` (one Git commit per
save), ``config.py`` (Decap's configuration from the schemas), ``checks.py`` (the rules after a
save); ``page/`` holds weike's part of the page (the preview templates, ``weike-preview.js``,
are the local and the hosted editor's), ``vendor/`` the unchanged Decap bundle.
"""

from __future__ import annotations

from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Setting
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


@hookimpl
def weike_site_assets(context) -> list:
    """The hosted editor in ``admin/`` when ``weike.yml`` names a Git host (off by default)."""
    from weike.builder.running.plugin_manager import declared_settings
    from weike.plugins.editor.hosted import hosted_assets
    from weike.plugins.editor.settings import editor_settings

    hosted = editor_settings(context.config).hosted
    if hosted is None:
        return []
    return hosted_assets(hosted, declared_settings(context.plugin_manager))
