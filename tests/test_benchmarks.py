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


def test_scale_sets_the_site_stage_alone_against_hugo_and_shows_the_offline_edition_beside_it():
    from benchmarks.scale import SITE_PER_HUGO, format_table, site_figures

    rows = {figure.name.strip(): figure for figure in site_figures({"check": 9.0, "site": 2.5, "offline": 1.5}, 1.25)}
    assert rows["its site stage"].value == 2.5 and rows["its offline stage"].value == 1.5
    assert rows["site stage / Hugo"].value == 2.0 and rows["site stage / Hugo"].limit == SITE_PER_HUGO
    both = rows["site + offline stages / Hugo"]
    assert both.value == 3.2 and both.limit is None and not both.target  # no target: Hugo makes no edition
    assert "second rendering of every page" in both.note
    header, rule, *lines = format_table(site_figures({"site": 2.5, "offline": 1.5}, 1.25), walk=0.5, full=20.0)
    cells = {line.split("  ")[0].strip(): re.split(r"\s{2,}", line.strip())[1:] for line in lines}
    assert cells["site stage / Hugo"][:5] == ["2.00x", "-", "-", "<= 2x", "✓"]
    assert cells["site + offline stages / Hugo"] == ["3.20x", "-", "-", "-", "-", "(no target: the offline edition "
                                                         "is a second rendering of every page, for file://, which "
                                                         "Hugo's run does not make)"]
    # A build without the offline stage (or Hugo not installed) leaves the figures it cannot make empty.
    missing = {figure.name.strip(): figure.value for figure in site_figures({"site": 2.5}, None, "Hugo not installed")}
    assert missing["its offline stage"] is None and missing["site stage / Hugo"] is None
    assert missing["site + offline stages / Hugo"] is None


def test_scale_sets_the_faster_of_its_two_cold_site_stages_against_hugo_as_hugo_is_its_fastest_run():
    from benchmarks.scale import site_figures

    # The full build's site stage slowed by the machine: the cold build's, the same work, counts.
    rows = {figure.name.strip(): figure for figure in
            site_figures({"site": 3.0, "offline": 1.0}, 1.25, cold_stages={"site": 2.5, "offline": 1.2})}
    assert rows["its site stage"].value == 3.0 and rows["the cold build's site stage"].value == 2.5
    assert rows["site stage / Hugo"].value == 2.0 and "faster of the two" in rows["site stage / Hugo"].note
    # ... and the other way round; the offline figure stays the full build's.
    rows = {figure.name.strip(): figure for figure in
            site_figures({"site": 2.5, "offline": 1.0}, 1.25, cold_stages={"site": 3.0})}
    assert rows["site stage / Hugo"].value == 2.0 and rows["site + offline stages / Hugo"].value == 2.8
    # Without a cold build there is one sample and no row for the other.
    rows = {figure.name.strip(): figure for figure in site_figures({"site": 3.0}, 1.25)}
    assert "the cold build's site stage" not in rows and rows["site stage / Hugo"].value == 2.4
