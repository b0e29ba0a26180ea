"""What the records add to the catalogue site: the 学习档案 page, the script on every page, and
the catalogue facts the script needs.

The facts travel as scripts, not as JSON to fetch: the offline edition is opened from ``file://``,
where a page may load a script but not fetch a file. ``assets/records/catalogue.js`` (on every page)
sets ``window.weikeRecordsData``: what every page needs, a few hundred bytes whatever the size of
the catalogue. Each course's lectures (IRIs, titles, lengths) are in ``assets/records/courses/<slug>.js``,
which ``records.js`` loads only where it is needed: the lecture page its own course, the 学习档案
page the courses this device has watched. At 1,000 courses the facts of every course are 1.7 MB,
which a phone would otherwise download with its first page (a host without gzip for JavaScript
sends them as they are).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from weike.builder.contracts.model import Course, DeliveredMedia
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
from weike.plugins.site import MINUTES_PER_STUDY_HOUR, SiteAsset, SitePage, script_text, site_lectures

ASSETS = Path(__file__).resolve().parent / "assets"
#: The page's path on the site (``records/``); the script recognises it by this path.
PAGE_PATH = "records"
PAGE_TITLE = "学习档案"
PAGE_BODY = """\
这里是这台手机（或电脑）的学习档案：看过哪些微课、学完了哪些课程、累计多少学时。
学完一门课程的全部微课后，可以打印结业证明。

学时的算法：实际看过的视频分钟数 ÷ 45（同一秒只算一次，拖动进度条跳过的部分不算），保留两位小数。
一个微课看过 90% 以上就算学完。

记录只保存在这台设备的浏览器里；在学习站的 Wi-Fi 上学习时，也会交给学习站保存；
网站设置了学习记录平台时，从网站正式地址打开的页面也会把记录交给平台。
清除浏览器数据会清除这里的记录。

如果下面没有出现学习记录，请确认浏览器允许运行 JavaScript。
"""


class PublicLrsRefused(ValueError):
    """``records.public_lrs`` cannot be published as it is (E411 names the records plugin with this reason)."""


def public_lrs_facts(settings: RecordsSettings, *, site_url: str | None) -> dict | None:
    """What the pages need to send to ``records.public_lrs``: its endpoint, the one origin that
    sends (site_url's: a station, a mirror or the offline edition never do) and the basic-auth
    header of its write-only key; None without ``public_lrs``.

    The key and secret end up in a script anyone can read, so the station's (``records.lrs``, the
    environment's WEIKE_LRS_KEY/SECRET included) are refused, and so is a block without site_url
    (the pages would not know which origin is the public site) or without a key.
    """
    public = settings.public_lrs
    if not public or not public.get("endpoint"):
        return None
    if not site_url:
        raise PublicLrsRefused("records.public_lrs 需要 weike.yml 写明 site_url（公开网站的地址）"
                               " (records.public_lrs needs site_url: the public site's address)")
    if not public.get("key"):
        raise PublicLrsRefused("records.public_lrs 要写只许写入记录的公开账号 key"
                               " (records.public_lrs needs the write-only statement key)")
    station = settings.lrs or {}
    for field in ("key", "secret"):
        if public.get(field) and public.get(field) == station.get(field):
            raise PublicLrsRefused(f"records.public_lrs 的 {field} 与学习站转发用的 records.lrs 相同：会写进网页、"
                                   "人人可见，请向 LRS 管理员另开一个只许写入记录的公开账号"
                                   f" (records.public_lrs uses the station's {field}: it would be published)")
    endpoint = str(public["endpoint"])
    token = base64.b64encode(f"{public['key']}:{public.get('secret') or ''}".encode()).decode("ascii")
    return {"endpoint": endpoint if endpoint.endswith("/") else endpoint + "/",
            "siteOrigin": web_origin(site_url), "authorization": f"Basic {token}"}


def web_origin(url: str) -> str:
    """``url``'s origin as a browser's ``location.origin`` spells it (lower-case host, no default port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = "" if parts.port in (None, {"http": 80, "https": 443}.get(scheme)) else f":{parts.port}"
    host = parts.hostname or ""
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}{port}"


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
    public = public_lrs_facts(settings, site_url=site_url)
    if public is not None:
        data["publicLrs"] = public
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


#: Where each course's facts are published, below ``assets/`` (records.js builds the same address).
COURSE_FACTS = "records/courses/{slug}.js"


def _script_json(value) -> str:
    # No "</" (a course title cannot close the script), no raw U+2028/U+2029 (line ends to an older browser).
    return script_text(json.dumps(value, ensure_ascii=False, sort_keys=True))


def records_assets(data: Mapping) -> list[SiteAsset]:
    """``catalogue.js`` (every page), one script of facts per course (loaded on demand), ``records.js``
    and its style sheet."""
    common = {key: value for key, value in data.items() if key != "courses"}
    courses = [
        SiteAsset(path=COURSE_FACTS.format(slug=slug),
                  data=(f"(window.weikeRecordsCourses = window.weikeRecordsCourses || {{}})[{_script_json(slug)}] = "
                        f"{_script_json(facts)};\n").encode("utf-8"))
        for slug, facts in sorted(data.get("courses", {}).items())
    ]
    return [
        SiteAsset(path="records/catalogue.js", data=f"window.weikeRecordsData = {_script_json(common)};\n".encode("utf-8"),
                  load="script"),
        *courses,
        SiteAsset(path="records/records.js", data=(ASSETS / "records.js").read_bytes(), load="script"),
        SiteAsset(path="records/records.css", data=(ASSETS / "records.css").read_bytes(), load="style"),
    ]


def records_page() -> SitePage:
    return SitePage(path=PAGE_PATH, title=PAGE_TITLE, markdown=PAGE_BODY, in_nav=True)
