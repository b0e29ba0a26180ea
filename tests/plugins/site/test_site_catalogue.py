"""学时, durations, the site's URL scheme and the bytes of catalogue.json."""

from __future__ import annotations

import json

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


#: Strings an author may write (or a file name hold): markup, quotes, escapes, control characters,
#: line and paragraph separators, a lone surrogate's replacement, characters outside the BMP.
HOSTILE_TEXTS = ["<script>alert('x')</script>", 'say "hi" \\ back\\slash', "tab\tline\nfeed\r\x00\x1f\x7f",
                 "\u2028\u2029\ufeff\ufffd", "𠀀𪚥 emoji 😀", "", " ", "课程：社区&教育"]


def test_indented_json_is_the_text_json_dumps_writes_with_indent_1():
    from weike.plugins.site.catalogue import indented_json

    value = {"s": HOSTILE_TEXTS, "n": [0, -1, 10**20, 1.5, 0.1 + 0.2, 1e-7, 1e300, -0.0, float("nan"),
                                       float("inf"), float("-inf"), round(12.34567, 3)],
             "b": [True, False, None], "empty": {"list": [], "dict": {}, "tuple": ()},
             "deep": [[{"a": [{"b": {"c": []}}]}]], **{text: text for text in HOSTILE_TEXTS}}
    for indent in ("", "  "):
        assert indented_json(value, indent) == json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n" + indent)
    assert indented_json({1: "a", None: [2]}) == json.dumps({1: "a", None: [2]}, ensure_ascii=False, indent=1)
    with pytest.raises(TypeError):
        indented_json({"a": object()})


def test_catalogue_json_is_json_dumps_with_indent_1_of_what_it_holds_even_for_hostile_values():
    """catalogue.json is written course by course (each course's part remembered with its pages):
    its bytes are those of json.dumps(..., ensure_ascii=False, indent=1) of the whole."""
    import dataclasses
    from pathlib import Path

    from benchmarks.search_recall import catalogue_of
    from weike.builder.contracts.model import DeliveredMedia, Instructor
    from weike.plugins.site.catalogue import Catalogue, SiteCourse, SiteLecture, catalogue_json

    root = Path(__file__).resolve().parents[3]
    courses = []
    for number, item in enumerate(catalogue_of(root).by_title):
        hostile = HOSTILE_TEXTS[number % len(HOSTILE_TEXTS)]
        course = dataclasses.replace(item.course, title=hostile + item.title, summary=hostile or None,
                                     tags=tuple(HOSTILE_TEXTS[:number + 1]),
                                     instructors=tuple(Instructor(name=text, bio=None if n % 2 else text)
                                                       for n, text in enumerate(HOSTILE_TEXTS[number:])))
        lectures = []
        for index, lecture in enumerate(item.lectures):
            text = HOSTILE_TEXTS[(number + index) % len(HOSTILE_TEXTS)]
            media = None if index == 1 else DeliveredMedia(
                course_slug=course.slug, lecture_slug=lecture.lecture.slug, path=Path("x.mp4"),
                duration=[61.234567, 0.1 + 0.2, 1e-7, 900.0][index % 4], size=10**10 + index, sha256=text,
                source_sha256="0" * 64, profile="p", poster=Path(f"poster{index}.JPG") if index % 2 else None,
                subtitles=Path("s.vtt") if index % 3 else None)
            lectures.append(SiteLecture(lecture=dataclasses.replace(lecture.lecture, title=text or None,
                                                                   knowledge_point=text, form=None),
                                        media=media, saver_file=None))
        courses.append(SiteCourse(course=course, lectures=tuple(lectures)))
    courses.append(dataclasses.replace(courses[0], course=dataclasses.replace(courses[0].course, slug="empty",
                                                                              tags=(), instructors=()), lectures=()))
    catalogue = Catalogue(courses=tuple(courses), site_url=HOSTILE_TEXTS[0])
    written = catalogue_json(catalogue, generator=HOSTILE_TEXTS[1])
    data = json.loads(written)
    assert len(data["courses"]) == len(courses) and any(c["lectures"] for c in data["courses"])
    assert written == json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
