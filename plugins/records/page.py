"""What the records add to the catalogue site: the 学习档案 page, the script on every page, and
the catalogue facts the script needs.

The facts travel as a script (``assets/records/catalogue.js`` sets ``window.weikeRecordsData``),
not as JSON to fetch: the offline edition is opened from ``file://``, where a page may load a
script but not fetch a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from weike.builder.model import Course, DeliveredMedia
from weike.plugins.records.settings import RecordsSettings
from weike.plugins.records.statements import (
    ACTIVITY_COURSE,
    ACTIVITY_VIDEO,
    EXT_LENGTH,
    EXT_PROGRESS,
    VERB_COMPLETED,
    VERB_LAUNCHED,
    VERB_PROGRESSED,
    course_iri,
    home_page,
    lecture_iri,
)
from weike.plugins.site import MINUTES_PER_STUDY_HOUR, SiteAsset, SitePage, site_lectures

ASSETS = Path(__file__).resolve().parent / "assets"
#: The page's path on the site (``records/``); the script recognises it by this path.
PAGE_PATH = "records"
PAGE_TITLE = "学习档案"
PAGE_BODY = """\
这里是这台手机（或电脑）的学习档案：看过哪些微课、学完了哪些课程、累计多少学时。
学完一门课程的全部微课后，可以打印结业证明。

学时的算法：实际看过的视频分钟数 ÷ 45（同一秒只算一次，拖动进度条跳过的部分不算），保留两位小数。
一个微课看过 90% 以上就算学完。

记录只保存在这台设备的浏览器里；在学习站的 Wi-Fi 上学习时，也会交给学习站保存。
清除浏览器数据会清除这里的记录。

如果下面没有出现学习记录，请确认浏览器允许运行 JavaScript。
"""


def catalogue_data(courses: Sequence[Course], delivered: Mapping[str, DeliveredMedia], *, site_url: str | None,
                   settings: RecordsSettings, site_name: str | None = None) -> dict:
    """The facts ``records.js`` needs: IRIs, titles, lecture lengths, providers (no contact data)."""
    data: dict = {
        "version": 1,
        "homePage": home_page(site_url),
        "askName": settings.ask_name,
        "minutesPerStudyHour": MINUTES_PER_STUDY_HOUR,
        "verbs": {"launched": VERB_LAUNCHED, "progressed": VERB_PROGRESSED, "completed": VERB_COMPLETED},
        "types": {"course": ACTIVITY_COURSE, "video": ACTIVITY_VIDEO},
        "extensions": {"progress": EXT_PROGRESS, "length": EXT_LENGTH},
        "courses": {},
    }
    for course in sorted(courses, key=lambda c: c.slug):
        lectures = site_lectures(course, delivered)
        if not lectures or any(item.media is None for item in lectures):
            continue  # not on the site
        data["courses"][course.slug] = {
            "iri": course_iri(site_url, course.slug),
            "title": course.title or course.slug,
            "provider": course.provider.name or "",
            "lectures": [{"slug": item.lecture.slug, "iri": lecture_iri(site_url, course.slug, item.lecture.slug),
                          "title": item.title, "duration": round(item.duration, 3)} for item in lectures],
        }
    return data


def records_assets(data: Mapping) -> list[SiteAsset]:
    # "</" never appears inside the script (a course title cannot close it).
    text = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return [
        SiteAsset(path="records/catalogue.js", data=f"window.weikeRecordsData = {text};\n".encode("utf-8"),
                  load="script"),
        SiteAsset(path="records/records.js", data=(ASSETS / "records.js").read_bytes(), load="script"),
        SiteAsset(path="records/records.css", data=(ASSETS / "records.css").read_bytes(), load="style"),
    ]


def records_page() -> SitePage:
    return SitePage(path=PAGE_PATH, title=PAGE_TITLE, markdown=PAGE_BODY, in_nav=True)
