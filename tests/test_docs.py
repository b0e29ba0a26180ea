"""Docs stay true: every hook has a section, every diagnostic code is in the rule reference."""

from __future__ import annotations

import re

from weike.builder import hookspecs
from tests.conftest import REPO_ROOT


def hook_names():
    return sorted(name for name in dir(hookspecs) if name.startswith("weike_"))


def test_every_hook_is_documented():
    text = (REPO_ROOT / "docs/plugins.md").read_text(encoding="utf-8")
    missing = [name for name in hook_names() if f"### `{name}(" not in text]
    assert not missing, f"document these hooks in docs/plugins.md: {missing}"


def test_every_hook_has_a_docstring():
    for name in hook_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_every_diagnostic_code_is_in_the_rule_reference():
    reference = (REPO_ROOT / "docs/rules.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| ([EW]\d{3}) \|", reference, flags=re.M))
    used = set()
    for folder in ("builder", "plugins"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"""["']([EW]\d{3})["']""", path.read_text(encoding="utf-8")))
    assert used - documented == set(), f"add to docs/rules.md: {sorted(used - documented)}"
    assert documented - used == set(), f"no longer used, remove from docs/rules.md: {sorted(documented - used)}"
