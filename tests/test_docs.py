"""Docs stay true: every hook has a section, every diagnostic code is in the rule reference."""

from __future__ import annotations

import importlib
import re

from weike.builder.contracts import hookspecs
from tests.conftest import REPO_ROOT


def spec_modules() -> list:
    """The core's hook specs and every capability's own (``plugins/<capability>/hookspecs.py``)."""
    capabilities = sorted(path.parent.name for path in (REPO_ROOT / "plugins").glob("*/hookspecs.py"))
    return [hookspecs, *(importlib.import_module(f"weike.plugins.{name}.hookspecs") for name in capabilities)]


def hook_specs() -> dict[str, object]:
    """Hook name -> its spec function, from every spec module (a hook is specified once)."""
    specs: dict[str, object] = {}
    for module in spec_modules():
        for name in dir(module):
            if name.startswith("weike_"):
                assert name not in specs, f"{name} is specified twice"
                specs[name] = getattr(module, name)
    return specs


def test_capability_hooks_are_collected():
    assert {"weike_check_course", "weike_media_profiles", "weike_bundle_targets"} <= set(hook_specs())


def test_every_hook_is_documented():
    text = (REPO_ROOT / "docs/plugins.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(hook_specs()) if f"### `{name}(" not in text]
    assert not missing, f"document these hooks in docs/plugins.md: {missing}"


def test_every_hook_has_a_docstring():
    for name, spec in hook_specs().items():
        assert (spec.__doc__ or "").strip(), name


def test_every_diagnostic_code_is_in_the_rule_reference():
    reference = (REPO_ROOT / "docs/rules.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| ([EW]\d{3}) \|", reference, flags=re.M))
    used = set()
    for folder in ("builder", "plugins"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"""["']([EW]\d{3})["']""", path.read_text(encoding="utf-8")))
    assert used - documented == set(), f"add to docs/rules.md: {sorted(used - documented)}"
    assert documented - used == set(), f"no longer used, remove from docs/rules.md: {sorted(documented - used)}"
