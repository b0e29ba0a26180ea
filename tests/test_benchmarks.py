"""Every benchmark still imports: they are not run by the suite (speed is measured, not asserted),
so a renamed function they use would otherwise surface only when someone needs the figures."""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import REPO_ROOT

BENCHMARKS = sorted(p.stem for p in (REPO_ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_imports_and_has_a_main(name):
    module = importlib.import_module(f"benchmarks.{name}")
    if name not in ("catalogue", "static_server"):  # shared helpers (the synthetic catalogue, a server), not commands
        assert callable(module.main), name
