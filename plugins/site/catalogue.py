"""The catalogue as the website sees it: published courses, their URLs, durations and 学时.

Everything the pages, ``catalogue.json``, the sitemap, the feed and the search index say about a
course is computed here once, from the loaded :class:`~weike.builder.contracts.model.Course` values and the
delivered media, so the outputs cannot disagree with each other.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

from weike.builder.contracts.model import PROVIDER_LEVELS, THEMES, Course, DeliveredMedia, Lecture
from weike.builder.keeping.xmltext import xml_safe_tree, xml_text

#: URL slugs of the ten themes, in the call's order (ASCII, so links survive every chat app).
THEME_SLUGS: Mapping[str, str] = dict(zip(THEMES, (
    "kexue-suzhi", "zhiye-jineng", "laonian-zhihui", "jiating-jiaoyu", "xiangcun-zhenxing",
    "feiyi-chuancheng", "daode-fazhi", "renwen-yishu", "kangyang-jianshen", "shequ-zhili",
), strict=True))

#: URL slugs of the provider levels.
LEVEL_SLUGS: Mapping[str, str] = dict(zip(PROVIDER_LEVELS, ("county", "township", "village"), strict=True))

#: One 学时 (study hour) is 45 minutes of video, the class period that continuing-education
#: credit schemes count in. A course's 学时 is its total video time in those units, rounded up
#: to the next half 学时 (a 12-minute course earns 0.5, a 50-minute course 1.5).
MINUTES_PER_STUDY_HOUR = 45

#: How many courses the home page and the feed show as "newest".
NEWEST_ON_HOME = 8
NEWEST_IN_FEED = 30

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: The sitemap protocol's limit per file.
SITEMAP_MAX_URLS = 50_000


def study_hours(total_seconds: float) -> float:
    """学时 for ``total_seconds`` of video: 45-minute units, rounded up to a half, at least 0.5."""
    units = total_seconds / 60 / MINUTES_PER_STUDY_HOUR
    return max(0.5, math.ceil(units * 2 - 1e-9) / 2)


def format_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) as printed on video players."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_total(seconds: float | None) -> str:
    """A course's total time in words: ``48 分钟`` or ``1 小时 5 分钟``; "" when unknown."""
    if seconds is None:
        return ""
    minutes = max(1, int(round(seconds / 60)))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} 小时 {minutes} 分钟"
    return f"{hours} 小时" if hours else f"{minutes} 分钟"


def format_hours(hours: float) -> str:
    return f"{hours:g}"


@dataclass(frozen=True, kw_only=True)
class SiteLecture:
    """A lecture on the site: its page, its video (``None`` in a preview before media exists)."""

    lecture: Lecture
    media: DeliveredMedia | None
    #: The 省流量 (data-saver) rendition of the video, when the media stage made one for the site (weike.plugins.media.saver).
    saver_file: Path | None = None
    saver_size: int = 0

    @property
    def title(self) -> str:
        return self.lecture.title or self.lecture.slug

    @property
    def url(self) -> str:
        """Page URL relative to the site root (MkDocs directory URLs)."""
        return f"courses/{self.lecture.course_slug}/{self.lecture.slug}/"

    @property
    def video_url(self) -> str:
        return f"media/{self.lecture.course_slug}/{self.lecture.slug}.mp4"

    @property
    def saver_url(self) -> str | None:
        if self.saver_file is None:
            return None
        return f"media/{self.lecture.course_slug}/{self.lecture.slug}.saver.mp4"

    @functools.cached_property
    def poster_url(self) -> str | None:
        """Asked by every page and entry that shows the lecture: worked out once (the poster's
        suffix is a path's to parse)."""
        if self.media is None or self.media.poster is None:
            return None
        return f"media/{self.lecture.course_slug}/{self.lecture.slug}{self.media.poster.suffix.lower()}"

    @property
    def subtitles_url(self) -> str | None:
        if self.media is None or self.media.subtitles is None:
            return None
        return f"media/{self.lecture.course_slug}/{self.lecture.slug}.vtt"

    @property
    def duration(self) -> float:
        return self.media.duration if self.media is not None else 0.0


@dataclass(frozen=True, kw_only=True)
class SiteCourse:
    """A published course with its lectures in order and the figures the pages show."""

    course: Course
    lectures: tuple[SiteLecture, ...]
    #: Cover thumbnail size in pixels (for width/height attributes that prevent layout shift).
    cover_size: tuple[int, int] = (640, 360)

    @property
    def slug(self) -> str:
        return self.course.slug

    @property
    def title(self) -> str:
        return self.course.title or self.course.slug

    @property
    def url(self) -> str:
        return f"courses/{self.slug}/"

    @property
    def cover_url(self) -> str:
        return f"courses/{self.slug}/cover.jpg"

    @property
    def theme_slug(self) -> str | None:
        return THEME_SLUGS.get(self.course.theme or "")

    @property
    def level_slug(self) -> str | None:
        return LEVEL_SLUGS.get(self.course.provider.level or "")

    @property
    def delivered_count(self) -> int:
        """Lectures whose video exists (all of them, except in a preview before ``weike build``)."""
        return sum(1 for item in self.lectures if item.media is not None)

    @property
    def total_seconds(self) -> float | None:
        """The course's video time, or ``None`` while a lecture's video (so its length) is unknown:
        a total of the known ones would be a wrong figure, not a smaller one."""
        if self.delivered_count < len(self.lectures):
            return None
        return sum(item.duration for item in self.lectures)

    @property
    def study_hours(self) -> float | None:
        total = self.total_seconds
        return None if total is None else study_hours(total)

    @property
    def created_key(self) -> tuple:
        """Newest first, then by title: the order of "最新课程" and the feed."""
        created = self.course.created or _dt.date.min
        return (-created.toordinal(), self.title, self.slug)


def site_lectures(course: Course, delivered: Mapping[str, DeliveredMedia],
                  savers: Mapping[str, tuple[Path, int]] | None = None) -> tuple[SiteLecture, ...]:
    """The course's lectures in order; ``savers`` maps a lecture key to its data-saver (file, size)."""
    ordered = sorted(course.lectures, key=lambda lecture: (lecture.number or 0, lecture.slug))
    savers = savers or {}
    return tuple(SiteLecture(lecture=lecture, media=delivered.get(lecture.key),
                             saver_file=savers[lecture.key][0] if lecture.key in savers else None,
                             saver_size=savers[lecture.key][1] if lecture.key in savers else 0)
                 for lecture in ordered)


@dataclass(frozen=True, kw_only=True)
class Catalogue:
    """All published courses, with the groupings the home page needs."""

    courses: tuple[SiteCourse, ...]
    site_url: str | None = None
    #: Courses of the repository left out for their errors (a preview says so beside the count).
    withheld: int = 0

    @property
    def by_title(self) -> list[SiteCourse]:
        return sorted(self.courses, key=lambda c: (c.title, c.slug))

    @property
    def newest(self) -> list[SiteCourse]:
        return sorted(self.courses, key=lambda c: c.created_key)

    def in_theme(self, theme: str) -> list[SiteCourse]:
        return [c for c in self.newest if c.course.theme == theme]

    def at_level(self, level: str) -> list[SiteCourse]:
        return [c for c in self.newest if c.course.provider.level == level]

    @property
    def lecture_count(self) -> int:
        return sum(len(c.lectures) for c in self.courses)

    @property
    def undelivered_count(self) -> int:
        """Lectures without a video yet (only in a preview before ``weike build``)."""
        return sum(len(c.lectures) - c.delivered_count for c in self.courses)

    @property
    def total_seconds(self) -> float | None:
        """All courses' video time; ``None`` while a lecture's length is unknown."""
        totals = [c.total_seconds for c in self.courses]
        return None if None in totals else sum(totals)

    def absolute(self, url: str) -> str | None:
        """``url`` (relative to the site root) as an absolute URL, when ``site_url`` is known."""
        if not self.site_url:
            return None
        return self.site_url.rstrip("/") + "/" + url


# --------------------------------------------------------------------------------------------
# Machine-readable outputs
# --------------------------------------------------------------------------------------------


def catalogue_json(catalogue: Catalogue, *, generator: str, entries: Mapping[str, str] | None = None) -> bytes:
    """``catalogue.json``: every course and lecture, URLs relative to the site root.

    Contact people and phone numbers are left out on purpose: they are for the provincial
    officers' tables, not for a public website. ``entries`` (by course slug) are courses' parts
    as :func:`catalogue_entry` made them in an earlier build (remembered with their pages).
    """
    entries = entries or {}
    data = {
        "generator": generator,
        "site_url": catalogue.site_url,
        "minutes_per_study_hour": MINUTES_PER_STUDY_HOUR,
        "course_count": len(catalogue.courses),
        "lecture_count": catalogue.lecture_count,
        "courses": [],
    }
    # The courses' parts are written one by one (the same bytes json.dumps writes for the whole).
    head = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False)
    if catalogue.courses:
        parts = [entries.get(item.slug) or catalogue_entry(item) for item in catalogue.by_title]
        head = head.removesuffix("[]\n}") + "[\n  " + ",\n  ".join(parts) + "\n ]\n}"
    return head.encode("utf-8") + b"\n"


def catalogue_entry(item: SiteCourse) -> str:
    """One course's part of ``catalogue.json``, indented as it sits there (in ``courses``)."""
    course = item.course
    entry = {
        "slug": item.slug,
        "title": item.title,
        "summary": course.summary,
        "theme": course.theme,
        "created": course.created.isoformat() if course.created else None,
        "tags": list(course.tags),
        "url": item.url,
        "cover": item.cover_url,
        "provider": {"name": course.provider.name, "level": course.provider.level,
                     "region": course.provider.region},
        "instructors": [{"name": person.name, "bio": person.bio} for person in course.instructors],
        "duration": None if item.total_seconds is None else round(item.total_seconds, 3),
        "study_hours": item.study_hours,
        "lectures": [],
    }
    written = indented_json(entry, "  ")
    if not item.lectures:
        return written
    # The lectures (the last key) written into the list's place, each as indented_json would.
    return (written.removesuffix("[]\n  }") + "[\n    " + ",\n    ".join(map(_lecture_entry, item.lectures))
            + "\n   ]\n  }")


def _lecture_entry(lecture: SiteLecture) -> str:
    """A lecture's part of ``catalogue.json`` (in its course's ``lectures``): the text of
    ``indented_json`` for its dict, written field by field."""
    media = lecture.media
    value = indented_json
    if media is None:
        duration = video = "null"
    else:
        duration = value(round(lecture.duration, 3))
        video = ('{\n      "url": ' + value(lecture.video_url) + ',\n      "size": ' + value(media.size)
                 + ',\n      "sha256": ' + value(media.sha256) + ',\n      "poster": ' + value(lecture.poster_url)
                 + ',\n      "subtitles": ' + value(lecture.subtitles_url) + "\n     }")
    return ('{\n     "slug": ' + value(lecture.lecture.slug) + ',\n     "number": ' + value(lecture.lecture.number)
            + ',\n     "title": ' + value(lecture.title) + ',\n     "knowledge_point": '
            + value(lecture.lecture.knowledge_point) + ',\n     "form": ' + value(lecture.lecture.form)
            + ',\n     "url": ' + value(lecture.url) + ',\n     "duration": ' + duration
            + ',\n     "video": ' + video + "\n    }")


#: How ``json.dumps(..., ensure_ascii=False)`` writes a string (the C function where there is one).
_json_string = json.encoder.encode_basestring


def indented_json(value: object, indent: str = "") -> str:
    """``json.dumps(value, ensure_ascii=False, indent=1)`` with every line after the first led by
    ``indent`` too, for the values of a catalogue entry (dicts with string keys, lists, strings,
    numbers, booleans, None): the same text, at a few times the speed, since Python's JSON encoder
    falls back to its pure-Python self when asked to indent (each scalar written as it writes it)."""
    if isinstance(value, str):
        return _json_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _json_float(value)
    inner = indent + " "
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return ("[\n" + inner + (",\n" + inner).join([_json_string(item) if type(item) is str
                                                      else indented_json(item, inner) for item in value])
                + "\n" + indent + "]")
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        if not value:
            return "{}"
        return ("{\n" + inner + (",\n" + inner).join([_json_string(key) + ": " + (
            _json_string(item) if type(item) is str else indented_json(item, inner)) for key, item in value.items()])
                + "\n" + indent + "}")
    # Anything else as json.dumps writes it (or the error it raises).
    return json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n" + indent)


def _json_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return float.__repr__(value)


def sitemap_xml(catalogue: Catalogue, extra_urls: Sequence[str]) -> bytes | None:
    """A sitemap of every page, or ``None`` without ``site_url`` (the protocol needs absolute URLs)."""
    if not catalogue.site_url:
        return None
    urls = ["", *extra_urls]
    for item in catalogue.by_title:
        urls.append(item.url)
        urls.extend(lecture.url for lecture in item.lectures)
    # The bytes ElementTree writes for a tree of these elements (tested equal), without a tree
    # of 13,000 elements at catalogue scale: text XML cannot hold dropped, then &, < and > escaped.
    locs = "".join(f"<url><loc>{xml_escape(xml_text(catalogue.absolute(url)))}</loc></url>"
                   for url in urls[:SITEMAP_MAX_URLS])
    return f"<?xml version='1.0' encoding='utf-8'?>\n<urlset xmlns=\"{SITEMAP_NS}\">{locs}</urlset>\n".encode("utf-8")


def feed_xml(catalogue: Catalogue, *, site_name: str) -> bytes | None:
    """An Atom feed of the newest courses, or ``None`` without ``site_url`` (Atom needs absolute ids)."""
    if not catalogue.site_url:
        return None
    newest = catalogue.newest[:NEWEST_IN_FEED]

    def stamp(course: SiteCourse) -> str:
        created = course.course.created or _dt.date(2000, 1, 1)
        return f"{created.isoformat()}T00:00:00+08:00"

    ElementTree.register_namespace("", ATOM_NS)
    feed = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    ElementTree.SubElement(feed, f"{{{ATOM_NS}}}title").text = f"{site_name}：新课程"
    ElementTree.SubElement(feed, f"{{{ATOM_NS}}}id").text = catalogue.absolute("feed.xml")
    ElementTree.SubElement(feed, f"{{{ATOM_NS}}}link", href=catalogue.absolute("feed.xml"), rel="self")
    ElementTree.SubElement(feed, f"{{{ATOM_NS}}}link", href=catalogue.absolute(""))
    ElementTree.SubElement(feed, f"{{{ATOM_NS}}}updated").text = stamp(newest[0]) if newest else "2000-01-01T00:00:00+08:00"
    author = ElementTree.SubElement(feed, f"{{{ATOM_NS}}}author")
    ElementTree.SubElement(author, f"{{{ATOM_NS}}}name").text = site_name
    for item in newest:
        entry = ElementTree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        ElementTree.SubElement(entry, f"{{{ATOM_NS}}}title").text = item.title
        ElementTree.SubElement(entry, f"{{{ATOM_NS}}}id").text = catalogue.absolute(item.url)
        ElementTree.SubElement(entry, f"{{{ATOM_NS}}}link", href=catalogue.absolute(item.url))
        ElementTree.SubElement(entry, f"{{{ATOM_NS}}}updated").text = stamp(item)
        if item.course.provider.name:
            entry_author = ElementTree.SubElement(entry, f"{{{ATOM_NS}}}author")
            ElementTree.SubElement(entry_author, f"{{{ATOM_NS}}}name").text = item.course.provider.name
        summary = " · ".join(x for x in (item.course.theme or "", f"{len(item.lectures)} 个微课",
                                         format_total(item.total_seconds)) if x)
        if item.course.summary:
            summary = f"{item.course.summary}（{summary}）"
        ElementTree.SubElement(entry, f"{{{ATOM_NS}}}summary").text = summary
    # Course text is the authors': whatever reached here, the feed stays well-formed XML.
    return ElementTree.tostring(xml_safe_tree(feed), encoding="utf-8", xml_declaration=True) + b"\n"
