"""``weike_site_assets`` with ``folder``: a plugin's own top-level folder of the site (the hosted
editor's ``admin/``), through real builds; the offline edition leaves it out; misuse is E411."""

from __future__ import annotations

import zipfile

import pytest

from tests.plugins.site.test_site_pages import of_code

pytestmark = pytest.mark.slow


def folder_plugin(assets: str) -> str:
    """A plugin file whose ``weike_site_assets`` returns the Python expression ``assets``."""
    return ("from weike.builder.contracts.hookspecs import hookimpl\nfrom weike.plugins.site import SiteAsset\n\n\n"
            f"@hookimpl\ndef weike_site_assets():\n    return {assets}\n")


TOOL = folder_plugin('[SiteAsset(folder="tools", path="index.html", data=b"<p>tool</p>"), '
                     'SiteAsset(folder="tools", path="js/tool.js", data=b"var tool = 1;")]')


def test_a_plugin_publishes_its_own_folder_which_the_offline_edition_leaves_out(built_site):
    built = built_site({"plugins/county_tool.py": TOOL})
    assert not [d for d in built.result.diagnostics if d.is_error], built.result.diagnostics
    assert (built.site / "tools/index.html").read_bytes() == b"<p>tool</p>"  # as given, no theme around it
    assert (built.site / "tools/js/tool.js").read_bytes() == b"var tool = 1;"
    assert "tools/" not in built.html("")  # no page links it or loads it
    offline = built.site.parent / "offline"
    assert (offline / "index.html").is_file() and not (offline / "tools").exists()
    from weike.builder.cli import main

    assert main(["offline", str(built.root)]) == 0  # the zip is packed on request
    with zipfile.ZipFile(next(offline.glob("*.zip"))) as archive:
        assert not [name for name in archive.namelist() if "/tools/" in name]


@pytest.mark.parametrize("assets", [
    '[SiteAsset(folder="courses", path="index.html", data=b"x")]',            # weike's own section
    '[SiteAsset(folder="search", path="search_index.json", data=b"{}")]',      # Material's search
    '[SiteAsset(folder="../up", path="index.html", data=b"x")]',              # leaves the site
    '[SiteAsset(folder="Tools", path="index.html", data=b"x")]',              # not one lower-case name
    '[SiteAsset(folder="tools", path="tool.js", data=b"x", load="script")]',  # no page loads a folder's file
])
def test_a_folder_that_is_not_the_plugins_to_take_is_e411(built_site, assets):
    built = built_site({"plugins/bad_tool.py": folder_plugin(assets)})
    [error] = of_code(built.result, "E411")
    assert (error.location.file, error.location.line) == ("plugins/bad_tool.py", 5)  # the hook implementation
    assert (built.site / "courses/demo/index.html").is_file()  # the rest of the site is built
    assert not (built.site / "tools").exists() and not (built.site / "up").exists()


def test_a_folder_taken_by_another_plugin_or_by_site_is_e411(built_site):
    built = built_site({"plugins/a_tool.py": TOOL, "plugins/b_tool.py": TOOL.replace("tool", "other"),
                        "plugins/c_tool.py": folder_plugin('[SiteAsset(folder="tools", path="c.js", data=b"c")]'),
                        "plugins/d_tool.py": folder_plugin('[SiteAsset(folder="about", path="d.js", data=b"d")]'),
                        "site/about.md": "# 关于\n"})
    assert sorted(e.location.file for e in of_code(built.result, "E411")) == ["plugins/c_tool.py",
                                                                               "plugins/d_tool.py"]
    assert (built.site / "tools/index.html").read_bytes() == b"<p>tool</p>" and not (built.site / "tools/c.js").exists()
    assert (built.site / "about/index.html").is_file() and not (built.site / "about/d.js").exists()
