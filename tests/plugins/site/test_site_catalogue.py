"""学时, durations and the site's URL scheme."""

from __future__ import annotations

import pytest

from weike.plugins.site.catalogue import THEME_SLUGS, format_duration, format_total, study_hours
from weike.plugins.site.nav import page_url


@pytest.mark.parametrize(("minutes", "hours"), [(1, 0.5), (12, 0.5), (22.5, 0.5), (23, 1.0), (45, 1.0),
                                                 (50, 1.5), (67.5, 1.5), (90, 2.0), (91, 2.5)])
def test_study_hours_are_45_minute_units_rounded_up_to_a_half(minutes, hours):
    assert study_hours(minutes * 60) == hours


def test_durations_read_like_a_video_player_and_in_words():
    assert format_duration(65) == "1:05" and format_duration(3725) == "1:02:05"
    assert format_total(20) == "1 分钟" and format_total(48 * 60) == "48 分钟"
    assert format_total(65 * 60) == "1 小时 5 分钟" and format_total(120 * 60) == "2 小时"


def test_every_theme_has_a_distinct_ascii_slug():
    assert len(set(THEME_SLUGS.values())) == 10
    assert all(slug.isascii() and slug.replace("-", "").isalpha() for slug in THEME_SLUGS.values())


def test_page_urls_are_directory_urls():
    assert page_url("about.md") == "about/" and page_url("themes/x.md") == "themes/x/"
    assert page_url("guide/index.md") == "guide/"


def test_the_sitemap_is_the_bytes_elementtree_writes_even_for_hostile_addresses():
    """The sitemap is written as text (no tree of 13,000 elements): the same bytes as ElementTree's
    for the same elements, markup escaped and what XML cannot hold dropped."""
    from xml.etree import ElementTree

    from weike.builder.keeping.xmltext import xml_safe_tree
    from weike.plugins.site.catalogue import SITEMAP_NS, Catalogue, sitemap_xml

    hostile = ["about/", "a&b/<script>x</script>/", "引号'\"/", "ctl\x01\x0b\ufffe/", "]]>/", "tab\tline\nend/"]
    catalogue = Catalogue(courses=(), site_url="https://weike.example.gov.cn/县&区<1>/")
    ElementTree.register_namespace("", SITEMAP_NS)
    root = ElementTree.Element(f"{{{SITEMAP_NS}}}urlset")
    for url in ["", *hostile]:
        entry = ElementTree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ElementTree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = catalogue.absolute(url)
    expected = ElementTree.tostring(xml_safe_tree(root), encoding="utf-8", xml_declaration=True) + b"\n"
    written = sitemap_xml(catalogue, hostile)
    assert written == expected
    assert ElementTree.fromstring(written).tag == f"{{{SITEMAP_NS}}}urlset"  # well-formed
