"""The hosted editor: Decap in the catalogue site's ``admin/``, editing the county's shared
repository through the Git host's API and login (``editor.backend`` in ``weike.yml``).

Published with ``weike_site_assets`` in a folder of the editor's own (``admin/``), which the
offline edition leaves out. The configuration comes from the same declarations as ``weike edit``'s
(:func:`weike.plugins.editor.config.editor_config`) with the Git host's backend instead of weike's
local one, and without what only the local server can do (the streamed video upload, the checks
after a save, the lecture folder named from its title). The page may load nothing from outside
the site except the Git host it is configured for: its ``Content-Security-Policy`` names the site
itself and that host's API and login, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from weike.builder.contracts.settings import Setting
from weike.plugins.editor.config import editor_config_yaml
from weike.plugins.editor.settings import HostedEditor
from weike.plugins.site import SiteAsset

FOLDER = "admin"
#: The page's files: (folder in the package, name there, name in admin/). The licences keep their
#: text under names the site's file rules allow.
_FILES = (
    ("page", "manual-init.js", "manual-init.js"),
    ("page", "weike-preview.js", "weike-preview.js"),
    ("page", "weike-preview.css", "weike-preview.css"),
    ("page", "weike-start.js", "weike-start.js"),
    ("vendor", "decap-cms.js", "decap-cms.js"),
    ("vendor", "LICENSE", "decap-cms-license.txt"),
    ("vendor", "decap-cms.js.LICENSE.txt", "decap-cms-notices.txt"),
)


def site_style() -> bytes:
    """The catalogue's own style sheet, which the preview pane uses to look like the site."""
    return resources.files("weike.plugins.site").joinpath("theme/overrides/assets/weike/weike.css").read_bytes()


def content_security_policy(hosted: HostedEditor) -> str:
    """The admin page's policy: its own files, and the Git host's API and login only."""
    host = " ".join(hosted.origins())
    return ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' blob: data: {host}; media-src 'self' blob: data:; font-src 'self' data:; "
            f"connect-src 'self' blob: data: {host}; worker-src 'self' blob:; frame-src 'self'; "
            f"form-action 'self' {host}; object-src 'none'; base-uri 'self'")


def admin_page(hosted: HostedEditor) -> bytes:
    from html import escape

    template = resources.files("weike.plugins.editor").joinpath("page", "admin.html").read_text(encoding="utf-8")
    # In a double-quoted attribute: its single quotes stay as they are, readable.
    policy = escape(content_security_policy(hosted), quote=False).replace('"', "&quot;")
    return template.replace("{csp}", policy).encode("utf-8")


def hosted_assets(hosted: HostedEditor, settings: Iterable[Setting]) -> list[SiteAsset]:
    """Every file of ``admin/`` for ``hosted``, the repository's plugins' ``settings`` included."""
    package = resources.files("weike.plugins.editor")
    files = [SiteAsset(folder=FOLDER, path="index.html", data=admin_page(hosted)),
             SiteAsset(folder=FOLDER, path="config.yml",
                       data=editor_config_yaml(settings=settings, hosted=hosted).encode("utf-8")),
             SiteAsset(folder=FOLDER, path="weike.css", data=site_style())]
    files += [SiteAsset(folder=FOLDER, path=name, data=package.joinpath(folder, source).read_bytes())
              for folder, source, name in _FILES]
    return files
