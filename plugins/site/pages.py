"""The catalogue's Markdown pages: home, theme and level lists, course pages, lecture pages.

Pages are generated as finished HTML with their metadata (:class:`GeneratedPage`), handed to
MkDocs by :mod:`weike.plugins.site.generated`. Every value an author
wrote is HTML-escaped here; the notes arrive already sanitised (:mod:`weike.plugins.notes`). Links
are relative, so the site works from any folder of any static host.

None of these pages is indexed by Material's search (``search.exclude``):
:mod:`weike.plugins.site.search` indexes the catalogue's own values instead.

Navigation stays small on purpose: the sidebar lists the home page, the theme and level pages and
the hand-written pages, never the courses or lectures (Material renders the navigation into every
page, so listing thousands of pages there makes the build quadratic and every page heavy).
Course and lecture pages carry breadcrumbs and previous/next links instead.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from weike.builder.contracts.model import PROVIDER_LEVELS, THEMES
from weike.plugins.site.catalogue import (
    LEVEL_SLUGS,
    NEWEST_ON_HOME,
    THEME_SLUGS,
    Catalogue,
    SiteCourse,
    SiteLecture,
    format_duration,
    format_hours,
    format_total,
)
from weike.plugins.notes import RenderedNotes

#: The ``preload`` of lecture videos. "none": a page view on a slow link costs only the poster;
#: the duration is printed beside the player, and fast start (moov first) makes play begin
#: quickly once pressed.
VIDEO_PRELOAD = "none"


def e(text: object) -> str:
    """Escape any author text for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True, kw_only=True)
class GeneratedPage:
    """A page as MkDocs will show it: its metadata (front matter) and its finished HTML body.

    Material prints ``meta["title"]`` and ``meta["description"]`` unescaped, so they are escaped here.
    """

    meta: Mapping[str, object]
    html: str


def page(meta: dict, body: Sequence[str]) -> GeneratedPage:
    return GeneratedPage(meta=meta, html='<div class="weike-page">\n' + "\n".join(body) + "\n</div>\n")


def _up(depth: int) -> str:
    return "../" * depth


def breadcrumbs(depth: int, trail: Sequence[tuple[str, str]]) -> str:
    links = [f'<a href="{_up(depth) or "./"}">首页</a>']
    links.extend(f'<a href="{_up(depth)}{url}">{e(label)}</a>' for url, label in trail)
    return f'<nav class="weike-crumbs" aria-label="当前位置 Breadcrumbs">{" › ".join(links)}</nav>'


def course_card(item: SiteCourse, depth: int) -> str:
    width, height = item.cover_size
    meta = " · ".join(x for x in (item.course.theme or "", f"{len(item.lectures)} 个微课",
                                  format_total(item.total_seconds)) if x)
    # The title is the link text, so the picture is decorative (alt="") for screen readers.
    return (f'<li><a class="weike-card" href="{_up(depth)}{item.url}">'
            f'<img src="{_up(depth)}{item.cover_url}" alt="" loading="lazy" decoding="async" '
            f'width="{width}" height="{height}">'
            f'<span class="weike-card__title">{e(item.title)}</span>'
            f'<span class="weike-card__meta">{e(meta)}</span></a></li>')


def course_cards(courses: Sequence[SiteCourse], depth: int) -> str:
    if not courses:
        return "<p>暂无课程。</p>"
    return '<ul class="weike-cards">\n' + "\n".join(course_card(c, depth) for c in courses) + "\n</ul>"


def _tile(url: str | None, label: str, count: int, depth: int) -> str:
    counted = f'<span class="weike-tile__count">{count} 门课程</span>'
    if url is None or count == 0:
        return f'<li><span class="weike-tile weike-tile--empty">{e(label)}{counted}</span></li>'
    return f'<li><a class="weike-tile" href="{_up(depth)}{url}">{e(label)}{counted}</a></li>'


def _tiles(tiles: Sequence[tuple[str, str, int]], depth: int) -> str:
    """Tiles of ``(url, label, count)``; those without courses are left out: an elderly reader
    taps what looks like a button, and a tile leading nowhere reads as a broken phone."""
    shown = [_tile(url, label, count, depth) for url, label, count in tiles if count]
    return '<ul class="weike-tiles">\n' + "\n".join(shown) + "\n</ul>" if shown else ""


# --------------------------------------------------------------------------------------------
# Home, theme and level pages
# --------------------------------------------------------------------------------------------


def home_totals(catalogue: Catalogue) -> str:
    """The home page's count of courses, lectures and video time (HTML), from known figures only:
    before ``weike build`` a preview has lectures without videos, hence without lengths."""
    withheld = (f"（另有 {catalogue.withheld} 门课程有错误，改好后显示）" if catalogue.withheld else "")
    courses = f"共 <strong>{len(catalogue.courses)}</strong> 门课程{withheld}"
    if not catalogue.courses:
        return courses + "。"
    lectures = f"<strong>{catalogue.lecture_count}</strong> 个微课"
    total = catalogue.total_seconds
    if total is None:
        return (f"{courses}、{lectures}；其中 {catalogue.undelivered_count} 个微课的视频还没有生成，"
                "总时长在 weike build 生成视频后显示。")
    return f"{courses}、{lectures}，总时长约 {format_total(total)}。"


def home_page(catalogue: Catalogue, *, intro_html: str = "", title: str | None = None,
              centres_html: str = "", site_name: str = "") -> GeneratedPage:
    """The catalogue home; ``centres_html`` is the 品牌社区学习中心 block (:mod:`weike.plugins.site.centres`)."""
    body = []
    if "<h1" not in intro_html:
        # Without a heading of its own Material would print the navigation label "首页" as the
        # page's main heading; the site's name tells a newcomer where they are.
        body.append(f"<h1>{e(title or site_name or '社区教育微课')}</h1>")
        # 继续学习 right under the heading, on the first screen (else after the intro's own heading).
        body.append(CONTINUE_BLOCK)
    if intro_html:
        body.append(intro_html)
    if "<h1" in intro_html:
        body.append(CONTINUE_BLOCK)
    body.append(f'<p class="weike-totals">{home_totals(catalogue)}</p>')
    body.append('<h2 id="newest">最新课程</h2>')
    body.append(course_cards(catalogue.newest[:NEWEST_ON_HOME], 0))
    themes = _tiles([(f"themes/{THEME_SLUGS[t]}/", t, len(catalogue.in_theme(t))) for t in THEMES], 0)
    if themes:
        body.append('<h2 id="themes">按主题浏览</h2>')
        body.append(themes)
    levels = _tiles([(f"levels/{LEVEL_SLUGS[lv]}/", lv, len(catalogue.at_level(lv))) for lv in PROVIDER_LEVELS], 0)
    if levels:
        body.append('<h2 id="levels">按开课层级浏览</h2>')
        body.append(levels)
    if centres_html:
        body.append(centres_html)
    meta: dict = {"search": {"exclude": True}, "hide": ["toc"]}
    if title:
        meta["title"] = e(title)
    return page(meta, body)


def theme_page(catalogue: Catalogue, theme: str) -> GeneratedPage:
    courses = catalogue.in_theme(theme)
    body = [breadcrumbs(2, []), f"<h1>{e(theme)}</h1>", f"<p>{len(courses)} 门课程，新课在前。</p>",
            course_cards(courses, 2)]
    return page({"title": e(theme), "search": {"exclude": True}, "hide": ["toc"]}, body)


def level_page(catalogue: Catalogue, level: str) -> GeneratedPage:
    courses = catalogue.at_level(level)
    heading = f"{level}课程"
    body = [breadcrumbs(2, []), f"<h1>{e(heading)}</h1>",
            f"<p>由{e(level)}社区教育机构开设的 {len(courses)} 门课程，新课在前。</p>", course_cards(courses, 2)]
    return page({"title": e(heading), "search": {"exclude": True}, "hide": ["toc"]}, body)


# --------------------------------------------------------------------------------------------
# Course page
# --------------------------------------------------------------------------------------------


def _course_time(item: SiteCourse) -> list[str]:
    """总时长 and 学时 of the course page, or what is known of them before every video exists."""
    rule = "<br><small>（每 45 分钟视频计 1 学时，按半学时向上取整）</small>"
    if item.total_seconds is None:
        waiting = (f"视频生成后显示（已生成 {item.delivered_count}/{len(item.lectures)} 个微课的视频）")
        return [f"<dt>总时长</dt><dd>{waiting}</dd>", f"<dt>学时</dt><dd>视频生成后计算{rule}</dd>"]
    return [f"<dt>总时长</dt><dd>{e(format_total(item.total_seconds))}</dd>",
            f"<dt>学时</dt><dd>{format_hours(item.study_hours)} 学时{rule}</dd>"]


def course_page(item: SiteCourse, *, qr_svg: str | None, course_url: str | None,
                centres: Sequence[tuple[str, str]] = ()) -> GeneratedPage:
    """A course's page; ``centres`` = (site-relative URL, name) of the learning centres that run it."""
    course = item.course
    trail = [(f"themes/{item.theme_slug}/", course.theme)] if item.theme_slug else []
    width, height = item.cover_size
    body = [
        breadcrumbs(2, trail),
        f"<h1>{e(item.title)}</h1>",
        # The cover is the page's largest paint: fetch it before the scripts (Lighthouse LCP).
        f'<img class="weike-cover" src="cover.jpg" alt="{e(item.title)}课程封面" width="{width}" height="{height}" '
        f'fetchpriority="high">',
        *start_button(item),
        *([read_aloud_control("summary", "朗读简介"), f'<p id="summary">{e(course.summary)}</p>']
          if course.summary else []),
        '<dl class="weike-facts">',
        f"<dt>主题</dt><dd>{_link_or_text(item.theme_slug and f'../../themes/{item.theme_slug}/', course.theme)}</dd>",
        f"<dt>开课机构</dt><dd>{e(course.provider.name or '')}</dd>",
        f"<dt>所处层级</dt><dd>{_link_or_text(item.level_slug and f'../../levels/{item.level_slug}/', course.provider.level)}</dd>",
        f"<dt>所在地区</dt><dd>{e(course.provider.region or '')}</dd>",
        *(["<dt>学习中心</dt><dd>" + "<br>".join(f'<a href="{_up(2)}{url}">{e(name)}</a>' for url, name in centres)
           + "</dd>"] if centres else []),
        f"<dt>微课</dt><dd>{len(item.lectures)} 个</dd>",
        *_course_time(item),
        "</dl>",
        '<h2 id="instructors">授课教师</h2>',
        '<dl class="weike-instructors">',
    ]
    for person in course.instructors:
        body.append(f"<dt>{e(person.name or '')}</dt><dd>{e(person.bio or '')}</dd>")
    body.append("</dl>")
    body.append('<h2 id="lectures">微课列表</h2>')
    body.append('<ol class="weike-lectures">')
    for number, lecture in enumerate(item.lectures, start=1):
        meta = [f"时长 {format_duration(lecture.duration)}" if lecture.media else "视频尚未生成"]
        if lecture.lecture.knowledge_point:
            meta.insert(0, f"知识点：{lecture.lecture.knowledge_point}")
        # The whole row is the link (a large tap target), led by the lecture's poster: older
        # learners find "the one with the phone on the table" faster than a title.
        poster = (f'<img class="weike-lecture__poster" src="{_up(2)}{lecture.poster_url}" alt="" loading="lazy" '
                  f'decoding="async" width="160" height="90">' if lecture.poster_url else
                  '<span class="weike-lecture__poster" aria-hidden="true"></span>')
        body.append(f'<li><a class="weike-lecture" href="{lecture.lecture.slug}/" data-weike-number="{number}">{poster}'
                    f'<span class="weike-lecture__text"><span class="weike-lecture__title">'
                    f'第 {number} 讲　{e(lecture.title)}</span>'
                    f'<span class="weike-lecture__meta">{e(" · ".join(meta))}</span></span></a></li>')
    body.append("</ol>")
    if qr_svg and course_url:
        body.append('<h2 id="qr">扫码学习</h2>')
        body.append(f'<figure class="weike-qr">{qr_svg}<figcaption>用手机扫一扫，打开本课程：<br>'
                    f'{e(course_url)}</figcaption></figure>')
    meta = {"title": e(item.title), "description": e(course.summary or item.title), "search": {"exclude": True}}
    return page(meta, body)


def start_button(item: SiteCourse) -> list[str]:
    """开始学习, on the first screen of a phone: the lecture list is well below it.

    progress.js turns it into 继续学习 第 N 讲 when this device has watched part of the course.
    """
    if not item.lectures:
        return []
    first = item.lectures[0].lecture.slug
    return [f'<p class="weike-start"><a class="md-button md-button--primary weike-start__button" href="{first}/" '
            f'data-weike-start>开始学习</a></p>']


def read_aloud_control(target_id: str, label: str) -> str:
    """A 朗读 button for the element ``target_id``; read-aloud.js shows it where the device has a Chinese voice."""
    return (f'<div class="weike-read" data-weike-read="{target_id}" hidden>'
            f'<button type="button" class="md-button weike-read__toggle">{e(label)}</button>'
            f'<button type="button" class="md-button weike-read__stop" hidden>停止</button></div>')


#: The home page's 继续学习 (progress.js fills and shows it from this device's record).
CONTINUE_BLOCK = ('<section class="weike-continue" data-weike-continue hidden aria-labelledby="continue">'
                  '<h2 id="continue">继续学习</h2>'
                  '<p><a class="md-button md-button--primary weike-continue__button" href="./"></a></p>'
                  '<p class="weike-continue__where"></p></section>')


def _link_or_text(url: str | None, text: str | None) -> str:
    if not text:
        return ""
    return f'<a href="{url}">{e(text)}</a>' if url else e(text)


# --------------------------------------------------------------------------------------------
# Lecture page
# --------------------------------------------------------------------------------------------


def video_block(lecture: SiteLecture) -> str:
    up = _up(3)
    if lecture.media is None:
        return ('<div class="weike-missing-video" role="note">视频尚未生成（运行 weike build 后显示）'
                '<br>The video has not been delivered yet.</div>')
    info = lecture.media.info
    width = (info.display_width if info else None) or 1280
    height = (info.display_height if info else None) or 720
    poster = f' poster="{up}{lecture.poster_url}"' if lecture.poster_url else ""
    track = ""
    if lecture.subtitles_url:
        track = (f'\n<track kind="subtitles" src="{up}{lecture.subtitles_url}" srclang="zh" '
                 f'label="中文字幕" default>')
    size_mb = lecture.media.size / 1_000_000
    saver_control, saver_attributes, saver_download = "", "", ""
    if lecture.saver_url:
        # weike.js shows the switch and swaps the <source>; without scripts the download link remains.
        saver_mb = lecture.saver_size / 1_000_000
        saver_attributes = f' data-weike-full="{up}{lecture.video_url}" data-weike-saver="{up}{lecture.saver_url}"'
        saver_control = (f'<p class="weike-saver" data-weike-saver-control hidden>'
                         f'<button type="button" class="md-button" data-weike-saver-toggle aria-pressed="false">'
                         f'省流量</button> 画面小一些，约 {saver_mb:.1f} MB（原视频 {size_mb:.1f} MB）</p>\n')
        saver_download = f' · <a href="{up}{lecture.saver_url}" download>下载省流量版（{saver_mb:.1f} MB）</a>'
    return (
        f'<figure class="weike-video">\n{saver_control}'
        # 继续观看 (weike.js offers it when this device has stopped part-way through before).
        f'<button type="button" class="md-button md-button--primary weike-resume" hidden></button>\n'
        f'<div class="weike-video__frame">\n'
        f'<video controls playsinline preload="{VIDEO_PRELOAD}" width="{width}" height="{height}"{poster} '
        f'aria-label="{e(lecture.title)}（视频）"{saver_attributes}>\n'
        f'<source src="{up}{lecture.video_url}" type="video/mp4">{track}\n'
        f'<p>您的浏览器不能播放这段视频，请<a href="{up}{lecture.video_url}">下载视频</a>观看。</p>\n'
        f'</video>\n'
        # The native play control is small on a phone; weike.js shows this large one over the
        # picture (hidden without JavaScript, where it could not work).
        f'<button type="button" class="weike-play" hidden><span aria-hidden="true">▶</span>播放</button>\n'
        f'</div>\n'
        f'<figcaption>时长 {format_duration(lecture.duration)} · '
        f'<a href="{up}{lecture.video_url}" download>下载视频（{size_mb:.1f} MB）</a>{saver_download}，有无线网络时下载，随时观看。'
        f'</figcaption>\n</figure>'
    )


@dataclass(frozen=True, kw_only=True)
class LecturePagesCommon:
    """What every lecture page of a course shows alike, escaped once for the course's pages."""

    crumbs: str
    #: The ``data-weike-course`` attributes of the heading (what progress.js records).
    course_attributes: str
    course_title: str
    #: Each lecture's title, escaped, in the course's order.
    titles: tuple[str, ...]


def lecture_pages_common(item: SiteCourse) -> LecturePagesCommon:
    course = item.course
    trail = [(f"themes/{item.theme_slug}/", course.theme)] if item.theme_slug else []
    trail.append((item.url, item.title))
    return LecturePagesCommon(
        crumbs=breadcrumbs(3, trail),
        course_attributes=f'data-weike-course="{e(course.slug)}" data-weike-course-title="{e(item.title)}"',
        course_title=e(item.title), titles=tuple(e(lecture.title) for lecture in item.lectures))


def lecture_page(item: SiteCourse, index: int, notes: RenderedNotes, *,
                 common: LecturePagesCommon | None = None) -> GeneratedPage:
    """The page of ``item``'s lecture ``index``; ``common`` (:func:`lecture_pages_common` of
    ``item``) when the course's other lecture pages are made too."""
    lecture = item.lectures[index]
    common = common or lecture_pages_common(item)
    title = common.titles[index]
    body = [
        common.crumbs,
        # What progress.js records for 继续学习 on the home and course pages.
        f'<h1 {common.course_attributes} data-weike-number="{index + 1}" data-weike-title="{title}">'
        f"第 {index + 1} 讲　{title}</h1>",
        video_block(lecture),
    ]
    if lecture.lecture.knowledge_point:
        body.append(f'<p class="weike-knowledge"><strong>知识点：</strong>{e(lecture.lecture.knowledge_point)}</p>')
    if notes.html:
        body.append(f'<h2 id="notes">讲义</h2>\n{read_aloud_control("lecture-notes", "朗读讲义")}\n'
                    f'<div class="weike-notes" id="lecture-notes">\n{notes.html}\n</div>')
    pager = []
    if index > 0:
        previous = item.lectures[index - 1]
        pager.append(f'<a href="../{previous.lecture.slug}/" rel="prev">‹ 上一讲：{common.titles[index - 1]}</a>')
    pager.append('<a href="../">课程目录</a>')
    if index + 1 < len(item.lectures):
        following = item.lectures[index + 1]
        pager.append(f'<a href="../{following.lecture.slug}/" rel="next" data-weike-title="{common.titles[index + 1]}">'
                     f'下一讲：{common.titles[index + 1]} ›</a>')
    body.append('<nav class="weike-pager" aria-label="上一讲和下一讲 Previous and next lecture">'
                + "".join(pager) + "</nav>")
    # Escaping is character by character: the joined title's escape is the escapes joined.
    meta = {"title": f"{title} - {common.course_title}",
            "description": e(lecture.lecture.knowledge_point or lecture.title), "hide": ["toc"],
            "search": {"exclude": True}}
    if lecture.media is not None and lecture.poster_url:
        # A <video> poster cannot carry fetchpriority; main.html preloads it at high priority
        # instead, since the poster is the lecture page's largest paint.
        meta["weike_preload_image"] = f"{_up(3)}{lecture.poster_url}"
    return page(meta, body)
