"""Every benchmark still imports: they are not run by the suite (speed is measured, not asserted),
so a renamed function they use would otherwise surface only when someone needs the figures."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.conftest import REPO_ROOT

BENCHMARKS = sorted(p.stem for p in (REPO_ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_imports_and_has_a_main(name):
    module = importlib.import_module(f"benchmarks.{name}")
    if name not in ("catalogue", "static_server"):  # shared helpers (the synthetic catalogue, a server), not commands
        assert callable(module.main), name


def test_scale_table_gives_ratios_to_the_stat_walk_and_full_build_and_a_verdict_per_target():
    from benchmarks.scale import Figure, format_table, ratio

    assert ratio(3.0, 0.5) == "6.00x"
    assert ratio(None, 0.5) == ratio(3.0, 0.0) == "-"
    figures = [
        Figure(name="full build", value=100.0, target="<= 90 s", limit=90.0),
        Figure(name="notes edit", value=4.0, target="<= 5 s", limit=5.0),
        Figure(name="site / Hugo", value=1.5, unit="x", target="<= 2x", limit=2.0),
        Figure(name="search", value=None, target="<= 2 s", limit=2.0, note="--no-browser"),
        Figure(name="peak", value=900.0, unit="MB", target="<= 1536 MB", limit=1536.0),
    ]
    header, rule, *rows = format_table(figures, walk=0.5, full=100.0)
    assert re.split(r"\s{2,}", header)[:5] == ["figure", "value", "/ stat walk", "/ full build", "target"]
    assert set(rule) <= {"-", " "}
    cells = {row.split("  ")[0]: re.split(r"\s{2,}", row)[1:] for row in rows}
    assert cells["full build"] == ["100.0 s", "200x", "1.00x", "<= 90 s", "✗"]
    assert cells["notes edit"] == ["4.00 s", "8.00x", "0.04x", "<= 5 s", "✓"]
    assert cells["site / Hugo"] == ["1.50x", "-", "-", "<= 2x", "✓"]  # a factor: no time ratios
    assert cells["search"] == ["-", "-", "-", "<= 2 s", "-", "(--no-browser)"]
    assert cells["peak"] == ["900 MB", "-", "-", "<= 1536 MB", "✓"]


def test_scale_compares_dist_trees_file_by_file_but_the_build_records(tmp_path):
    from benchmarks.scale import differing_files

    for side in ("incremental", "cold"):
        (tmp_path / side / "site" / "a").mkdir(parents=True)
        (tmp_path / side / "site" / "a" / "index.html").write_text("<p>同</p>", encoding="utf-8")
        (tmp_path / side / "site" / ".weike-site.json").write_text(side, encoding="utf-8")  # file times differ
    incremental, cold = tmp_path / "incremental", tmp_path / "cold"
    assert differing_files(incremental, cold) == []
    (cold / "site" / "a" / "index.html").write_text("<p>异</p>", encoding="utf-8")
    (cold / "site" / "feed.xml").write_text("", encoding="utf-8")
    assert differing_files(incremental, cold) == ["site/a/index.html", "site/feed.xml"]


def test_scale_reads_the_websites_own_seconds_from_the_site_stage_summary():
    from benchmarks.scale import website_seconds

    line = ("site: 1000 门课程，13015 个网页（本次渲染 13015 个）-> /x/dist/site (13015 rendered, 8.9 s)")
    assert website_seconds({"summary": ["media: ...", line, "offline: 离线版 ..."]}) == 8.9
    assert website_seconds({"summary": ["site: 输入没有变化，沿用已有网站 (inputs unchanged, kept /x)"]}) is None
    assert website_seconds({}) is None
